// A plain-TCP MQTT broker that requires a PROXY header (v1 or v2) on every
// connection, as it would behind HAProxy `send-proxy-v2` or an AWS NLB. Only
// the load balancers in TRUSTED_PROXIES may send one; everyone else is refused
// before a byte is read.
//
//   PORT=1883 npx tsx examples/tcp.ts
//
// Environment: HOST (default 127.0.0.1), PORT (default 1883), TRUSTED_PROXIES
// (addresses or CIDR ranges, comma-separated, default 127.0.0.1: a load
// balancer on this machine).
//
// It prints one JSON line per client with the client's real address, and one
// per refused connection ({"event":"refused",...}; load-balancer probes that
// send nothing are not refused).
//
// Try it by hand, from the repository root after `npm install`, each command
// in a terminal of its own. The example, on 11883:
//
//   $ PORT=11883 npx tsx examples/tcp.ts
//
// A stand-in for the load balancer, in one line of node: it listens on
// 127.0.0.1:1883 and, for each client, connects to the example (from
// 127.0.0.1, which TRUSTED_PROXIES lists) and writes a PROXY v1 header naming
// 198.51.100.7:50000 before the client's bytes. For HAProxy or nginx instead,
// see docs/load-balancers.md.
//
//   $ node -e "const net=require('net');net.createServer(c=>{const u=net.connect(11883,'127.0.0.1');u.write('PROXY TCP4 198.51.100.7 127.0.0.1 50000 1883\r\n');c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy())}).listen(1883,'127.0.0.1',()=>console.log('PROXY front on 127.0.0.1:1883'))"
//
// A client through it is seen with the header's address:
//
//   $ npx mqtt pub -h 127.0.0.1 -p 1883 -i by-hand -t demo -m hello
//   {"event":"authenticate","clientId":"by-hand","ipAddress":"198.51.100.7","port":50000,"peer":{"address":"127.0.0.1",...}}
//
// A client that bypasses it is refused (MQTT.js retries every second; Ctrl-C):
//
//   $ npx mqtt pub -h 127.0.0.1 -p 11883 -i bypass -t demo -m hello
//   {"event":"refused","refusedBy":"proxy","listener":"tcp","peer":{"address":"127.0.0.1",...},"code":"PROXY_ERR_NOT_PROXY",...}
import net from 'node:net'
import { Aedes } from 'aedes'
import { proxyProtocol, withPlugins } from 'aedes-proxy-protocol'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 1883)
const trustedProxies = (process.env.TRUSTED_PROXIES ?? '127.0.0.1').split(/[\s,]+/).filter(s => s !== '')

const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _username, _password, done) {
    // The real client, not the load balancer.
    const d = client.connDetails
    console.log(JSON.stringify({ event: 'authenticate', clientId: client.id, ipAddress: d?.ipAddress, port: d?.port, peer: d?.peer }))
    done(null, true)
  }
}))

// The plugin logs its refusals (what refused, the real peer, the code and, for a
// misconfiguration, what to change) through `logger`: here one JSON line each on
// stderr; load-balancer probes, at debug, are left out.
const log = (record: object, msg?: string): void => { console.warn(JSON.stringify({ ...record, msg })) }
const proxy = broker.use(proxyProtocol({ proxyEnabled: true, trustedProxies, logger: { debug: () => {}, info: log, warn: log, error: log } }))

const server = net.createServer(broker.handle) // the usual aedes line, unchanged
proxy.attach(server) // read the header before aedes sees a byte
server.listen(port, host, () => {
  const address = server.address() as net.AddressInfo
  console.log(`tcp listener on ${address.address}:${address.port}, PROXY protocol required from ${trustedProxies.join(', ')}`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { server.close(); broker.close(() => process.exit(0)) })
}
