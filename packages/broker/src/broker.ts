#!/usr/bin/env node
// A ready-to-run aedes broker with PROXY protocol support, configured from
// the environment with TBMQ's variable names and defaults.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { Aedes, type Client } from 'aedes'
import { ipPolicy, OptionsError, proxyProtocol, sessions, unauthorizedClients, withPlugins, type ListenerName } from 'aedes-proxy-protocol'
import { pino } from 'pino'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { LISTENER_NAMES, operatorOptionsFromEnv, optionsFromEnv, readBoolean } from './env.js'

/** The prefix of every message of this package and the library. */
const PREFIX = 'aedes-proxy-protocol: '

interface Variable { readonly name: string, readonly default: string, readonly help: string }

const LISTENER_DEFAULTS: Record<ListenerName, { enabled: boolean, port: number, what: string }> = {
  tcp: { enabled: true, port: 1883, what: 'MQTT over TCP' },
  ssl: { enabled: false, port: 8883, what: 'MQTT over TLS' },
  ws: { enabled: true, port: 8084, what: 'MQTT over WebSocket' },
  wss: { enabled: false, port: 8085, what: 'MQTT over secure WebSocket' }
}

const VARIABLES: Variable[] = [
  { name: 'MQTT_PROXY_PROTOCOL_ENABLED', default: 'false', help: 'require a PROXY v1/v2 header on every listener (true/false, or optional)' },
  ...LISTENER_NAMES.map(l => ({ name: `MQTT_${l.toUpperCase()}_PROXY_PROTOCOL_ENABLED`, default: '(inherit)', help: `override for the ${l} listener; empty inherits the global value` })),
  { name: 'MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES', default: '(any peer)', help: 'comma-separated addresses/CIDRs allowed to send a header' },
  ...LISTENER_NAMES.map(l => ({ name: `MQTT_${l.toUpperCase()}_PROXY_PROTOCOL_TRUSTED_PROXIES`, default: '(inherit)', help: `trusted proxies for the ${l} listener; replaces the global list` })),
  { name: 'MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT', default: '5000', help: 'milliseconds to wait for a complete PROXY header' },
  { name: 'MQTT_PROXY_PROTOCOL_MAX_PENDING', default: '1000', help: 'connections per listener that may wait for their PROXY header at once' },
  { name: 'MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME', default: 'false', help: 'use the CN of a client certificate the proxy verified as the username' },
  { name: 'MQTT_PROXY_PROTOCOL_SYS_INTERVAL', default: '(off)', help: 'publish PROXY counters and the client list under $SYS every this many ms' },
  { name: 'MQTT_WS_FORWARD_HEADERS_ENABLED', default: 'false', help: 'ws without PROXY: client address from X-Forwarded-For / X-Real-IP of trusted proxies' },
  { name: 'MQTT_WSS_FORWARD_HEADERS_ENABLED', default: 'false', help: 'the same for wss' },
  { name: 'MQTT_IP_ALLOW_LIST', default: '(everyone)', help: 'comma-separated client addresses/CIDRs that may connect' },
  { name: 'MQTT_IP_DENY_LIST', default: '(nobody)', help: 'comma-separated client addresses/CIDRs that may not connect' },
  { name: 'MQTT_IP_RATE_LIMIT', default: '(off)', help: 'connection attempts per second per client address' },
  { name: 'MQTT_IP_RATE_BURST', default: '(the rate)', help: 'connection attempts at once per client address' },
  { name: 'MQTT_AUTH_USERNAME', default: '(none)', help: 'when set with MQTT_AUTH_PASSWORD, clients must log in with them' },
  { name: 'MQTT_AUTH_PASSWORD', default: '(none)', help: 'the password for MQTT_AUTH_USERNAME' },
  { name: 'ADMIN_BIND_ADDRESS', default: '127.0.0.1', help: 'address of the admin HTTP endpoint' },
  { name: 'ADMIN_BIND_PORT', default: '(off)', help: 'port of the admin HTTP endpoint: GET /clients, /unauthorized, /stats; DELETE /unauthorized' },
  { name: 'LOG_LEVEL', default: 'info', help: 'debug, info, warn or error' },
  ...LISTENER_NAMES.flatMap(l => {
    const d = LISTENER_DEFAULTS[l]
    const p = `LISTENER_${l.toUpperCase()}`
    const vars: Variable[] = [
      { name: `${p}_ENABLED`, default: String(d.enabled), help: `serve ${d.what}` },
      { name: `${p}_BIND_ADDRESS`, default: '0.0.0.0', help: 'address to listen on' },
      { name: `${p}_BIND_PORT`, default: String(d.port), help: 'port to listen on' }
    ]
    if (l === 'ssl' || l === 'wss') {
      vars.push(
        { name: `${p}_PEM_CERT`, default: '', help: 'server certificate (PEM file), required when enabled' },
        { name: `${p}_PEM_KEY`, default: '', help: 'server private key (PEM file), required when enabled' },
        { name: `${p}_PEM_KEY_PASSWORD`, default: '', help: 'password of the private key, if it has one' }
      )
    }
    return vars
  })
]

