import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { Readable, type Duplex } from 'node:stream'
import tls from 'node:tls'
import type { Arrival, UpgradeRequest } from './conn-details.js'
import { UsageError } from './errors.js'
import type { Proceed } from './intake.js'
import { LISTENER_NAMES, type ListenerName } from './options.js'

// The hand-off: how a connection gets from an attached server to aedes once
// its header (if any) has been read. On a tcp server whose listener is
// broker.handle the socket goes to aedes at once, with its arrival; where
// Node's TLS or HTTP machinery (or a listener of the user's) sits between,
// the arrival is remembered by socket and found again for the stream
// broker.handle receives.

/** A server whose connections can carry a PROXY header. */
export type AttachableServer = net.Server | tls.Server | http.Server | https.Server

type Listener = (this: unknown, ...args: unknown[]) => void

/**
 * The listener a server serves, from its class: https is wss, tls is ssl,
 * http is ws, and a plain net server is tcp. https.Server is a tls.Server,
 * so it is tested first.
 */
export function listenerOf (server: AttachableServer): ListenerName {
  if (server instanceof https.Server) return 'wss'
  if (server instanceof tls.Server) return 'ssl'
  if (server instanceof http.Server) return 'ws'
  return 'tcp'
}

/** Checks what `attach()` was given, loudly. */
export function checkAttachable (server: unknown, options: unknown): asserts server is AttachableServer {
  if (!(server instanceof net.Server)) {
    const proto = typeof server === 'object' && server !== null
      ? Object.getPrototypeOf(server) as { constructor?: { name: string } } | null
      : undefined
    const what = server === null
      ? 'null'
      : typeof server === 'object' ? `an object (${proto?.constructor?.name ?? 'no class'})` : typeof server
    throw new UsageError(`attach() needs a net, tls, http or https server, got ${what}`)
  }
  if (typeof options !== 'object' || options === null) {
    throw new UsageError(`attach(server, options) takes { listener? }, got ${String(options)}`)
  }
  const unknown = Object.keys(options).filter(k => k !== 'listener')
  if (unknown.length > 0) {
    throw new UsageError(`attach(server, options) takes { listener? }, not ${unknown.map(k => `\`${k}\``).join(', ')}`)
  }
  const listener = (options as { listener?: unknown }).listener
  if (listener !== undefined && !(LISTENER_NAMES as readonly unknown[]).includes(listener)) {
    const names = LISTENER_NAMES.join(', ')
    throw new UsageError(`attach(server, { listener }) takes one of ${names}, got ${JSON.stringify(listener)}`)
  }
}

/** broker.handle, as a server's listener may hold it, and aedes' handle for the straight path. */
export interface BrokerHandle {
  /** aedes' own handle, given to a server before the plugin was installed. */
  readonly unwrapped: unknown
  /** The plugin's handle (broker.handle once installed): runs in place of `unwrapped`. */
  readonly wrapped: Listener
  /** Hands a socket with its arrival to aedes, as broker.handle would once it found the arrival. */
  readonly deliver: (socket: Duplex, arrival: Arrival) => void
}

/**
 * Key of a TCP connection by its endpoints. A TLSSocket reports the same
 * endpoints as the raw socket under it, so this is how a TLS connection is
 * matched with the header read on its raw socket, through public API only.
 */
function connectionKey (socket: net.Socket): string | undefined {
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return undefined
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress ?? ''}|${socket.localPort ?? 0}`
}

/**
 * The attached servers of one plugin instance, and the arrivals (what the
 * intake learned on a raw socket) still to be found by broker.handle: for
 * the raw socket itself (a listener of the user's on tcp), the TLSSocket
 * wrapping it (ssl), or a WebSocket stream whose HTTP request's socket is
 * one of those (ws, wss).
 */
export class HandOff {
  readonly #byStream = new WeakMap<object, Arrival>()
  readonly #byKey = new Map<string, Arrival>()
  /** Whether TLSSocket#_parent leads back to the raw socket on this Node (undefined: not seen yet). */
  #tlsParentLink: boolean | undefined

