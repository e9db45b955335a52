import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import type { Aedes, Client, Connection } from 'aedes'
import { buildConnDetails, type ConnDetails, type SocketEndpoint } from './conn-details.js'
import { connectionKey, listenerOf, takeOverConnections, type AttachableServer } from './listeners.js'
import { resolveOptions, type ListenerName, type ListenerSettings, type ProxyProtocolOptions, type ResolvedOptions } from './options.js'
import { ProxyProtocolError } from './protocol/errors.js'
import type { ProxyHeader } from './protocol/header.js'
import { readHeader, type ReadFailure } from './reader.js'
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
}

export interface ProxyProtocolEvents {
  header: [event: HeaderEvent]
  rejected: [error: ProxyProtocolError, event: RejectedEvent]
}

interface ConnInfo {
  readonly listener: ListenerName
  readonly header: ProxyHeader | undefined
}

const INSTALLED = Symbol.for('aedes-proxy-protocol.installed')

function endpointOf (socket: { remoteAddress?: string | undefined, remotePort?: number | undefined, remoteFamily?: string | undefined }): SocketEndpoint {
  const address = socket.remoteAddress ?? ''
  const family = socket.remoteFamily === 'IPv4' ? 4 : socket.remoteFamily === 'IPv6' ? 6 : address === '' ? 0 : address.includes(':') ? 6 : 4
  return { address, port: socket.remotePort ?? 0, family }
}

function isSocket (stream: unknown): stream is net.Socket {
  return stream instanceof net.Socket
}

/**
 * The installed plugin: wraps `broker.handle` and takes over the servers
 * given to {@link ProxyProtocol.attach}. Emits `'header'` and `'rejected'`;
 * a refused connection never reaches the broker or its `'error'` event.
 */
export class ProxyProtocol extends EventEmitter<ProxyProtocolEvents> implements AedesPlugin<ProxyProtocol> {
  /** The settings in force per listener, after validation and inheritance. */
  readonly settings: ResolvedOptions
  #handle: ((stream: Connection, req?: IncomingMessage) => Client) | undefined
  readonly #byStream = new WeakMap<object, ConnInfo>()
  readonly #byKey = new Map<string, ConnInfo>()

  /** @throws OptionsError when the options are invalid. */
  constructor (options: ProxyProtocolOptions = {}) {
    super()
    this.settings = resolveOptions(options)
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
    const original = broker.handle
    this.#handle = original
    Object.defineProperty(broker, INSTALLED, { value: true })
    broker.handle = (stream: Connection, req?: IncomingMessage): Client => this.#onHandle(stream, req) as Client
    return this
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
    if (!settings.proxyEnabled) {
      const mark = (socket: net.Socket): void => { this.#remember(socket, { listener, header: undefined }) }
      server.prependListener('connection', mark)
      return () => { server.off('connection', mark) }
    }
    return takeOverConnections(server, (socket, handOver) => {
      const peer = endpointOf(socket) // read now: a destroyed socket forgets its peer
      readHeader(socket, settings, (err, header) => {
        if (err !== null) {
          this.#reject(err, listener, peer)
          return
        }
        this.#accept(socket, listener, header as ProxyHeader)
        handOver()
      })
    })
  }

  /** The settings in force on one listener. */
  listener (name: ListenerName): ListenerSettings {
    return this.settings[name]
  }

  #remember (socket: net.Socket, info: ConnInfo): void {
    this.#byStream.set(socket, info)
    if (info.listener === 'ssl' || info.listener === 'wss') {
      const key = connectionKey(socket)
      if (key === undefined) return
      this.#byKey.set(key, info)
      socket.once('close', () => { this.#byKey.delete(key) })
    }
  }

  #lookup (stream: Connection, req: IncomingMessage | undefined): ConnInfo | undefined {
    const socket = req?.socket ?? stream
    const info = this.#byStream.get(socket) ?? this.#byStream.get(stream)
    if (info !== undefined) return info
    if (socket instanceof tls.TLSSocket) {
      const key = connectionKey(socket)
      if (key !== undefined) return this.#byKey.get(key)
    }
    return undefined
  }

  #accept (socket: net.Socket, listener: ListenerName, header: ProxyHeader): void {
    this.#remember(socket, { listener, header })
    if (this.listenerCount('header') > 0) this.emit('header', { listener, peer: endpointOf(socket), header })
  }

  #reject (err: ProxyProtocolError, listener: ListenerName, peer: SocketEndpoint): void {
    const probe = (err as Partial<ReadFailure>).bytesReceived === 0 &&
      (err.code === 'PROXY_ERR_TIMEOUT' || err.code === 'PROXY_ERR_CLOSED')
    if (this.listenerCount('rejected') > 0) this.emit('rejected', err, { listener, peer, probe })
  }

  #onHandle (stream: Connection, req: IncomingMessage | undefined): Client | undefined {
    const handle = this.#handle as (stream: Connection, req?: IncomingMessage) => Client
    const info = this.#lookup(stream, req)
    const listener = info?.listener ?? this.#guessListener(stream, req)
    if (info !== undefined || !this.settings[listener].proxyEnabled) {
      return handle(stream, this.#request(stream, req, listener, info?.header))
    }
    // PROXY is on for this listener and nothing has read the header yet.
    if (listener === 'tcp' && req === undefined) {
      const peer = endpointOf(isSocket(stream) ? stream : {})
      readHeader(stream as Duplex, this.settings.tcp, (err, header) => {
        if (err !== null) {
          this.#reject(err, 'tcp', peer)
          return
        }
        if (isSocket(stream)) this.#accept(stream, 'tcp', header as ProxyHeader)
        handle(stream, this.#request(stream, undefined, 'tcp', header))
      })
      return undefined
    }
    // TLS and HTTP have already consumed the first bytes: the header can only
    // be read if the server was attached.
    const err = new ProxyProtocolError('PROXY_ERR_NOT_ATTACHED',
      `PROXY is on for the ${listener} listener but its server was not attached: call attach(server) on the ${listener === 'ssl' ? 'tls' : listener === 'ws' ? 'http' : 'https'} server`)
    const socket = req?.socket ?? stream
    const peer = endpointOf(isSocket(socket) ? socket : {})
    stream.on('error', () => {})
    stream.destroy()
    this.#reject(err, listener, peer)
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
    const details: ConnDetails = buildConnDetails(listener, facts, header, tlsFacts, req !== undefined)
    if (req !== undefined) {
      (req as IncomingMessage & { connDetails?: ConnDetails }).connDetails = details
      return req
    }
    return { connDetails: details } as unknown as IncomingMessage
  }
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
