// Runs in a scratch project with one aedes version (scripts/pack-check/scratch.ts
// strips the types into smoke.js): makes the broker as that version does
// (0.51's module is the factory; 1.x and 2.x have Aedes.createBroker), serves
// it with the PROXY plugin on 127.0.0.1:0 and prints `{"listening":port}`,
// then one JSON line per client authenticate sees (its connDetails), until
// SIGTERM closes the server and the broker. The package test puts a real
// HAProxy (send-proxy-v2) in front and connects a client from its own
// loopback address.
import net from 'node:net'
import * as aedesModule from 'aedes'
import type { Client } from 'aedes'
import { proxyProtocol, withPlugins, type AedesBroker } from 'aedes-proxy-protocol'

const options = {
  authenticate (client: Client, _u: unknown, _p: unknown, done: (err: null, ok: boolean) => void): void {
    const d = client.connDetails
    console.log(JSON.stringify({ clientId: client.id, ipAddress: d?.ipAddress, port: d?.port, isProxy: d?.isProxy }))
    done(null, true)
  }
}
// Each version's own way, seen through what its module exports at run time.
const mod = aedesModule as unknown as {
  Aedes?: { createBroker: (o: typeof options) => Promise<AedesBroker & { close: (cb: () => void) => void }> }
  default: (o: typeof options) => AedesBroker & { close: (cb: () => void) => void }
}
const plain = mod.Aedes !== undefined ? await mod.Aedes.createBroker(options) : mod.default(options)
const broker = withPlugins(plain)
broker.use(proxyProtocol({ proxyEnabled: true }))
const server = net.createServer(broker.handle)
await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
console.log(JSON.stringify({ listening: (server.address() as net.AddressInfo).port }))
process.once('SIGTERM', () => {
  server.close()
  plain.close(() => { process.exitCode = 0 })
})
