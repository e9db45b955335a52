// The shared session list on a real redis-server with real aedes brokers:
// every node's clients with their node, a client that leaves or a node
// that dies drops out, the list comes back after Redis loses it, and a
// Redis that goes away is logged, never thrown.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { redisSessionStore, type RedisSessionStore } from '../../src/operator/redis-session-store.js'
import { sessions, type Session, type Sessions } from '../../src/operator/sessions.js'
import { connectClient, endClient } from '../helpers/client.js'
import { startPlainBroker, type PlainBroker } from '../helpers/plain-broker.js'
import { requireProgram } from '../helpers/programs.js'
import { redisCommand, startRedis } from '../helpers/redis.js'
import { testRedis, type TestRedis } from '../helpers/redis-clients.js'
import { until } from '../helpers/wait.js'

interface Node { readonly plain: PlainBroker, readonly list: Sessions, readonly store: RedisSessionStore, readonly client: ReturnType<TestRedis['client']> }

async function startNode (redis: TestRedis, id: string, options: { ttl?: number, sys?: boolean, lines?: Array<Record<string, unknown>> } = {}): Promise<Node> {
  let list: Sessions | undefined
  let store: RedisSessionStore | undefined
  const client = redis.client()
  const log = (obj: object): void => { options.lines?.push(obj as Record<string, unknown>) }
  const logger = { debug: log, info: log, warn: log, error: log }
  const plain = await startPlainBroker({ id }, broker => {
    store = redisSessionStore({ client, node: broker.id, logger, timeout: 300, ...(options.ttl !== undefined ? { ttl: options.ttl } : {}) })
    list = broker.use(sessions({ store, logger, ...(options.sys === true ? { sysInterval: 1000, sysClients: client => client.id.startsWith('admin') } : {}) }))
  })
  assert.ok(list !== undefined && store !== undefined)
  return { plain, list, store, client }
}

/** The session of client number `i`, connected at `i`. */
const session = (i: number): Session => ({ clientId: `c${i}`, ipAddress: '127.0.0.6', port: i % 65536, ipFamily: 4, listener: 'tcp', isProxy: 0, proxied: false, peer: undefined, serverIpAddress: '127.0.0.1', serverPort: 1883, tls: false, websocket: false, connectedAt: i })

/**
 * Adds the sessions of clients 0 to n - 1 to `store`, 1,000 at once. An add that Redis answers after the store's
 * `timeout` (on a loaded machine) fails with that, and only that: the store keeps it, its next heartbeat rewrites.
 */
async function addAll (store: RedisSessionStore, n: number, timeout: number): Promise<void> {
  for (let at = 0; at < n; at += 1000) {
    const adds = await Promise.allSettled(Array.from({ length: Math.min(1000, n - at) }, async (_, i) => {
      await store.add(String(at + i), session(at + i))
    }))
    for (const add of adds) {
      if (add.status === 'rejected') {
        assert.equal(String(add.reason), `Error: redis did not answer adding a client within ${timeout} ms`)
      }
    }
  }
}

/** What an ioredis client holds: sent and unanswered, or waiting for the connection. */
const queuedIn = (client: ReturnType<TestRedis['client']>): number =>
  client.commandQueue.length + (client as unknown as { offlineQueue: { length: number } }).offlineQueue.length

/**
 * Closes `store` (whose commands go through `client`) and checks that it leaves no key in Redis, whatever it had
 * sent before: on a loaded machine a heartbeat may find the hash expired or a script answered late, and rewrite.
 * Sent after that, the close may be answered after the store's `timeout` too: Redis runs it all the same.
 */
async function closeLeavingNothing (store: RedisSessionStore, client: ReturnType<TestRedis['client']>, port: number,
  timeout: number): Promise<void> {
  const [closed] = await Promise.allSettled([store.close()])
  if (closed.status === 'rejected') {
    assert.equal(String(closed.reason), `Error: redis did not answer closing within ${timeout} ms`)
  }
  await until(() => queuedIn(client) === 0, 20_000, 'the close answered')
  assert.deepEqual(await redisCommand(port, ['KEYS', '*']), [])
}

