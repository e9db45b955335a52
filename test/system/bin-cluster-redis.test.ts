// Issue 12, Redis restarted in the middle: three `npm start` nodes with
// REDIS_URL on one real redis-server, behind the README's HAProxy block as
// printed (roundrobin, send-proxy-v2, LOCAL health checks; loopback addresses
// swapped in as bin-cluster.test.ts does). Redis is stopped under them and
// started again on its port. While it is gone: one `redis` `down` line per
// node, no node exits, HAProxy's checks keep every node UP, /ready stays 200,
// the connected clients stay connected, and a new client meets
// MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE as the README's "Scaling out" says
// (refuse: CONNACK 5 and a `refused` line, `policy unavailable`; allow: let
// past the rate limit with a `store-failed` line, its CONNECT then waiting on
// aedes' persistence in Redis, so its CONNACK comes once Redis is back). Once
// it is back: one `up` line per node, the heartbeats put every client back on
// every node's session list, messages cross nodes, and the rate limit counts
// again.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { MqttClient } from 'mqtt'
import { connectClient, endClient } from '../helpers/client.js'
import { outcome } from '../helpers/plain-broker.js'
import { requireProgram, until } from '../helpers/programs.js'
import { startRedis, type RunningRedis } from '../helpers/redis.js'
import { adminGet, HAPROXY_SOURCE, startClusterHaproxy, startClusterNode, type ClusterFront, type ClusterNode } from '../helpers/bin-cluster.js'
import { startFront } from '../helpers/front.js'

const login = { listener: 'tcp' as const, username: 'device', password: 'secret' }
const NODES = ['node1', 'node2', 'node3']

interface Cluster {
  readonly nodes: ClusterNode[]
  readonly front: ClusterFront
  /** the redis-server running now */
  readonly redis: () => RunningRedis
  /** Redis stopped (SIGTERM to its PID): resolves once every node has logged it gone. */
  readonly stopRedis: () => Promise<void>
  /** Redis started again on its port: resolves once every node has logged it back. */
  readonly restartRedis: () => Promise<void>
}

/** Redis, three nodes on it (with `env`), HAProxy in front; undefined when a program is missing (skipped). */
async function startCluster (t: TestContext, env: Record<string, string> = {}): Promise<Cluster | undefined> {
  if (requireProgram(t, 'haproxy', 'haproxy') === undefined) return undefined
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return undefined
  let redis = await startRedis(bin)
  t.after(() => redis.stop())
  const nodes = await Promise.all(NODES.map(async id => await startClusterNode(t, id, redis.port, env)))
  const front = await startClusterHaproxy(t, nodes)
  const logged = async (state: 'down' | 'up', ms: number): Promise<void> => {
    for (const node of nodes) await node.process.waitFor(l => l.includes('"event":"redis"') && l.includes(`"state":"${state}"`), ms, `${node.id}'s redis ${state} line`)
  }
  return {
    nodes,
    front,
    redis: () => redis,
    stopRedis: async () => { await redis.stop(); await logged('down', 10_000) },
    restartRedis: async () => { redis = await startRedis(bin, { port: redis.port }); await logged('up', 15_000) }
  }
}

const redisLines = (node: ClusterNode, state: 'down' | 'up'): string[] =>
  node.process.lines.filter(l => l.includes('"event":"redis"') && l.includes(`"state":"${state}"`))

/** The lines of every node that `match` accepts, once there is one (a line may arrive after the packet it was logged before). */
async function linesOf (nodes: readonly ClusterNode[], match: (line: string) => boolean, what: string): Promise<string[]> {
  const found = (): string[] => nodes.flatMap(n => n.process.lines.filter(match))
  await until(() => found().length > 0, 5000, what)
  return found()
}

type Session = { clientId: string, ipAddress: string, node: string }
const sessionsOf = async (node: ClusterNode): Promise<Array<[string, string]>> =>
  (await adminGet<Session[]>(node, '/clients')).map(s => [s.clientId, s.ipAddress] as [string, string]).sort((a, b) => a[0].localeCompare(b[0]))
