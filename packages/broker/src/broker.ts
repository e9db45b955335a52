#!/usr/bin/env node
// A ready-to-run aedes broker with PROXY protocol support, configured from
// the environment with TBMQ's variable names and defaults.
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { inspect } from 'node:util'
import { Aedes, type Client } from 'aedes'
import { ipPolicy, LISTENER_NAMES, oncePerMinute, OptionsError, proxyProtocol, sessions, unauthorizedClients, withPlugins, type ListenerName } from 'aedes-proxy-protocol'
import { pino } from 'pino'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { openTrustLists, operatorOptionsFromEnv, optionsFromEnv, readBoolean } from './env.js'
import { backlogCap, bearerMatches, bindAddress, bindAll, fromOptionsError, isLoopback, loopbackHost, numberOr, parseArgs, StartupError, value, version } from './startup.js'
import { tlsOptions } from './tls.js'
import { LISTENER_DEFAULTS, LOG_LEVELS, unknownVariables, usage } from './variables.js'
import { logActivity, logConnectionErrors } from './activity.js'
import { ADMIN_LIMITS, FILE_RESERVE, openFileLimit, shareConnections, watchDrops } from './capacity.js'
import { brokerMetrics, CONTENT_TYPE } from './metrics.js'
import { joinCluster, redaction } from './cluster.js'

/** The prefix of every message of this package and the library. */
const PREFIX = 'aedes-proxy-protocol: '

/** Everything printed (log lines, start-up errors, admin answers) without REDIS_URL's secrets. */
const hide = redaction(process.env)

