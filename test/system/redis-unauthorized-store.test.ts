// The shared unauthorized-clients list on a real redis-server: the memory
// store's rules (one entry per client id, bounded in size and age), one
// list for two real aedes brokers, and a Redis that goes away.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { RedisUnauthorizedStore, redisUnauthorizedStore } from '../../src/operator/redis-unauthorized-store.js'
import { MAX_FIELD_LENGTH } from '../../src/operator/unauthorized-store.js'
import { unauthorizedClients, type UnauthorizedClients } from '../../src/operator/unauthorized.js'
import { connectClient } from '../helpers/client.js'
import { outcome, startPlainBroker } from '../helpers/plain-broker.js'
import { testRedis } from '../helpers/redis-clients.js'

const attempt = (clientId: string, reason = 'bad user name or password') => ({
  clientId, ipAddress: '203.0.113.7', port: 5000, listener: 'tcp' as const, refusedBy: 'authentication' as const, username: 'u', passwordProvided: true, tls: false as const, reason, node: 'n1'
})

describe('the store on a real Redis', () => {
  test('one entry per client id, counting attempts, newest first, with the node', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    let now = 1000
    const store = new RedisUnauthorizedStore({ client: redis.client() }, () => now)
    await store.record(attempt('a'))
    now = 1010
    await store.record(attempt('b'))
    now = 1020
    const again = await store.record({ ...attempt('a', 'ip-denied'), node: 'n2' })
    assert.equal(again.attempts, 2)
    assert.deepEqual((await store.list()).map(e => [e.clientId, e.time, e.attempts, e.reason, e.node]), [['a', 1020, 2, 'ip-denied', 'n2'], ['b', 1010, 1, 'bad user name or password', 'n1']])
    assert.deepEqual((await store.list())[0], again)
  })
  test('bounded in size (the oldest goes first) and in age (attempts start again)', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    let now = 1000
    const client = redis.client()
    const sized = new RedisUnauthorizedStore({ client, prefix: 'sized', maxEntries: 2 }, () => now)
    for (const id of ['a', 'b', 'c']) { now++; await sized.record(attempt(id)) }
    assert.deepEqual((await sized.list()).map(e => e.clientId), ['c', 'b'])
    const aged = new RedisUnauthorizedStore({ client, prefix: 'aged', maxAge: 1000 }, () => now)
    now = 0
    await aged.record(attempt('a'))
    now = 500
    await aged.record(attempt('b'))
    now = 1200
    assert.deepEqual((await aged.list()).map(e => e.clientId), ['b'])
    assert.equal((await aged.record(attempt('a'))).attempts, 1, 'an expired entry counts from 1 again')
    now = 3000
    assert.deepEqual(await aged.list(), [])
  })
  test('fields are bounded; clear one (either form of a long id) or all', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const store = redisUnauthorizedStore({ client: redis.client() })
    const long = 'x'.repeat(70_000)
    const entry = await store.record({ ...attempt(long, 'r'.repeat(70_000)), username: 'u'.repeat(70_000) })
    assert.equal(entry.clientId.length, MAX_FIELD_LENGTH + 1)
    assert.equal((await store.list())[0]?.username?.length, MAX_FIELD_LENGTH + 1)
    await store.record(attempt('b'))
    assert.equal(await store.clear(long), 1)
    assert.equal(await store.clear('nobody'), 0)
    await store.record(attempt('c'))
    assert.equal(await store.clear(), 2)
    assert.deepEqual(await store.list(), [])
  })
  test('options in plain words', () => {
    assert.throws(() => redisUnauthorizedStore({} as never), /client: must be a Redis client with an eval method/)
    assert.throws(() => redisUnauthorizedStore({ client: { eval: async () => await Promise.resolve(0) }, maxEntrys: 3 } as never), /did you mean `maxEntries`/)
  })
})

describe('two real brokers sharing one store', () => {
  test('failed logins on either broker make one list, each entry naming the broker that saw it', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const lists: UnauthorizedClients[] = []
    const brokers = await Promise.all(['node-a', 'node-b'].map(async id => await startPlainBroker({
      id,
      authenticate: (_c, _u, password, done) => { done(null, password?.toString() === 'right') }
    }, broker => { lists.push(broker.use(unauthorizedClients({ store: redisUnauthorizedStore({ client: redis.client() }) }))) })))
    t.after(async () => { for (const b of brokers) await b.close() })
    const [a, b] = brokers as [typeof brokers[0], typeof brokers[0]]
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: a.port, localAddress: '127.0.0.4', clientId: 'intruder-1', username: 'u', password: 'wrong' })), 5)
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: b.port, localAddress: '127.0.0.5', clientId: 'intruder-2', username: 'u', password: 'wrong' })), 5)
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: b.port, localAddress: '127.0.0.4', clientId: 'intruder-1', username: 'u', password: 'wrong' })), 5)
    for (const list of lists) {
      assert.deepEqual((await list.list()).map(e => [e.clientId, e.ipAddress, e.node, e.attempts]), [['intruder-1', '127.0.0.4', 'node-b', 2], ['intruder-2', '127.0.0.5', 'node-b', 1]])
    }
    assert.equal(await lists[0]?.clear('intruder-2'), 1)
    assert.deepEqual((await lists[1]?.list())?.map(e => e.clientId), ['intruder-1'])
  })
  test('Redis stopped: a failed login still gets its refusal at once, the loss is logged, the broker keeps serving', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const lines: Array<Record<string, unknown>> = []
    const log = (obj: object): void => { lines.push(obj as Record<string, unknown>) }
    const logger = { debug: log, info: log, warn: log, error: log }
    let list: UnauthorizedClients | undefined
    const plain = await startPlainBroker({
      authenticate: (_c, _u, password, done) => { done(null, password?.toString() === 'right') }
    }, broker => { list = broker.use(unauthorizedClients({ logger, store: redisUnauthorizedStore({ client: redis.client(), timeout: 300 }) })) })
    t.after(() => plain.close())
    await redis.server.stop()
    // ioredis queues the script while it reconnects: the store's timeout answers for it.
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, clientId: 'while-down', username: 'u', password: 'wrong' })), 5)
    assert.deepEqual(lines.map(l => [l.event, l.operation ?? l.clientId]), [['store-failed', 'unauthorized clients: recording a failed login'], ['refused', 'while-down']])
    assert.match(String(lines[0]?.reason), /redis did not answer recording a failed login within 300 ms/)
    await assert.rejects(async () => await list?.list(), /redis did not answer listing/)
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, clientId: 'fine', username: 'u', password: 'right' })), 'connected')
  })
})
