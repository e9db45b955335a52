// A plain-TCP MQTT broker that requires a PROXY header (v1 or v2) on every
// connection, as it would behind HAProxy `send-proxy-v2` or an AWS NLB.
//
//   PORT=1883 HOST=127.0.0.1 npx tsx examples/tcp.ts
import net from 'node:net'
import { Aedes } from 'aedes'
import { proxyProtocol, withPlugins } from 'aedes-proxy-protocol'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 1883)

const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _username, _password, done) {
    // The real client, not the load balancer.
    const d = client.connDetails
    console.log(JSON.stringify({ event: 'authenticate', clientId: client.id, ip: d?.ipAddress, port: d?.port, proxy: d?.peer.address }))
    done(null, true)
  }
}))

const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
proxy.on('rejected', (err, { peer, probe }) => {
  if (!probe) console.error(JSON.stringify({ event: 'rejected', code: err.code, peer: peer.address, reason: err.message }))
})

const server = net.createServer(broker.handle) // the usual aedes line, unchanged
proxy.attach(server) // read the header before aedes sees a byte
server.listen(port, host, () => {
  const address = server.address() as net.AddressInfo
  console.log(`tcp listener on ${address.address}:${address.port}, PROXY protocol required`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { server.close(); broker.close(() => process.exit(0)) })
}