  /**
   * Takes over a server's connections: `read` gets each raw socket first, and
   * calls the `proceed` it is given once the header, if any, has been read;
   * `proceed` is made once per server, none per connection.
   *
   * On a tcp listener whose one `'connection'` listener is broker.handle (the
   * usual `net.createServer(broker.handle)`), `proceed` is the straight path:
   * the socket and its arrival go to aedes (`handle.deliver`) without going
   * through the listener or being looked for again. Elsewhere it remembers
   * the arrival and runs the server's own `'connection'` listeners (Node's
   * TLS handshake, HTTP parser, or the user's) on the socket, with the bytes
   * after the header still unread; broker.handle finds the arrival with
   * {@link find}. A listener that is aedes' unwrapped handle (given to the
   * server before the plugin was installed) runs as the plugin's, on
   * `'connection'` and, on a TLS server, on `'secureConnection'`.
   *
   * @returns a function that gives the server its listeners back.
   */
  takeOver (server: AttachableServer, listener: ListenerName, read: (socket: Duplex, proceed: Proceed) => void,
    handle: BrokerHandle): () => void {
    const swap = (fn: Listener): Listener => fn === handle.unwrapped ? handle.wrapped : fn
    const original = server.listeners('connection') as Listener[]
    server.removeAllListeners('connection')
    const listeners = original.map(swap)
    let proceed: Proceed
    if (listener === 'tcp' && listeners.length === 1 && listeners[0] === handle.wrapped) {
      // bench/README.md section 2, "the plugin's `attach` and hand-over": the cost of the hand-over.
      const deliver = handle.deliver
      proceed = (socket, header, peer) => { deliver(socket, { listener, header, peer }) }
    } else {
      // Node's HTTP server reads the socket through `data` events once it has
      // it, and a socket the reader paused would wait for a resume that never comes.
      const plainHttp = server instanceof http.Server && !(server instanceof https.Server)
      proceed = (socket, header, peer) => {
        this.#remember(socket, { listener, header, peer })
        for (const fn of listeners) fn.call(server, socket)
        if (plainHttp && socket instanceof Readable) socket.resume()
      }
    }
    function interceptor (socket: Duplex): void { read(socket, proceed) }
    server.on('connection', interceptor)
    const secure = server instanceof tls.Server && !(server instanceof https.Server)
      ? server.listeners('secureConnection') as Listener[]
      : []
    const wrappers = secure.map(fn => function (this: unknown, ...args: unknown[]): void { swap(fn).apply(this, args) })
    if (secure.length > 0) {
      server.removeAllListeners('secureConnection')
      for (const w of wrappers) server.on('secureConnection', w)
    }
    return () => {
      server.off('connection', interceptor)
      for (const fn of original) server.on('connection', fn)
      for (const w of wrappers) server.off('secureConnection', w)
      for (const fn of secure) server.on('secureConnection', fn)
    }
  }

  #remember (socket: object, arrival: Arrival): void {
    this.#byStream.set(socket, arrival)
    // TLS: the TLSSocket aedes gets wraps this raw socket. Node links the two
    // (TLSSocket#_parent, unchanged since Node 0.x but not documented); until
    // that link has been seen to work here, also key the connection by its
    // endpoints, which a TLSSocket reports the same as its raw socket.
    if (this.#tlsParentLink !== true && (arrival.listener === 'ssl' || arrival.listener === 'wss') &&
      socket instanceof net.Socket) {
      const key = connectionKey(socket)
      if (key === undefined) return
      this.#byKey.set(key, arrival)
      socket.once('close', () => { this.#byKey.delete(key) })
    }
  }

  /** The arrival of the stream broker.handle was given (and of its upgrade request's socket), if remembered. */
  find (stream: object, req: UpgradeRequest | undefined): Arrival | undefined {
    const socket = req?.socket ?? stream
    const arrival = this.#byStream.get(socket) ?? this.#byStream.get(stream)
    if (arrival !== undefined || !(socket instanceof tls.TLSSocket)) return arrival
    // _parent before the endpoint key (system calls): bench/README.md section 2, variant tls-pp-rec-v2.
    const parent: unknown = (socket as { _parent?: unknown })._parent
    const viaParent = parent instanceof net.Socket ? this.#byStream.get(parent) : undefined
    if (viaParent !== undefined) {
      this.#tlsParentLink = true
      return viaParent
    }
    const key = connectionKey(socket)
    const viaKey = key === undefined ? undefined : this.#byKey.get(key)
    if (viaKey !== undefined) this.#tlsParentLink = false
    return viaKey
  }
}