async function main (): Promise<void> {
  const env = process.env
  const mode = parseArgs(process.argv.slice(2))
  if (mode === 'help') { console.log(usage()); return }
  if (mode === 'version') { console.log(version()); return }
  const level = value(env, 'LOG_LEVEL') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new StartupError(`LOG_LEVEL=${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`)
  // Written synchronously: the last lines before process.exit are neither lost nor reordered.
  const stdout = pino.destination({ dest: 1, sync: true })
  // Every line through the one redaction: a Redis error quoting a secret in any plugin's line shows `***`.
  const logger = pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, { write: (line: string) => stdout.write(hide(line)) })
  logger.info({ event: 'startup', version: version(), pid: process.pid }, `starting ${version()}`)
  for (const { name, suggestion } of unknownVariables(env)) {
    logger.warn({ event: 'startup', variable: name, ...(suggestion !== undefined ? { suggestion } : {}) },
      `${name} is not a variable of this broker and is ignored${suggestion !== undefined ? `: did you mean ${suggestion}?` : ' (see --help)'}`)
  }
  for (const { variable, message } of openTrustLists(env)) logger.warn({ event: 'startup', variable }, message)
  const options = { ...optionsFromEnv(env), logger }
  const operator = operatorOptionsFromEnv(env)
  const authUser = value(env, 'MQTT_AUTH_USERNAME')
  const authPassword = value(env, 'MQTT_AUTH_PASSWORD')
  if ((authUser === undefined) !== (authPassword === undefined)) {
    throw new StartupError(`set both MQTT_AUTH_USERNAME and MQTT_AUTH_PASSWORD, or neither (${authUser === undefined ? 'MQTT_AUTH_USERNAME' : 'MQTT_AUTH_PASSWORD'} is missing)`)
  }
  // The client list under $SYS carries addresses: only for clients logged in with these.
  const sysUser = value(env, 'MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME')
  const sysPassword = value(env, 'MQTT_PROXY_PROTOCOL_SYS_ADMIN_PASSWORD')
  if ((sysUser === undefined) !== (sysPassword === undefined)) {
    throw new StartupError(`set both MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME and MQTT_PROXY_PROTOCOL_SYS_ADMIN_PASSWORD, or neither (${sysUser === undefined ? 'MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME' : 'MQTT_PROXY_PROTOCOL_SYS_ADMIN_PASSWORD'} is missing)`)
  }
  const sysAdmins = new WeakSet<Client>()
  // The user name each client logged in with, for its connect and disconnect lines.
  const usernames = new WeakMap<Client, string>()
  // Told of every login that succeeds (the activity log, set up below).
  let loggedIn = (client: Client): void => { void client }
  const brokerId = value(env, 'TB_SERVICE_ID')
  if (brokerId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(brokerId)) {
    throw new StartupError(`TB_SERVICE_ID=${JSON.stringify(brokerId)} is not a broker id: use 1 to 64 letters, digits, dots, dashes or underscores (it is a $SYS topic level)`)
  }
  const drainTimeout = numberOr(env, 'MQTT_DRAIN_TIMEOUT', 10_000)
  const backlog = numberOr(env, 'MQTT_LISTEN_BACKLOG', 4096)
  const cap = backlogCap(backlog)
  if (cap !== undefined) {
    logger.warn({ event: 'startup', variable: 'MQTT_LISTEN_BACKLOG', backlog, somaxconn: cap },
      `MQTT_LISTEN_BACKLOG=${backlog} is cut to ${cap} by the kernel's net.core.somaxconn: a reconnect storm through a PROXY sender can lose clients; raise it (sysctl -w net.core.somaxconn=${backlog})`)
  }
  let ready = false
  const adminPort = value(env, 'ADMIN_BIND_PORT') === undefined ? undefined : numberOr(env, 'ADMIN_BIND_PORT', 0)
  const adminHost = bindAddress(env, 'ADMIN_BIND_ADDRESS', '127.0.0.1')
  const adminToken = value(env, 'ADMIN_TOKEN')
  if (adminPort !== undefined && adminToken === undefined && !isLoopback(adminHost)) {
    throw new StartupError(`ADMIN_BIND_ADDRESS=${JSON.stringify(adminHost)} is not a loopback address: set ADMIN_TOKEN, so that the admin endpoint refuses requests without it, or bind it to 127.0.0.1`)
  }
  const plan = LISTENER_NAMES.map(name => {
    const p = `LISTENER_${name.toUpperCase()}`
    return {
      name,
      prefix: p,
      enabled: readBoolean(env, `${p}_ENABLED`) ?? LISTENER_DEFAULTS[name].enabled,
      host: bindAddress(env, `${p}_BIND_ADDRESS`, '0.0.0.0'),
      port: numberOr(env, `${p}_BIND_PORT`, LISTENER_DEFAULTS[name].port)
    }
  }).filter(l => l.enabled)
  if (plan.length === 0) throw new StartupError('no listener is enabled: set LISTENER_TCP_ENABLED=true (or LISTENER_SSL_ENABLED, LISTENER_WS_ENABLED, LISTENER_WSS_ENABLED)')
  // REDIS_URL: a cluster member, its state in Redis (cluster.ts); otherwise all in memory.
  const cluster = await joinCluster(env, logger, brokerId)
  let proxyPlugin, policyPlugin, sessionsPlugin
  try {
    proxyPlugin = proxyProtocol(options)
    policyPlugin = operator.ipPolicy === undefined ? undefined : ipPolicy({ ...operator.ipPolicy, ...cluster?.ipPolicy })
    sessionsPlugin = sessions({ sysInterval: operator.sysInterval, counters: proxyPlugin, logger, ...(sysUser !== undefined ? { sysClients: (client: Client) => sysAdmins.has(client) } : {}), ...cluster?.sessions })
  } catch (err) {
    throw err instanceof OptionsError ? fromOptionsError(err, env) : err
  }
  for (const l of plan) {
    const settings = proxyPlugin.listener(l.name)
    if (settings.mode !== 'off' && settings.trustedProxies === undefined && !isLoopback(l.host)) {
      logger.warn({ event: 'startup', listener: l.name, bindAddress: l.host },
        `PROXY protocol is ${settings.mode} on the ${l.name} listener at ${l.host} without a trusted list: anyone who reaches the port can claim any client address; set MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES to your load balancers`)
    }
    if (settings.mode === 'off' && settings.sslCnAsUsername) {
      logger.warn({ event: 'startup', listener: l.name }, `MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME has no effect on the ${l.name} listener, where PROXY protocol is off`)
    }
  }
  const tlsFor = (listener: 'ssl' | 'wss'): tls.TlsOptions => tlsOptions(env, listener)
  const tlsOf = { ssl: plan.some(l => l.name === 'ssl') ? tlsFor('ssl') : {}, wss: plan.some(l => l.name === 'wss') ? tlsFor('wss') : {} }
  // Build every server before binding any port, so a bad setting fails first.
  const broker = withPlugins(await Aedes.createBroker({
    ...(brokerId !== undefined ? { id: brokerId } : {}),
    ...cluster?.aedes,
    authenticate (client, username, password, done) {
      if (username !== undefined) usernames.set(client, username)
      const accept = (): void => { loggedIn(client); done(null, true) }
      if (sysUser !== undefined && username === sysUser && password?.toString() === sysPassword) {
        sysAdmins.add(client)
        accept()
        return
      }
      if (authUser === undefined) { accept(); return }
      if (username === authUser && password != null && password.toString() === authPassword) accept()
      else done(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false)
    }
  }))
  const proxy = broker.use(proxyPlugin)
  // The operator plugins, each on its own; the IP policy only when configured.
  if (policyPlugin !== undefined) broker.use(policyPlugin)
  const unauthorized = broker.use(unauthorizedClients({ logger, ...cluster?.unauthorized }))
  const clients = broker.use(sessionsPlugin)
  const servers: Array<{ name: ListenerName, prefix: string, server: net.Server, host: string, port: number, backlog?: number }> = []
  for (const l of plan) {
    let server: net.Server
    if (l.name === 'tcp') {
      server = net.createServer(broker.handle)
    } else if (l.name === 'ssl') {
      server = tls.createServer(tlsOf.ssl, broker.handle)
    } else {
      const httpServer = l.name === 'ws' ? http.createServer() : https.createServer(tlsOf.wss)
      // Listen errors are the HTTP server's, reported below; ws re-emits them.
      new WebSocketServer({ server: httpServer }).on('error', () => {}).on('connection', (socket, req) => {
        broker.handle(createWebSocketStream(socket), req)
      })
      server = httpServer
    }
    proxy.attach(server, { listener: l.name })
    servers.push({ name: l.name, prefix: l.prefix, server, host: l.host, port: l.port, backlog })
  }

  const metrics = brokerMetrics(broker, proxy, unauthorized, plan.map(l => l.name))
  const activity = logActivity(broker, logger, usernames, metrics.disconnected, cluster?.onLogin)
  loggedIn = activity.accepted
  const onceAMinute = oncePerMinute(logger)
  logConnectionErrors(broker, onceAMinute, metrics.connectionFailed)
  // The MQTT listeners share what the open-file limit leaves: a connection past it is dropped, counted and logged.
  const fileLimit = openFileLimit()
  if (fileLimit !== undefined) shareConnections(servers.map(s => s.server), Math.max(1, fileLimit - FILE_RESERVE))
  // The plugin logs refusals and failed authentications itself (its logger option).

  let admin: http.Server | undefined
  if (adminPort !== undefined) {
    const { maxConnections, idleTimeout, headersTimeout, requestTimeout, keepAliveTimeout, checkInterval } = ADMIN_LIMITS
    admin = http.createServer({ headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval: checkInterval }, (req, res) => {
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      }
      // The path and the query as a URL reads them: `?clientId=a?b` is the id `a?b`, `%2B` a `+` (a bare `+` is a space).
      // Prefixed, not resolved against a base: a target `//x/clients` stays that path, not host x.
      let target: URL
      try { target = new URL(`http://localhost${req.url ?? '/'}`) } catch { send(400, { error: 'not a request target' }); return }
      const path = target.pathname
      // The probes reveal nothing and a load balancer or Kubernetes calls them without a token.
      const get = req.method === 'GET' || req.method === 'HEAD'
      if (get && path === '/health') { send(200, { status: 'up' }); return }
      if (get && path === '/ready') { send(ready ? 200 : 503, { ready }); return }
      // With ADMIN_TOKEN set, every other request needs it: Authorization: Bearer <token>.
      if (adminToken !== undefined && !bearerMatches(req.headers.authorization, adminToken)) {
        res.setHeader('www-authenticate', 'Bearer')
        send(401, { error: 'this endpoint needs the ADMIN_TOKEN: Authorization: Bearer <token>' })
        return
      }
      // Without a token the endpoint is on loopback: a request naming another
      // host is a web page's (DNS rebinding), never an operator's.
      if (adminToken === undefined && !loopbackHost(req.headers.host)) {
        send(403, { error: 'without ADMIN_TOKEN the admin endpoint answers only requests to a loopback host (127.0.0.1, [::1], localhost)' })
        return
      }
      const fail = (err: unknown): void => { send(500, { error: hide(String(err)) }) }
      if (req.method === 'GET' && path === '/clients') clients.list().then(list => { send(200, list) }, fail)
      else if (req.method === 'GET' && path === '/unauthorized') unauthorized.list().then(list => { send(200, list) }, fail)
      else if (req.method === 'DELETE' && path === '/unauthorized') {
        // ?clientId=<id> (URL-encoded): that entry only (404 when not listed); no query: all. Anything else is a mistake, not "all".
        const query = target.searchParams
        const clientId = query.get('clientId') ?? undefined
        if ([...query.keys()].some(k => k !== 'clientId') || query.getAll('clientId').length > 1) {
          send(400, { error: 'DELETE /unauthorized takes ?clientId=<id> (one entry) or nothing (all)' })
        } else {
          unauthorized.clear(clientId).then(removed => {
            if (clientId !== undefined && removed === 0) send(404, { removed, error: `no entry for client id ${JSON.stringify(clientId)}` })
            else send(200, { removed })
          }, fail)
        }
      } else if (req.method === 'GET' && path === '/stats') send(200, proxy.stats())
      else if (req.method === 'GET' && path === '/metrics') {
        metrics.registry.metrics().then(text => { res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(text) }, fail)
      } else send(404, { error: 'GET /clients, GET /unauthorized, DELETE /unauthorized[?clientId=<id>], GET /stats, GET /metrics' })
    })
    admin.maxConnections = maxConnections
    admin.timeout = idleTimeout
    servers.push({ name: 'admin' as ListenerName, prefix: 'ADMIN', server: admin, host: adminHost, port: adminPort })
  }

  await bindAll(servers)
  for (const s of servers) if (s.server !== admin) watchDrops(s.server, s.name, fileLimit, onceAMinute, reason => { metrics.dropped(s.name, reason) })
  // Announced once every listener is bound: a failure above leaves nothing behind and nothing announced.
  ready = true
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    // Not ready any more, no new connections; the clients connected get
    // until the drain timeout to leave, then the broker closes the rest.
    ready = false
    logger.info({ event: 'shutdown', signal, clients: broker.connectedClients, drainTimeout }, 'shutting down: draining')
    for (const s of servers) if (s.server !== admin) s.server.close()
    const until = Date.now() + drainTimeout
    const finish = (): void => {
      if (broker.connectedClients > 0 && Date.now() < until) { setTimeout(finish, 100); return }
      const remaining = broker.connectedClients
      logger.info({ event: 'shutdown', remaining }, remaining === 0
        ? 'drained: closing the broker'
        : `drain timeout (${drainTimeout} ms): closing the ${remaining} client${remaining === 1 ? '' : 's'} still connected, then the broker`)
      activity.shuttingDown() // whoever is still connected goes because the broker closes
      admin?.close()
      cluster?.closing()
      broker.close(() => process.exit(0))
    }
    finish()
  }
  // Before the listening lines: whoever sends a signal once it has read them finds it handled.
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  for (const s of servers) {
    const address = s.server.address() as net.AddressInfo
    if (s.server === admin) {
      logger.info({ event: 'listening', endpoint: 'admin', bindAddress: address.address, bindPort: address.port, token: adminToken !== undefined },
        `admin endpoint on ${address.address}:${address.port} (GET /health, /ready, /metrics, /clients, /unauthorized, /stats)`)
      continue
    }
    const settings = proxy.listener(s.name)
    const trusted = settings.trustedProxies === undefined || settings.mode === 'off' ? '' : ` from ${settings.trustedProxies.join(', ')}`
    logger.info({ event: 'listening', listener: s.name, bindAddress: address.address, bindPort: address.port, proxyProtocol: settings.mode, trustedProxies: settings.mode === 'off' ? undefined : settings.trustedProxies ?? 'any' },
      `${s.name} listener on ${address.address}:${address.port}, PROXY protocol ${settings.mode}${trusted}`)
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
