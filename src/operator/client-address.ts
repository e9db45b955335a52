import net from 'node:net'
import type { Client } from 'aedes'

/**
 * The client's real address: `client.connDetails` when a plugin set it (this
 * package's PROXY plugin, aedes-protocol-decoder, aedes-server-factory), and
 * otherwise the socket's own peer, so an operator plugin also works installed
 * alone on a plain aedes broker.
 */
export function clientAddress (client: Client): { readonly ipAddress: string, readonly port: number } {
  const d = client.connDetails
  if (d != null) return { ipAddress: d.ipAddress, port: d.port }
  const c = client as Client & { conn?: unknown, req?: { socket?: unknown } }
  const socket = c.req?.socket ?? c.conn
  if (socket instanceof net.Socket) return { ipAddress: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }
  return { ipAddress: '', port: 0 }
}
