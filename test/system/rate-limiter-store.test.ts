// One rate budget per client address for two real aedes brokers, through
// rate-limiter-flexible's RateLimiterRedis on a real redis-server, and what
// a client gets when that Redis is gone: the documented fail-closed
// default, or fail open.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible'
import { ipPolicy } from '../../src/operator/ip-policy.js'
import { rateLimiterStore, type RateLimiterStoreOptions } from '../../src/operator/rate-limiter-store.js'
import { unauthorizedClients, type UnauthorizedClients } from '../../src/operator/unauthorized.js'
import { connectClient } from '../helpers/client.js'
import { outcome, startPlainBroker, type PlainBroker } from '../helpers/plain-broker.js'
import { testRedis, type TestRedis } from '../helpers/redis-clients.js'
import { proxiedConnack } from '../helpers/raw.js'
import { startStack } from '../helpers/stack.js'

const RATE = { perSecond: 0.1, burst: 3 }

async function limitedBroker (redis: TestRedis, id: string, options: RateLimiterStoreOptions = {}): Promise<{ plain: PlainBroker, list: UnauthorizedClients }> {
  let list: UnauthorizedClients | undefined
  const storeClient = redis.client()
  const plain = await startPlainBroker({ id }, broker => {
    broker.use(ipPolicy({
      rateLimit: RATE,
      store: rateLimiterStore(limit => new RateLimiterRedis({ storeClient, keyPrefix: 'mqtt-ip', points: limit.burst, duration: Math.ceil(limit.burst / limit.perSecond) }), { timeout: 300, ...options })
    }))
    list = broker.use(unauthorizedClients())
  })
  assert.ok(list !== undefined)
  return { plain, list }
}

const attempt = async (port: number, localAddress: string): Promise<number | string> =>
  await outcome(connectClient({ listener: 'tcp', port, localAddress }))

describe('two real brokers sharing one rate limiter', () => {
  test('one budget per client address across both: the attempt past the burst is refused wherever it lands', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const a = await limitedBroker(redis, 'node-a')
    const b = await limitedBroker(redis, 'node-b')
    t.after(async () => { await a.plain.close(); await b.plain.close() })
    const ports = [a.plain.port, b.plain.port, a.plain.port, b.plain.port]
    const results = []
    for (const port of ports) results.push(await attempt(port, '127.0.0.8'))
    assert.deepEqual(results, ['connected', 'connected', 'connected', 5])
    assert.equal(await attempt(a.plain.port, '127.0.0.9'), 'connected', 'another address has its own budget')
    assert.deepEqual((await b.list.list()).map(e => [e.ipAddress, e.refusedBy, e.reason]), [['127.0.0.8', 'rate-limit', 'rate-limited']])
  })
  test('Redis stopped, by default (whenUnavailable: refuse): refused with CONNACK 5 within the timeout, recorded as the policy being unavailable', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const a = await limitedBroker(redis, 'node-a')
    t.after(() => a.plain.close())
    assert.equal(await attempt(a.plain.port, '127.0.0.8'), 'connected')
    await redis.server.stop()
    assert.equal(await attempt(a.plain.port, '127.0.0.8'), 5)
    const [entry] = await a.list.list()
    assert.equal(entry?.refusedBy, 'rate-limit')
    assert.match(entry?.reason ?? '', /^policy unavailable: redis did not answer the rate limit within 300 ms$/)
  })
  test('Redis stopped, whenUnavailable: allow: let through, and logged', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const lines: Array<Record<string, unknown>> = []
    const log = (obj: object): void => { lines.push(obj as Record<string, unknown>) }
    const a = await limitedBroker(redis, 'node-a', { whenUnavailable: 'allow', logger: { debug: log, info: log, warn: log, error: log } })
    t.after(() => a.plain.close())
    await redis.server.stop()
    for (let i = 0; i < RATE.burst + 1; i++) assert.equal(await attempt(a.plain.port, '127.0.0.8'), 'connected')
    // The first in full; the others within the minute are counted on its summary, not logged one by one.
    assert.equal(lines.length, 1)
    assert.deepEqual([lines[0]?.event, lines[0]?.operation], ['store-failed', 'rate limit: let through unlimited'])
  })
})

describe('the shared limit groups clients by network as the memory store does (issue 22)', () => {
  test('100 CONNECTs from one /64 over two brokers behind PROXY v1 and v2: one budget, one Redis key for the /64', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const storeClient = redis.client()
    const store = rateLimiterStore(limit => new RateLimiterRedis({ storeClient, keyPrefix: 'mqtt-ip', points: limit.burst, duration: Math.ceil(limit.burst / limit.perSecond) }))
    const ipPolicy = { rateLimit: { perSecond: 0.001, burst: 1 }, store }
    const a = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, ipPolicy })
    const b = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, ipPolicy })
    t.after(async () => { await a.close(); await b.close() })
    const codes: Array<number | undefined> = []
    for (let i = 0; i < 100; i++) {
      codes.push(await proxiedConnack((i % 2 === 0 ? a : b).port, `2001:db8:1:2:${i.toString(16)}::1`, i % 4 < 2 ? 1 : 2))
    }
    assert.deepEqual(codes, [0, ...Array<number>(99).fill(5)])
    assert.equal(await proxiedConnack(b.port, '127.0.0.5', 1), 0)
    assert.equal(await proxiedConnack(a.port, '::ffff:127.0.0.5', 2), 5, 'IPv4-mapped: the IPv4 address\'s budget')
    assert.deepEqual((await storeClient.keys('mqtt-ip:*')).sort(), ['mqtt-ip:127.0.0.5', 'mqtt-ip:2001:db8:1:2::/64'])
  })
})

describe('the adapter', () => {
  test('a spent budget (a RateLimiterRes) is false, a failure (an Error) throws or, failing open, is true', async () => {
    const store = rateLimiterStore(new RateLimiterMemory({ points: 1, duration: 60 }))
    assert.equal(await store.consume('k', RATE), true)
    assert.equal(await store.consume('k', RATE), false)
    const broken = { consume: async () => { await Promise.resolve(); throw new Error('redis gone') } }
    await assert.rejects(rateLimiterStore(broken).consume('k', RATE), /redis gone/)
    assert.equal(await rateLimiterStore(broken, { whenUnavailable: 'allow' }).consume('k', RATE), true)
  })
  test('one limiter per rate, made from the IP policy\'s rateLimit', async () => {
    const made: string[] = []
    const store = rateLimiterStore(limit => { made.push(`${limit.perSecond}/${limit.burst}`); return new RateLimiterMemory({ points: limit.burst, duration: 60 }) })
    await store.consume('a', RATE)
    await store.consume('b', RATE)
    await store.consume('a', { perSecond: 1, burst: 1 })
    assert.deepEqual(made, ['0.1/3', '1/1'])
  })
  test('options in plain words', () => {
    assert.throws(() => rateLimiterStore({} as never), /limiter: must be a limiter with a consume\(key\) method/)
    assert.throws(() => rateLimiterStore(new RateLimiterMemory({ points: 1, duration: 1 }), { whenUnavailable: 'open' } as never), /whenUnavailable/)
    assert.throws(() => rateLimiterStore(new RateLimiterMemory({ points: 1, duration: 1 }), { timout: 5 } as never), /did you mean `timeout`/)
  })
})
