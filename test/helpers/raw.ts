// Raw TCP clients for tests that need exact bytes on the wire.
import net from 'node:net'
import { once } from 'node:events'
import mqttPacket from 'mqtt-packet'
import { encodeV1, encodeV2 } from './encode.js'

/** An MQTT 3.1.1 CONNECT packet, from mqtt-packet's generator. */
export function connectPacket (clientId = `raw-${Math.random().toString(16).slice(2)}`): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 })
}

export interface RawResult {
  /** every byte the server sent before closing (or before `waitMs`) */
  readonly received: Buffer
  /** the server closed the connection */
  readonly closed: boolean
}

/**
 * Connects from `localAddress`, writes `chunks` (each its own write), and
 * collects what comes back until the server closes, `expectBytes` have
 * arrived, or `waitMs` passes.
 */
export async function rawExchange (port: number, chunks: readonly Buffer[], options: { localAddress?: string, waitMs?: number, host?: string, expectBytes?: number } = {}): Promise<RawResult> {
  const socket = net.connect({ port, host: options.host ?? '127.0.0.1', localAddress: options.localAddress ?? '127.0.0.9' })
  socket.setNoDelay(true)
  const received: Buffer[] = []
  let count = 0
  let enough: () => void = () => {}
  socket.on('data', d => {
    received.push(d)
    count += d.length
    if (options.expectBytes !== undefined && count >= options.expectBytes) enough()
  })
  socket.on('error', () => {})
  await once(socket, 'connect')
  for (const chunk of chunks) socket.write(chunk)
  const closed = await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => resolve(false), options.waitMs ?? 2000)
    enough = () => { clearTimeout(timer); resolve(false) }
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
  })
  socket.destroy()
  return { received: Buffer.concat(received), closed }
}

/** The CONNACK aedes sends for an accepted 3.1.1 CONNECT. */
export const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00])

/**
 * One CONNECT behind a PROXY header (v1 or v2) naming `source` as the
 * client, from a loopback socket: the CONNACK's return code, or undefined
 * when none came.
 */
export async function proxiedConnack (port: number, source: string, version: 1 | 2): Promise<number | undefined> {
  const v6 = source.includes(':')
  const ends = { source: { address: source, port: 40000 }, destination: { address: v6 ? '2001:db8::ffff' : '192.0.2.1', port: 1883 } }
  const header = version === 1 ? encodeV1({ family: v6 ? 'TCP6' : 'TCP4', ...ends }) : encodeV2({ family: v6 ? 'INET6' : 'INET', ...ends })
  const { received } = await rawExchange(port, [header, connectPacket()], { expectBytes: 4 })
  return received[0] === 0x20 ? received[3] : undefined
}
