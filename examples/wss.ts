// MQTT over secure WebSocket, TLS terminated here, behind a TCP load balancer
// that sends a PROXY header before the client's TLS bytes.
//
//   TLS_KEY=server.key TLS_CERT=server.crt PORT=8085 npx tsx examples/wss.ts
import { readFileSync } from 'node:fs'
import https from 'node:https'
import type net from 'node:net'
import { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { proxyProtocol, withPlugins } from 'aedes-proxy-protocol'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 8085)
const { TLS_KEY, TLS_CERT } = process.env
if (TLS_KEY === undefined || TLS_CERT === undefined) {
  console.error('set TLS_KEY and TLS_CERT to PEM files')
  process.exit(2)
}

const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _username, _password, done) {
    const d = client.connDetails
    console.log(JSON.stringify({ event: 'authenticate', clientId: client.id, ip: d?.ipAddress, port: d?.port, tls: d?.isTls, websocket: d?.isWebsocket }))
    done(null, true)
  }
}))

const proxy = broker.use(proxyProtocol({ listeners: { wss: { proxyEnabled: true } } }))

const server = https.createServer({ key: readFileSync(TLS_KEY), cert: readFileSync(TLS_CERT) })
new WebSocketServer({ server }).on('connection', (socket, req) => {
  broker.handle(createWebSocketStream(socket), req)
})
proxy.attach(server) // read the header before the TLS handshake and the upgrade

server.listen(port, host, () => {
  const address = server.address() as net.AddressInfo
  console.log(`wss listener on ${address.address}:${address.port}, PROXY protocol required`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { server.close(); broker.close(() => process.exit(0)) })
}
