// A minimal PROXY-speaking front for tests: accepts a client on loopback,
// connects to the broker from its own loopback address, writes a PROXY header
// describing the client, then relays bytes both ways. Headers are built with
// proxy-protocol-js (the package's builder is right for v1 and TLV-free v2).
import net from 'node:net'
import { once } from 'node:events'
import {
  V1ProxyProtocol, V2ProxyProtocol, INETProtocol, Peer, Command, TransportProtocol,
  IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress
} from 'proxy-protocol-js'
import { parseIPv4, parseIPv6 } from '../../src/protocol/address.js'

export type HeaderMode = 'v1' | 'v2' | 'none' | ((client: net.Socket) => Buffer)
export type Delivery =
  /** header in its own write, before anything the client sends */
  | 'alone'
  /** header and the client's first chunk in one write (one TCP segment) */
  | 'with-first-chunk'
  /** header split into single-byte writes, each flushed separately */
  | 'trickle'

export interface FrontOptions {
  /** broker port on 127.0.0.1 */
  readonly target: number
  readonly header: HeaderMode
  readonly delivery?: Delivery
  /** source address the front connects to the broker from */
  readonly upstreamAddress?: string
  /** address the front listens on */
  readonly host?: string
}

export interface Front {
  readonly port: number
  readonly host: string
  readonly upstreamAddress: string
  close (): Promise<void>
}

function unmapped (address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address
}

/** v1 line for a client socket as seen by the front (family from the client). */
export function v1HeaderFor (client: net.Socket): Buffer {
  const src = unmapped(client.remoteAddress as string)
  const dst = unmapped(client.localAddress as string)
  const inet = net.isIPv6(src) ? INETProtocol.TCP6 : INETProtocol.TCP4
  return Buffer.from(new V1ProxyProtocol(inet, new Peer(src, client.remotePort as number), new Peer(dst, client.localPort as number)).build())
}

/** v2 header (PROXY, STREAM, no TLVs) for a client socket as seen by the front. */
export function v2HeaderFor (client: net.Socket): Buffer {
  const src = unmapped(client.remoteAddress as string)
  const dst = unmapped(client.localAddress as string)
  const sport = client.remotePort as number
  const dport = client.localPort as number
  const address = net.isIPv6(src)
    ? new IPv6ProxyAddress(IPv6Address.createFrom([...(parseIPv6(src) as Uint8Array)]), sport, IPv6Address.createFrom([...(parseIPv6(dst) as Uint8Array)]), dport)
    : new IPv4ProxyAddress(IPv4Address.createFrom([...(parseIPv4(src) as Uint8Array)]), sport, IPv4Address.createFrom([...(parseIPv4(dst) as Uint8Array)]), dport)
  const proto = new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, address)
  return Buffer.from(proto.build())
}

export async function startFront (options: FrontOptions): Promise<Front> {
  const upstreamAddress = options.upstreamAddress ?? '127.0.0.9'
  const host = options.host ?? '127.0.0.1'
  const delivery = options.delivery ?? 'alone'
  const sockets = new Set<net.Socket>()
  const server = net.createServer(client => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    client.pause()
    const header = options.header === 'v1'
      ? v1HeaderFor(client)
      : options.header === 'v2'
        ? v2HeaderFor(client)
        : options.header === 'none' ? Buffer.alloc(0) : options.header(client)
    const upstream = net.connect({ port: options.target, host: '127.0.0.1', localAddress: upstreamAddress })
    sockets.add(upstream)
    upstream.setNoDelay(true)
    upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
    upstream.on('error', () => {})
    client.on('close', () => upstream.destroy())
    upstream.once('connect', () => {
      const relay = (): void => {
        client.on('data', chunk => upstream.write(chunk))
        upstream.on('data', chunk => client.write(chunk))
        client.resume()
      }
      if (delivery === 'alone') {
        if (header.length > 0) upstream.write(header)
        relay()
      } else if (delivery === 'with-first-chunk') {
        client.once('data', first => {
          upstream.write(Buffer.concat([header, first]))
          relay()
        })
        client.resume()
      } else {
        let i = 0
        const next = (): void => {
          if (upstream.destroyed) return
          if (i >= header.length) { relay(); return }
          upstream.write(header.subarray(i, i + 1))
          i++
          setTimeout(next, 1)
        }
        next()
      }
    })
  })
  server.listen(0, host)
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    host,
    upstreamAddress,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
