// What real client addresses are for: unauthorized clients, IP policies,
// sessions, $SYS figures and WebSocket forwarded headers, with real clients.
import { test, describe, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import mqtt from 'mqtt'
import { startStack } from '../helpers/stack.js'
import { startFront, v1HeaderFor, v2HeaderFor } from '../helpers/front.js'
import { connectClient, endClient } from '../helpers/client.js'
import { proxiedConnack } from '../helpers/raw.js'
import { until } from '../helpers/wait.js'
import { proxyProtocol } from '../../src/plugin.js'
import { OptionsError } from '../../src/errors.js'
import type { UnauthorizedClient } from '../../src/operator/unauthorized-store.js'
import type { ConnDetails } from '../../src/conn-details.js'
import type { ProxyProtocolOptions } from '../../src/options.js'

async function refusedWith (promise: Promise<unknown>): Promise<number | string | undefined> {
  try {
    await promise
  } catch (err) {
    return (err as { code?: number | string }).code
  }
  assert.fail('the connection was accepted')
}

describe('unauthorized clients', () => {
  test('a wrong password through a PROXY front is recorded with the real address, port, username and reason', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, authenticate: (_c, _u, password) => password?.toString() === 'right' })
    t.after(() => stack.close())
    const events: UnauthorizedClient[] = []
    stack.unauthorized.on('unauthorized', e => events.push(e))
    const ports: number[] = []
    const front = await startFront({ target: stack.port, header: (c: net.Socket) => { ports.push(c.remotePort as number); return v2HeaderFor(c) } })
    t.after(() => front.close())
    assert.equal(await refusedWith(connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.2', clientId: 'intruder', username: 'bob', password: 'wrong' })), 5)
    const ok = await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.3', clientId: 'fine', username: 'bob', password: 'right' })
    await endClient(ok)
    const list = (await stack.unauthorized.list())
    assert.equal(list.length, 1)
    const entry = list[0]
    assert.equal(entry?.clientId, 'intruder')
    assert.equal(entry?.ipAddress, '127.0.0.2')
    assert.equal(entry?.port, ports[0])
    assert.equal(entry?.username, 'bob')
    assert.equal(entry?.passwordProvided, true)
    assert.equal(entry?.tls, false)
    assert.equal(entry?.listener, 'tcp')
    assert.match(entry?.reason ?? '', /bad user name or password|not authorized/)
    assert.deepEqual(events, list)
    assert.equal(await stack.unauthorized.clear(), 1)
    assert.deepEqual((await stack.unauthorized.list()), [])
  })
  test('TLS at the broker is recorded as such', async (t) => {
    const stack = await startStack({ listener: 'ssl', plugin: { proxyEnabled: true }, authenticate: () => false })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v1' })
    t.after(() => front.close())
    await refusedWith(connectClient({ listener: 'ssl', port: front.port, clientId: 'tls-intruder' }))
    const entry = (await stack.unauthorized.list())[0]
    assert.equal(entry?.tls, 'broker')
    assert.equal(entry?.passwordProvided, false)
    assert.equal(entry?.ipAddress, '127.0.0.2')
  })
})

