import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import type { ListenerName } from './options.js'

/** A server whose connections can carry a PROXY header. */
export type AttachableServer = net.Server | tls.Server | http.Server | https.Server

type ConnectionListener = (this: AttachableServer, socket: net.Socket) => void

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

/**
 * Takes over a server's `'connection'` event: `onConnection` gets each raw
 * TCP socket first and calls `handOver` once its header has been read, which
 * runs the server's own listeners (Node's TLS handshake, HTTP parser, or
 * aedes) on the socket, with the bytes after the header still unread.
 *
 * @returns a function that restores the server's listeners.
 */
export function takeOverConnections (
  server: AttachableServer,
  onConnection: (socket: net.Socket, handOver: () => void) => void
): () => void {
  const original = server.listeners('connection') as ConnectionListener[]
  server.removeAllListeners('connection')
  function interceptor (socket: net.Socket): void {
    onConnection(socket, () => {
      for (const listener of original) listener.call(server, socket)
      // Node's HTTP server reads the socket through `data` events once it has
      // it, and a socket we paused would wait for a resume that never comes.
      if (server instanceof http.Server && !(server instanceof https.Server)) socket.resume()
    })
  }
  server.on('connection', interceptor)
  return () => {
    server.off('connection', interceptor)
    for (const listener of original) server.on('connection', listener)
  }
}

/**
 * Key of a TCP connection by its endpoints. A TLSSocket reports the same
 * endpoints as the raw socket under it, so this is how a TLS connection is
 * matched with the header read on its raw socket, through public API only.
 */
export function connectionKey (socket: { remoteAddress?: string | undefined, remotePort?: number | undefined, localAddress?: string | undefined, localPort?: number | undefined }): string | undefined {
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return undefined
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress ?? ''}|${socket.localPort ?? 0}`
}
