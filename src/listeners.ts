import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { Readable, type Duplex } from 'node:stream'
import tls from 'node:tls'
import { UsageError } from './errors.js'
import { LISTENER_NAMES, type ListenerName } from './options.js'

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
    throw new UsageError(`attach() needs a net, tls, http or https server, got ${server === null ? 'null' : typeof server === 'object' ? `an object (${(Object.getPrototypeOf(server) as { constructor?: { name: string } } | null)?.constructor?.name ?? 'no class'})` : typeof server}`)
  }
  if (typeof options !== 'object' || options === null) throw new UsageError(`attach(server, options) takes { listener? }, got ${String(options)}`)
  const unknown = Object.keys(options).filter(k => k !== 'listener')
  if (unknown.length > 0) throw new UsageError(`attach(server, options) takes { listener? }, not ${unknown.map(k => `\`${k}\``).join(', ')}`)
  const listener = (options as { listener?: unknown }).listener
  if (listener !== undefined && !(LISTENER_NAMES as readonly unknown[]).includes(listener)) {
    throw new UsageError(`attach(server, { listener }) takes one of ${LISTENER_NAMES.join(', ')}, got ${JSON.stringify(listener)}`)
  }
}

/**
 * Takes over a server's connections: `onConnection` gets each raw TCP socket
 * first, and the `handOver` returned is called with the socket once its
 * header has been read: it runs the server's own `'connection'` listeners
 * (Node's TLS handshake, HTTP parser, or aedes) on the socket, with the
 * bytes after the header still unread. One `handOver` per server, none per
 * connection.
 *
 * `swap` replaces a listener when it is called (the broker's unwrapped
 * `handle`, given to the server before the plugin was installed, becomes the
 * plugin's); it applies to `'connection'` and, on a TLS server, to
 * `'secureConnection'`.
 *
 * @returns `handOver`, and `restore`, which gives the server its listeners back.
 */
export function takeOverConnections (
  server: AttachableServer,
  onConnection: (socket: Duplex) => void,
  swap: (listener: Listener) => Listener
): { readonly handOver: (socket: object) => void, readonly restore: () => void } {
  const original = server.listeners('connection') as Listener[]
  server.removeAllListeners('connection')
  const plainHttp = server instanceof http.Server && !(server instanceof https.Server)
  const handOver = (socket: object): void => {
    for (const listener of original) swap(listener).call(server, socket)
    // Node's HTTP server reads the socket through `data` events once it has
    // it, and a socket we paused would wait for a resume that never comes.
    if (plainHttp && socket instanceof Readable) socket.resume()
  }
  function interceptor (socket: Duplex): void { onConnection(socket) }
  server.on('connection', interceptor)
  const secure = server instanceof tls.Server && !(server instanceof https.Server) ? server.listeners('secureConnection') as Listener[] : []
  const wrappers = secure.map(listener => function (this: unknown, ...args: unknown[]): void { swap(listener).apply(this, args) })
  if (secure.length > 0) {
    server.removeAllListeners('secureConnection')
    for (const w of wrappers) server.on('secureConnection', w)
  }
  const restore = (): void => {
    server.off('connection', interceptor)
    for (const listener of original) server.on('connection', listener)
    for (const w of wrappers) server.off('secureConnection', w)
    for (const listener of secure) server.on('secureConnection', listener)
  }
  return { handOver, restore }
}
