import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import type { Aedes, AuthenticateHandler, Client, Connection } from 'aedes'
import { buildConnDetails, type ConnDetails, type SocketEndpoint } from './conn-details.js'
import { connectClientId, describeFirstBytes, misconfigurationHint } from './hints.js'
import { connectionKey, listenerOf, takeOverConnections, type AttachableServer } from './listeners.js'
import { LISTENER_NAMES, resolveOptions, type ListenerName, type ListenerSettings, type Logger, type ProxyProtocolOptions, type ResolvedOptions } from './options.js'
import { admit, READ_PEERLESS, trustCheck, type TrustCheck } from './policy.js'
import { ProxyProtocolError, type ProxyErrorCode } from './protocol/errors.js'
import type { ProxyHeader } from './protocol/header.js'
import { readHeader, type ReadFailure } from './reader.js'
import { canonicalAddress } from './protocol/address.js'
import { escapeUnclean, printable } from './protocol/text.js'
import { IpPolicy } from './ip-policy.js'
import { UnauthorizedClients, type UnauthorizedClient } from './unauthorized.js'
import './augment.js'

/** Something `broker.use()` installs. */
export interface AedesPlugin<T> {
  install (broker: Aedes): T
}

/** A broker that has been given a `use` method by {@link withPlugins}. */
export type PluggableAedes<B extends Aedes = Aedes> = B & {
  /** Installs a plugin on this broker and returns what the plugin returns. */
  use<T> (plugin: AedesPlugin<T>): T
}

/**
 * Gives an existing aedes broker a `use(plugin)` method. aedes has none;
 * this adds one to this broker instance only, when called, and nothing else.
 */
export function withPlugins<B extends Aedes> (broker: B): PluggableAedes<B> {
  const target = broker as PluggableAedes<B>
  if (typeof target.use !== 'function') {
    Object.defineProperty(broker, 'use', {
      value: function use<T> (plugin: AedesPlugin<T>): T { return plugin.install(broker) },
      writable: true,
      configurable: true,
      enumerable: false
    })
  }
  return target
}

/** Facts about a connection the plugin accepted or refused. */
export interface ConnectionEvent {
  readonly listener: ListenerName
  /** The immediate TCP peer (the proxy, or whoever connected). */
  readonly peer: SocketEndpoint
}

/** Emitted as `'header'` for every header accepted. */
export interface HeaderEvent extends ConnectionEvent {
  readonly header: ProxyHeader
}

/** Emitted as `'rejected'` for every connection refused. */
export interface RejectedEvent extends ConnectionEvent {
  /**
   * The peer connected and sent nothing at all before closing or timing out:
   * a load balancer's TCP probe rather than a broken client.
   */
  readonly probe: boolean
  /** What is probably misconfigured, and which setting to change. */
  readonly hint?: string
  /** For a direct MQTT client on a listener that requires a header: its client id. */
  readonly clientId?: string
}

export interface ProxyProtocolEvents {
  header: [event: HeaderEvent]
  rejected: [error: ProxyProtocolError, event: RejectedEvent]
  unauthorized: [entry: UnauthorizedClient]
}

/** A connected client, as {@link ProxyProtocol.sessions} lists it. */
export interface Session {
  readonly clientId: string
  /** The real client address and port. */
  readonly ipAddress: string
  readonly port: number
  readonly ipFamily: 0 | 4 | 6
  readonly listener: ListenerName | undefined
  /** 0 without a PROXY header, else its version. */
  readonly isProxy: 0 | 1 | 2
  /** The address came from a PROXY header (not LOCAL / UNKNOWN), or from X-Forwarded-For / X-Real-IP. */
  readonly proxied: boolean
  /** The immediate TCP peer (the load balancer when proxied). */
  readonly peer: SocketEndpoint | undefined
  readonly serverIpAddress: string
  readonly serverPort: number
  /** TLS terminated here (`broker`), at the proxy (`proxy`, SSL TLV), or none. */
  readonly tls: 'broker' | 'proxy' | false
  readonly websocket: boolean
  /** When the broker accepted the client (ms since the epoch). */
  readonly connectedAt: number
}

