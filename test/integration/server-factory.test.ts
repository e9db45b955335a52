// The smallest migration from aedes-server-factory: keep
// `createServer(broker, { trustProxy: true })` (and `ws: true`) and add the
// plugin. The factory hands its TCP connections to broker.handle with
// `{ connDetails }` as the request: they are tcp all the same, attached or
// not. Real aedes, real factory servers, real MQTT.js clients, a PROXY front
// connecting from 127.0.0.9, everything on loopback.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import { once } from 'node:events'
import { Aedes, type Client } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { createServer } from 'aedes-server-factory'
import { proxyProtocol } from '../../src/plugin.js'
import { withPlugins } from '../../src/use.js'
import { sessions } from '../../src/operator/sessions.js'
import type { ConnDetails } from '../../src/conn-details.js'
import type { ProxyProtocolOptions } from '../../src/options.js'
import type { RejectedEvent } from '../../src/events.js'
import type { ProxyProtocolError } from '../../src/protocol/errors.js'
import { startFront } from '../helpers/front.js'
import { connectClient, endClient } from '../helpers/client.js'

const CLIENT = '127.0.0.2'
const PROXY = '127.0.0.9'

async function factoryBroker (t: TestContext, plugin: ProxyProtocolOptions, factory: { ws?: true }, attach: boolean) {
  const seen: Array<ConnDetails | null | undefined> = []
  const broker = withPlugins(await Aedes.createBroker({
    authenticate (client: Client, _u, _p, done) { seen.push(client.connDetails); done(null, true) }
  }))
  const proxy = broker.use(proxyProtocol(plugin))
  const list = broker.use(sessions())
  const rejected: Array<{ err: ProxyProtocolError, ev: RejectedEvent }> = []
  proxy.on('rejected', (err, ev) => rejected.push({ err, ev }))
  const server = createServer(broker, { trustProxy: true, ...factory })
  if (attach) proxy.attach(server)
  const sockets = new Set<net.Socket>()
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise(resolve => server.close(resolve))
    await new Promise<void>(resolve => broker.close(() => resolve()))
  })
  return { proxy, list, seen, rejected, port: (server.address() as net.AddressInfo).port }
}

async function connect (t: TestContext, url: string, headers: Record<string, string> = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, wsOptions: { localAddress: CLIENT, headers } })
  t.after(() => { client.end(true) })
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
  return client
}

test('factory net server, trustProxy, attached: the tcp listener, not a WebSocket, the address from the PROXY header', async (t) => {
  const b = await factoryBroker(t, { trustedProxies: [PROXY], listeners: { tcp: { proxyEnabled: true } } }, {}, true)
  const front = await startFront({ target: b.port, header: 'v2', upstreamAddress: PROXY })
  t.after(() => front.close())
  const client = await connectClient({ listener: 'tcp', port: front.port, localAddress: CLIENT })
  t.after(() => { client.end(true) })
  const d = b.seen[0]
  assert.equal(d?.listener, 'tcp')
  assert.equal(d?.isWebsocket, false)
  assert.equal(d?.isProxy, 2)
  assert.equal(d?.ipAddress, CLIENT)
  assert.equal(d?.peer.address, PROXY)
  const [session] = await b.list.list()
  assert.equal(session?.websocket, false)
  assert.equal(session?.listener, 'tcp')
  assert.equal(b.proxy.stats().tcp.proxied.v2, 1)
  await endClient(client)
})

test('factory ws server, trustProxy, attached: the ws listener, a WebSocket, the address from the PROXY header', async (t) => {
  const b = await factoryBroker(t, { trustedProxies: [PROXY], listeners: { ws: { proxyEnabled: true } } }, { ws: true }, true)
  const front = await startFront({ target: b.port, header: 'v1', upstreamAddress: PROXY })
  t.after(() => front.close())
  // The factory read X-Real-IP first, from anyone: here a trusted proxy's header is what counts.
  const client = await connect(t, `ws://127.0.0.1:${front.port}/`, { 'X-Real-IP': '203.0.113.9' })
  const d = b.seen[0]
  assert.equal(d?.listener, 'ws')
  assert.equal(d?.isWebsocket, true)
  assert.equal(d?.isProxy, 1)
  assert.equal(d?.ipAddress, CLIENT)
  const [session] = await b.list.list()
  assert.equal(session?.websocket, true)
  await endClient(client)
})