describe('IP policies on the real address', () => {
  test('deny: the client behind the proxy gets CONNACK "not authorized" and an unauthorized entry; others connect', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, ipPolicy: { deny: ['127.0.0.2'] } })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v1' })
    t.after(() => front.close())
    assert.equal(await refusedWith(connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.2', clientId: 'denied' })), 5)
    const ok = await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.3', clientId: 'allowed' })
    await endClient(ok)
    const entry = (await stack.unauthorized.list())[0]
    assert.equal(entry?.clientId, 'denied')
    assert.equal(entry?.reason, 'ip-denied')
    assert.equal(entry?.ipAddress, '127.0.0.2')
    // the broker's own authenticate never ran for the denied client
    assert.equal(stack.seen.some(s => s.hook === 'authenticate' && s.clientId === 'denied'), false)
  })
  test('assigning broker.authenticate after use() keeps the policy and the record around the new function', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, ipPolicy: { deny: ['127.0.0.2'] } })
    t.after(() => stack.close())
    const calls: string[] = []
    stack.broker.authenticate = (client, _u, password, done) => {
      calls.push(client.id)
      done(null, password?.toString() === 'ok')
    }
    const front = await startFront({ target: stack.port, header: 'v1' })
    t.after(() => front.close())
    assert.equal(await refusedWith(connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.2', clientId: 'denied' })), 5)
    assert.equal(await refusedWith(connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.3', clientId: 'wrong', username: 'u', password: 'no' })), 5)
    await endClient(await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.3', clientId: 'right', username: 'u', password: 'ok' }))
    assert.deepEqual(calls, ['wrong', 'right'], 'the new function runs, but not for the denied address')
    assert.deepEqual((await stack.unauthorized.list()).map(e => [e.clientId, e.reason]), [['wrong', 'bad user name or password'], ['denied', 'ip-denied']])
  })
  test('allow: only listed client addresses connect (the proxy address does not count)', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, ipPolicy: { allow: ['127.0.0.3/32'] } })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v2' })
    t.after(() => front.close())
    assert.equal(await refusedWith(connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.2' })), 5)
    const ok = await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.3' })
    await endClient(ok)
    assert.equal((await stack.unauthorized.list())[0]?.reason, 'ip-not-allowed')
  })
  test('rate limit per real address: the burst connects, the next is refused, another address is not affected', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, ipPolicy: { rateLimit: { perSecond: 0.1, burst: 2 } } })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v2' })
    t.after(() => front.close())
    for (let i = 0; i < 2; i++) await endClient(await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.2' }))
    assert.equal(await refusedWith(connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.2', clientId: 'too-fast' })), 5)
    await endClient(await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.3' }))
    assert.equal((await stack.unauthorized.list())[0]?.reason, 'rate-limited')
    assert.equal((await stack.unauthorized.list())[0]?.clientId, 'too-fast')
  })
})

describe('rate limit per network through PROXY v1 and v2 (issue 22)', () => {
  // 100 clients of one /64, each with its own address, each behind a PROXY
  // header (v1 and v2 in turn) on a loopback socket: one budget, as one
  // address would get.
  const sources = Array.from({ length: 100 }, (_, i) => `2001:db8:1:2:${((i * 7919) & 0xffff).toString(16)}::${(i + 1).toString(16)}`)
  test('100 CONNECTs from 100 addresses of one /64 get one address\'s budget; the entries name each real address', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, ipPolicy: { rateLimit: { perSecond: 0.001, burst: 1 } } })
    t.after(() => stack.close())
    const codes: Array<number | undefined> = []
    for (const [i, source] of sources.entries()) codes.push(await proxiedConnack(stack.port, source, i % 2 === 0 ? 1 : 2))
    assert.deepEqual(codes, [0, ...Array<number>(99).fill(5)])
    assert.equal(await proxiedConnack(stack.port, '2001:db8:1:3::1', 2), 0, 'another /64 has its own budget')
    assert.equal(await proxiedConnack(stack.port, '127.0.0.5', 1), 0, 'IPv4: per address')
    assert.equal(await proxiedConnack(stack.port, '127.0.0.6', 2), 0)
    const entries = await stack.unauthorized.list()
    assert.equal(entries.length, 99)
    assert.deepEqual(new Set(entries.map(e => e.reason)), new Set(['rate-limited']))
    assert.deepEqual(entries.map(e => e.ipAddress).sort(), sources.slice(1).sort(), 'each entry has the client\'s own address')
  })
})

