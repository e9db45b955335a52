// Starts a real aedes broker with the plugin behind one listener of the given
// kind, on 127.0.0.1, and records the connDetails its hooks see.
import type { TestContext } from 'node:test'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { once } from 'node:events'
import type { Aedes, AuthenticateError, Client } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { proxyProtocol, type ProxyProtocol } from '../../src/plugin.js'
import { withPlugins } from '../../src/use.js'
import type { ConnDetails } from '../../src/conn-details.js'
import type { ListenerName, ProxyProtocolOptions } from '../../src/options.js'
import type { ProxyProtocolError } from '../../src/protocol/errors.js'
import type { RejectedEvent } from '../../src/events.js'
import { testCerts } from './certs.js'
import { createBroker, type AedesVersion } from './aedes-versions.js'
import { freePort, startTestHaproxy } from './programs.js'
import { ipPolicy, type IpPolicyOptions } from '../../src/operator/ip-policy.js'
import { sessions, type Sessions, type SessionsOptions } from '../../src/operator/sessions.js'
import { unauthorizedClients, type UnauthorizedClients } from '../../src/operator/unauthorized.js'

export interface Seen {
  readonly hook: 'preConnect' | 'authenticate'
  readonly clientId: string
  readonly details: ConnDetails | null | undefined
  readonly username?: string | undefined
}

export interface Rejection {
  readonly err: ProxyProtocolError
  readonly ev: RejectedEvent
}

export interface Stack {
  readonly broker: Aedes
  readonly proxy: ProxyProtocol
  /** the unauthorized-clients plugin, installed on every stack */
  readonly unauthorized: UnauthorizedClients
  /** the sessions plugin, installed on every stack with the proxy's counters */
  readonly sessions: Sessions
  readonly port: number
  readonly seen: Seen[]
  /** every 'rejected' event of the plugin, in order */
  readonly rejected: Rejection[]
  readonly server: net.Server
  close (): Promise<void>
}

export interface StackOptions {
  readonly listener: ListenerName
  readonly plugin: ProxyProtocolOptions
  /** install the IP policy plugin with these options */
  readonly ipPolicy?: IpPolicyOptions
  /** options of the sessions plugin (the proxy's counters are added) */
  readonly sessions?: Omit<SessionsOptions, 'counters'>
  /** require and verify client certificates on ssl/wss */
  readonly mtls?: boolean
  /** attach the server to the plugin (default true) */
  readonly attach?: boolean
  /** address to listen on (default 127.0.0.1; '::ffff:127.0.0.1' gives IPv4-mapped peers) */
  readonly host?: string
  /** the broker's own authenticate (default: accept all); an error is passed to aedes as the refusal */
  readonly authenticate?: (client: Client, username: string | undefined, password: Buffer | undefined) =>
  boolean | AuthenticateError
  /** the aedes version (default: AEDES_VERSION from the environment, else 1) */
  readonly aedes?: AedesVersion
}

export async function startStack (options: StackOptions): Promise<Stack> {
  const seen: Seen[] = []
  const broker = withPlugins(await createBroker(options.aedes, {
    preConnect (client: Client, _packet, done) {
      seen.push({ hook: 'preConnect', clientId: client.id, details: client.connDetails })
      done(null, true)
    },
    authenticate (client: Client, username, password, done) {
      seen.push({ hook: 'authenticate', clientId: client.id, details: client.connDetails, username })
      const answer = options.authenticate === undefined ? true : options.authenticate(client, username, password)
      if (answer instanceof Error) done(answer, false)
      else done(null, answer)
    }
  }))
  const proxy = broker.use(proxyProtocol(options.plugin))
  if (options.ipPolicy !== undefined) broker.use(ipPolicy(options.ipPolicy))
  const unauthorized = broker.use(unauthorizedClients())
  const sessionList = broker.use(sessions({ ...options.sessions, counters: proxy }))
  const rejected: Rejection[] = []
  proxy.on('rejected', (err, ev) => rejected.push({ err, ev }))
  const certs = testCerts()
  const tlsOptions: tls.TlsOptions = {
    key: certs.serverKey,
    cert: certs.serverCert,
    ca: certs.ca,
    requestCert: options.mtls === true,
    rejectUnauthorized: options.mtls === true
  }
  let server: net.Server
  switch (options.listener) {
    case 'tcp':
      server = net.createServer(broker.handle)
      break
    case 'ssl':
      server = tls.createServer(tlsOptions, broker.handle)
      break
    case 'ws':
    case 'wss': {
      const httpServer = options.listener === 'ws' ? http.createServer() : https.createServer(tlsOptions)
      const wss = new WebSocketServer({ server: httpServer })
      wss.on('connection', (socket, req) => {
        broker.handle(createWebSocketStream(socket), req)
      })
      server = httpServer
      break
    }
  }
  if (options.attach ?? true) proxy.attach(server)
  const sockets = new Set<net.Socket>()
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, options.host ?? '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  return {
    broker,
    proxy,
    unauthorized,
    sessions: sessionList,
    port,
    seen,
    rejected,
    server,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await new Promise<void>(resolve => broker.close(() => resolve()))
    }
  }
}

/**
 * A stack of `aedes` with PROXY on for `listener`, behind a real HAProxy (mode
 * tcp) that sends PROXY `header` from `source`; both stopped in t.after.
 * @returns the stack and HAProxy's frontend port, or undefined when HAProxy is missing (the test skips).
 */
export async function stackBehindHaproxy (t: TestContext, aedes: AedesVersion, listener: ListenerName,
  header: 1 | 2, source: string, extra: Partial<StackOptions> = {}): Promise<{ s: Stack, fe: number } | undefined> {
  const plugin = { listeners: { [listener]: { proxyEnabled: true } } }
  const s = await startStack({ aedes, listener, plugin, ...extra })
  t.after(() => s.close())
  const fe = await freePort()
  const hap = await startTestHaproxy(t, {
    frontend: [`bind 127.0.0.1:${fe}`],
    server: `server s1 127.0.0.1:${s.port} ${header === 1 ? 'send-proxy' : 'send-proxy-v2'} source ${source}`
  })
  return hap === undefined ? undefined : { s, fe }
}