const view = async (node: Node): Promise<string[][]> => (await node.list.list()).map(s => [s.clientId, s.ipAddress, s.node ?? '?'])

/**
 * A node's list as `list()` gives it, oldest first, read from Redis without the store's timeout (for many sessions:
 * a loaded machine takes longer than the store gives Redis).
 */
async function listedIn (client: ReturnType<TestRedis['client']>, node: string): Promise<Session[]> {
  const values = await client.hvals(`{aedes-proxy-protocol:sessions}:node:${node}`)
  return values.map(v => JSON.parse(v) as Session).sort((a, b) => a.connectedAt - b.connectedAt)
}

describe('two real brokers sharing one session list', () => {
  test('each lists every node\'s clients with their node, oldest first; a client that leaves goes at once', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const a = await startNode(redis, 'node-a')
    const b = await startNode(redis, 'node-b')
    t.after(async () => { await a.plain.close(); await b.plain.close() })
    const c1 = await connectClient({ listener: 'tcp', port: a.plain.port, localAddress: '127.0.0.6', clientId: 'c1' })
    const c2 = await connectClient({ listener: 'tcp', port: b.plain.port, localAddress: '127.0.0.7', clientId: 'c2' })
    t.after(async () => { await endClient(c1); await endClient(c2) })
    const both = [['c1', '127.0.0.6', 'node-a'], ['c2', '127.0.0.7', 'node-b']]
    await until(async () => (await view(a)).length === 2, 5000, 'both clients listed')
    assert.deepEqual(await view(a), both)
    assert.deepEqual(await view(b), both)
    await endClient(c1)
    await until(async () => (await view(b)).length === 1, 5000, 'c1 dropped')
    assert.deepEqual(await view(b), [both[1]])
  })
  test('a node that loses Redis (or dies) drops out within its ttl; one that closes at once', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const lines: Array<Record<string, unknown>> = []
    const a = await startNode(redis, 'node-a', { ttl: 1000 })
    const b = await startNode(redis, 'node-b', { ttl: 1000, lines })
    t.after(async () => { await a.plain.close(); await b.plain.close() })
    const c1 = await connectClient({ listener: 'tcp', port: a.plain.port, clientId: 'c1' })
    const c2 = await connectClient({ listener: 'tcp', port: b.plain.port, clientId: 'c2' })
    t.after(async () => { await endClient(c1); await endClient(c2) })
    await until(async () => (await view(a)).length === 2, 5000, 'both clients listed')
    // node-b's connection to Redis ends: its heartbeat fails, its entries expire.
    b.client.disconnect()
    await until(async () => (await view(a)).length === 1, 5000, 'node-b\'s client dropped')
    assert.deepEqual((await view(a)).map(s => s[2]), ['node-a'])
    await until(() => lines.some(l => l.operation === 'sessions: the heartbeat'), 5000, 'the failed heartbeat logged')
    await a.store.close()
    assert.deepEqual(await redisCommand(redis.server.port, ['KEYS', '*node-a*']), [])
  })
  test('after Redis loses the list (a restart, FLUSHALL) the next heartbeat puts it back', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const a = await startNode(redis, 'node-a', { ttl: 1000 })
    t.after(() => a.plain.close())
    const c1 = await connectClient({ listener: 'tcp', port: a.plain.port, clientId: 'c1' })
    t.after(() => endClient(c1))
    await until(async () => (await view(a)).length === 1, 5000, 'listed')
    await redisCommand(redis.server.port, ['FLUSHALL'])
    assert.deepEqual(await view(a), [])
    await until(async () => (await view(a)).length === 1, 5000, 'listed again after the heartbeat')
  })
  test('100,000 clients on one node: the rewrite after Redis loses the list puts back every one (batched, never a call with 200,000 arguments, each batch timed on its own)', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const lines: Array<Record<string, unknown>> = []
    const log = (obj: object): void => { lines.push(obj as Record<string, unknown>) }
    // A client that can lose a write (as one sent while Redis is away is lost), on a slow link: each script of
    // a rewrite answered 15 ms after the one before, 1.5 s for the 100 of them, beyond the store's 1000 ms timeout.
    const real = redis.client()
    let away = false
    let answered = Promise.resolve()
    let slow = 0 // scripts of a rewrite not yet answered
    const client = {
      eval: async (...args: Parameters<typeof real.eval>) => {
        if (away) throw new Error('Redis away')
        const reply = real.eval(...args)
        if (!String(args[0]).includes('RENAME')) return await reply
        slow++
        answered = answered.then(async () => { await reply.catch(() => {}); await new Promise(resolve => setTimeout(resolve, 15)) })
        await answered
        slow--
        return await reply
      }
    }
    // The ttl outlasts the rewrite and the next heartbeat: Redis renames the hash 1.5 s before the store hears.
    const store = redisSessionStore({ client, node: 'node-big', ttl: 5000, logger: { debug: log, info: log, warn: log, error: log } })
    const n = 100_000
    const key = '{aedes-proxy-protocol:sessions}:node:node-big'
    await addAll(store, n, 1000)
    const hlen = async (): Promise<number> => Number(await redisCommand(redis.server.port, ['HLEN', key]))
    await until(async () => lines.length > 0 || (slow === 0 && await hlen() === n), 20_000,
      'the list whole in Redis or a failure logged')
    assert.deepEqual(lines.map(l => l.reason), [])
    // One write is lost; then Redis loses the list (a restart) and a new client's write finds the hash gone.
    // Each time the heartbeat rewrites all of it, or logs why not.
    let total = n
    for (const loss of ['lost write', 'restart']) {
      if (loss === 'restart') await redisCommand(redis.server.port, ['FLUSHALL'])
      away = loss === 'lost write'
      await store.add(String(total), session(total++)).catch(() => {})
      away = false
      await until(async () => lines.length > 0 || (slow === 0 && await hlen() === total), 20_000,
        `the list rewritten after a ${loss} or a failure logged`)
      assert.deepEqual(lines.map(l => l.reason), [], loss)
    }
    // Read from Redis: the store's list() would give 100,001 sessions 1000 ms.
    const listed = await listedIn(real, 'node-big')
    assert.equal(listed.length, total)
    assert.deepEqual([listed[0]?.clientId, listed[total - 1]?.clientId], ['c0', `c${total - 1}`])
    // No key left behind.
    await closeLeavingNothing(store, real, redis.server.port, 1000)
  })
  test('a rewrite times Redis, not the client\'s work on its scripts: slow on a loaded machine, it is no failure and ' +
    'no second rewrite', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const lines: Array<Record<string, unknown>> = []
    const log = (obj: object): void => { lines.push(obj as Record<string, unknown>) }
    // The client's work on a rewrite's script made as slow as a loaded machine's (100 scripts of 1,000 sessions
    // took one a second): 400 ms of CPU in eval before the command is sent, 1.2 s for the 3 scripts of 2,001
    // sessions, beyond the store's 1000 ms timeout; each answered 15 ms after Redis answers (a slow link).
    const real = redis.client()
    let rewrites = 0 // scripts of a rewrite sent
    let touches = 0 // heartbeats without a rewrite since the last rewrite
    const client = {
      eval: async (...args: Parameters<typeof real.eval>) => {
        const script = String(args[0])
        if (!script.includes('RENAME')) {
          if (script.includes('return redis.call(\'PEXPIRE\'')) touches++
          return await real.eval(...args)
        }
        rewrites++
        touches = 0
        const end = performance.now() + 400
        while (performance.now() < end) { /* what a loaded machine spends turning 1,000 sessions into a command */ }
        const reply = await real.eval(...args)
        await new Promise(resolve => setTimeout(resolve, 15))
        return reply
      }
    }
    const logger = { debug: log, info: log, warn: log, error: log }
    const store = redisSessionStore({ client, node: 'node-s', ttl: 1000, logger })
    t.after(async () => { await store.close().catch(() => {}) })
    const n = 2001
    await addAll(store, n, 1000)
    // The first adds find the hash gone with others in the store (and some may be late): a rewrite. Once a
    // heartbeat has nothing to rewrite, Redis loses the list, and the next heartbeat finds the hash gone and
    // rewrites it, in 3 scripts.
    await until(() => touches > 0, 20_000, 'a heartbeat without a rewrite')
    const before = rewrites
    await redisCommand(redis.server.port, ['FLUSHALL'])
    await until(() => lines.length > 0 || rewrites > before + 3 || (rewrites === before + 3 && touches >= 2), 20_000,
      'two heartbeats after the rewrite')
    assert.deepEqual(lines.map(l => l.reason), [])
    assert.equal(rewrites - before, 3, 'one rewrite')
    assert.equal(await redisCommand(redis.server.port, ['HLEN', '{aedes-proxy-protocol:sessions}:node:node-s']), n)
  })
  test('Redis hung, then gone, across heartbeats: the store queues one heartbeat\'s commands at most, and the list is whole once Redis is back', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const bin = requireProgram(t, 'redis-server', 'redis-server')
    assert.ok(bin !== undefined)
    const client = redis.client()
    const store = redisSessionStore({ client, node: 'node-q', ttl: 1000, timeout: 300 })
    t.after(async () => { await store.close().catch(() => {}) })
    const key = '{aedes-proxy-protocol:sessions}:node:node-q'
    const hlen = async (): Promise<number> => Number(await redisCommand(redis.server.port, ['HLEN', key]))
    const queued = (): number => queuedIn(client)
    const n = 5000 // the rewrite is 6 scripts
    // Adds answered after 300 ms are the heartbeat's to rewrite (as after the lost writes below): the set-up
    // waits for the list whole in Redis, not for every add in time.
    await addAll(store, n, 300)
    await until(async () => queued() === 0 && await hlen() === n, 20_000, 'the list whole in Redis')
    // The most it holds over six heartbeats (every 333 ms) that cannot reach Redis, after a lost write.
    const across6Beats = async (lost: number): Promise<number> => {
      await store.add(String(lost), session(lost)).catch(() => {})
      let most = 0
      const end = Date.now() + 6 * 334
      await until(() => { most = Math.max(most, queued()); return Date.now() > end }, 5000, 'six heartbeats')
      return most
    }
    // Hung (SIGSTOP): the connection stays up, nothing is answered.
    process.kill(redis.server.pid, 'SIGSTOP')
    let hung = true
    t.after(() => { if (hung) process.kill(redis.server.pid, 'SIGCONT') })
    const whileHung = await across6Beats(n)
    process.kill(redis.server.pid, 'SIGCONT')
    hung = false
    await until(async () => queued() === 0 && await hlen() === n + 1, 20_000,
      'the list whole after Redis answers again')
    // Gone (stopped, then started afresh, empty, on its port).
    await redis.server.stop()
    const whileGone = await across6Beats(n + 1)
    const restarted = await startRedis(bin, { port: redis.server.port })
    t.after(restarted.stop)
    await until(async () => queued() === 0 && await hlen() === n + 2, 20_000, 'the list rewritten once Redis is back')
    // At most the lost write, a heartbeat's script and one rewrite (6 scripts); before, another rewrite every heartbeat.
    assert.ok(whileHung <= 8 && whileGone <= 8, `queued at most ${whileHung} while Redis hung, ${whileGone} while it was gone`)
    // The list as every node reads it (its heartbeat, its hash): the store's list() would give 5,002 sessions 300 ms.
    const nodes = await redisCommand(redis.server.port, ['ZRANGE', '{aedes-proxy-protocol:sessions}:nodes', '0', '-1'])
    assert.deepEqual(nodes, ['node-q'])
    const listed = await listedIn(client, 'node-q')
    assert.deepEqual(listed.map(s => s.clientId), Array.from({ length: n + 2 }, (_, i) => `c${i}`))
    // No key left behind.
    await closeLeavingNothing(store, client, redis.server.port, 300)
  })
  test('a node restarted under the same name after a crash lists its own clients only, not its predecessor\'s', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    // What a broker killed with SIGKILL leaves: its hash and its heartbeat, for ttl.
    const ghost = (node: string): string => JSON.stringify({ clientId: `ghost-of-${node}`, ipAddress: '127.0.0.81', port: 1, ipFamily: 4, listener: 'tcp', isProxy: 0, proxied: false, peer: undefined, serverIpAddress: '', serverPort: 0, tls: false, connectedAt: 1, node })
    for (const node of ['node-a', 'node-c']) {
      await redisCommand(redis.server.port, ['HSET', `{aedes-proxy-protocol:sessions}:node:${node}`, '1', ghost(node)])
      await redisCommand(redis.server.port, ['PEXPIRE', `{aedes-proxy-protocol:sessions}:node:${node}`, '60000'])
      await redisCommand(redis.server.port, ['ZADD', '{aedes-proxy-protocol:sessions}:nodes', String(Date.now()), node])
    }
    const a = await startNode(redis, 'node-a', { ttl: 1000 }) // gets a client
    const c = await startNode(redis, 'node-c', { ttl: 1000 }) // stays empty
    t.after(async () => { await a.plain.close(); await c.plain.close() })
    const c1 = await connectClient({ listener: 'tcp', port: a.plain.port, localAddress: '127.0.0.6', clientId: 'c1' })
    t.after(() => endClient(c1))
    await until(async () => (await view(a)).length === 1, 5000, 'the ghosts gone, c1 listed')
    assert.deepEqual(await view(c), [['c1', '127.0.0.6', 'node-a']])
  })
  test('Redis stopped: connects and disconnects are logged, the broker keeps serving, list() rejects in time', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const lines: Array<Record<string, unknown>> = []
    const a = await startNode(redis, 'node-a', { lines })
    t.after(() => a.plain.close())
    await redis.server.stop()
    const c1 = await connectClient({ listener: 'tcp', port: a.plain.port, clientId: 'c1' })
    await endClient(c1)
    await until(() => lines.filter(l => l.event === 'store-failed').length >= 2, 5000, 'both failures logged')
    assert.deepEqual(lines.map(l => l.operation).sort(), ['sessions: adding a client', 'sessions: removing a client'])
    await assert.rejects(async () => await a.list.list(), /redis did not answer listing the nodes within 300 ms/)
  })
  test('the client list under $SYS: every node\'s list reaches the admins only, including lists another node published', async (t) => {
    const redis = await testRedis(t)
    if (redis === undefined) return
    const a = await startNode(redis, 'node-a', { sys: true })
    t.after(() => a.plain.close())
    const watcher = await connectClient({ listener: 'tcp', port: a.plain.port, clientId: 'watcher' })
    const admin = await connectClient({ listener: 'tcp', port: a.plain.port, clientId: 'admin-1' })
    t.after(async () => { await endClient(watcher); await endClient(admin) })
    const seen: string[] = []
    watcher.on('message', topic => { seen.push(topic) })
    await watcher.subscribeAsync('$SYS/#')
    const lists = new Map<string, string>()
    admin.on('message', (topic, payload) => { lists.set(topic, payload.toString()) })
    await admin.subscribeAsync('$SYS/+/proxy-protocol/clients')
    // What mqemitter-redis brings from node-b: its list, on its own topic.
    const publishFromB = async (): Promise<void> => {
      await new Promise<void>(resolve => { a.plain.broker.publish({ cmd: 'publish', topic: '$SYS/node-b/proxy-protocol/clients', payload: Buffer.from('[]'), qos: 0, retain: false, dup: false }, () => { resolve() }) })
    }
    await publishFromB()
    await until(() => lists.size === 2, 5000, 'both nodes\' lists for the admin')
    const fromA = JSON.parse(lists.get('$SYS/node-a/proxy-protocol/clients') ?? '[]') as Array<{ clientId: string, node: string }>
    assert.deepEqual(fromA.map(s => [s.clientId, s.node]), [['watcher', 'node-a'], ['admin-1', 'node-a']])
    // Another round: the watcher, subscribed to all of $SYS, gets neither list.
    lists.clear()
    await publishFromB()
    await until(() => lists.size === 2, 5000, 'the next round')
    assert.deepEqual(seen.filter(topic => topic.endsWith('/proxy-protocol/clients')), [])
  })
  test('options in plain words', () => {
    const client = { eval: async () => await Promise.resolve(0) }
    assert.throws(() => redisSessionStore({ client } as never), /node: /)
    assert.throws(() => redisSessionStore({ client, node: 'n', ttl: 10 }), /ttl: must be at least 1000 \(milliseconds\)/)
  })
})
