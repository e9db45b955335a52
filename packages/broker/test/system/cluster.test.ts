// The ready-to-run broker as a cluster member: two processes with
// REDIS_URL on one real redis-server share messages, the session list, the
// unauthorized list and the rate limit; Redis going away and coming back is
// one log line each and no crash; a Redis down at start-up, or a REDIS_URL
// that is not one, is one start-up line and exit 1.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { connectClient, endClient } from '../../../../test/helpers/client.js'
import { outcome } from '../../../../test/helpers/plain-broker.js'
import { freePort, requireProgram } from '../../../../test/helpers/programs.js'
import { startRedis } from '../../../../test/helpers/redis.js'
import { startDirectBroker, type DirectBroker } from '../../../../test/helpers/npm-start.js'
import { spawnProgram } from '../../../../test/helpers/spawn.js'
import { until } from '../../../../test/helpers/wait.js'
import { redactedUrl, redaction } from '../../src/cluster.js'

const root = fileURLToPath(new URL('../../../..', import.meta.url))

type Node = DirectBroker

async function startNode (t: TestContext, env: Record<string, string>): Promise<Node> {
  return await startDirectBroker(t, env, `node ${env.TB_SERVICE_ID ?? ''}`)
}

async function get<T> (node: Node, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${node.admin}${path}`)
  return await res.json() as T
}

const login = { listener: 'tcp' as const, username: 'device', password: 'secret' }

/** The broker with REDIS_URL and `env`, run until it exits (a start-up that fails). */
async function exitOf (t: TestContext, env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await spawnProgram(process.execPath, ['packages/broker/dist/broker.js'], {
    cwd: root,
    env: { ...process.env, LISTENER_TCP_BIND_ADDRESS: '127.0.0.1', LISTENER_TCP_BIND_PORT: '0', LISTENER_WS_ENABLED: 'false', TB_SERVICE_ID: 'node-1', ...env },
    label: 'npm start',
    t
  }).done
}

test('two brokers on one Redis: messages cross, one session list and one unauthorized list with their nodes, one rate budget; Redis gone and back is logged, nothing crashes', async (t) => {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return
  let redis = await startRedis(bin)
  t.after(() => redis.stop())
  const env = { REDIS_URL: `redis://127.0.0.1:${redis.port}`, MQTT_IP_RATE_LIMIT: '0.1', MQTT_IP_RATE_BURST: '4' }
  const one = await startNode(t, { ...env, TB_SERVICE_ID: 'node-1' })
  const two = await startNode(t, { ...env, TB_SERVICE_ID: 'node-2' })
  assert.ok(one.process.lines.some(l => l.includes('"event":"startup"') && l.includes('"node":"node-1"') && l.includes(`"redis":"redis://127.0.0.1:${redis.port}"`)))

  const sub = await connectClient({ ...login, port: one.mqtt, localAddress: '127.0.0.6', clientId: 'sub' })
  const pub = await connectClient({ ...login, port: two.mqtt, localAddress: '127.0.0.7', clientId: 'pub' })
  t.after(async () => { await endClient(sub); await endClient(pub) })
  await sub.subscribeAsync('meters/#', { qos: 1 })
  const got = new Promise<string>(resolve => { sub.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
  await pub.publishAsync('meters/1', 'across', { qos: 1 })
  assert.equal(await got, 'across')

  const clients = async (node: Node): Promise<string[][]> => (await get<Array<{ clientId: string, ipAddress: string, node: string }>>(node, '/clients')).map(c => [c.clientId, c.ipAddress, c.node])
  await until(async () => (await clients(two)).length === 2, 10_000, 'both clients on node-2\'s /clients')
  assert.deepEqual(await clients(one), [['sub', '127.0.0.6', 'node-1'], ['pub', '127.0.0.7', 'node-2']])

  assert.equal(await outcome(connectClient({ ...login, port: two.mqtt, localAddress: '127.0.0.8', clientId: 'intruder', password: 'wrong' })), 4)
  const unauthorized = await get<Array<{ clientId: string, ipAddress: string, node: string }>>(one, '/unauthorized')
  assert.deepEqual(unauthorized.map(e => [e.clientId, e.ipAddress, e.node]), [['intruder', '127.0.0.8', 'node-2']])

  // 127.0.0.8 has spent one attempt of its 4; three more over both nodes, then refused wherever it lands.
  const results = []
  for (const node of [one, two, one, two]) results.push(await outcome(connectClient({ ...login, port: node.mqtt, localAddress: '127.0.0.8' })))
  assert.deepEqual(results, ['connected', 'connected', 'connected', 5])

  // Redis goes away: one line on each node, the brokers stay up, a new client meets the documented default (refused).
  await redis.stop()
  for (const node of [one, two]) await node.process.waitFor(l => l.includes('"event":"redis"') && l.includes('"state":"down"'), 10_000)
  assert.equal(await outcome(connectClient({ ...login, port: one.mqtt, localAddress: '127.0.0.9' })), 5)
  assert.deepEqual(await get(one, '/health'), { status: 'up' })
  // Redis comes back on its port: one line each, and the shared lists work again.
  redis = await startRedis(bin, { port: redis.port })
  for (const node of [one, two]) await node.process.waitFor(l => l.includes('"event":"redis"') && l.includes('"state":"up"'), 15_000)
  await until(async () => (await clients(one)).length === 2, 15_000, 'the session list put back by the heartbeats')
  assert.equal(one.process.exited || two.process.exited, false)
  for (const node of [one, two]) {
    const downs = node.process.lines.filter(l => l.includes('"event":"redis"') && l.includes('"state":"down"'))
    assert.equal(downs.length, 1, downs.join('\n'))
  }
  await endClient(sub)
  await endClient(pub)
  for (const node of [one, two]) assert.equal((await node.process.stop('SIGTERM')).code, 0)
})

test('a Redis that does not answer at start-up, and a REDIS_URL that is not one: one line on stderr, exit 1', async (t) => {
  const closed = await freePort()
  for (const [url, expected] of [
    [`redis://127.0.0.1:${closed}`, new RegExp(`^aedes-proxy-protocol: REDIS_URL="redis://127\\.0\\.0\\.1:${closed}": Redis did not answer within 10000 ms \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${closed}\\)\\n$`)],
    ['http://127.0.0.1:6379', /^aedes-proxy-protocol: REDIS_URL="http:\/\/127\.0\.0\.1:6379" is not a Redis URL: use redis:\/\/host:port/]
  ] as const) {
    const { code, stdout, stderr } = await exitOf(t, { REDIS_URL: url })
    assert.equal(code, 1, stderr)
    assert.match(stderr, expected)
    assert.doesNotMatch(stdout, /"event":"listening"/)
  }
})

test('a password in REDIS_URL, in every form ioredis reads, is in no line: start-up, Redis down and up, start-up errors', async (t) => {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return
  const secret = 'S3cr3t-pw'
  let redis = await startRedis(bin, { args: ['--requirepass', secret] })
  t.after(() => redis.stop())
  const at = `127.0.0.1:${redis.port}`
  const forms = [`redis://:${secret}@${at}`, `redis://default:${secret}@${at}/0`, `redis://${at}?password=${secret}`,
    `redis://${at}/?username=default&password=${secret}`, `redis://${at}?db=0&password=${secret}&family=4`]
  const nodes = await Promise.all(forms.map(async (url, i) => await startNode(t, { REDIS_URL: url, TB_SERVICE_ID: `node-${i}` })))
  assert.match(nodes[2]?.process.lines.find(l => l.includes('"event":"startup"') && l.includes('"redis"')) ?? '', new RegExp(`"redis":"redis://${at}\\?password=\\*\\*\\*"`))
  await redis.stop()
  for (const node of nodes) await node.process.waitFor(l => l.includes('"state":"down"'), 10_000)
  redis = await startRedis(bin, { port: redis.port, args: ['--requirepass', secret] })
  for (const node of nodes) await node.process.waitFor(l => l.includes('"state":"up"'), 15_000)
  for (const node of nodes) await node.process.stop('SIGTERM')
  // Start-up errors: a wrong password in each form, Redis unreachable, a URL that is not a Redis one.
  const wrong = 'Wr0ng-pw'
  const closed = await freePort()
  const failing = [...forms.map(f => f.replaceAll(secret, wrong)), `redis://:${wrong}@127.0.0.1:${closed}`,
    `redis+sentinel://:${wrong}@${at}`, `redis://:${wrong}@[::1`, `http://${at}?password=${wrong}`,
    // Without `//` these parse as URLs with no host, the password in the path.
    `redis:default:${wrong}@${at}`, `redis:/default:${wrong}@${at}`, `redis:${wrong}@${at}`]
  const ended = await Promise.all(failing.map(async url => await exitOf(t, { REDIS_URL: url })))
  for (const [i, { code, stderr }] of ended.entries()) {
    assert.equal(code, 1, `${failing[i] ?? ''}: ${stderr}`)
    assert.match(stderr, /^aedes-proxy-protocol: REDIS_URL=/)
  }
  const all = [...nodes.flatMap(n => n.process.lines), ...ended.flatMap(e => [e.stdout, e.stderr])]
  assert.ok(all.some(l => l.includes('"state":"down"')) && all.some(l => l.includes('"state":"up"')))
  assert.deepEqual(all.filter(l => l.includes(secret) || l.includes(wrong)), [])
})

test('redaction: each secret of REDIS_URL as ***, wherever a line quotes it; a one-to-three-character one is not looked for (it would break every line)', () => {
  const hide = redaction({ REDIS_URL: 'redis://:hunter2@h:1?password=s3cr3t' })
  assert.equal(hide('{"reason":"WRONGPASS hunter2 s3cr3t","redis":"redis://:hunter2@h:1?password=s3cr3t"}'), '{"reason":"WRONGPASS *** ***","redis":"redis://:***@h:1?password=***"}')
  const short = redaction({ REDIS_URL: 'redis://:1@h:1' })
  const line = '{"level":30,"port":1883,"msg":"tcp listener on 0.0.0.0:1883"}'
  assert.equal(short(line), line, 'a line with a 1 in it is left whole')
  assert.equal(short('connect redis://:1@h:1 failed'), 'connect redis://:***@h:1 failed', 'the URL itself is still shown redacted')
})

test('redactedUrl: the user-info password and every secret query parameter as ***, text that is not a URL shown only without a secret', () => {
  assert.equal(redactedUrl('redis://u:p%40ss@h:1/2?password=x&sentinelPassword=y&db=3&tls=true'), 'redis://u:***@h:1/2?password=***&sentinelPassword=***&db=3&tls=true')
  assert.equal(redactedUrl('rediss://:pw@h'), 'rediss://:***@h')
  assert.equal(redactedUrl('redis://h:1'), 'redis://h:1')
  assert.equal(redactedUrl('redis://:pw@[::1'), '(not shown: it may hold a password)')
  assert.equal(redactedUrl('localhost 6379'), 'localhost 6379')
  // URLs without a host: the not-a-URL rule.
  assert.equal(redactedUrl('redis:user:hunter2@host:6379'), '(not shown: it may hold a password)')
  assert.equal(redactedUrl('redis:/user:hunter2@host'), '(not shown: it may hold a password)')
  assert.equal(redactedUrl('redis:host?password=x'), '(not shown: it may hold a password)')
  assert.equal(redactedUrl('redis:/host:6379'), 'redis:/host:6379')
})

test('a Redis error that quotes the password is redacted in the admin endpoint\'s 500 and the store-failed lines', async (t) => {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return
  // A password the stores' errors happen to quote ("redis did not answer ... within 1000 ms").
  const secret = 'answer'
  const redis = await startRedis(bin, { args: ['--requirepass', secret] })
  t.after(() => redis.stop())
  const node = await startNode(t, { REDIS_URL: `redis://:${secret}@127.0.0.1:${redis.port}`, TB_SERVICE_ID: 'node-1' })
  await redis.stop()
  const res = await fetch(`http://127.0.0.1:${node.admin}/unauthorized`)
  assert.equal(res.status, 500)
  const body = await res.text()
  assert.match(body, /redis did not \*\*\* listing the unauthorized clients within 1000 ms/)
  assert.equal(await outcome(connectClient({ ...login, port: node.mqtt, clientId: 'intruder', password: 'wrong' })), 4)
  const failed = await node.process.waitFor(l => l.includes('"event":"store-failed"'), 5000, 'a store-failed line')
  assert.match(failed, /redis did not \*\*\*/)
  await node.process.stop('SIGTERM')
  assert.deepEqual([body, ...node.process.lines].filter(l => l.includes(secret)), [])
})

test('a Redis that hangs (SIGSTOP: nothing closes) is reported down within twice REDIS_PING_INTERVAL, and up once it answers', async (t) => {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return
  const redis = await startRedis(bin)
  t.after(() => redis.stop())
  const node = await startNode(t, { REDIS_URL: `redis://127.0.0.1:${redis.port}`, TB_SERVICE_ID: 'node-1', REDIS_PING_INTERVAL: '300' })
  process.kill(redis.pid, 'SIGSTOP')
  let stopped = true
  // Never left stopped, whatever happens below.
  t.after(() => { if (stopped) process.kill(redis.pid, 'SIGCONT') })
  const since = Date.now()
  const down = await node.process.waitFor(l => l.includes('"state":"down"'), 5000, 'the down line')
  const took = Date.now() - since
  t.diagnostic(`reported down after ${took} ms`)
  assert.ok(took <= 2 * 300 + 250, `reported down after ${took} ms`)
  assert.equal((JSON.parse(down) as { reason: string }).reason, 'Redis did not answer PING within 300 ms')
  process.kill(redis.pid, 'SIGCONT')
  stopped = false
  await node.process.waitFor(l => l.includes('"state":"up"'), 5000, 'the up line')
  assert.equal(node.process.lines.filter(l => l.includes('"event":"redis"')).length, 2)
  assert.equal((await node.process.stop('SIGTERM')).code, 0)
})

test('REDIS_PING_INTERVAL below 100 ms: one start-up line, exit 1', async (t) => {
  const { code, stderr } = await exitOf(t, { REDIS_URL: 'redis://127.0.0.1:1', REDIS_PING_INTERVAL: '50' })
  assert.equal(code, 1)
  assert.equal(stderr, 'aedes-proxy-protocol: REDIS_PING_INTERVAL="50" is not a whole number from 100 to 600000 (milliseconds)\n')
})

test('DELETE /unauthorized?clientId=x removes that entry only (404 for an id not listed, 400 for another parameter; ids with ?, &, +, unicode), in memory and in Redis; without a query all', async (t) => {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return
  const redis = await startRedis(bin)
  t.after(() => redis.stop())
  for (const env of [{}, { REDIS_URL: `redis://127.0.0.1:${redis.port}`, TB_SERVICE_ID: 'node-1' }]) {
    const node = await startNode(t, env)
    for (const clientId of ['intruder-1', 'intruder-2', 'intruder-3']) {
      assert.equal(await outcome(connectClient({ ...login, port: node.mqtt, clientId, password: 'wrong' })), 4)
    }
    const del = async (query: string): Promise<[number, unknown]> => {
      const res = await fetch(`http://127.0.0.1:${node.admin}/unauthorized${query}`, { method: 'DELETE' })
      return [res.status, await res.json()]
    }
    const ids = async (): Promise<string[]> => (await get<Array<{ clientId: string }>>(node, '/unauthorized')).map(e => e.clientId).sort()
    assert.deepEqual(await del('?clientId=intruder-2'), [200, { removed: 1 }])
    assert.deepEqual(await ids(), ['intruder-1', 'intruder-3'])
    assert.deepEqual(await del('?clientId=intruder-2'), [404, { removed: 0, error: 'no entry for client id "intruder-2"' }])
    assert.deepEqual(await del('?clientid=intruder-1'), [400, { error: 'DELETE /unauthorized takes ?clientId=<id> (one entry) or nothing (all)' }])
    assert.deepEqual(await ids(), ['intruder-1', 'intruder-3'])
    // Ids a query must carry: `?` as is (all after the first `?` is the query), `&` as %26, `+` as %2B (a bare + is a space), unicode.
    const odd = ['a', 'a?b', 'a&b', 'a+b', 'a b', 'zähler-✓']
    for (const clientId of odd) assert.equal(await outcome(connectClient({ ...login, port: node.mqtt, clientId, password: 'wrong' })), 4)
    assert.deepEqual(await del('?clientId=a?b'), [200, { removed: 1 }])
    assert.deepEqual(await del('?clientId=a%26b'), [200, { removed: 1 }])
    assert.deepEqual(await del('?clientId=a%2Bb'), [200, { removed: 1 }])
    assert.deepEqual(await del('?clientId=a+b'), [200, { removed: 1 }])
    assert.deepEqual(await del(`?clientId=${encodeURIComponent('zähler-✓')}`), [200, { removed: 1 }])
    assert.deepEqual(await ids(), ['a', 'intruder-1', 'intruder-3'])
    assert.deepEqual(await del(''), [200, { removed: 3 }])
    assert.deepEqual(await ids(), [])
    assert.equal((await node.process.stop('SIGTERM')).code, 0)
  }
})
