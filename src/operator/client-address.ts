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

/**
 * The client's real address: `client.connDetails` when a plugin set it (this
 * package's PROXY plugin, aedes-protocol-decoder, aedes-server-factory), and
 * otherwise the socket's own peer, so an operator plugin also works installed
 * alone on a plain aedes broker.
 */
export function clientAddress (client: Client): ClientAddress {
  const d = client.connDetails
  if (d != null) {
    const at: TlsAt = d.isTls ? 'broker' : d.proxy?.tlvs.ssl?.clientSsl === true ? 'proxy' : false
    return { ipAddress: d.ipAddress, port: d.port, ipFamily: d.ipFamily, tls: at }
  }
  const c = client as Client & { conn?: unknown, req?: { socket?: unknown } }
  const socket = c.req?.socket ?? c.conn
  const peer = peerOf(socket)
  return { ipAddress: peer.address, port: peer.port, ipFamily: peer.family, tls: socket instanceof tls.TLSSocket ? 'broker' : false }
}
