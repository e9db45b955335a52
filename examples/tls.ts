// MQTT over TLS with TLS terminated here, behind a TCP load balancer that
// sends a PROXY header before passing the client's TLS bytes through. The
// header is read from the raw socket before the handshake; client
// certificates (mTLS) are verified by Node as usual.
//
//   TLS_KEY=server.key TLS_CERT=server.crt [TLS_CA=ca.crt] PORT=8883 npx tsx examples/tls.ts
import { readFileSync } from 'node:fs'
import type net from 'node:net'
import tls from 'node:tls'
import { Aedes } from 'aedes'
import { proxyProtocol, withPlugins } from 'aedes-proxy-protocol'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 8883)
const { TLS_KEY, TLS_CERT, TLS_CA } = process.env
if (TLS_KEY === undefined || TLS_CERT === undefined) {
  console.error('set TLS_KEY and TLS_CERT to PEM files (and TLS_CA to require client certificates)')
  process.exit(2)
}

const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _username, _password, done) {
    const d = client.connDetails
    console.log(JSON.stringify({ event: 'authenticate', clientId: client.id, ip: d?.ipAddress, port: d?.port, certCn: d?.cert?.subject.CN, certAuthorized: d?.certAuthorized }))
    done(null, true)
  }
}))

const proxy = broker.use(proxyProtocol({ listeners: { ssl: { proxyEnabled: true } } }))

const server = tls.createServer({
  key: readFileSync(TLS_KEY),
  cert: readFileSync(TLS_CERT),
  ...(TLS_CA !== undefined ? { ca: readFileSync(TLS_CA), requestCert: true, rejectUnauthorized: true } : {})
}, broker.handle)
proxy.attach(server) // read the header before the TLS handshake

server.listen(port, host, () => {
  const address = server.address() as net.AddressInfo
  console.log(`ssl listener on ${address.address}:${address.port}, PROXY protocol required`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { server.close(); broker.close(() => process.exit(0)) })
}