function usage (): string {
  const width = Math.max(...VARIABLES.map(v => v.name.length))
  return [
    'aedes-proxy-protocol: an aedes MQTT broker that reads PROXY protocol v1/v2 headers.',
    '',
    'Configured from the environment (TBMQ names and defaults):',
    ...VARIABLES.map(v => `  ${v.name.padEnd(width)}  ${v.help}${v.default !== '' ? ` (default ${v.default})` : ''}`),
    '',
    'Booleans: true/false, on/off, yes/no, 1/0. Logs are JSON lines on stdout.'
  ].join('\n')
}

class StartupError extends Error {}

function env (name: string): string | undefined {
  const value = process.env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function boolEnv (name: string, fallback: boolean): boolean {
  return readBoolean(process.env, name) ?? fallback
}

function portEnv (name: string, fallback: number): number {
  const value = env(name)
  if (value === undefined) return fallback
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) throw new StartupError(`${name}=${JSON.stringify(value)} is not a port number (0-65535)`)
  return port
}

function tlsOptions (listener: 'ssl' | 'wss'): tls.TlsOptions {
  const p = `LISTENER_${listener.toUpperCase()}`
  const cert = env(`${p}_PEM_CERT`)
  const key = env(`${p}_PEM_KEY`)
  if (cert === undefined || key === undefined) {
    throw new StartupError(`the ${listener} listener is enabled but ${cert === undefined ? `${p}_PEM_CERT` : `${p}_PEM_KEY`} is not set: set ${p}_PEM_CERT and ${p}_PEM_KEY to PEM files, or ${p}_ENABLED=false`)
  }
  const read = (name: string, path: string): Buffer => {
    try { return readFileSync(path) } catch (err) { throw new StartupError(`${name}: cannot read ${path}: ${(err as Error).message}`) }
  }
  const passphrase = env(`${p}_PEM_KEY_PASSWORD`)
  return { cert: read(`${p}_PEM_CERT`, cert), key: read(`${p}_PEM_KEY`, key), ...(passphrase !== undefined ? { passphrase } : {}) }
}

