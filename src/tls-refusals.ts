import type tls from 'node:tls'
import { peerOf } from './conn-details.js'
import type { HandOff } from './handoff.js'
import type { Collapser } from './log-collapse.js'
import type { ListenerName, Logger } from './options.js'
import { logText } from './user-code.js'

/**
 * Logs the TLS handshakes a TLS server refuses (no client certificate where
 * one is required, one that does not verify, a client that does not speak
 * TLS, no shared protocol), with
 * the real client address from the header read before the handshake: a
 * refused client is otherwise invisible, since it never reaches aedes. One
 * line a minute per listener, then how many more (a scanner cannot flood).
 * Node closes the connection itself; this only listens.
 * @returns a function that stops listening.
 */
export function logTlsRefusals (server: tls.Server, listener: ListenerName, connections: HandOff, logger: Logger,
  logs: Collapser): () => void {
  const onError = (err: Error & { code?: string, reason?: string }, socket: tls.TLSSocket): void => {
    logs.say(logger, 'warn', `tls|${listener}`, () => {
      const arrival = connections.find(socket, undefined)
      const header = arrival?.header
      const peer = arrival?.peer ?? peerOf((socket as { _parent?: unknown })._parent ?? socket)
      const client = header?.proxied === true ? header.source : peer
      // OpenSSL's errors carry a short reason beside a long message. A client
      // certificate that did not verify ends the handshake with a bare close
      // (Node sends no alert), so the error says only "socket hang up": why the
      // server closed is the socket's authorizationError.
      const why = err.reason ?? err.message
      // Node sets it to OpenSSL's code (a string); @types/node says Error.
      const unverified: unknown = (socket as { authorizationError?: unknown }).authorizationError
      const code = typeof unverified === 'string'
        ? unverified
        : unverified instanceof Error ? ((unverified as { code?: string }).code ?? unverified.message) : undefined
      const reason = logText(code !== undefined
        ? `client certificate not verified (${code})`
        : err.code === undefined ? why : `${err.code}: ${why}`, 256)
      const record = {
        event: 'refused', refusedBy: 'tls', listener, ipAddress: client.address, port: client.port, peer, reason
      }
      return [record, `TLS handshake refused: ${reason}`]
    }, n => [{ event: 'refused', refusedBy: 'tls', listener, repeated: n },
      `TLS handshake refused: ${n} more on the ${listener} listener in the last minute, not logged one by one`])
  }
  server.on('tlsClientError', onError)
  return () => { server.off('tlsClientError', onError) }
}
