// The PROXY plugin's contract as a user meets it: wiring in any order, and
// misuse that is loud rather than silent.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import tls from 'node:tls'
import { once } from 'node:events'
import { Aedes, type Client } from 'aedes'
import { proxyProtocol } from '../src/plugin.js'
import { withPlugins } from '../src/use.js'
import { testCerts } from './helpers/certs.js'
import { connectClient, endClient } from './helpers/client.js'
import { startFront } from './helpers/front.js'

const usageError = (pattern: RegExp) => (err: unknown): boolean =>
  err instanceof TypeError && (err as { code?: string }).code === 'PROXY_ERR_USAGE' && pattern.test(err.message) && err.message.startsWith('aedes-proxy-protocol: ')

async function listen (server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as net.AddressInfo).port
}

async function withBroker (t: { after: (fn: () => Promise<void>) => void }, seen: string[] = []): Promise<ReturnType<typeof withPlugins<Aedes>>> {
  const broker = withPlugins(await Aedes.createBroker({
    authenticate (client: Client, _u, _p, done) { seen.push(client.connDetails?.ipAddress ?? '(none)'); done(null, true) }
  }))
  t.after(async () => { await new Promise<void>(resolve => broker.close(() => resolve())) })
  return broker
}

describe('wiring in any order', () => {
  for (const kind of ['tcp', 'ssl'] as const) {
    test(`${kind}: a server created with broker.handle before use() reads the header once attached`, async (t) => {
      const seen: string[] = []
      const broker = await withBroker(t, seen)
      const certs = testCerts()
      // The usual aedes line, before the plugin exists.
      const server = kind === 'tcp' ? net.createServer(broker.handle) : tls.createServer({ key: certs.serverKey, cert: certs.serverCert }, broker.handle)
      const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
      proxy.attach(server)
      const port = await listen(server)
      t.after(() => new Promise<void>(resolve => server.close(() => resolve())))
      const front = await startFront({ target: port, header: 'v1' })
      t.after(() => front.close())
      const client = await connectClient({ listener: kind, port: front.port, localAddress: '127.0.0.7' })
      await endClient(client)
      assert.deepEqual(seen, ['127.0.0.7'], 'the real address, not the front\'s')
      assert.equal(proxy.stats()[kind].proxied.v1, 1)
    })
  }
  test('PROXY off everywhere: broker.handle returns what aedes returns', async (t) => {
    const broker = await withBroker(t)
    const proxy = broker.use(proxyProtocol({}))
    const server = net.createServer()
    const port = await listen(server)
    // The accepted socket is ended here: left to aedes, server.close() would wait for its 30 s connect timeout.
    const held: net.Socket[] = []
    t.after(() => new Promise<void>(resolve => { for (const s of held) s.destroy(); server.close(() => resolve()) }))
    const socket = net.connect(port, '127.0.0.1')
    t.after(() => { socket.destroy() })
    const [accepted] = await once(server, 'connection') as [net.Socket]
    held.push(accepted)
    const client = broker.handle(accepted)
    assert.ok(client !== undefined, 'an aedes Client, at once')
    assert.equal((client as unknown as { conn: unknown }).conn, accepted, 'the aedes Client of this socket')
    assert.equal(client.connDetails?.listener, 'tcp')
    assert.equal(proxy.handle, broker.handle, 'proxy.handle is what broker.handle is, typed Client | undefined')
  })
})