async function main (): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage())
    return
  }
  const level = env('LOG_LEVEL') ?? 'info'
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new StartupError(`LOG_LEVEL=${JSON.stringify(level)} is not one of debug, info, warn, error`)
  const logger = pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime })
  const options = { ...optionsFromEnv(), logger }
  const operator = operatorOptionsFromEnv()
  const authUser = env('MQTT_AUTH_USERNAME')
  const authPassword = env('MQTT_AUTH_PASSWORD')
  if ((authUser === undefined) !== (authPassword === undefined)) {
    throw new StartupError(`set both MQTT_AUTH_USERNAME and MQTT_AUTH_PASSWORD, or neither (${authUser === undefined ? 'MQTT_AUTH_USERNAME' : 'MQTT_AUTH_PASSWORD'} is missing)`)
  }
  const adminPort = env('ADMIN_BIND_PORT') === undefined ? undefined : portEnv('ADMIN_BIND_PORT', 0)
  const adminHost = env('ADMIN_BIND_ADDRESS') ?? '127.0.0.1'
  const plan = LISTENER_NAMES.map(name => {
    const p = `LISTENER_${name.toUpperCase()}`
    return {
      name,
      enabled: boolEnv(`${p}_ENABLED`, LISTENER_DEFAULTS[name].enabled),
      host: env(`${p}_BIND_ADDRESS`) ?? '0.0.0.0',
      port: portEnv(`${p}_BIND_PORT`, LISTENER_DEFAULTS[name].port)
    }
  }).filter(l => l.enabled)
  // Build every server before binding any port, so a bad setting fails first.
  const broker = withPlugins(await Aedes.createBroker({
    authenticate (_client, username, password, done) {
      if (authUser === undefined) { done(null, true); return }
      const ok = username === authUser && password != null && password.toString() === authPassword
      done(ok ? null : Object.assign(new Error('bad user name or password'), { returnCode: 4 }), ok)
    }
  }))
  const proxy = broker.use(proxyProtocol(options))
  // The operator plugins, each on its own; the IP policy only when configured.
  if (operator.ipPolicy !== undefined) broker.use(ipPolicy(operator.ipPolicy))
  const unauthorized = broker.use(unauthorizedClients({ logger }))
  const clients = broker.use(sessions({ sysInterval: operator.sysInterval, counters: proxy }))
  const servers: Array<{ name: ListenerName, server: net.Server, host: string, port: number }> = []
  for (const l of plan) {
    let server: net.Server
    if (l.name === 'tcp') {
      server = net.createServer(broker.handle)
    } else if (l.name === 'ssl') {
      server = tls.createServer(tlsOptions('ssl'), broker.handle)
    } else {
      const httpServer = l.name === 'ws' ? http.createServer() : https.createServer(tlsOptions('wss'))
      new WebSocketServer({ server: httpServer }).on('connection', (socket, req) => {
        broker.handle(createWebSocketStream(socket), req)
      })
      server = httpServer
    }
    proxy.attach(server, { listener: l.name })
    servers.push({ name: l.name, server, host: l.host, port: l.port })
  }

  broker.on('client', (client: Client) => {
    const d = client.connDetails
    logger.info({ event: 'connect', clientId: client.id, ip: d?.ipAddress, port: d?.port, listener: d?.listener, proxy: d?.isProxy, via: d?.peer.address }, 'client connected')
  })
  broker.on('clientDisconnect', (client: Client) => {
    const d = client.connDetails
    logger.info({ event: 'disconnect', clientId: client.id, ip: d?.ipAddress, port: d?.port, listener: d?.listener }, 'client disconnected')
  })
  // The plugin logs refusals and failed authentications itself (its logger option).

  let admin: http.Server | undefined
  if (adminPort !== undefined) {
    admin = http.createServer((req, res) => {
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      }
      const path = (req.url ?? '/').split('?')[0]
      const fail = (err: unknown): void => { send(500, { error: String(err) }) }
      if (req.method === 'GET' && path === '/clients') clients.list().then(list => { send(200, list) }, fail)
      else if (req.method === 'GET' && path === '/unauthorized') unauthorized.list().then(list => { send(200, list) }, fail)
      else if (req.method === 'DELETE' && path === '/unauthorized') unauthorized.clear().then(removed => { send(200, { removed }) }, fail)
      else if (req.method === 'GET' && path === '/stats') send(200, proxy.stats())
      else send(404, { error: 'GET /clients, GET /unauthorized, DELETE /unauthorized, GET /stats' })
    })
    servers.push({ name: 'admin' as ListenerName, server: admin, host: adminHost, port: adminPort })
  }

  for (const s of servers) {
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject)
      s.server.listen(s.port, s.host, () => { s.server.off('error', reject); resolve() })
    })
    const address = s.server.address() as net.AddressInfo
    if (s.server === admin) {
      console.log(`admin endpoint on ${address.address}:${address.port} (GET /clients, /unauthorized, /stats)`)
      continue
    }
    const settings = proxy.listener(s.name)
    const trusted = settings.trustedProxies === undefined || settings.mode === 'off' ? '' : ` from ${settings.trustedProxies.join(', ')}`
    console.log(`${s.name} listener on ${address.address}:${address.port}, PROXY protocol ${settings.mode}${trusted}`)
  }

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ event: 'shutdown', signal }, 'shutting down')
    for (const s of servers) s.server.close()
    broker.close(() => process.exit(0))
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
}

main().catch((err: unknown) => {
  if (err instanceof StartupError || err instanceof OptionsError) {
    console.error(`${PREFIX}${err.message.replace(PREFIX, '')}`)
  } else {
    console.error(err)
  }
  process.exit(1)
})
