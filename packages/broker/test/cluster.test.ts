// The ready-to-run broker as a cluster member: two processes with
// REDIS_URL on one real redis-server share messages, the session list, the
// unauthorized list and the rate limit; Redis going away and coming back is
// one log line each and no crash; a Redis down at start-up, or a REDIS_URL
// that is not one, is one start-up line and exit 1.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { connectClient, endClient } from '../../../test/helpers/client.js'
import { outcome } from '../../../test/helpers/plain-broker.js'
import { freePort, requireProgram } from '../../../test/helpers/programs.js'
import { startRedis } from '../../../test/helpers/redis.js'
import { startDirectBroker, type DirectBroker } from '../../../test/helpers/npm-start.js'
import { spawnProgram } from '../../../test/helpers/spawn.js'
import { until } from '../../../test/helpers/wait.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))

type Node = DirectBroker

async function startNode (t: TestContext, env: Record<string, string>): Promise<Node> {
  return await startDirectBroker(t, env, `node ${env.TB_SERVICE_ID ?? ''}`)
}

async function get<T> (node: Node, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${node.admin}${path}`)
  return await res.json() as T
}

const login = { listener: 'tcp' as const, username: 'device', password: 'secret' }

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
    const broker = spawnProgram(process.execPath, ['packages/broker/dist/broker.js'], {
      cwd: root,
      env: { ...process.env, LISTENER_TCP_BIND_ADDRESS: '127.0.0.1', LISTENER_TCP_BIND_PORT: '0', LISTENER_WS_ENABLED: 'false', TB_SERVICE_ID: 'node-1', REDIS_URL: url },
      label: 'npm start',
      t
    })
    const { code, stdout, stderr } = await broker.done
    assert.equal(code, 1, stderr)
    assert.match(stderr, expected)
    assert.doesNotMatch(stdout, /"event":"listening"/)
  }
})
