import type { PeerCertificate } from 'node:tls'
import type { ListenerName } from './options.js'
import type { ProxyHeader } from './protocol/header.js'

/** An address and port as Node reports them for a socket. */
export interface SocketEndpoint {
  readonly address: string
  readonly port: number
  readonly family: 0 | 4 | 6
}

/**
 * What the broker sees of a connection, on `client.connDetails`, before
 * `preConnect` and `authenticate` run. A superset of the shape
 * aedes-protocol-decoder sets, so existing hooks keep working.
 */
export interface ConnDetails {
  /** The real client: from the header, or the socket when there is none (or it is LOCAL / UNKNOWN). */
  readonly ipAddress: string
  readonly port: number
  readonly ipFamily: 0 | 4 | 6
  /** The address and port the client connected to (the proxy's front, or this server). */
  readonly serverIpAddress: string
  readonly serverPort: number
  /** 0 without a header, otherwise the header's version (also for LOCAL and UNKNOWN). */
  readonly isProxy: 0 | 1 | 2
  /** TLS was terminated by this server (ssl and wss listeners). */
  readonly isTls: boolean
  readonly isWebsocket: boolean
  /** TLS at this server: the client certificate verified against the server's CA. */
  readonly certAuthorized?: boolean
  /** TLS at this server: the client certificate, when one was sent. */
  readonly cert?: PeerCertificate
  /** The listener the connection came in on. */
  readonly listener: ListenerName
  /** The immediate TCP peer: the proxy when a header was read, otherwise the client. */
  readonly peer: SocketEndpoint
  /** The parsed header, with decoded TLVs; absent when no header was read. */
  readonly proxy?: ProxyHeader
  /** ws/wss with `forwardedHeaders`: the HTTP header the address came from (port is then 0). */
  readonly forwarded?: 'x-forwarded-for' | 'x-real-ip'
}

/** The socket facts `buildConnDetails` reads. */
export interface SocketFacts {
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
  readonly remoteFamily?: string | undefined
  readonly localAddress?: string | undefined
  readonly localPort?: number | undefined
}

function familyOf (address: string | undefined, reported?: string): 0 | 4 | 6 {
  if (reported === 'IPv4') return 4
  if (reported === 'IPv6') return 6
  if (address === undefined || address === '') return 0
  return address.includes(':') ? 6 : 4
}

/** Builds `connDetails` for one connection. */
export function buildConnDetails (
  listener: ListenerName,
  socket: SocketFacts,
  header: ProxyHeader | undefined,
  tls: { readonly authorized: boolean, readonly cert: PeerCertificate | undefined } | undefined,
  isWebsocket: boolean,
  forwarded?: { readonly header: 'x-forwarded-for' | 'x-real-ip', readonly address: string }
): ConnDetails {
  // Read now, while the connection is open: a closed socket forgets its peer.
  const peer: SocketEndpoint = {
    address: socket.remoteAddress ?? '',
    port: socket.remotePort ?? 0,
    family: familyOf(socket.remoteAddress, socket.remoteFamily)
  }
  const real = header?.proxied === true
  const details: { -readonly [K in keyof ConnDetails]: ConnDetails[K] } = {
    ipAddress: real ? header.source.address : peer.address,
    port: real ? header.source.port : peer.port,
    ipFamily: real ? (header.family === 'INET' ? 4 : 6) : peer.family,
    serverIpAddress: real ? header.destination.address : socket.localAddress ?? '',
    serverPort: real ? header.destination.port : socket.localPort ?? 0,
    isProxy: header === undefined ? 0 : header.version,
    isTls: tls !== undefined,
    isWebsocket,
    listener,
    peer
  }
  if (tls !== undefined) {
    details.certAuthorized = tls.authorized
    if (tls.cert !== undefined) details.cert = tls.cert
  }
  if (header !== undefined) details.proxy = header
  if (forwarded !== undefined) {
    details.ipAddress = forwarded.address
    details.port = 0
    details.ipFamily = forwarded.address.includes(':') ? 6 : 4
    details.forwarded = forwarded.header
  }
  return details
}
