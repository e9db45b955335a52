// MQTT over TLS with TLS terminated here, behind a TCP load balancer that
// sends a PROXY header before passing the client's TLS bytes through. The
// header is read from the raw socket before the handshake; client
// certificates (mTLS) are verified by Node as usual. Only the load balancers
// in TRUSTED_PROXIES may send a header.
//
//   TLS_KEY=server.key TLS_CERT=server.crt [TLS_CA=ca.crt] PORT=8883 npx tsx examples/tls.ts
//
// Environment: TLS_KEY, TLS_CERT (PEM files), TLS_CA (a CA file: then client
// certificates are required), HOST (default 127.0.0.1), PORT (default 8883),
// TRUSTED_PROXIES (addresses or CIDR ranges, comma-separated, default
// 127.0.0.1: a load balancer on this machine).
//
// It prints one JSON line per client with the client's real address and
// certificate, and one per refused connection ({"event":"refused",...}).
//
// Try it by hand, from the repository root after `npm install`, each long-
// running command in a terminal of its own. Test certificates (OpenSSL 3): a
// CA, a server certificate for 127.0.0.1 and localhost, a client certificate:
//
//   $ openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=test-ca -keyout ca.key -out ca.crt
//   $ openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout server.key -out server.csr
//   $ openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -copy_extensions copy -out server.crt
//   $ openssl req -newkey rsa:2048 -nodes -subj /CN=client-1 -keyout client.key -out client.csr
//   $ openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out client.crt
//
// The example, on 18883, requiring client certificates:
//
//   $ TLS_KEY=server.key TLS_CERT=server.crt TLS_CA=ca.crt PORT=18883 npx tsx examples/tls.ts
//
// A stand-in for the load balancer, in one line of node: it listens on
// 127.0.0.1:8883 and, for each client, connects to the example (from
// 127.0.0.1, which TRUSTED_PROXIES lists) and writes a PROXY v1 header naming
// 198.51.100.7:50000 before the client's TLS bytes, which it passes through.
// For HAProxy or nginx instead, see docs/load-balancers.md.
//
//   $ node -e "const net=require('net');net.createServer(c=>{const u=net.connect(18883,'127.0.0.1');u.write('PROXY TCP4 198.51.100.7 127.0.0.1 50000 8883\r\n');c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy())}).listen(8883,'127.0.0.1',()=>console.log('PROXY front on 127.0.0.1:8883'))"
//
// A client through it is seen with the header's address and its certificate:
//
//   $ npx mqtt pub -C mqtts -h 127.0.0.1 -p 8883 --ca ca.crt --cert client.crt --key client.key -i by-hand -t demo -m hello
//   {"event":"authenticate","clientId":"by-hand","ipAddress":"198.51.100.7","port":50000,"cn":"client-1","certAuthorized":true,...}
//
// A client that bypasses it is refused (and MQTT.js says "Client network
// socket disconnected before secure TLS connection was established"):
//
//   $ npx mqtt pub -C mqtts -h 127.0.0.1 -p 18883 --ca ca.crt --cert client.crt --key client.key -i bypass -t demo -m hello
//   {"event":"refused","refusedBy":"proxy","listener":"ssl","peer":{"address":"127.0.0.1",...},"code":"PROXY_ERR_NOT_PROXY",...}
import { readFileSync } from 'node:fs'
import type net from 'node:net'
import tls from 'node:tls'
import { Aedes } from 'aedes'
import { proxyProtocol, withPlugins } from 'aedes-proxy-protocol'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 8883)
const trustedProxies = (process.env.TRUSTED_PROXIES ?? '127.0.0.1').split(/[\s,]+/).filter(s => s !== '')
const { TLS_KEY, TLS_CERT, TLS_CA } = process.env
if (TLS_KEY === undefined || TLS_CERT === undefined) {
  console.error('set TLS_KEY and TLS_CERT to PEM files (and TLS_CA to require client certificates)')
  process.exit(2)
}

const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _username, _password, done) {
    const d = client.connDetails
    console.log(JSON.stringify({ event: 'authenticate', clientId: client.id, ipAddress: d?.ipAddress, port: d?.port, cn: d?.certAuthorized === true ? d.cert?.subject.CN : undefined, certAuthorized: d?.certAuthorized, peer: d?.peer }))
    done(null, true)
  }
}))

// The plugin logs its refusals (what refused, the real peer, the code and, for a
// misconfiguration, what to change) through `logger`: here one JSON line each on
// stderr; load-balancer probes, at debug, are left out.
const log = (record: object, msg?: string): void => { console.warn(JSON.stringify({ ...record, msg })) }
const proxy = broker.use(proxyProtocol({ trustedProxies, listeners: { ssl: { proxyEnabled: true } }, logger: { debug: () => {}, info: log, warn: log, error: log } }))

const server = tls.createServer({
  key: readFileSync(TLS_KEY),
  cert: readFileSync(TLS_CERT),
  ...(TLS_CA !== undefined ? { ca: readFileSync(TLS_CA), requestCert: true, rejectUnauthorized: true } : {})
}, broker.handle)
proxy.attach(server) // read the header before the TLS handshake

server.listen(port, host, () => {
  const address = server.address() as net.AddressInfo
  console.log(`ssl listener on ${address.address}:${address.port}, PROXY protocol required from ${trustedProxies.join(', ')}`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { server.close(); broker.close(() => process.exit(0)) })
}