describe('a plain TCP server left unattached, PROXY on: the header is read through broker.handle', () => {
  for (const header of ['v1', 'v2'] as const) {
    for (const delivery of ['with-first-chunk', 'trickle'] as const) {
      test(`${header}, ${delivery}`, async (t) => {
        const seen: string[] = []
        const broker = await withBroker(t, seen)
        const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
        const server = net.createServer(broker.handle)
        const port = await listen(server)
        t.after(() => new Promise<void>(resolve => server.close(() => { resolve() })))
        const front = await startFront({ target: port, header, delivery })
        t.after(() => front.close())
        await endClient(await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.9' }))
        assert.deepEqual(seen, ['127.0.0.9'])
        assert.equal(proxy.stats().tcp.proxied[header], 1)
      })
    }
  }
  test('a direct client is refused with PROXY_ERR_NOT_PROXY and its client id', async (t) => {
    const broker = await withBroker(t)
    const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
    const refused: Array<{ code: string, clientId: string | undefined }> = []
    proxy.on('rejected', (err, event) => refused.push({ code: err.code, clientId: event.clientId }))
    const server = net.createServer(broker.handle)
    const port = await listen(server)
    t.after(() => new Promise<void>(resolve => server.close(() => { resolve() })))
    await assert.rejects(connectClient({ listener: 'tcp', port, clientId: 'direct-one' }))
    assert.deepEqual(refused, [{ code: 'PROXY_ERR_NOT_PROXY', clientId: 'direct-one' }])
  })
})

test('a connection refused before it is read says how many bytes it sent: none yet, never a sentinel', async (t) => {
  const broker = await withBroker(t)
  const proxy = broker.use(proxyProtocol({ proxyEnabled: true, trustedProxies: ['192.0.2.0/24'] }))
  const refused: Array<{ code: string, bytesReceived: number }> = []
  proxy.on('rejected', err => refused.push({ code: err.code, bytesReceived: err.bytesReceived }))
  const server = net.createServer(broker.handle)
  proxy.attach(server)
  const port = await listen(server)
  t.after(() => new Promise<void>(resolve => server.close(() => { resolve() })))
  // 127.0.0.1 is outside trustedProxies on a listener that requires a header: refused at accept.
  await assert.rejects(connectClient({ listener: 'tcp', port }))
  assert.deepEqual(refused, [{ code: 'PROXY_ERR_UNTRUSTED', bytesReceived: 0 }])
})

describe('misuse is loud', () => {
  test('attach({}) and attach(server, { listener: typo }) are coded TypeErrors', async (t) => {
    const broker = await withBroker(t)
    const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
    assert.throws(() => proxy.attach({} as never), usageError(/attach\(\) needs a net, tls, http or https server, got an object \(Object\)/))
    assert.throws(() => proxy.attach(undefined as never), usageError(/got undefined/))
    assert.throws(() => proxy.attach(net.createServer(), { listener: 'mqtts' as never }), usageError(/takes one of tcp, ssl, ws, wss, got "mqtts"/))
  })
  test('attach() before use(), or with an unknown option, is a coded error', async (t) => {
    const broker = await withBroker(t)
    const proxy = proxyProtocol({ proxyEnabled: true })
    assert.throws(() => proxy.attach(net.createServer(broker.handle)), usageError(/attach\(\) before the plugin is installed: const proxy = broker\.use\(proxyProtocol\(options\)\), then proxy\.attach\(server\)/))
    broker.use(proxy)
    assert.throws(() => proxy.attach(net.createServer(broker.handle), { listner: 'tcp' } as never), usageError(/takes \{ listener\? \}, not `listner`/))
  })
  test('attach twice on one server is a no-op: one takeover, connections still work', async (t) => {
    const seen: string[] = []
    const broker = await withBroker(t, seen)
    const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
    const server = net.createServer(broker.handle)
    const detach = proxy.attach(server)
    assert.equal(proxy.attach(server), detach, 'the same function')
    assert.equal(server.listenerCount('connection'), 1)
    const port = await listen(server)
    t.after(() => new Promise<void>(resolve => server.close(() => resolve())))
    const front = await startFront({ target: port, header: 'v2' })
    t.after(() => front.close())
    await endClient(await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.8' }))
    assert.deepEqual(seen, ['127.0.0.8'])
    assert.deepEqual(proxy.stats().tcp.rejected, {})
  })
  test('attaching one server again as another listener is a coded error', async (t) => {
    const broker = await withBroker(t)
    const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
    const server = net.createServer(broker.handle)
    proxy.attach(server)
    assert.throws(() => proxy.attach(server, { listener: 'ws' }), usageError(/already attached as the tcp listener, not ws/))
  })
  test('one server, two plugin instances: a coded error', async (t) => {
    const a = await withBroker(t)
    const b = await withBroker(t)
    const pa = a.use(proxyProtocol({ proxyEnabled: true }))
    const pb = b.use(proxyProtocol({ proxyEnabled: true }))
    const server = net.createServer(a.handle)
    pa.attach(server)
    assert.throws(() => pb.attach(server), usageError(/already attached to another proxyProtocol\(\) instance/))
  })
  test('detach gives the server its connections back, and it can be attached again', async (t) => {
    const broker = await withBroker(t)
    const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
    const server = net.createServer(broker.handle)
    const listener = server.listeners('connection')[0]
    const detach = proxy.attach(server)
    detach()
    assert.deepEqual(server.listeners('connection'), [listener])
    assert.notEqual(proxy.attach(server), detach)
  })
  test('installed twice, or on two brokers: coded errors', async (t) => {
    const a = await withBroker(t)
    const b = await withBroker(t)
    const plugin = proxyProtocol()
    a.use(plugin)
    assert.throws(() => a.use(proxyProtocol()), usageError(/already installed on this broker/))
    assert.throws(() => b.use(plugin), usageError(/already installed on another broker/))
  })
})
