// The broker's MQTT listeners (tcp, ssl, ws, wss): warned about, built and
// attached to the PROXY plugin before any port is bound, and announced once
// every one is.
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import type { Aedes } from 'aedes'
import type { ListenerName, ProxyProtocol } from 'aedes-proxy-protocol'
import type { Logger } from 'pino'
import { WebSocketServer, createWebSocketStream } from 'ws'
import type { ListenerPlan } from './settings.js'
import { isLoopback } from './startup.js'
import { tlsOptions } from './tls.js'

type Env = Readonly<Record<string, string | undefined>>

/** A server to bind: its variables' prefix (`LISTENER_TCP`, `ADMIN`) name it in a bind error. */
export interface Bindable {
  readonly server: net.Server
  readonly prefix: string
  readonly host: string
  readonly port: number
  readonly backlog?: number
}

/** An MQTT listener's server, built and attached. */
export interface Listener extends Bindable { readonly name: ListenerName }

/** The TLS options of the ssl and wss listeners that are enabled (a bad certificate fails here). */
export type ListenerTls = Readonly<Record<'ssl' | 'wss', tls.TlsOptions>>

/** A PROXY listener open to anyone, and a setting that does nothing, said at start-up. */
export function warnListeners (plan: readonly ListenerPlan[], proxy: ProxyProtocol, logger: Logger): void {
  for (const l of plan) {
    const settings = proxy.listener(l.name)
    if (settings.mode !== 'off' && settings.trustedProxies === undefined && !isLoopback(l.host)) {
      logger.warn({ event: 'startup', listener: l.name, bindAddress: l.host },
        `PROXY protocol is ${settings.mode} on the ${l.name} listener at ${l.host} without a trusted list: ` +
        'anyone who reaches the port can claim any client address; ' +
        'set MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES to your load balancers')
    }
    if (settings.mode === 'off' && settings.sslCnAsUsername) {
      logger.warn({ event: 'startup', listener: l.name },
        `MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME has no effect on the ${l.name} listener, where PROXY protocol is off`)
    }
  }
}

/** The TLS options of the ssl and wss listeners in `plan`; `{}` for one not enabled. */
export function listenerTls (env: Env, plan: readonly ListenerPlan[]): ListenerTls {
  const tlsFor = (listener: 'ssl' | 'wss'): tls.TlsOptions => tlsOptions(env, listener)
  return {
    ssl: plan.some(l => l.name === 'ssl') ? tlsFor('ssl') : {},
    wss: plan.some(l => l.name === 'wss') ? tlsFor('wss') : {}
  }
}

/** One server per listener in `plan`, each attached to the PROXY plugin under its name. */
export function createListeners (plan: readonly ListenerPlan[], tlsOf: ListenerTls, broker: Aedes, proxy: ProxyProtocol,
  backlog: number): Listener[] {
  return plan.map(l => {
    let server: net.Server
    if (l.name === 'tcp') {
      server = net.createServer(broker.handle)
    } else if (l.name === 'ssl') {
      server = tls.createServer(tlsOf.ssl, broker.handle)
    } else {
      const httpServer = l.name === 'ws' ? http.createServer() : https.createServer(tlsOf.wss)
      // Listen errors are the HTTP server's, reported when it is bound (bindAll); ws re-emits them.
      new WebSocketServer({ server: httpServer }).on('error', () => {}).on('connection', (socket, req) => {
        broker.handle(createWebSocketStream(socket), req)
      })
      server = httpServer
    }
    proxy.attach(server, { listener: l.name })
    return { name: l.name, prefix: l.prefix, server, host: l.host, port: l.port, backlog }
  })
}

/** The listening line of each MQTT listener, with its PROXY mode and trusted list. */
export function announceListeners (listeners: readonly Listener[], proxy: ProxyProtocol, logger: Logger): void {
  for (const s of listeners) {
    const address = s.server.address() as net.AddressInfo
    const settings = proxy.listener(s.name)
    const off = settings.mode === 'off'
    const trusted = settings.trustedProxies === undefined || off ? '' : ` from ${settings.trustedProxies.join(', ')}`
    logger.info({
      event: 'listening',
      listener: s.name,
      bindAddress: address.address,
      bindPort: address.port,
      proxyProtocol: settings.mode,
      trustedProxies: off ? undefined : settings.trustedProxies ?? 'any'
    }, `${s.name} listener on ${address.address}:${address.port}, PROXY protocol ${settings.mode}${trusted}`)
  }
}
