import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import type { IncomingMessage } from 'node:http'
import tls from 'node:tls'
import type { Client, Connection } from 'aedes'
import type { AedesBroker } from './aedes-shape.js'
import { authChain } from './auth-chain.js'
import { warnAboutAedesProxyOptions } from './aedes-options.js'
import { addressMatcher, MATCH_ANY, type AddressMatcher } from './trust.js'
import {
  connDetailsFor, peerOf, upgradeRequest, type Arrival, type ConnDetails, type UpgradeRequest
} from './conn-details.js'
import { checkAttachable, HandOff, listenerOf, type AttachableServer, type BrokerHandle } from './handoff.js'
import { Collapser } from './log-collapse.js'
import { logTlsRefusals } from './tls-refusals.js'
import { UsageError } from './errors.js'
import type { ReadFailure } from './reader.js'
import type { HeaderEvent, ProxyProtocolEvents, RejectedEvent } from './events.js'
import { refusalMessage } from './hints.js'
import { bytesReadOf, intake, refuse, type IntakeContext, type Proceed } from './intake.js'
import {
  LISTENER_NAMES, resolveOptions, type ListenerName, type ListenerSettings, type ProxyProtocolOptions,
  type ResolvedOptions
} from './options.js'
import { PP2_SUBTYPE_SSL_CN } from './protocol/tlv.js'
import { Stats, type ListenerStats } from './stats.js'
import { installOnce, type AedesPlugin } from './use.js'
import './augment.js'

/**
 * What `broker.handle` is once the plugin is installed: aedes' own handle,
 * given `req.connDetails`. It returns the aedes client when the connection
 * was handed over at once (PROXY off, or a stream already read by an
 * attached server), and undefined when the client is created later, once
 * its header has been read, or never (a refused connection).
 */
export type ProxyHandle = (stream: Connection, req?: IncomingMessage) => Client | undefined

type AedesHandle = (stream: Connection, req?: IncomingMessage) => Client

const ATTACHED = Symbol.for('aedes-proxy-protocol.attached')

/**
 * The installed PROXY plugin: wraps `broker.handle` (and, for
 * `sslCnAsUsername`, the authenticate chain) and takes over the servers
 * given to {@link ProxyProtocol.attach}. Emits `'header'` and `'rejected'`;
 * a refused connection never reaches the broker or its `'error'` event.
 */
export class ProxyProtocol extends EventEmitter<ProxyProtocolEvents> implements AedesPlugin<ProxyProtocol> {
  /** The settings in force per listener, after validation and inheritance. */
  readonly settings: ResolvedOptions
  /** The function installed as `broker.handle`. */
  readonly handle: ProxyHandle = (stream, req) => this.#onHandle(stream, req)
  #aedesHandle: AedesHandle | undefined
  readonly #stats = new Stats()
  readonly #handOff = new HandOff()
  readonly #trusted: Readonly<Record<ListenerName, AddressMatcher>>
  readonly #intake: IntakeContext
  readonly #detach = new WeakMap<object, { readonly listener: ListenerName, readonly detach: () => void }>()

