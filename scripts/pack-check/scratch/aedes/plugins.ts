// What a user of any aedes version writes once the broker exists: the
// plugins, each its own broker.use line, and a server. aedes-<version>.ts
// beside this file makes the broker as that aedes version does and calls
// it. Compiled, not run: in the scratch project against the installed
// tarball and one aedes version, and by `npm run typecheck` against src/
// and each aedes alias (tsconfig.<version>.json).
import net from 'node:net'
import type { Client } from 'aedes'
import {
  proxyProtocol, ipPolicy, unauthorizedClients, sessions, type ConnDetails, type PluggableAedes
} from 'aedes-proxy-protocol'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
export function expectType<T extends true> (): T | undefined { return undefined }

// The augmentation reaches this version's Client.
expectType<Equal<Client['connDetails'], ConnDetails | null | undefined>>()

export function serve (broker: PluggableAedes, port: number): net.Server {
  const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
  broker.use(ipPolicy({ deny: ['203.0.113.0/24'] }))
  broker.use(unauthorizedClients())
  broker.use(sessions({ counters: proxy, sysClients: (c: Client) => c.id === 'admin' }))
  const server = net.createServer(broker.handle)
  proxy.attach(server)
  broker.on('client', (c: Client) => { void c.connDetails?.ipAddress })
  return server.listen(port, '127.0.0.1')
}
