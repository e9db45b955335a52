// The broker's life once everything is built: every port bound (or none),
// ready, SIGINT/SIGTERM handled before the listening lines, and a shutdown
// that drains the clients before it closes the broker and exits 0.
import type { Aedes } from 'aedes'
import type { OncePerMinute, ProxyProtocol } from 'aedes-proxy-protocol'
import type { Logger } from 'pino'
import { announceAdmin, type Readiness } from './admin.js'
import { watchDrops } from './capacity.js'
import type { Metrics } from './metrics.js'
import { announceListeners, type Bindable, type Listener } from './servers.js'
import { bindAll } from './startup.js'

/** Everything that starts and stops. */
export interface Running {
  readonly broker: Aedes
  readonly proxy: ProxyProtocol
  readonly listeners: readonly Listener[]
  /** The admin endpoint and where it binds; undefined without ADMIN_BIND_PORT. */
  readonly admin: (Bindable & { readonly token: string | undefined }) | undefined
  readonly readiness: Readiness
  readonly logger: Logger
  readonly metrics: Metrics
  readonly onceAMinute: OncePerMinute
  readonly fileLimit: number | undefined
  readonly drainTimeout: number
  /** Marks every disconnect from then on as the broker's shutdown (activity.ts). */
  readonly shuttingDown: () => void
  /** The cluster member's last words, when there is one. */
  readonly closing: (() => void) | undefined
}

/**
 * Binds every listener, then the admin endpoint; a failure leaves nothing
 * behind and nothing announced. Then ready, the signals handled, and each
 * listening line.
 */
export async function start (run: Running): Promise<void> {
  const { listeners, admin, logger, metrics } = run
  await bindAll(admin === undefined ? listeners : [...listeners, admin])
  for (const s of listeners) {
    watchDrops(s.server, s.name, run.fileLimit, run.onceAMinute, reason => { metrics.dropped(s.name, reason) })
  }
  run.readiness.ready = true
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    shutdown(run, signal)
  }
  // Before the listening lines: whoever sends a signal once it has read them finds it handled.
  process.once('SIGINT', () => { stop('SIGINT') })
  process.once('SIGTERM', () => { stop('SIGTERM') })
  announceListeners(listeners, run.proxy, logger)
  if (admin !== undefined) announceAdmin(admin.server, admin.token, logger)
}

/**
 * Not ready any more, no new connections; the clients connected get until
 * the drain timeout to leave, then the broker closes the rest and exits 0.
 */
function shutdown (run: Running, signal: string): void {
  const { broker, logger, drainTimeout } = run
  run.readiness.ready = false
  logger.info({ event: 'shutdown', signal, clients: broker.connectedClients, drainTimeout }, 'shutting down: draining')
  for (const s of run.listeners) s.server.close()
  const until = Date.now() + drainTimeout
  const finish = (): void => {
    if (broker.connectedClients > 0 && Date.now() < until) { setTimeout(finish, 100); return }
    const remaining = broker.connectedClients
    logger.info({ event: 'shutdown', remaining }, remaining === 0
      ? 'drained: closing the broker'
      : `drain timeout (${drainTimeout} ms): closing the ${remaining} client${remaining === 1 ? '' : 's'} ` +
        'still connected, then the broker')
    run.shuttingDown() // whoever is still connected goes because the broker closes
    run.admin?.server.close()
    run.closing?.()
    broker.close(() => process.exit(0))
  }
  finish()
}