/** Counters of one listener, from {@link ProxyProtocol.stats}. */
export interface ListenerStats {
  /** Headers accepted, by version, that announced a client address. */
  readonly proxied: { readonly v1: number, readonly v2: number }
  /** Headers accepted whose addresses are not used (v2 LOCAL, v1 UNKNOWN, UNSPEC). */
  readonly local: number
  /** Connections handed over without a header (PROXY off, or optional mode). */
  readonly direct: number
  /** Refused connections, by error code; probes are not among them. */
  readonly rejected: Readonly<Partial<Record<ProxyErrorCode, number>>>
  /**
   * Connections that sent nothing at all before closing or timing out:
   * load-balancer health checks, counted here and not in `rejected`.
   */
  readonly probes: number
  /** Connections waiting for their first bytes or a complete header right now. */
  readonly pending: number
}

interface MutableStats {
  proxied: { v1: number, v2: number }
  local: number
  direct: number
  rejected: Partial<Record<ProxyErrorCode, number>>
  probes: number
  pending: number
}

interface ConnInfo {
  readonly listener: ListenerName
  readonly header: ProxyHeader | undefined
}

const INSTALLED = Symbol.for('aedes-proxy-protocol.installed')

/** Whether TLSSocket#_parent leads back to the raw socket on this Node (undefined: not seen yet). */
let tlsParentLink: boolean | undefined

type SocketLike = { remoteAddress?: string | undefined, remotePort?: number | undefined, remoteFamily?: string | undefined }

function endpointOf (socket: SocketLike): SocketEndpoint {
  const address = socket.remoteAddress ?? ''
  const family = socket.remoteFamily === 'IPv4' ? 4 : socket.remoteFamily === 'IPv6' ? 6 : address === '' ? 0 : address.includes(':') ? 6 : 4
  return { address, port: socket.remotePort ?? 0, family }
}

function isSocket (stream: unknown): stream is net.Socket {
  return stream instanceof net.Socket
}

function emptyStats (): MutableStats {
  return { proxied: { v1: 0, v2: 0 }, local: 0, direct: 0, rejected: {}, probes: 0, pending: 0 }
}

/**
 * The installed plugin: wraps `broker.handle` (and `broker.authenticate` for
 * `sslCnAsUsername`) and takes over the servers given to
 * {@link ProxyProtocol.attach}. Emits `'header'` and `'rejected'`; a refused
 * connection never reaches the broker or its `'error'` event.
 */
export class ProxyProtocol extends EventEmitter<ProxyProtocolEvents> implements AedesPlugin<ProxyProtocol> {
  /** The settings in force per listener, after validation and inheritance. */
  readonly settings: ResolvedOptions
  #handle: ((stream: Connection, req?: IncomingMessage) => Client) | undefined
  readonly #logger: Logger | undefined
  readonly #trust: Readonly<Record<ListenerName, TrustCheck>>
  readonly #stats: Record<ListenerName, MutableStats>
  readonly #byStream = new WeakMap<object, ConnInfo>()
  readonly #byKey = new Map<string, ConnInfo>()
  readonly #ipPolicy: IpPolicy | undefined
  readonly #unauthorized: UnauthorizedClients | undefined
  /** Connected clients and when the broker accepted them. */
  readonly #clients = new Map<Client, number>()

