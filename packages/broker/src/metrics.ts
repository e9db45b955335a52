// GET /metrics of the ready-to-run broker: Prometheus text format, from
// prom-client, with the PROXY plugin's counters beside aedes' own.
import type { Aedes, Client, PublishPacket } from 'aedes'
import type {
  ListenerName, ListenerStats, ProxyProtocol, UnauthorizedAttempt, UnauthorizedClients
} from 'aedes-proxy-protocol'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { CONNECTION_ERROR_REASONS, TAKEN_OVER, type ConnectionErrorReason, type DisconnectReason } from './activity.js'
import type { DropReason } from './capacity.js'

/** The content type of the Prometheus text format. */
export const CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE

/** Known disconnect reasons keep their words; an error's message is one label value, `error`. */
const DISCONNECT_LABELS = new Set([
  'client disconnected', 'keepalive timeout', 'broker shutting down', 'connection closed', TAKEN_OVER
])

/** Bounded label values for a refused login: the policy's reasons, `bad-credentials` for the broker's authenticate. */
function refusalReason (attempt: UnauthorizedAttempt): string {
  if (attempt.refusedBy === 'authentication') return 'bad-credentials'
  return attempt.reason.startsWith('policy unavailable') ? 'policy-unavailable' : attempt.reason
}

/** A counter that follows a cumulative count kept elsewhere: it adds what grew since the last scrape. */
class Follower {
  readonly #last = new Map<string, number>()
  follow (counter: Counter, labels: Record<string, string>, now: number): void {
    const key = JSON.stringify(labels)
    const before = this.#last.get(key) ?? 0
    if (now > before) counter.inc(labels, now - before)
    else counter.inc(labels, 0) // present from the first scrape, at 0
    this.#last.set(key, now)
  }
}

export interface Metrics {
  readonly registry: Registry
  /** For the activity log: one client went, for this reason. */
  disconnected: (reason: DisconnectReason) => void
  /** One connection dropped on `listener` before the broker read a byte of it. */
  dropped: (listener: string, reason: DropReason) => void
  /** One connection failed before its CONNECT was accepted (aedes' connectionError). */
  connectionFailed: (reason: ConnectionErrorReason) => void
}

/**
 * The broker's metrics. The PROXY counters are read from `proxy.stats()` at
 * each scrape; header read times, refused logins and aedes' events are
 * counted as they happen.
 */
