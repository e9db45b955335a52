// What a user writes: the augmentation, the plugin's types, header narrowing,
// option typos. Copied into the scratch project by scripts/pack-check/scratch.ts
// and compiled there (not run) against the installed tarball under each of
// project/tsconfig*.json; in the repo, `npm run typecheck` checks it against
// src/ (./tsconfig.json maps the package name to src/index.ts).
import net from 'node:net'
import { Aedes, type Client } from 'aedes'
import {
  proxyProtocol, withPlugins, parseHeader, ipPolicy, unauthorizedClients, sessions, ProxyProtocolError, PROXY_ERROR_CODES, PP2_TYPE_AWS,
  type ConnDetails, type ProxyHeader, type ProxyProtocolOptions, type ListenerName, type ProxyProtocol, type ProxyHandle,
  type UnauthorizedClient, type Session, type ReadFailure, type IpRefusal, type MaybePromise
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
    expectType<Equal<typeof err, ReadFailure>>()
    const asError: ProxyProtocolError = err
    const received: number = err.bytesReceived
    void asError
    void received
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
  // The operator plugins, each its own broker.use line.
  broker.use(ipPolicy({ deny: ['203.0.113.0/24'], rateLimit: { perSecond: 5 } }))
  const unauthorized = broker.use(unauthorizedClients({ maxEntries: 100 }))
  unauthorized.on('unauthorized', (entry) => { expectType<Equal<typeof entry, UnauthorizedClient>>() })
  const list: Promise<Session[]> = broker.use(sessions({ sysInterval: 10_000, counters: proxy })).list()
  void list
  const refusal: MaybePromise<IpRefusal | undefined> = ipPolicy({ allow: ['10.0.0.0/8'] }).check('10.0.0.1')
  void refusal
  // @ts-expect-error ipPolicy is a plugin of its own, not a PROXY option
  proxyProtocol({ ipPolicy: { deny: ['10.0.0.1'] } })
  const handle: ProxyHandle = proxy.handle
  void handle
  const aws: number = PP2_TYPE_AWS
  void aws
  const server = net.createServer(broker.handle)
  proxy.attach(server)
  return server.listen(port, '127.0.0.1')
}