test('factory ws server, trustProxy, attached, forwardedHeaders: X-Forwarded-For walked from the right, X-Real-IP not read', async (t) => {
  const b = await factoryBroker(t, { trustedProxies: [PROXY], listeners: { ws: { forwardedHeaders: true } } }, { ws: true }, true)
  const front = await startFront({ target: b.port, header: 'none', upstreamAddress: PROXY })
  t.after(() => front.close())
  // As a proxy that appends would pass it on: the client's own entry, then the one the proxy wrote.
  const client = await connect(t, `ws://127.0.0.1:${front.port}/`, { 'X-Forwarded-For': `203.0.113.9, ${CLIENT}`, 'X-Real-IP': '203.0.113.9' })
  const d = b.seen[0]
  assert.equal(d?.listener, 'ws')
  assert.equal(d?.isWebsocket, true)
  assert.equal(d?.ipAddress, CLIENT)
  assert.equal(d?.forwarded, 'x-forwarded-for')
  await endClient(client)
})

test('factory net server not attached, PROXY off: handed over as the tcp listener, not a WebSocket', async (t) => {
  const b = await factoryBroker(t, {}, {}, false)
  const client = await connectClient({ listener: 'tcp', port: b.port, localAddress: CLIENT })
  t.after(() => { client.end(true) })
  const d = b.seen[0]
  assert.equal(d?.listener, 'tcp')
  assert.equal(d?.isWebsocket, false)
  assert.equal(d?.ipAddress, CLIENT)
  assert.equal(b.proxy.stats().tcp.direct, 1)
  assert.equal(b.proxy.stats().ws.direct, 0)
  await endClient(client)
})

test('factory net server not attached, PROXY on for tcp: refused and reported on the tcp listener, saying to attach the net server', async (t) => {
  const b = await factoryBroker(t, { trustedProxies: [PROXY], listeners: { tcp: { proxyEnabled: true } } }, {}, false)
  const front = await startFront({ target: b.port, header: 'v2', upstreamAddress: PROXY })
  t.after(() => front.close())
  const client = mqtt.connect(`mqtt://127.0.0.1:${front.port}`, { reconnectPeriod: 0, connectTimeout: 5000 })
  t.after(() => { client.end(true) })
  await new Promise<void>(resolve => client.once('close', () => resolve()))
  assert.equal(b.seen.length, 0)
  assert.equal(b.rejected.length, 1)
  assert.equal(b.rejected[0]?.err.code, 'PROXY_ERR_NOT_ATTACHED')
  assert.equal(b.rejected[0]?.ev.listener, 'tcp')
  assert.match(b.rejected[0]?.err.message ?? '', /on the net server/)
  assert.deepEqual(b.proxy.stats().tcp.rejected, { PROXY_ERR_NOT_ATTACHED: 1 })
})

// A web framework's WebSocket route hands its own request object on (Fastify's
// FastifyRequest: `socket`, `headers`, the IncomingMessage as `raw`): still a
// WebSocket on the ws listener, with its forwarded header read, not a tcp
// connection refused as unattached.
test('an attached ws server whose handler passes a framework request (socket, headers): the ws listener, a WebSocket', async (t) => {
  const { WebSocketServer, createWebSocketStream } = await import('ws')
  const http = await import('node:http')
  const seen: Array<ConnDetails | null | undefined> = []
  const broker = withPlugins(await Aedes.createBroker({
    authenticate (client: Client, _u, _p, done) { seen.push(client.connDetails); done(null, true) }
  }))
  const proxy = broker.use(proxyProtocol({ trustedProxies: ['127.0.0.1'], listeners: { tcp: { proxyEnabled: true }, ws: { forwardedHeaders: true } } }))
  const server = http.createServer()
  proxy.attach(server)
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws, req) => {
    const frameworkRequest = { raw: req, socket: req.socket, headers: req.headers, id: 'req-1' }
    broker.handle(createWebSocketStream(ws), frameworkRequest as never)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(async () => {
    for (const c of wss.clients) c.terminate()
    await new Promise(resolve => server.close(resolve))
    await new Promise<void>(resolve => broker.close(() => resolve()))
  })
  const client = mqtt.connect(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`, { reconnectPeriod: 0, wsOptions: { headers: { 'X-Forwarded-For': '203.0.113.9' } } })
  t.after(() => { client.end(true) })
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject); client.once('close', () => reject(new Error('closed'))) })
  assert.equal(seen[0]?.listener, 'ws')
  assert.equal(seen[0]?.isWebsocket, true)
  assert.equal(seen[0]?.ipAddress, '203.0.113.9')
  assert.equal(seen[0]?.forwarded, 'x-forwarded-for')
  assert.equal(proxy.stats().tcp.rejected.PROXY_ERR_NOT_ATTACHED, undefined)
  await endClient(client)
})