export function brokerMetrics (broker: Aedes, proxy: ProxyProtocol, unauthorized: UnauthorizedClients,
  listeners: readonly ListenerName[]): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // Gauges that prom-client names like counters: promtool refuses them.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name)
  }
  registerScraped(registry, broker, proxy, listeners)
  const readTime = new Histogram({
    name: 'aedes_proxy_protocol_header_read_seconds',
    help: 'Time from a connection\'s arrival until its PROXY header was read, by listener',
    labelNames: ['listener'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry]
  })
  for (const listener of listeners) readTime.zero({ listener })
  proxy.on('header', e => { readTime.observe({ listener: e.listener }, e.readTime / 1000) })
  const refusedLogins = new Counter({
    name: 'aedes_refused_logins_total',
    help: 'CONNECTs refused, by what refused them (ip-policy, rate-limit, authentication) and why',
    labelNames: ['refused_by', 'reason'],
    registers: [registry]
  })
  refusedLogins.inc({ refused_by: 'authentication', reason: 'bad-credentials' }, 0)
  // 'refused', not 'unauthorized': every refusal once, also those the list
  // cannot store (a Redis outage, when the rate limit refuses as policy-unavailable).
  unauthorized.on('refused', attempt => {
    refusedLogins.inc({ refused_by: attempt.refusedBy, reason: refusalReason(attempt) })
  })
  const connects = new Counter({
    name: 'aedes_client_connects_total', help: 'MQTT clients that connected', registers: [registry]
  })
  broker.on('client', () => { connects.inc() })
  const disconnects = new Counter({
    name: 'aedes_client_disconnects_total',
    help: 'MQTT clients that went, by reason',
    labelNames: ['reason'],
    registers: [registry]
  })
  const published = new Counter({
    name: 'aedes_messages_published_total', help: 'Messages published by clients (not $SYS)', registers: [registry]
  })
  broker.on('publish', (packet: PublishPacket, client: Client | null) => {
    if (client !== null && !packet.topic.startsWith('$SYS/')) published.inc()
  })
  const drops = new Counter({
    name: 'aedes_dropped_connections_total',
    help: 'Connections closed before the broker read a byte, by listener and reason: ' +
      'file-limit (as many open as the open-file limit allows), accept-error',
    labelNames: ['listener', 'reason'],
    registers: [registry]
  })
  for (const listener of listeners) {
    for (const reason of ['file-limit', 'accept-error']) drops.inc({ listener, reason }, 0)
  }
  const connectionErrors = new Counter({
    name: 'aedes_connection_errors_total',
    help: 'Connections that failed before their CONNECT was accepted, by reason: ' +
      CONNECTION_ERROR_REASONS.join(', '),
    labelNames: ['reason'],
    registers: [registry]
  })
  // Every series from 0, so that rate() and increase() see the first error.
  for (const reason of CONNECTION_ERROR_REASONS) connectionErrors.inc({ reason }, 0)
  return {
    registry,
    disconnected: reason => { disconnects.inc({ reason: DISCONNECT_LABELS.has(reason) ? reason : 'error' }) },
    dropped: (listener, reason) => { drops.inc({ listener, reason }) },
    connectionFailed: reason => { connectionErrors.inc({ reason }) }
  }
}

/**
 * The metrics read at each scrape (collect): the PROXY counters from
 * `proxy.stats()` and aedes' connected clients. They need nothing more than
 * registering.
 */
function registerScraped (registry: Registry, broker: Aedes, proxy: ProxyProtocol,
  listeners: readonly ListenerName[]): void {
  const follower = new Follower()
  const stats = (): Readonly<Record<ListenerName, ListenerStats>> => proxy.stats()
  registry.registerMetric(new Counter({
    name: 'aedes_proxy_protocol_connections_total',
    help: 'Connections by listener and PROXY outcome: proxied_v1, proxied_v2 (a header with the client address), ' +
      'local (LOCAL/UNKNOWN header: a health check), direct (no header where none is needed), ' +
      'probe (sent nothing: a TCP health check), rejected',
    labelNames: ['listener', 'outcome'],
    registers: [], // registered by registerMetric
    collect () {
      const all = stats()
      for (const listener of listeners) {
        const s = all[listener]
        const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0)
        const outcomes: Record<string, number> = {
          proxied_v1: s.proxied.v1,
          proxied_v2: s.proxied.v2,
          local: s.local,
          direct: s.direct,
          probe: s.probes,
          rejected
        }
        for (const [outcome, n] of Object.entries(outcomes)) follower.follow(this, { listener, outcome }, n)
      }
    }
  }))
  registry.registerMetric(new Counter({
    name: 'aedes_proxy_protocol_rejected_total',
    help: 'Connections refused by the PROXY plugin, by listener and error code (probes not included)',
    labelNames: ['listener', 'code'],
    registers: [], // registered by registerMetric
    collect () {
      const all = stats()
      for (const listener of listeners) {
        for (const [code, n] of Object.entries(all[listener].rejected)) follower.follow(this, { listener, code }, n)
      }
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'aedes_proxy_protocol_pending',
    help: 'Connections waiting for their PROXY header now, by listener',
    labelNames: ['listener'],
    registers: [], // registered by registerMetric
    collect () {
      const all = stats()
      for (const listener of listeners) this.set({ listener }, all[listener].pending)
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'aedes_connected_clients',
    help: 'MQTT clients connected now (aedes\' connectedClients)',
    registers: [], // registered by registerMetric
    collect () { this.set(broker.connectedClients) }
  }))
}
