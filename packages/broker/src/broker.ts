#!/usr/bin/env node
// A ready-to-run aedes broker with PROXY protocol support, configured from
// the environment with TBMQ's variable names and defaults.
import { inspect } from 'node:util'
import { Aedes, type Client } from 'aedes'
import {
  ipPolicy, oncePerMinute, OptionsError, proxyProtocol, sessions, unauthorizedClients, withPlugins
} from 'aedes-proxy-protocol'
import type { IpPolicy, ProxyProtocol, Sessions } from 'aedes-proxy-protocol'
import type { Logger } from 'pino'
import { adminServer, type Readiness } from './admin.js'
import { logActivity, logConnectionErrors } from './activity.js'
import { FILE_RESERVE, openFileLimit, shareConnections } from './capacity.js'
import { joinCluster, redaction, type ClusterMember } from './cluster.js'
import { brokerMetrics } from './metrics.js'
import { start } from './lifecycle.js'
import { createListeners, listenerTls, warnListeners } from './servers.js'
import { createLogger, readSettings, type Settings } from './settings.js'
import { fromOptionsError, parseArgs, StartupError, version } from './startup.js'
import { usage } from './variables.js'

/** The prefix of every message of this package and the library. */
const PREFIX = 'aedes-proxy-protocol: '

/** Everything printed (log lines, start-up errors, admin answers) without REDIS_URL's secrets. */
const hide = redaction(process.env)

/** Who logged in as what: for the $SYS client list and the connect and disconnect lines. */
interface Logins {
  readonly sysAdmins: WeakSet<Client>
  /** The user name each client logged in with, for its connect and disconnect lines. */
  readonly usernames: WeakMap<Client, string>
  /** Told of every login that succeeds (the activity log, once it is set up). */
  accepted: (client: Client) => void
}

async function main (): Promise<void> {
  const env = process.env
  const mode = parseArgs(process.argv.slice(2))
  if (mode === 'help') { console.log(usage()); return }
  if (mode === 'version') { console.log(version()); return }
  // Every line through the one redaction: a Redis error quoting a secret in any plugin's line shows `***`.
  const logger = createLogger(env, hide)
  logger.info({ event: 'startup', version: version(), pid: process.pid }, `starting ${version()}`)
  const settings = readSettings(env, logger)
  // REDIS_URL: a cluster member, its state in Redis (cluster.ts); otherwise all in memory.
  const cluster = await joinCluster(env, logger, settings.brokerId)
  const logins: Logins = { sysAdmins: new WeakSet(), usernames: new WeakMap(), accepted: () => {} }
  const plugins = createPlugins(env, settings, logger, cluster, logins)
  warnListeners(settings.plan, plugins.proxy, logger)
  const tlsOf = listenerTls(env, settings.plan)
  // Build every server before binding any port, so a bad setting fails first.
  const broker = withPlugins(await Aedes.createBroker({
    ...(settings.brokerId !== undefined ? { id: settings.brokerId } : {}),
    ...cluster?.aedes,
    authenticate: authenticator(settings, logins)
  }))
  const proxy = broker.use(plugins.proxy)
  // The operator plugins, each on its own; the IP policy only when configured.
  if (plugins.policy !== undefined) broker.use(plugins.policy)
  const unauthorized = broker.use(unauthorizedClients({ logger, ...cluster?.unauthorized }))
  const clients = broker.use(plugins.sessions)
  const listeners = createListeners(settings.plan, tlsOf, broker, proxy, settings.backlog)
  const metrics = brokerMetrics(broker, proxy, unauthorized, settings.plan.map(l => l.name))
  const activity = logActivity(broker, logger, logins.usernames, metrics.disconnected, cluster?.onLogin)
  logins.accepted = activity.accepted
  const onceAMinute = oncePerMinute(logger)
  logConnectionErrors(broker, onceAMinute, metrics.connectionFailed)
  // The MQTT listeners share what the open-file limit leaves: a connection past it is dropped, counted and logged.
  const fileLimit = openFileLimit()
  if (fileLimit !== undefined) shareConnections(listeners.map(s => s.server), Math.max(1, fileLimit - FILE_RESERVE))
  // The plugin logs refusals and failed authentications itself (its logger option).
  const readiness: Readiness = { ready: false }
  const { port, host, token } = settings.admin
  const sources = { readiness, token, clients, unauthorized, proxy, metrics, hide }
  const admin = port === undefined ? undefined : { server: adminServer(sources), prefix: 'ADMIN', host, port, token }
  await start({
    broker,
    proxy,
    listeners,
    admin,
    readiness,
    logger,
    metrics,
    onceAMinute,
    fileLimit,
    drainTimeout: settings.drainTimeout,
    shuttingDown: activity.shuttingDown,
    closing: cluster?.closing
  })
}

/** The plugins the broker is built with. */
interface Plugins { readonly proxy: ProxyProtocol, readonly policy: IpPolicy | undefined, readonly sessions: Sessions }

/** The PROXY plugin, the IP policy (when configured) and the sessions plugin; an option error said in variables. */
function createPlugins (env: typeof process.env, settings: Settings, logger: Logger, cluster: ClusterMember | undefined,
  logins: Logins): Plugins {
  const { operator, sysAdmin } = settings
  try {
    const proxy = proxyProtocol({ ...settings.options, logger })
    const { ipPolicy: policyOptions, sysInterval } = operator
    const policy = policyOptions === undefined ? undefined : ipPolicy({ ...policyOptions, ...cluster?.ipPolicy })
    const sysClients = sysAdmin !== undefined ? { sysClients: (client: Client) => logins.sysAdmins.has(client) } : {}
    const sessionsPlugin = sessions({ sysInterval, counters: proxy, logger, ...sysClients, ...cluster?.sessions })
    return { proxy, policy, sessions: sessionsPlugin }
  } catch (err) {
    throw err instanceof OptionsError ? fromOptionsError(err, env) : err
  }
}

/** aedes' authenticate: the $SYS admin, then MQTT_AUTH_USERNAME/PASSWORD when set, else everyone. */
function authenticator (settings: Settings, logins: Logins): Aedes['authenticate'] {
  const { auth, sysAdmin } = settings
  return (client, username, password, done) => {
    if (username !== undefined) logins.usernames.set(client, username)
    const accept = (): void => { logins.accepted(client); done(null, true) }
    if (sysAdmin !== undefined && username === sysAdmin.user && password?.toString() === sysAdmin.password) {
      logins.sysAdmins.add(client)
      accept()
      return
    }
    if (auth === undefined) { accept(); return }
    if (username === auth.user && password != null && password.toString() === auth.password) accept()
    else done(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false)
  }
}

main().catch((err: unknown) => {
  if (err instanceof StartupError || err instanceof OptionsError) {
    console.error(hide(`${PREFIX}${err.message.replace(PREFIX, '').replace(/\n\s*/g, ' ')}`))
  } else {
    console.error(hide(inspect(err)))
  }
  process.exit(1)
})
