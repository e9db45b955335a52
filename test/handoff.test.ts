// src/handoff.ts: the hand-over from the intake to aedes, through a server's
// own listeners where they are not broker.handle alone. Whatever those
// listeners do with the socket (wrap it, hand another connection over first,
// or receive a stream that is not a socket at all), broker.handle finds the
// header that was read for it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import { once } from 'node:events'
import { Duplex } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import mqttPacket from 'mqtt-packet'
import { proxyProtocol } from '../src/plugin.js'
import { withPlugins } from '../src/use.js'
import { testCerts } from './helpers/certs.js'
import { until } from './helpers/wait.js'

const CONNECT = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'x', keepalive: 60 })
const HEADER = Buffer.from('PROXY TCP4 192.0.2.4 198.51.100.8 1111 1883\r\n')
const CONNACK = '20020000'

async function broker (t: { after: (fn: () => Promise<void>) => void }, seen: string[]): Promise<ReturnType<typeof withPlugins<Aedes>>> {
  const b = withPlugins(await Aedes.createBroker({
    authenticate (client: Client, _u, _p, done) { seen.push(client.connDetails?.ipAddress ?? '(none)'); done(null, true) }
  }))
  t.after(async () => { await new Promise<void>(resolve => b.close(() => resolve())) })
  return b
}

async function listen (t: { after: (fn: () => void) => void }, server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { server.close() })
  return (server.address() as net.AddressInfo).port
}

function collect (stream: net.Socket): () => string {
  const got: Buffer[] = []
  stream.on('data', (d: Buffer) => got.push(d))
  stream.on('error', () => {})
  return () => Buffer.concat(got).toString('hex')
}

/** Connects to a tcp server, sends the header and a CONNECT, and waits for the CONNACK or a refusal. */
async function connectThrough (t: { after: (fn: () => void) => void }, port: number, rejected: string[]): Promise<void> {
  const c = net.connect(port, '127.0.0.1')
  t.after(() => { c.destroy() })
  const got = collect(c)
  await once(c, 'connect')
  c.write(Buffer.concat([HEADER, CONNECT]))
  await until(() => got().startsWith(CONNACK) || rejected.length > 0, 3000)
}

test('a stream that is not a socket, emitted as a connection, is handed over with its header', async (t) => {
  const seen: string[] = []
  const b = await broker(t, seen)
  const proxy = b.use(proxyProtocol({ proxyEnabled: true }))
  const handed: unknown[] = []
  const server = net.createServer(stream => { handed.push(stream); b.handle(stream) })
  proxy.attach(server)
  const replies: Buffer[] = []
  const d = new Duplex({ read () {}, write (chunk: Buffer, _e, cb) { replies.push(chunk); cb() } })
  t.after(() => { d.destroy() })
  server.emit('connection', d)
  d.push(Buffer.concat([HEADER, CONNECT]))
  await until(() => handed.length === 1 && seen.length === 1, 3000)
  assert.equal(handed[0], d)
  assert.deepEqual(seen, ['192.0.2.4'])
  await until(() => Buffer.concat(replies).toString('hex').startsWith(CONNACK), 3000)
  assert.equal(proxy.stats().tcp.pending, 0)
})

test('a listener that wraps the raw socket in a TLSSocket at once still finds its header (ssl)', async (t) => {
  const seen: string[] = []
  const b = await broker(t, seen)
  const proxy = b.use(proxyProtocol({ proxyEnabled: true }))
  const rejected: string[] = []
  proxy.on('rejected', err => { rejected.push(err.code) })
  const certs = testCerts()
  const secureContext = tls.createSecureContext({ key: certs.serverKey, cert: certs.serverCert })
  const server = net.createServer(s => { b.handle(new tls.TLSSocket(s, { isServer: true, secureContext })) })
  proxy.attach(server, { listener: 'ssl' })
  const port = await listen(t, server)
  const raw = net.connect(port, '127.0.0.1')
  await once(raw, 'connect')
  raw.write(HEADER)
  const c = tls.connect({ socket: raw, ca: certs.ca, servername: 'localhost' })
  t.after(() => { c.destroy() })
  const got = collect(c)
  await once(c, 'secureConnect')
  c.write(CONNECT)
  await until(() => got().startsWith(CONNACK) || rejected.length > 0, 3000)
  assert.deepEqual(rejected, [])
  assert.deepEqual(seen, ['192.0.2.4'])
})

test('a listener that hands another connection over first still gets its own header', async (t) => {
  const seen: string[] = []
  const b = await broker(t, seen)
  const proxy = b.use(proxyProtocol({ proxyEnabled: true, listeners: { ws: { proxyEnabled: false, hints: false } } }))
  const rejected: string[] = []
  proxy.on('rejected', err => { rejected.push(err.code) })
  const other = http.createServer()
  proxy.attach(other)
  const inner = new Duplex({ read () {}, write (_c, _e, cb) { cb() } })
  t.after(() => { inner.destroy() })
  const server = net.createServer(s => {
    // A synchronous hand-over on another attached server, inside this one.
    other.emit('connection', inner)
    b.handle(s)
  })
  proxy.attach(server)
  await connectThrough(t, await listen(t, server), rejected)
  assert.deepEqual(rejected, [])
  assert.deepEqual(seen, ['192.0.2.4'])
})

test('a listener that hands the socket to broker.handle later, or beside another listener, still finds its header', async (t) => {
  const seen: string[] = []
  const b = await broker(t, seen)
  const proxy = b.use(proxyProtocol({ proxyEnabled: true }))
  const rejected: string[] = []
  proxy.on('rejected', err => { rejected.push(err.code) })
  let counted = 0
  const later = net.createServer(s => { setImmediate(() => b.handle(s)) })
  const beside = net.createServer(b.handle)
  beside.on('connection', () => { counted++ })
  proxy.attach(later)
  proxy.attach(beside)
  for (const server of [later, beside]) await connectThrough(t, await listen(t, server), rejected)
  assert.deepEqual(rejected, [])
  assert.deepEqual(seen, ['192.0.2.4', '192.0.2.4'])
  assert.equal(counted, 1)
})
