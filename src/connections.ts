import net from 'node:net'
import tls from 'node:tls'
import type { Arrival, UpgradeRequest } from './conn-details.js'

/**
 * Key of a TCP connection by its endpoints. A TLSSocket reports the same
 * endpoints as the raw socket under it, so this is how a TLS connection is
 * matched with the header read on its raw socket, through public API only.
 */
export function connectionKey (socket: { remoteAddress?: string | undefined, remotePort?: number | undefined, localAddress?: string | undefined, localPort?: number | undefined }): string | undefined {
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return undefined
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress ?? ''}|${socket.localPort ?? 0}`
}

/** A socket being handed over, its arrival, and whether `find` has given it out. */
interface Handing { readonly socket: object, readonly arrival: Arrival, claimed: boolean }

/**
 * The arrivals of one plugin instance: what the intake learned on a raw
 * socket, found again for the stream aedes receives. That stream is the raw
 * socket itself (tcp), the TLSSocket wrapping it (ssl), or a WebSocket stream
 * whose HTTP request's socket is one of those (ws, wss).
 */
export class Connections {
  readonly #byStream = new WeakMap<object, Arrival>()
  readonly #byKey = new Map<string, Arrival>()
  /** Whether TLSSocket#_parent leads back to the raw socket on this Node (undefined: not seen yet). */
  #tlsParentLink: boolean | undefined
  /** A plain TCP socket being handed over right now (see handOver). */
  #handing: Handing | undefined

  /**
   * Runs `handOver` (the server's own listeners) on a socket whose header,
   * if any, has been read. On a tcp listener aedes' handle takes the socket
   * at once, and `find` gets its arrival straight from here (no WeakMap
   * entry for it); whatever its listeners did not hand to aedes before they
   * returned is remembered. On ssl, ws and wss a handshake or a request
   * comes first: the arrival is remembered before the listeners run.
   */
  handOver (socket: object, arrival: Arrival, handOver: (socket: object) => void): void {
    if (arrival.listener !== 'tcp') {
      this.remember(socket, arrival)
      handOver(socket)
      return
    }
    // Another hand-over can run inside this one (a listener that emits
    // 'connection' on another server): each finds its own.
    const outer = this.#handing
    const handing: Handing = { socket, arrival, claimed: false }
    this.#handing = handing
    try {
      handOver(socket)
    } finally {
      this.#handing = outer
      if (!handing.claimed) this.remember(socket, arrival)
    }
  }

  remember (socket: object, arrival: Arrival): void {
    this.#byStream.set(socket, arrival)
    // TLS: the TLSSocket aedes gets wraps this raw socket. Node links the two
    // (TLSSocket#_parent, unchanged since Node 0.x but not documented); until
    // that link has been seen to work here, also key the connection by its
    // endpoints, which a TLSSocket reports the same as its raw socket.
    if (this.#tlsParentLink !== true && (arrival.listener === 'ssl' || arrival.listener === 'wss') && socket instanceof net.Socket) {
      const key = connectionKey(socket)
      if (key === undefined) return
      this.#byKey.set(key, arrival)
      socket.once('close', () => { this.#byKey.delete(key) })
    }
  }

  find (stream: object, req: UpgradeRequest | undefined): Arrival | undefined {
    const socket = req?.socket ?? stream
    const handing = this.#handing
    if (handing !== undefined && (socket === handing.socket || stream === handing.socket ||
      (socket instanceof tls.TLSSocket && (socket as { _parent?: unknown })._parent === handing.socket))) {
      handing.claimed = true
      return handing.arrival
    }
    const arrival = this.#byStream.get(socket) ?? this.#byStream.get(stream)
    if (arrival !== undefined || !(socket instanceof tls.TLSSocket)) return arrival
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