  /** @throws OptionsError when the options are invalid. */
  constructor (options: ProxyProtocolOptions = {}) {
    super()
    this.settings = resolveOptions(options)
    this.#logger = this.settings.logger
    const s = this.settings
    this.#trust = {
      tcp: trustCheck(s.tcp.trustedProxies),
      ssl: trustCheck(s.ssl.trustedProxies),
      ws: trustCheck(s.ws.trustedProxies),
      wss: trustCheck(s.wss.trustedProxies)
    }
    this.#stats = { tcp: emptyStats(), ssl: emptyStats(), ws: emptyStats(), wss: emptyStats() }
    this.#ipPolicy = s.ipPolicy === undefined ? undefined : new IpPolicy(s.ipPolicy)
    this.#unauthorized = s.unauthorizedClients === false ? undefined : new UnauthorizedClients(s.unauthorizedClients)
  }

  /**
   * Installs the plugin on a broker (called by `broker.use`): wraps
   * `broker.handle`, so install before passing `broker.handle` to a server.
   * @throws Error when this plugin or another instance of it is already installed on the broker.
   */
  install (broker: Aedes): this {
    const b = broker as Aedes & { [INSTALLED]?: true }
    if (b[INSTALLED] === true) throw new Error('aedes-proxy-protocol: already installed on this broker')
    if (this.#handle !== undefined) throw new Error('aedes-proxy-protocol: this plugin is already installed on another broker')
    this.#handle = broker.handle
    Object.defineProperty(broker, INSTALLED, { value: true })
    broker.handle = (stream: Connection, req?: IncomingMessage): Client => this.#onHandle(stream, req) as Client
    if (LISTENER_NAMES.some(name => this.settings[name].sslCnAsUsername) || this.#ipPolicy !== undefined || this.#unauthorized !== undefined) {
      this.#wrapAuthenticate(broker)
    }
    broker.on('client', client => { this.#clients.set(client, Date.now()) })
    broker.on('clientDisconnect', client => { this.#clients.delete(client) })
    if (this.settings.sysInterval !== undefined) this.#publishSys(broker, this.settings.sysInterval)
    return this
  }

  /** The failed authentications (TBMQ's unauthorized clients), newest first. */
  unauthorizedClients (): UnauthorizedClient[] {
    return this.#unauthorized?.list() ?? []
  }

  /** Forgets one client id's failed authentications, or all. @returns how many entries went. */
  clearUnauthorizedClients (clientId?: string): number {
    return this.#unauthorized?.clear(clientId) ?? 0
  }

  /** The connected clients with their real addresses. */
  sessions (): Session[] {
    return [...this.#clients].map(([client, since]) => this.#session(client, since))
  }

  #session (client: Client, connectedAt: number): Session {
    const d = client.connDetails ?? undefined
    return {
      clientId: client.id,
      ipAddress: d?.ipAddress ?? '',
      port: d?.port ?? 0,
      ipFamily: d?.ipFamily ?? 0,
      listener: d?.listener,
      isProxy: d?.isProxy ?? 0,
      proxied: d?.proxy?.proxied === true || d?.forwarded !== undefined,
      peer: d?.peer,
      serverIpAddress: d?.serverIpAddress ?? '',
      serverPort: d?.serverPort ?? 0,
      tls: tlsOf(d),
      websocket: d?.isWebsocket ?? false,
      connectedAt
    }
  }

  /**
   * Puts the IP policy, the unauthorized-clients record and CN-as-username
   * around the broker's authenticate. It stays around it when the user
   * assigns `broker.authenticate = fn` after `use()`, as aedes code often
   * does: the property's setter replaces only the inner function.
   */
  #wrapAuthenticate (broker: Aedes): void {
    let authenticate: AuthenticateHandler = broker.authenticate
    const wrapped: AuthenticateHandler = (client, username, password, done) => {
      const d = client.connDetails ?? undefined
      const refusal = d === undefined ? undefined : this.#ipPolicy?.check(d.ipAddress)
      if (refusal !== undefined) {
        this.#recordUnauthorized(client, username, password, refusal)
        // aedes answers with CONNACK return code 5, "not authorized".
        done(Object.assign(new Error(`not authorized: ${refusal}`), { returnCode: 5 }), false)
        return
      }
      const user = this.#usernameFor(client, username)
      authenticate.call(broker, client, user, password, (err, success) => {
        if (err !== null || success !== true) {
          this.#recordUnauthorized(client, user, password, err?.message ?? 'bad user name or password')
        }
        done(err, success)
      })
    }
    Object.defineProperty(broker, 'authenticate', {
      get: () => wrapped,
      set: (fn: AuthenticateHandler) => { authenticate = fn },
      configurable: true,
      enumerable: true
    })
  }

  #recordUnauthorized (client: Client, username: string | undefined, password: Buffer | undefined, reason: string): void {
    if (this.#unauthorized === undefined) return
    const d = client.connDetails ?? undefined
    const entry = this.#unauthorized.record({
      clientId: client.id,
      ipAddress: d?.ipAddress ?? '',
      port: d?.port ?? 0,
      listener: d?.listener,
      username,
      passwordProvided: password !== undefined && password !== null,
      tls: tlsOf(d),
      reason
    })
    const logger = this.#logger
    if (logger !== undefined) callUser(() => { logger.warn({ clientId: logText(entry.clientId), ip: entry.ipAddress, port: entry.port, listener: entry.listener, reason: logText(reason, 256) }, 'authentication failed') })
    if (this.listenerCount('unauthorized') > 0) callUser(() => { this.emit('unauthorized', entry) })
  }

  #publishSys (broker: Aedes, interval: number): void {
    const prefix = `$SYS/${broker.id}/proxy-protocol`
    const publish = (topic: string, payload: string): void => {
      broker.publish({ cmd: 'publish', topic: `${prefix}/${topic}`, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => {})
    }
    const timer = setInterval(() => {
      const stats = this.#stats
      for (const name of LISTENER_NAMES) {
        const l = stats[name]
        publish(`${name}/proxied`, String(l.proxied.v1 + l.proxied.v2))
        publish(`${name}/local`, String(l.local))
        publish(`${name}/direct`, String(l.direct))
        publish(`${name}/rejected`, String(Object.values(l.rejected).reduce((a, b) => a + (b ?? 0), 0)))
      }
      publish('clients', JSON.stringify(this.sessions()))
    }, interval)
    timer.unref()
    broker.once('closed', () => { clearInterval(timer) })
  }

  /**
   * Takes over a server's connections so the header is read from the raw TCP
   * socket before TLS or HTTP: `tls.Server` serves the ssl listener,
   * `http.Server` ws, `https.Server` wss, `net.Server` tcp (unless
   * `listener` says otherwise). Call it after the server's own listeners are
   * set up (for example after `tls.createServer(opts, broker.handle)`).
   *
   * @returns a function that gives the server its connections back.
   */
  attach (server: AttachableServer, options: { listener?: ListenerName } = {}): () => void {
    const listener = options.listener ?? listenerOf(server)
    const settings = this.settings[listener]
    if (settings.mode === 'off' && !settings.hints) {
      const mark = (socket: net.Socket): void => {
        this.#stats[listener].direct++
        this.#remember(socket, { listener, header: undefined })
      }
      server.prependListener('connection', mark)
      return () => { server.off('connection', mark) }
    }
    return takeOverConnections(server, (socket, handOver) => {
      this.#intake(socket, listener, header => {
        this.#remember(socket, { listener, header })
        handOver()
      })
    })
  }

  /** The settings in force on one listener. */
  listener (name: ListenerName): ListenerSettings {
    return this.settings[name]
  }

  /** Counters per listener since the plugin was created: a snapshot. */
  stats (): Readonly<Record<ListenerName, ListenerStats>> {
    return structuredClone(this.#stats)
  }

  /**
   * Runs one new connection through the listener's policy and, where it says
   * so, the header reader; calls `proceed` only for a connection to keep.
   */
  #intake (socket: Duplex, listener: ListenerName, proceed: (header: ProxyHeader | undefined) => void): void {
    const settings = this.settings[listener]
    // The peer is looked up only when needed (a trust check, a refusal, a
    // 'header' listener): getpeername is a measurable part of a connection.
    let peer: SocketEndpoint | undefined
    const peerOf = (): SocketEndpoint => (peer ??= endpointOf(isSocket(socket) ? socket : {}))
    let trusted = true
    // Reset before Node could read its peer address (HAProxy resets its
    // health-check connections that fast): nothing to trust, but what it
    // sent can still say it was a health check.
    let peerless = false
    if (settings.trustedProxies !== undefined && settings.mode !== 'off') {
      if (peerOf().address === '' && isSocket(socket)) peerless = true
      else trusted = this.#trust[listener](peerOf().address)
    }
    const admission = peerless ? READ_PEERLESS : admit(settings, trusted)
    if (admission.action === 'pass') {
      this.#stats[listener].direct++
      proceed(undefined)
      return
    }
    if (admission.action === 'refuse') {
      this.#refuse(socket, listener, peerOf(), 'PROXY_ERR_UNTRUSTED',
        `${peerOf().address} is not in trustedProxies for the ${listener} listener, which requires a PROXY header`, -1)
      return
    }
    const stats = this.#stats[listener]
    if (stats.pending >= settings.maxPending) {
      this.#refuse(socket, listener, peerOf(), 'PROXY_ERR_TOO_MANY_PENDING',
        `${settings.maxPending} connections are already waiting for their header on the ${listener} listener (maxPending)`, -1)
      return
    }
    stats.pending++
    // A connection stops pending once its header is complete, even while
    // the reader still looks at the first bytes after it: an idle client
    // behind the proxy must not hold one of the maxPending places.
    let pending = true
    const done = (): void => {
      if (pending) {
        pending = false
        stats.pending--
      }
    }
    readHeader(socket, { headerTimeout: settings.headerTimeout, maxV2Length: settings.maxV2Length, absent: admission.absent, present: admission.present, onHeaderComplete: done }, (err, header, ended) => {
      done()
      if (err !== null) {
        this.#reject(err, listener, peerOf()) // the socket is destroyed after this returns
        return
      }
      if (peerless && header?.proxied !== false) {
        // An address that cannot be checked against trustedProxies is never
        // believed; the socket is gone anyway.
        this.#refuse(socket, listener, peerOf(), 'PROXY_ERR_CLOSED', 'connection reset before its peer address could be read', isSocket(socket) ? socket.bytesRead : 1)
        return
      }
      if (header === undefined) stats.direct++
      else this.#accept(listener, peerOf, header)
      // A health check (LOCAL, or a header and nothing after it) is counted
      // and done: there is nothing to hand over.
      if (ended === true || peerless) {
        if (!socket.destroyed) socket.destroy()
        return
      }
      proceed(header)
    })
  }

  /** Closes a connection without reading from it, and reports why. */
  #refuse (socket: Duplex, listener: ListenerName, peer: SocketEndpoint, code: ProxyErrorCode, message: string, bytesReceived: number): void {
    socket.on('error', () => {})
    socket.destroy()
    this.#reject(Object.assign(new ProxyProtocolError(code, message), { bytesReceived }), listener, peer)
  }

  #usernameFor (client: Client, username: string | undefined): string | undefined {
    const details = client.connDetails
    if (details == null || !this.settings[details.listener].sslCnAsUsername) return username
    const ssl = details.proxy?.tlvs.ssl
    // Only a certificate the proxy verified; otherwise the MQTT username stands
    // (VerneMQ's fallback, issue 2062).
    return ssl?.verified === true && ssl.cn !== undefined ? ssl.cn : username
  }

  #remember (socket: Duplex, info: ConnInfo): void {
    this.#byStream.set(socket, info)
    // TLS: the TLSSocket aedes gets wraps this raw socket. Node links the two
    // (TLSSocket#_parent, unchanged since Node 0.x but not documented); until
    // that link has been seen to work on this Node, also key the connection
    // by its endpoints, which a TLSSocket reports the same as its raw socket.
    if (tlsParentLink !== true && (info.listener === 'ssl' || info.listener === 'wss') && isSocket(socket)) {
      const key = connectionKey(socket)
      if (key === undefined) return
      this.#byKey.set(key, info)
      socket.once('close', () => { this.#byKey.delete(key) })
    }
  }

  #lookup (stream: Connection, req: IncomingMessage | undefined): ConnInfo | undefined {
    const socket = req?.socket ?? stream
    const info = this.#byStream.get(socket) ?? this.#byStream.get(stream)
    if (info !== undefined || !(socket instanceof tls.TLSSocket)) return info
    const parent: unknown = (socket as { _parent?: unknown })._parent
    const viaParent = parent instanceof net.Socket ? this.#byStream.get(parent) : undefined
    if (viaParent !== undefined) {
      tlsParentLink = true
      return viaParent
    }
    const key = connectionKey(socket)
    const viaKey = key === undefined ? undefined : this.#byKey.get(key)
    if (viaKey !== undefined) tlsParentLink = false
    return viaKey
  }

  #accept (listener: ListenerName, peerOf: () => SocketEndpoint, header: ProxyHeader): void {
    const stats = this.#stats[listener]
    if (!header.proxied) stats.local++
    else if (header.version === 1) stats.proxied.v1++
    else stats.proxied.v2++
    if (this.listenerCount('header') > 0) callUser(() => { this.emit('header', { listener, peer: peerOf(), header }) })
  }

  #reject (err: ReadFailure, listener: ListenerName, peer: SocketEndpoint): void {
    const probe = err.bytesReceived === 0 && (err.code === 'PROXY_ERR_TIMEOUT' || err.code === 'PROXY_ERR_CLOSED')
    const stats = this.#stats[listener]
    // A probe is a health check, not a refusal: counted apart.
    if (probe) stats.probes++
    else stats.rejected[err.code] = (stats.rejected[err.code] ?? 0) + 1
    const clientId = err.head === undefined ? undefined : connectClientId(err.head)
    const started = err.head === undefined
      ? undefined
      : clientId !== undefined ? `an MQTT CONNECT from client ${printable(clientId)}` : describeFirstBytes(err.head)
    const hint = misconfigurationHint(err.code, listener, started)
    const event: RejectedEvent = {
      listener,
      peer,
      probe,
      ...(hint !== undefined ? { hint } : {}),
      ...(clientId !== undefined ? { clientId } : {})
    }
    const logger = this.#logger
    if (logger !== undefined) {
      const record = { listener, peer: peer.address, peerPort: peer.port, code: err.code, ...(clientId !== undefined ? { clientId: logText(clientId) } : {}) }
      if (probe) callUser(() => { logger.debug(record, 'PROXY protocol: empty connection closed (load-balancer probe)') })
      else if (hint !== undefined) callUser(() => { logger.error({ ...record, hint }, `PROXY protocol misconfiguration: ${hint}`) })
      else callUser(() => { logger.warn({ ...record, reason: err.message }, `PROXY protocol: connection refused: ${err.message}`) })
    }
    if (this.listenerCount('rejected') > 0) callUser(() => { this.emit('rejected', err, event) })
  }

  #onHandle (stream: Connection, req: IncomingMessage | undefined): Client | undefined {
    const handle = this.#handle as (stream: Connection, req?: IncomingMessage) => Client
    const info = this.#lookup(stream, req)
    if (info !== undefined) return handle(stream, this.#request(stream, req, info.listener, info.header))
    const listener = this.#guessListener(stream, req)
    const settings = this.settings[listener]
    // Nothing has read this connection yet. A plain TCP stream can still be
    // read here; TLS and HTTP have already consumed the first bytes.
    if (listener === 'tcp' && req === undefined && (settings.mode !== 'off' || settings.hints)) {
      let client: Client | undefined
      this.#intake(stream as Duplex, 'tcp', header => {
        client = handle(stream, this.#request(stream, undefined, 'tcp', header))
      })
      return client // set when the connection was handed over synchronously
    }
    if (settings.mode === 'off') {
      this.#stats[listener].direct++
      return handle(stream, this.#request(stream, req, listener, undefined))
    }
    const socket = req?.socket ?? stream
    this.#refuse(stream, listener, endpointOf(isSocket(socket) ? socket : {}), 'PROXY_ERR_NOT_ATTACHED',
      `PROXY protocol is on for the ${listener} listener but its server was not attached: call attach(server) on the ${listener === 'ssl' ? 'tls' : listener === 'ws' ? 'http' : 'https'} server`, -1)
    return undefined
  }

  /**
   * TBMQ's forwarded-header rule for ws/wss where PROXY is off: the leftmost
   * X-Forwarded-For entry, else X-Real-IP, port 0, and only from a trusted
   * proxy; a value that is not an IP address is ignored.
   */
  #forwarded (listener: ListenerName, req: IncomingMessage, socket: SocketLike): { header: 'x-forwarded-for' | 'x-real-ip', address: string } | undefined {
    const settings = this.settings[listener]
    if (!settings.forwardedHeaders || settings.mode !== 'off') return undefined
    if (!this.#trust[listener](socket.remoteAddress ?? '')) return undefined
    // Canonical, as header addresses are: one client, one rate-limit bucket,
    // however its proxy writes the address (`2001:DB8:0::1`, `::FFFF:10.1.2.3`).
    const xff = req.headers['x-forwarded-for']
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim()
    const fromXff = first === undefined ? undefined : canonicalAddress(first)
    if (fromXff !== undefined) return { header: 'x-forwarded-for', address: fromXff.address }
    const real = req.headers['x-real-ip']
    const value = (Array.isArray(real) ? real[0] : real)?.trim()
    const fromReal = value === undefined ? undefined : canonicalAddress(value)
    if (fromReal !== undefined) return { header: 'x-real-ip', address: fromReal.address }
    return undefined
  }

  #guessListener (stream: Connection, req: IncomingMessage | undefined): ListenerName {
    if (req !== undefined) return req.socket instanceof tls.TLSSocket ? 'wss' : 'ws'
    return stream instanceof tls.TLSSocket ? 'ssl' : 'tcp'
  }

  #request (stream: Connection, req: IncomingMessage | undefined, listener: ListenerName, header: ProxyHeader | undefined): IncomingMessage {
    const socket = req?.socket ?? stream
    const facts = isSocket(socket) ? socket : {}
    const tlsFacts = socket instanceof tls.TLSSocket
      ? { authorized: socket.authorized, cert: peerCertificate(socket) }
      : undefined
    const forwarded = req !== undefined && header === undefined ? this.#forwarded(listener, req, facts) : undefined
    const details: ConnDetails = buildConnDetails(listener, facts, header, tlsFacts, req !== undefined, forwarded)
    if (req !== undefined) {
      (req as IncomingMessage & { connDetails?: ConnDetails }).connDetails = details
      return req
    }
    return { connDetails: details } as unknown as IncomingMessage
  }
}

