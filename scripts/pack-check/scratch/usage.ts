// What a user writes: the augmentation, the plugin's types, header narrowing,
// option typos. Copied into the scratch project by scripts/pack-check/scratch.ts
// and compiled there (not run) against the installed tarball under each of
// project/tsconfig*.json; in the repo, `npm run typecheck` checks it against
// src/ (./tsconfig.json maps the package name to src/index.ts).
import net from 'node:net'
import { Aedes, type Client } from 'aedes'
import {
  proxyProtocol, withPlugins, parseHeader, ProxyProtocol, ProxyProtocolError, PROXY_ERROR_CODES,
  type ConnDetails, type ProxyHeader, type ProxyProtocolOptions, type ListenerName
} from 'aedes-proxy-protocol'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T extends true> (): T | undefined { return undefined }

// The module augmentation ships: client.connDetails is typed, optional.
export function realIp (client: Client): string | undefined {
  return client.connDetails?.ipAddress
}
declare const client: Client
expectType<Equal<typeof client.connDetails, ConnDetails | null | undefined>>()
// @ts-expect-error ipAddress is a string, not a number
export const wrong: number | undefined = client.connDetails?.ipAddress

// ProxyHeader narrows on `proxied`.
export function describeHeader (header: ProxyHeader): string {
  if (header.proxied) {
    const port: number = header.source.port
    return `${header.source.address}:${port} -> ${header.destination.address}`
  }
  // @ts-expect-error a header that is not proxied has no source address
  void header.source.port
  return header.command
}
export function firstHeader (bytes: Uint8Array): ProxyHeader | undefined {
  const r = parseHeader(Buffer.from(bytes))
  return r.status === 'complete' ? r.header : undefined
}

// broker.use(proxyProtocol(...)) returns the typed plugin.
export async function start (port: number): Promise<net.Server> {
  const broker = withPlugins(await Aedes.createBroker({
    authenticate (c, _user, _pass, done) {
      const d = c.connDetails
      const listener: ListenerName | undefined = d?.listener
      void listener
      done(null, d?.ipAddress !== undefined)
    }
  }))
  const options: ProxyProtocolOptions = { proxyEnabled: true, listeners: { ws: { proxyEnabled: false } } }
  const proxy = broker.use(proxyProtocol(options))
  expectType<Equal<typeof proxy, ProxyProtocol>>()
  proxy.on('rejected', (err, event) => {
    expectType<Equal<typeof err, ProxyProtocolError>>()
    const probe: boolean = event.probe
    void probe
  })
  const codes: readonly string[] = PROXY_ERROR_CODES
  void codes
  // @ts-expect-error proxyEnabled is not a string
  proxyProtocol({ proxyEnabled: 'yes' })
  // @ts-expect-error there is no listener called mqtts
  proxyProtocol({ listeners: { mqtts: {} } })
  // @ts-expect-error there is no such event
  proxy.on('nonsense', () => {})
  return net.createServer(broker.handle).listen(port, '127.0.0.1')
}
