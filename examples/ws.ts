// MQTT over WebSocket behind a TCP load balancer that sends a PROXY header
// before the HTTP upgrade request.
//
//   PORT=8084 npx tsx examples/ws.ts
import http from 'node:http'
import type net from 'node:net'
import { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { proxyProtocol, withPlugins } from 'aedes-proxy-protocol'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 8084)

const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _username, _password, done) {
    const d = client.connDetails
    console.log(JSON.stringify({ event: 'authenticate', clientId: client.id, ip: d?.ipAddress, port: d?.port, websocket: d?.isWebsocket }))
    done(null, true)
  }
}))

const proxy = broker.use(proxyProtocol({ listeners: { ws: { proxyEnabled: true } } }))

const server = http.createServer()
new WebSocketServer({ server }).on('connection', (socket, req) => {
  broker.handle(createWebSocketStream(socket), req)
})
proxy.attach(server) // read the header before the HTTP upgrade

server.listen(port, host, () => {
  const address = server.address() as net.AddressInfo
  console.log(`ws listener on ${address.address}:${address.port}, PROXY protocol required`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { server.close(); broker.close(() => process.exit(0)) })
}