const healthChecks = async (node: ClusterNode): Promise<number> => (await adminGet<{ tcp: { local: number } }>(node, '/stats')).tcp.local
const connectedClients = async (node: ClusterNode): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${node.admin}/metrics`)).text()
  return Number(/^aedes_connected_clients (\d+)$/m.exec(text)?.[1])
}

test('Redis stopped and restarted under three npm start nodes behind HAProxy (MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE unset: refuse): no node exits or goes DOWN, clients stay, new ones are refused as policy unavailable; then every session listed again, messages across nodes, the rate limit back', async (t) => {
  const cluster = await startCluster(t)
  if (cluster === undefined) return
  const { nodes, front } = cluster
  const clients: MqttClient[] = []
  t.after(() => { for (const c of clients) c.end(true) })
  const closed: string[] = []
  const meters = [['meter-0', '127.0.0.2'], ['meter-1', '127.0.0.3'], ['meter-2', '127.0.0.4']] as Array<[string, string]>
  for (const [clientId, address] of meters) {
    const client = await connectClient({ ...login, port: front.frontend, localAddress: address, clientId })
    client.on('close', () => closed.push(clientId))
    clients.push(client)
  }
  const [subscriber, publisher] = clients as [MqttClient, MqttClient, MqttClient]
  await subscriber.subscribeAsync('meters/#', { qos: 1 })
  for (const node of nodes) await until(async () => (await sessionsOf(node)).length === 3, 10_000, `the three clients on ${node.id}'s /clients`)
  // Roundrobin: one client on each node, so "stay connected" is asked of every node.
  assert.deepEqual(await Promise.all(nodes.map(connectedClients)), [1, 1, 1])

  const before = await front.servers()
  const checksBefore = await Promise.all(nodes.map(healthChecks))
  await cluster.stopRedis()

  // While Redis is gone HAProxy's view is polled: every node UP (a failed check would show `UP 1/3`).
  const views: string[] = []
  const watching = new AbortController()
  const watcher = (async () => {
    while (!watching.signal.aborted) {
      views.push(JSON.stringify(await front.status()))
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  })()
  // A new client, through HAProxy: refused at once (CONNACK 5), and its line says why.
  assert.equal(await outcome(connectClient({ ...login, port: front.frontend, localAddress: '127.0.0.5', clientId: 'newcomer' })), 5)
  const refusals = (await linesOf(nodes, l => l.includes('"event":"refused"') && l.includes('"clientId":"newcomer"'), 'the newcomer\'s refused line')).map(l => JSON.parse(l) as Record<string, unknown>)
  assert.equal(refusals.length, 1, 'one refused line for the newcomer')
  assert.deepEqual([refusals[0]?.refusedBy, refusals[0]?.ipAddress], ['rate-limit', '127.0.0.5'])
  assert.match(String(refusals[0]?.reason), /^policy unavailable: /)
  for (const node of nodes) {
    assert.equal((await fetch(`http://127.0.0.1:${node.admin}/ready`)).status, 200, `${node.id} ready`)
  }
  // At least two health checks answered by every node while Redis is gone.
  await until(async () => (await Promise.all(nodes.map(healthChecks))).every((n, i) => n >= (checksBefore[i] as number) + 2), 15_000, 'two health checks on every node during the outage')
  watching.abort()
  await watcher
  assert.ok(views.length > 0)
  for (const view of views) assert.equal(view, JSON.stringify({ node1: 'UP', node2: 'UP', node3: 'UP' }), 'HAProxy keeps every node UP')
  const during = await front.servers()
  for (const id of NODES) assert.equal(during[id]?.chkfail, before[id]?.chkfail, `no failed check of ${id}`)
  assert.deepEqual(await Promise.all(nodes.map(connectedClients)), [1, 1, 1], 'the connected clients stay connected')
  assert.deepEqual(closed, [])
  for (const node of nodes) assert.equal(node.process.exited, false, `${node.id} still running`)

  await cluster.restartRedis()
  // Every node's heartbeat (every 5 s) puts its client back: every node lists all three again.
  for (const node of nodes) {
    await until(async () => (await sessionsOf(node).catch(() => [])).length === 3, 15_000, `the three clients back on ${node.id}'s /clients`)
    assert.deepEqual(await sessionsOf(node), meters, `${node.id}'s /clients`)
  }
  // Messages cross nodes again: published on one node until the subscriber on another has one
  // (one sent while the bus's subscription is being renewed may go unseen).
  const got = new Promise<string>(resolve => { subscriber.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
  let arrived = false
  void got.then(() => { arrived = true })
  await until(async () => {
    if (!arrived) await publisher.publishAsync('meters/1', 'after the restart', { qos: 0 })
    await new Promise(resolve => setTimeout(resolve, 250))
    return arrived
  }, 10_000, 'a message across nodes after the restart')
  assert.equal(await got, 'after the restart')
  // The rate limit counts again: 4 attempts for 127.0.0.6 in the cluster, then refused as rate-limited.
  const attempts: Array<number | string> = []
  for (let i = 0; i < 6; i++) attempts.push(await outcome(connectClient({ ...login, port: front.frontend, localAddress: '127.0.0.6', clientId: `burst-${i}` })))
  assert.deepEqual(attempts, ['connected', 'connected', 'connected', 'connected', 5, 5])
  // ...and the shared unauthorized list records them again (the refused lines are once a minute per kind).
  for (const node of nodes) {
    const listed = (await adminGet<Array<{ clientId: string, ipAddress: string, refusedBy: string, reason: string }>>(node, '/unauthorized')).filter(e => e.clientId.startsWith('burst-'))
    assert.deepEqual(listed.map(e => [e.clientId, e.ipAddress, e.refusedBy, e.reason]).sort(), [['burst-4', '127.0.0.6', 'rate-limit', 'rate-limited'], ['burst-5', '127.0.0.6', 'rate-limit', 'rate-limited']], `${node.id}'s /unauthorized`)
  }

  assert.deepEqual(closed, [])
  for (const node of nodes) {
    assert.equal(node.process.exited, false, `${node.id} still running`)
    assert.equal(redisLines(node, 'down').length, 1, `${node.id}: one down line\n${redisLines(node, 'down').join('\n')}`)
    assert.equal(redisLines(node, 'up').length, 1, `${node.id}: one up line`)
    assert.match(redisLines(node, 'down')[0] as string, new RegExp(`^\\{"level":50,.*"event":"redis","state":"down","redis":"redis://127\\.0\\.0\\.1:${cluster.redis().port}","node":"${node.id}","reason":"[^"]+"`))
  }
  for (const c of clients) await endClient(c)
})

test('the same with MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE=allow: a new client is let past the rate limit (one store-failed line) and gets its CONNACK once Redis is back', async (t) => {
  const cluster = await startCluster(t, { MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE: 'allow' })
  if (cluster === undefined) return
  const { nodes, front } = cluster
  const stayer = await connectClient({ ...login, port: front.frontend, localAddress: '127.0.0.2', clientId: 'stayer' })
  t.after(() => stayer.end(true))
  let stayerClosed = false
  stayer.on('close', () => { stayerClosed = true })
  await cluster.stopRedis()

  // Our own MQTT.js client: it waits 30 s for its CONNACK (the helper's wait is 10 s).
  const newcomer = new MqttClient(() => net.connect({ port: front.frontend, host: '127.0.0.1', localAddress: '127.0.0.5' }),
    { clientId: 'newcomer', username: login.username, password: login.password, reconnectPeriod: 0, connectTimeout: 30_000 })
  t.after(() => newcomer.end(true))
  let connackAt: number | undefined
  const connected = new Promise<void>((resolve, reject) => {
    newcomer.once('connect', () => { connackAt = Date.now(); resolve() })
    newcomer.once('error', reject)
    newcomer.once('close', () => reject(new Error('newcomer closed before CONNACK')))
  })
  connected.catch(() => {})
  const letThrough = (l: string): boolean => l.includes('"event":"store-failed"') && l.includes('"operation":"rate limit: let through unlimited"')
  assert.equal((await linesOf(nodes, letThrough, 'the newcomer\'s store-failed line')).length, 1, 'one store-failed line')
  const home = nodes.find(n => n.process.lines.some(letThrough)) as ClusterNode
  assert.equal(nodes.flatMap(n => n.process.lines.filter(l => l.includes('"event":"refused"'))).length, 0, 'not refused')
  // Past the rate limit, its CONNECT waits on aedes' persistence, in Redis.
  await new Promise(resolve => setTimeout(resolve, 1000))
  assert.equal(connackAt, undefined, 'no CONNACK while Redis is gone')
  assert.equal((await fetch(`http://127.0.0.1:${home.admin}/ready`)).status, 200)

  const restartedAt = Date.now()
  await cluster.restartRedis()
  await connected
  assert.ok(connackAt !== undefined && connackAt > restartedAt, 'the CONNACK came with Redis back')
  const connect = await home.process.waitFor(l => l.includes('"event":"connect"') && l.includes('"clientId":"newcomer"'), 5000)
  assert.match(connect, /"ipAddress":"127\.0\.0\.5".*"isProxy":2,"peer":\{"address":"127\.0\.0\.9"/)
  for (const node of nodes) await until(async () => (await sessionsOf(node).catch(() => [])).length === 2, 15_000, `both clients on ${node.id}'s /clients`)
  assert.deepEqual(await sessionsOf(nodes[0] as ClusterNode), [['newcomer', '127.0.0.5'], ['stayer', '127.0.0.2']])
  assert.equal(stayerClosed, false)
  for (const node of nodes) {
    assert.equal(node.process.exited, false, `${node.id} still running`)
    assert.deepEqual([redisLines(node, 'down').length, redisLines(node, 'up').length], [1, 1], `${node.id}: one down and one up line`)
  }
  await endClient(newcomer)
  await endClient(stayer)
})

test('a cluster node stopped with SIGTERM while Redis is up leaves without a line saying it lost Redis', async (t) => {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return
  const redis = await startRedis(bin)
  t.after(() => redis.stop())
  const node = await startClusterNode(t, 'node1', redis.port)
  const ended = await node.process.stop('SIGTERM')
  assert.equal(ended.code, 0, node.process.output())
  assert.ok(node.process.lines.some(l => l.includes('"event":"shutdown"')), 'it logged its shutdown')
  assert.deepEqual(redisLines(node, 'down'), [], 'Redis was never lost')
})

test('a client id that logs in on another node: the node that held it logs it as taken over, not as a closed connection', async (t) => {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return
  const redis = await startRedis(bin)
  t.after(() => redis.stop())
  const [node1, node2] = await Promise.all(['node1', 'node2'].map(async id => await startClusterNode(t, id, redis.port)))
  assert.ok(node1 !== undefined && node2 !== undefined)
  const fronts = await Promise.all([node1, node2].map(async node => await startFront({ target: node.mqtt, header: 'v2', upstreamAddress: HAPROXY_SOURCE })))
  t.after(async () => { for (const f of fronts) await f.close() })
  const first = await connectClient({ ...login, port: fronts[0]?.port as number, clientId: 'mover', localAddress: '127.0.0.91' })
  // node1 closes it once node2 has the id: what its socket says then is not this test's business.
  first.on('error', () => {})
  first.stream.on('error', () => {})
  const second = await connectClient({ ...login, port: fronts[1]?.port as number, clientId: 'mover', localAddress: '127.0.0.92' })
  second.on('error', () => {})
  try {
    const line = await node1.process.waitFor(l => l.includes('"event":"disconnect"') && l.includes('"mover"'), 10_000, 'node1 lets mover go')
    assert.match(line, /"reason":"taken over by a new connection with the same client id"/)
  } finally {
    // Before the fronts and Redis go (the hooks): nothing is written to a socket already ended.
    first.stream.destroy()
    await endClient(second)
  }
})
