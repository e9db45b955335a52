// The part of the CommonJS TypeScript apps (app-0.51.ts, app-1.ts) that is
// the same for every aedes version once the broker exists: the PROXY plugin,
// a TCP server on 127.0.0.1:0 and `{"listening":port}` on stdout, SIGTERM
// closing the server and the broker. Compiled by the scratch project's
// tsconfig.cjs-*.json as CommonJS (this folder's package.json says so).
import * as net from 'node:net'
import type { Client } from 'aedes'
import { proxyProtocol, withPlugins, type AedesBroker, type ConnDetails } from 'aedes-proxy-protocol'

/** authenticate for any version: prints the client's connDetails as one JSON line and lets it in. */
export function authenticate (client: Client, _u: unknown, _p: unknown, done: (e: null, ok: boolean) => void): void {
  const d: ConnDetails | null | undefined = client.connDetails
  console.log(JSON.stringify({ clientId: client.id, ipAddress: d?.ipAddress, port: d?.port, isProxy: d?.isProxy }))
  done(null, true)
}

export function serve (plain: AedesBroker & { close: (cb: () => void) => void }): void {
  const broker = withPlugins(plain)
  broker.use(proxyProtocol({ proxyEnabled: true }))
  const server = net.createServer(broker.handle)
  server.listen(0, '127.0.0.1', () => {
    console.log(JSON.stringify({ listening: (server.address() as net.AddressInfo).port }))
  })
  process.once('SIGTERM', () => {
    server.close()
    plain.close(() => { process.exitCode = 0 })
  })
}
