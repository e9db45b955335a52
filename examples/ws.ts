// MQTT over WebSocket behind a TCP load balancer that sends a PROXY header
// before the HTTP upgrade request. Only the load balancers in TRUSTED_PROXIES
// may send one.
//
//   PORT=8084 npx tsx examples/ws.ts
//
// Environment: HOST (default 127.0.0.1), PORT (default 8084), TRUSTED_PROXIES
// (addresses or CIDR ranges, comma-separated, default 127.0.0.1: a load
// balancer on this machine).
//
// It prints one JSON line per client with the client's real address, and one
// per refused connection ({"event":"refused",...}).
//
// Try it by hand, from the repository root after `npm install`, each command
// in a terminal of its own. The example, on 18084:
//
//   $ PORT=18084 npx tsx examples/ws.ts
//
// A stand-in for the load balancer, in one line of node: it listens on
// 127.0.0.1:8084 and, for each client, connects to the example (from
// 127.0.0.1, which TRUSTED_PROXIES lists) and writes a PROXY v1 header naming
// 198.51.100.7:50000 before the client's HTTP upgrade request. For HAProxy or
// nginx instead, see docs/load-balancers.md.
//
//   $ node -e "const net=require('net');net.createServer(c=>{const u=net.connect(18084,'127.0.0.1');u.write('PROXY TCP4 198.51.100.7 127.0.0.1 50000 8084\r\n');c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy())}).listen(8084,'127.0.0.1',()=>console.log('PROXY front on 127.0.0.1:8084'))"
//
// A client through it is seen with the header's address:
//
//   $ npx mqtt pub -C ws -h 127.0.0.1 -p 8084 -i by-hand -t demo -m hello
//   {"event":"authenticate","clientId":"by-hand","ipAddress":"198.51.100.7","port":50000,"websocket":true,...}
//
// A client that bypasses it is refused (MQTT.js says "socket hang up"):
//
//   $ npx mqtt pub -C ws -h 127.0.0.1 -p 18084 -i bypass -t demo -m hello
//   {"event":"refused","refusedBy":"proxy","listener":"ws","peer":{"address":"127.0.0.1",...},"code":"PROXY_ERR_NOT_PROXY",...}
import http from 'node:http'
import type net from 'node:net'
import { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { proxyProtocol, withPlugins } from 'aedes-proxy-protocol'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 8084)
const trustedProxies = (process.env.TRUSTED_PROXIES ?? '127.0.0.1').split(/[\s,]+/).filter(s => s !== '')

const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _username, _password, done) {
    const d = client.connDetails
    console.log(JSON.stringify({ event: 'authenticate', clientId: client.id, ipAddress: d?.ipAddress, port: d?.port, websocket: d?.isWebsocket, peer: d?.peer }))
    done(null, true)
  }
}))

// The plugin logs its refusals (what refused, the real peer, the code and, for a
// misconfiguration, what to change) through `logger`: here one JSON line each on
// stderr; load-balancer probes, at debug, are left out.
const log = (record: object, msg?: string): void => { console.warn(JSON.stringify({ ...record, msg })) }
const proxy = broker.use(proxyProtocol({ trustedProxies, listeners: { ws: { proxyEnabled: true } }, logger: { debug: () => {}, info: log, warn: log, error: log } }))

const server = http.createServer()
new WebSocketServer({ server }).on('connection', (socket, req) => {
  broker.handle(createWebSocketStream(socket), req)
})
proxy.attach(server) // read the header before the HTTP upgrade

server.listen(port, host, () => {
  const address = server.address() as net.AddressInfo
  console.log(`ws listener on ${address.address}:${address.port}, PROXY protocol required from ${trustedProxies.join(', ')}`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { server.close(); broker.close(() => process.exit(0)) })
}