describe('sessions and $SYS', () => {
  test('sessions() lists connected clients with their real address; $SYS carries the counters and the list', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] }) // the $SYS round comes when the test moves the clock, not a second later
    const stack = await startStack({ listener: 'ws', plugin: { proxyEnabled: true }, sessions: { sysInterval: 1000, sysClients: client => client.id === 'watcher' } })
    t.after(() => stack.close())
    const ports: number[] = []
    const front = await startFront({ target: stack.port, header: (c: net.Socket) => { ports.push(c.remotePort as number); return v1HeaderFor(c) } })
    t.after(() => front.close())
    const a = await connectClient({ listener: 'ws', port: front.port, localAddress: '127.0.0.2', clientId: 'watcher' })
    t.after(() => endClient(a))
    const sessions = (await stack.sessions.list())
    assert.equal(sessions.length, 1)
    assert.equal(sessions[0]?.clientId, 'watcher')
    assert.equal(sessions[0]?.ipAddress, '127.0.0.2')
    assert.equal(sessions[0]?.port, ports[0])
    assert.equal(sessions[0]?.listener, 'ws')
    assert.equal(sessions[0]?.isProxy, 1)
    assert.equal(sessions[0]?.proxied, true)
    assert.equal(sessions[0]?.websocket, true)
    assert.equal(sessions[0]?.peer?.address, '127.0.0.9')
    assert.equal(typeof sessions[0]?.connectedAt, 'number')

    const got = new Map<string, string>()
    a.on('message', (topic, payload) => got.set(topic.split('/').slice(2).join('/'), payload.toString()))
    await a.subscribeAsync('$SYS/+/proxy-protocol/#')
    t.mock.timers.tick(1000)
    const deadline = Date.now() + 5000
    while (!(got.has('proxy-protocol/clients') && got.has('proxy-protocol/ws/proxied')) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(got.get('proxy-protocol/ws/proxied'), '1')
    assert.equal(got.get('proxy-protocol/tcp/rejected'), '0')
    const listed = JSON.parse(got.get('proxy-protocol/clients') ?? '[]') as Array<{ clientId: string, ipAddress: string }>
    assert.deepEqual(listed.map(s => [s.clientId, s.ipAddress]), [['watcher', '127.0.0.2']])

    await endClient(a)
    await until(async () => (await stack.sessions.list()).length === 0, 5000, 'the session is dropped')
    assert.deepEqual((await stack.sessions.list()), [])
  })
})