/**
 * Runs a user's code (an event listener, the logger) about a connection the
 * plugin is still handling. Whatever it throws is rethrown on the next tick,
 * as an EventEmitter listener's exception would reach `uncaughtException`,
 * but only after the plugin has handed the connection over or closed it.
 */
function callUser (fn: () => void): void {
  try {
    fn()
  } catch (err) {
    process.nextTick(() => { throw err })
  }
}

/** A peer's string as a log field: at most `max` characters, anything that is not clean text escaped. */
function logText (text: string, max = 256): string {
  return escapeUnclean(text, max)
}

function tlsOf (d: ConnDetails | undefined): 'broker' | 'proxy' | false {
  if (d?.isTls === true) return 'broker'
  if (d?.proxy?.tlvs.ssl?.clientSsl === true) return 'proxy'
  return false
}

function peerCertificate (socket: tls.TLSSocket): tls.PeerCertificate | undefined {
  const cert = socket.getPeerCertificate()
  return cert !== null && Object.keys(cert).length > 0 ? cert : undefined
}

/**
 * Creates the PROXY protocol plugin. Options are validated now, so a typo
 * fails before any port is bound.
 *
 * ```ts
 * const broker = withPlugins(await Aedes.createBroker({ authenticate }))
 * const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
 * net.createServer(broker.handle).listen(1883)
 * ```
 *
 * @throws OptionsError naming every bad key.
 */
export function proxyProtocol (options: ProxyProtocolOptions = {}): ProxyProtocol {
  return new ProxyProtocol(options)
}