  /** @throws OptionsError naming every bad key, in plain words. */
  constructor (options: ProxyProtocolOptions = {}) {
    super()
    this.settings = resolveOptions(options)
    const s = this.settings
    const matcher = (list: readonly string[] | undefined): AddressMatcher =>
      list === undefined ? MATCH_ANY : addressMatcher(list)
    this.#trusted = {
      tcp: matcher(s.tcp.trustedProxies),
      ssl: matcher(s.ssl.trustedProxies),
      ws: matcher(s.ws.trustedProxies),
      wss: matcher(s.wss.trustedProxies)
    }
    // The intake's getters have a `this` of their own: they reach the plugin through these.
    const listened = (event: 'header' | 'rejected'): boolean => this.listenerCount(event) > 0
    const onHeader = (event: HeaderEvent): void => { this.emit('header', event) }
    const onRejected = (err: ReadFailure, event: RejectedEvent): void => { this.emit('rejected', err, event) }
    this.#intake = {
      settings: s,
      trusted: this.#trusted,
      stats: this.#stats,
      logger: s.logger,
      logs: new Collapser(),
      get onHeader () { return listened('header') ? onHeader : undefined },
      get onRejected () { return listened('rejected') ? onRejected : undefined }
    }
  }

  /**
   * Installs the plugin on a broker (called by `broker.use`): wraps
   * `broker.handle`. Servers created before or after this both work once
   * given to {@link attach}.
   * @throws UsageError when this plugin or another instance of it is already installed on the broker.
   */
  install (broker: AedesBroker): this {
    installOnce(broker, 'installed', 'already installed on this broker', () => {
      if (this.#aedesHandle !== undefined) throw new UsageError('this plugin is already installed on another broker')
    })
    this.#aedesHandle = broker.handle
    broker.handle = this.handle as AedesHandle
    warnAboutAedesProxyOptions(broker, this.settings.logger)
    if (LISTENER_NAMES.some(name => this.settings[name].sslCnAsUsername)) {
      authChain(broker).username((client, username) => this.#usernameFor(client.connDetails, username))
    }
    return this
  }

  /**
   * Takes over a server's connections so the header is read from the raw TCP
   * socket before TLS or HTTP: `tls.Server` serves the ssl listener,
   * `http.Server` ws, `https.Server` wss, `net.Server` tcp (unless
   * `listener` says otherwise). Call it once the server's own listeners are
   * set up (for example after `tls.createServer(opts, broker.handle)`);
   * attaching the same server again returns the same function.
   *
   * @returns a function that gives the server its connections back.
   * @throws UsageError when `server` is not a server, is attached to another instance or as
   *   another listener, or the plugin is not installed yet.
   */
  attach (server: AttachableServer, options: { listener?: ListenerName } = {}): () => void {
    checkAttachable(server, options)
    // Without the plugin in broker.handle, a header would be read and its
    // address thrown away: refuse the wiring, not every client.
    const aedesHandle = this.#aedesHandle
    if (aedesHandle === undefined) {
      throw new UsageError('attach() before the plugin is installed: ' +
        'const proxy = broker.use(proxyProtocol(options)), then proxy.attach(server)')
    }
    const listener = options.listener ?? listenerOf(server)
    const previous = this.#detach.get(server)
    if (previous !== undefined) {
      if (previous.listener !== listener) {
        throw new UsageError(`this server is already attached as the ${previous.listener} listener, not ${listener}`)
      }
      return previous.detach
    }
    const s = server as AttachableServer & { [ATTACHED]?: ProxyProtocol }
    if (s[ATTACHED] !== undefined) {
      throw new UsageError('this server is already attached to another proxyProtocol() instance')
    }
    Object.defineProperty(server, ATTACHED, { value: this, configurable: true })
    const settings = this.settings[listener]
    // What each raw socket meets first: the intake, or (PROXY off, no hints) nothing.
    const read = settings.mode !== 'off' || settings.hints
      ? (socket: Duplex, proceed: Proceed): void => { intake(this.#intake, socket, listener, proceed) }
      : (socket: Duplex, proceed: Proceed): void => {
          this.#stats.direct(listener)
          proceed(socket, undefined, undefined)
        }
    const handle: BrokerHandle = {
      unwrapped: aedesHandle,
      wrapped: this.handle as BrokerHandle['wrapped'],
      deliver: (socket, arrival) => { aedesHandle(socket, this.#request(socket, undefined, undefined, arrival)) }
    }
    const restore = this.#handOff.takeOver(server, listener, read, handle)
    // A TLS handshake the server refuses is logged with the real address.
    const logger = this.settings.logger
    const stopTls = logger !== undefined && server instanceof tls.Server
      ? logTlsRefusals(server, listener, this.#handOff, logger, this.#intake.logs)
      : undefined
    const detach = (): void => {
      restore()
      stopTls?.()
      this.#detach.delete(server)
      Reflect.deleteProperty(s, ATTACHED)
    }
    this.#detach.set(server, { listener, detach })
    return detach
  }

  /** The settings in force on one listener. */
  listener (name: ListenerName): ListenerSettings {
    return this.settings[name]
  }

  /** Counters per listener since the plugin was created: a snapshot. */
  stats (): Readonly<Record<ListenerName, ListenerStats>> {
    return this.#stats.snapshot()
  }

  #onHandle (stream: Connection, req: IncomingMessage | undefined): Client | undefined {
    const handle = this.#aedesHandle
    if (handle === undefined) throw new UsageError('broker.handle of this plugin was called before broker.use(plugin)')
    // A WebSocket's request, not any `req`: aedes-server-factory gives its
    // TCP connections `{ connDetails }`, and those are tcp (or ssl) all the same.
    const upgrade = upgradeRequest(req)
    const arrival = this.#handOff.find(stream, upgrade)
    if (arrival !== undefined) return handle(stream, this.#request(stream, req, upgrade, arrival))
    const listener: ListenerName = upgrade !== undefined
      ? (upgrade.socket instanceof tls.TLSSocket ? 'wss' : 'ws')
      : (stream instanceof tls.TLSSocket ? 'ssl' : 'tcp')
    const settings = this.settings[listener]
    // Nobody attached this connection's server. PROXY off: hand it over as
    // aedes would. A plain TCP stream given alone can still be read here;
    // TLS and HTTP have already consumed the first bytes, and so may have a
    // wrapper that passes a request (aedes-server-factory's trustProxy).
    if (settings.mode === 'off') {
      this.#stats.direct(listener)
      return handle(stream, this.#request(stream, req, upgrade, { listener, header: undefined, peer: undefined }))
    }
    if (listener === 'tcp' && req === undefined) {
      let client: Client | undefined
      intake(this.#intake, stream, 'tcp', (_socket, header, peer) => {
        client = handle(stream, this.#request(stream, undefined, undefined, { listener: 'tcp', header, peer }))
      })
      return client // set when the connection was handed over synchronously
    }
    const socket = upgrade?.socket ?? stream
    const message = refusalMessage.notAttached(listener)
    refuse(this.#intake, stream, listener, peerOf(socket), 'PROXY_ERR_NOT_ATTACHED', message, bytesReadOf(socket))
    return undefined
  }

  /** The request aedes is given, with `connDetails` on it. */
  #request (stream: Connection, req: IncomingMessage | undefined, upgrade: UpgradeRequest | undefined,
    arrival: Arrival): IncomingMessage {
    const listener = arrival.listener
    const details = connDetailsFor(stream, upgrade, arrival, this.settings[listener], this.#trusted[listener])
    if (req !== undefined) {
      (req as IncomingMessage & { connDetails?: ConnDetails }).connDetails = details
      return req
    }
    return { connDetails: details } as unknown as IncomingMessage
  }

  #usernameFor (details: ConnDetails | null | undefined, username: string | undefined): string | undefined {
    if (details == null || !this.settings[details.listener].sslCnAsUsername) return username
    const ssl = details.proxy?.tlvs.ssl
    // Only a certificate the proxy verified; otherwise the MQTT username stands
    // (VerneMQ's fallback, issue 2062).
    if (ssl?.verified !== true) return username
    if (ssl.cn !== undefined) return ssl.cn
    // A verified CN that is not clean text names no one: no username, never
    // the one the client chose in its place.
    return ssl.tlvs.some(t => t.type === PP2_SUBTYPE_SSL_CN) ? undefined : username
  }
}

/**
 * Creates the PROXY protocol plugin. Options are validated now, so a typo
 * fails before any port is bound.
 *
 * ```ts
 * const broker = withPlugins(await Aedes.createBroker({ authenticate }))
 * const proxy = broker.use(proxyProtocol({ proxyEnabled: true, trustedProxies: ['10.0.0.0/8'] }))
 * const server = net.createServer(broker.handle)
 * proxy.attach(server)
 * server.listen(1883)
 * ```
 *
 * @throws OptionsError naming every bad key.
 */
export function proxyProtocol (options: ProxyProtocolOptions = {}): ProxyProtocol {
  return new ProxyProtocol(options)
}
