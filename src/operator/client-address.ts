import tls from 'node:tls'
import type { Client } from 'aedes'
import { peerOf } from '../conn-details.js'

/** Where TLS was: terminated here (`broker`), at the proxy (`proxy`, from the SSL TLV), or nowhere. */
export type TlsAt = 'broker' | 'proxy' | false

/** A client's real address, as the operator plugins see it. */
export interface ClientAddress {
  readonly ipAddress: string
  readonly port: number
  readonly ipFamily: 0 | 4 | 6
  readonly tls: TlsAt
}

/** The socket aedes serves a client on, when it is one. */
function socketOf (client: Client): unknown {
  const c = client as Client & { conn?: unknown, req?: { socket?: unknown } }
  return c.req?.socket ?? c.conn
}

/**
 * The client's real address only (what the IP policy asks, on every
 * CONNECT): `client.connDetails` when a plugin set it (this package's PROXY
 * plugin, aedes-protocol-decoder, aedes-server-factory), and otherwise the
 * socket's own peer, so an operator plugin also works installed alone on a
 * plain aedes broker. Reads no TLV.
 */
export function clientIp (client: Client): string {
  return client.connDetails?.ipAddress ?? peerOf(socketOf(client)).address
}

/** The client's real address, as {@link clientIp} finds it, with its port, family and where TLS was. */
export function clientAddress (client: Client): ClientAddress {
  const d = client.connDetails
  if (d != null) {
    const at: TlsAt = d.isTls ? 'broker' : d.proxy?.tlvs.ssl?.clientSsl === true ? 'proxy' : false
    return { ipAddress: d.ipAddress, port: d.port, ipFamily: d.ipFamily, tls: at }
  }
  const socket = socketOf(client)
  const peer = peerOf(socket)
  const at: TlsAt = socket instanceof tls.TLSSocket ? 'broker' : false
  return { ipAddress: peer.address, port: peer.port, ipFamily: peer.family, tls: at }
}
