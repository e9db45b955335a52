import { IncomingMessage, type IncomingHttpHeaders } from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import type { AddressMatcher } from './trust.js'
import type { ForwardedHeader, ListenerName, ListenerSettings } from './options.js'
import { canonicalAddress } from './protocol/address.js'
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
  readonly cert?: tls.PeerCertificate
  /** The listener the connection came in on. */
  readonly listener: ListenerName
  /** The immediate TCP peer: the proxy when a header was read, otherwise the client. */
  readonly peer: SocketEndpoint
  /** The parsed header, with decoded TLVs; absent when no header was read. */
  readonly proxy?: ProxyHeader
  /** ws/wss with `forwardedHeaders`: the HTTP header the address came from (port is then 0). */
  readonly forwarded?: ForwardedHeader
}

/** No peer: a stream that is not a socket, or a socket already closed. */
const NO_PEER: SocketEndpoint = Object.freeze({ address: '', port: 0, family: 0 })

/**
 * The peer of a socket, read once (each property is a `getpeername` call).
 * A closed socket forgets its peer, so read it while the connection is open.
 */
export function peerOf (socket: unknown): SocketEndpoint {
  if (!(socket instanceof net.Socket)) return NO_PEER
  const address = socket.remoteAddress
  if (address === undefined) return NO_PEER
  const reported = socket.remoteFamily
  const family = reported === 'IPv4' ? 4 : reported === 'IPv6' ? 6 : address.includes(':') ? 6 : 4
  return { address, port: socket.remotePort ?? 0, family }
}

/** How one connection came in, as the intake and the registry know it. */
export interface Arrival {
  readonly listener: ListenerName
  /** The header read on the raw socket, if any. */
  readonly header: ProxyHeader | undefined
  /** The peer, when the intake already read it. */
  readonly peer: SocketEndpoint | undefined
}

/**
 * Builds `connDetails` for the stream aedes receives (and the HTTP request of
 * a WebSocket), reading the peer at most once.
 */
export function connDetailsFor (stream: unknown, upgrade: UpgradeRequest | undefined, arrival: Arrival,
  settings: ListenerSettings, trusted: AddressMatcher): ConnDetails {
  const socket = upgrade?.socket ?? stream
  const peer = arrival.peer ?? peerOf(socket)
  const header = arrival.header
  const real = header?.proxied === true
  const local = socket instanceof net.Socket ? socket : undefined
  const details: { -readonly [K in keyof ConnDetails]: ConnDetails[K] } = {
    ipAddress: real ? header.source.address : peer.address,
    port: real ? header.source.port : peer.port,
    ipFamily: real ? (header.family === 'INET' ? 4 : 6) : peer.family,
    serverIpAddress: real ? header.destination.address : local?.localAddress ?? '',
    serverPort: real ? header.destination.port : local?.localPort ?? 0,
    isProxy: header === undefined ? 0 : header.version,
    isTls: socket instanceof tls.TLSSocket,
    isWebsocket: upgrade !== undefined,
    listener: arrival.listener,
    peer
  }
  if (socket instanceof tls.TLSSocket) {
    details.certAuthorized = socket.authorized
    // null once the socket is destroyed (Node's docs), which @types/node leaves out
    const cert = socket.getPeerCertificate() as tls.PeerCertificate | null
    if (cert !== null && Object.keys(cert).length > 0) details.cert = cert
  }
  if (header !== undefined) details.proxy = header
  const forwarded = upgrade !== undefined && header === undefined && settings.forwardedHeaders !== false &&
    settings.mode === 'off' && trusted(peer.address)
    ? forwardedAddress(upgrade, settings.forwardedHeaders, trusted)
    : undefined
  if (forwarded !== undefined) {
    details.ipAddress = forwarded.address
    details.port = 0
    details.ipFamily = forwarded.address.includes(':') ? 6 : 4
    details.forwarded = forwarded.header
  }
  return details
}

/**
 * The HTTP request of a WebSocket connection, or undefined when `req` is not
 * one: aedes-server-factory passes `{ connDetails }` as the request of a plain
 * TCP connection, so a request's presence says nothing about the transport.
 * A request is Node's, or what a web framework passes on in its place
 * (Fastify's: the socket and the headers, Node's request as `raw`).
 */
export function upgradeRequest (req: unknown): UpgradeRequest | undefined {
  if (req instanceof IncomingMessage) return req
  const like = req as { socket?: unknown, headers?: unknown } | null | undefined
  return like?.socket instanceof net.Socket && typeof like.headers === 'object' && like.headers !== null
    ? like as UpgradeRequest
    : undefined
}

/** What the plugin reads of a WebSocket's HTTP request. */
export interface UpgradeRequest {
  readonly socket: net.Socket
  readonly headers: IncomingHttpHeaders
}

/**
 * The client address a trusted proxy forwarded (ws/wss where PROXY is off,
 * the peer already checked against `trusted`), canonical as header
 * addresses are: one client, one rate-limit bucket, however its proxy writes
 * the address (`2001:DB8:0::1`, `::FFFF:10.1.2.3`).
 *
 * - `x-real-ip`: the one address in X-Real-IP (the proxy sets it, replacing
 *   whatever the client sent); anything else, two header lines included, is
 *   not used.
 * - `x-forwarded-for`: the proxies' rule (nginx `real_ip_recursive on`,
 *   Express `trust proxy`). Each proxy appends the address it was connected
 *   from, so only the entries on the right were written by proxies we trust:
 *   walk from the right, skip addresses that are themselves trusted proxies,
 *   and take the first that is not. The entries to its left are whatever
 *   that client sent, never believed. Several header lines are one list
 *   (Node joins them with ', ' in `req.headers`). Every entry trusted: the
 *   leftmost, as nginx does. An entry that is not exactly one IP address
 *   where the walk reaches it (`unknown`, an obfuscated node, a port, an
 *   empty entry) was written by a trusted proxy that did not know the
 *   address, so the forwarded data is not used at all: undefined, and the
 *   peer stands.
 */
export function forwardedAddress (
  req: UpgradeRequest, which: ForwardedHeader, trusted: AddressMatcher
): { header: ForwardedHeader, address: string } | undefined {
  const raw = req.headers[which]
  const value = Array.isArray(raw) ? raw.join(', ') : raw
  if (value === undefined) return undefined
  if (which === 'x-real-ip') {
    const address = canonicalAddress(value.trim())
    return address === undefined ? undefined : { header: which, address: address.address }
  }
  const entries = value.split(',')
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = canonicalAddress((entries[i] ?? '').trim())
    if (address === undefined) return undefined
    if (i === 0 || !trusted(address.address)) return { header: which, address: address.address }
  }
  return undefined
}