describe('WebSocket forwarded headers (PROXY off on the listener)', () => {
  async function wsClient (port: number, localAddress: string, headers: Record<string, string>): Promise<mqtt.MqttClient> {
    const client = mqtt.connect(`ws://127.0.0.1:${port}/`, { reconnectPeriod: 0, wsOptions: { localAddress, headers } })
    await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
    return client
  }
  /** What authenticate saw of a WebSocket client sending `headers` through a front (from 127.0.0.9) that adds none. */
  async function throughFront (t: TestContext, plugin: ProxyProtocolOptions, headers: Record<string, string>): Promise<ConnDetails | null | undefined> {
    const stack = await startStack({ listener: 'ws', plugin })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'none' })
    t.after(() => front.close())
    const c = await wsClient(front.port, '127.0.0.2', headers)
    c.end(true)
    return stack.seen.find(s => s.hook === 'authenticate')?.details
  }
  test('from a trusted proxy: the rightmost X-Forwarded-For entry that is not a trusted proxy, port 0', async (t) => {
    const d = await throughFront(t, { trustedProxies: ['127.0.0.9', '10.0.0.0/8'], listeners: { ws: { forwardedHeaders: true } } },
      { 'X-Forwarded-For': '203.0.113.5, 198.51.100.7, 10.0.0.1', 'X-Real-IP': '198.51.100.9' })
    assert.equal(d?.ipAddress, '198.51.100.7')
    assert.equal(d?.port, 0)
    assert.equal(d?.forwarded, 'x-forwarded-for')
    assert.equal(d?.peer.address, '127.0.0.9')
  })
  test('X-Real-IP only where it is the configured header, and then X-Forwarded-For is not read', async (t) => {
    const d = await throughFront(t, { trustedProxies: ['127.0.0.9'], listeners: { ws: { forwardedHeaders: 'x-real-ip' } } },
      { 'X-Forwarded-For': '203.0.113.5', 'X-Real-IP': '2001:db8::5' })
    assert.equal(d?.ipAddress, '2001:db8::5')
    assert.equal(d?.ipFamily, 6)
    assert.equal(d?.forwarded, 'x-real-ip')
  })
  test('an X-Forwarded-For entry that is not an address where the walk reaches it: the peer stands, and X-Real-IP is not read', async (t) => {
    const d = await throughFront(t, { trustedProxies: ['127.0.0.9'], listeners: { ws: { forwardedHeaders: true } } },
      { 'X-Forwarded-For': 'unknown', 'X-Real-IP': '2001:db8::5' })
    assert.equal(d?.ipAddress, '127.0.0.9')
    assert.equal(d?.forwarded, undefined)
  })
  // One client, one address: however the proxy writes it, the address is
  // canonical, so it gets one rate-limit bucket and one name in the logs.
  const spellings: Array<{ sent: Record<string, string>, address: string, header: 'x-forwarded-for' | 'x-real-ip' }> = [
    { sent: { 'X-Forwarded-For': '2001:DB8:0:0:0:0:0:1' }, address: '2001:db8::1', header: 'x-forwarded-for' },
    { sent: { 'X-Forwarded-For': '::FFFF:10.1.2.3' }, address: '::ffff:10.1.2.3', header: 'x-forwarded-for' },
    { sent: { 'X-Forwarded-For': '10.0.0.1, 2001:db8:0:0:1:0:0:1' }, address: '2001:db8::1:0:0:1', header: 'x-forwarded-for' },
    { sent: { 'X-Forwarded-For': 'fe80::1%eth0', 'X-Real-IP': '203.0.113.9' }, address: '203.0.113.9', header: 'x-real-ip' },
    { sent: { 'X-Forwarded-For': '010.1.2.3', 'X-Real-IP': '2001:0DB8::0005' }, address: '2001:db8::5', header: 'x-real-ip' }
  ]
  for (const row of spellings) {
    test(`forwarded ${JSON.stringify(row.sent)} is the canonical ${row.address}`, async (t) => {
      const d = await throughFront(t, { trustedProxies: ['127.0.0.9'], listeners: { ws: { forwardedHeaders: row.header } } }, row.sent)
      assert.equal(d?.ipAddress, row.address)
      assert.equal(d?.forwarded, row.header)
    })
  }
  test('from an untrusted peer the headers are ignored', async (t) => {
    const stack = await startStack({ listener: 'ws', plugin: { trustedProxies: ['127.0.0.9'], listeners: { ws: { forwardedHeaders: true } } } })
    t.after(() => stack.close())
    const c = await wsClient(stack.port, '127.0.0.3', { 'X-Forwarded-For': '203.0.113.5' })
    c.end(true)
    const d = stack.seen.find(s => s.hook === 'authenticate')?.details
    assert.equal(d?.ipAddress, '127.0.0.3')
    assert.equal(d?.forwarded, undefined)
  })
  test('ignored where PROXY is on for the listener: the header wins', async (t) => {
    const stack = await startStack({ listener: 'ws', plugin: { trustedProxies: ['127.0.0.9'], listeners: { ws: { proxyEnabled: true, forwardedHeaders: true } } } })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v2' })
    t.after(() => front.close())
    const c = await wsClient(front.port, '127.0.0.2', { 'X-Forwarded-For': '203.0.113.5' })
    c.end(true)
    const d = stack.seen.find(s => s.hook === 'authenticate')?.details
    assert.equal(d?.ipAddress, '127.0.0.2')
    assert.equal(d?.forwarded, undefined)
  })
  test('needs trustedProxies, and exists only on ws and wss', () => {
    assert.throws(() => proxyProtocol({ listeners: { ws: { forwardedHeaders: true } } }), (err: unknown) => err instanceof OptionsError && err.issues[0]?.path === 'listeners.ws.forwardedHeaders')
    assert.throws(() => proxyProtocol({ trustedProxies: ['127.0.0.9'], listeners: { tcp: { forwardedHeaders: true } as never } }), OptionsError)
  })
})
