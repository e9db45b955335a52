// Issue 12, as an operator runs it: three `npm start` nodes with REDIS_URL on
// one real redis-server, behind the README's three-node HAProxy block as
// printed (roundrobin, send-proxy-v2, LOCAL health checks; only the
// addresses and ports swapped for loopback ones). Each client is seen with
// its own address on whichever node it lands; the rate limit is one budget
// for the cluster; failed logins on different nodes are one list, from every
// node; a node killed with SIGKILL is marked down, its client comes back on
// another node with its session and subscription, and the session list drops
// the dead node's entries.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { connectClient, endClient } from '../helpers/client.js'
import { outcome } from '../helpers/plain-broker.js'
import { requireProgram, until } from '../helpers/programs.js'
import { startRedis } from '../helpers/redis.js'
import { adminGet as get, HAPROXY_SOURCE, startClusterHaproxy, startClusterNode, type ClusterNode as Node } from '../helpers/bin-cluster.js'

const login = { listener: 'tcp' as const, username: 'device', password: 'secret' }

test('three npm start nodes on one Redis behind the README\'s HAProxy block: real addresses on every node, one rate budget, one unauthorized list, a killed node\'s client back elsewhere with its session', async (t) => {
  if (requireProgram(t, 'haproxy', 'haproxy') === undefined) return
  const redisBin = requireProgram(t, 'redis-server', 'redis-server')
  if (redisBin === undefined) return
  const redis = await startRedis(redisBin)
  t.after(() => redis.stop())
  const nodes = await Promise.all(['node1', 'node2', 'node3'].map(async id => await startClusterNode(t, id, redis.port)))
  // The README's block as printed, on loopback; resolves once the three are UP.
  const { frontend, status } = await startClusterHaproxy(t, nodes)

  // Roundrobin: three clients, three nodes, each seen with its own address.
  const clients: MqttClient[] = []
  t.after(() => { for (const c of clients) c.end(true) })
  for (const [i, address] of ['127.0.0.2', '127.0.0.3', '127.0.0.4'].entries()) {
    clients.push(await connectClient({ ...login, port: frontend, localAddress: address, clientId: `meter-${i}` }))
  }
  const sessions = async (node: Node): Promise<Array<{ clientId: string, ipAddress: string, node: string, peer: { address: string } }>> => await get(node, '/clients')
  await until(async () => (await sessions(nodes[0] as Node)).length === 3, 10_000, 'the three clients on the session list')
  for (const node of nodes) {
    const list = (await sessions(node)).sort((a, b) => a.clientId.localeCompare(b.clientId))
    assert.deepEqual(list.map(s => [s.clientId, s.ipAddress, s.peer.address]), [['meter-0', '127.0.0.2', HAPROXY_SOURCE], ['meter-1', '127.0.0.3', HAPROXY_SOURCE], ['meter-2', '127.0.0.4', HAPROXY_SOURCE]], `${node.id}'s /clients`)
    assert.equal(new Set(list.map(s => s.node)).size, 3, 'one client on each node')
  }

  // The rate limit: 4 attempts for 127.0.0.5 in the whole cluster, not 4 per node.
  const attempts: Array<number | string> = []
  for (let i = 0; i < 6; i++) {
    const result = await outcome(connectClient({ ...login, port: frontend, localAddress: '127.0.0.5', clientId: `burst-${i}` }))
    attempts.push(result)
  }
  assert.deepEqual(attempts, ['connected', 'connected', 'connected', 'connected', 5, 5])

  // Failed logins landing on different nodes: one list, from every node.
  for (let i = 0; i < 3; i++) assert.equal(await outcome(connectClient({ ...login, port: frontend, localAddress: '127.0.0.6', clientId: `intruder-${i}`, password: 'wrong' })), 4)
  const unauthorizedOf = async (node: Node): Promise<Array<{ clientId: string, ipAddress: string, node: string }>> => await get(node, '/unauthorized')
  for (const node of nodes) {
    const list = (await unauthorizedOf(node)).filter(e => e.clientId.startsWith('intruder-'))
    assert.deepEqual(list.map(e => [e.clientId, e.ipAddress]).sort(), [['intruder-0', '127.0.0.6'], ['intruder-1', '127.0.0.6'], ['intruder-2', '127.0.0.6']], `${node.id}'s /unauthorized`)
    assert.ok(new Set(list.map(e => e.node)).size >= 2, 'seen by more than one node')
  }

  // A persistent session on one node; that node killed.
  const keeper = await connectClient({ ...login, port: frontend, localAddress: '127.0.0.7', clientId: 'keeper', clean: false })
  keeper.on('error', () => {})
  await keeper.subscribeAsync('alerts/#', { qos: 1 })
  await until(async () => (await sessions(nodes[0] as Node)).some(s => s.clientId === 'keeper'), 10_000, 'keeper on the session list')
  const home = (await sessions(nodes[0] as Node)).find(s => s.clientId === 'keeper')?.node
  const dead = nodes.find(n => n.id === home) as Node
  const alive = nodes.filter(n => n !== dead)
  await dead.process.stop('SIGKILL')
  keeper.end(true)
  await until(async () => (await status())[dead.id]?.startsWith('DOWN') === true, 20_000, `HAProxy marks ${dead.id} down`)
  // Back through HAProxy: another node, the same session and subscription.
  const back = await connectClient({ ...login, port: frontend, localAddress: '127.0.0.7', clientId: 'keeper', clean: false })
  clients.push(back)
  const landed = async (): Promise<string | undefined> => (await sessions(alive[0] as Node)).find(s => s.clientId === 'keeper' && s.node !== dead.id)?.node
  await until(async () => await landed() !== undefined, 10_000, 'keeper on a live node')
  const got = new Promise<string>(resolve => { back.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
  const publisher = await connectClient({ ...login, port: frontend, localAddress: '127.0.0.8', clientId: 'alerter' })
  clients.push(publisher)
  await publisher.publishAsync('alerts/1', 'still subscribed', { qos: 1 })
  assert.equal(await got, 'still subscribed', 'the subscription made on the dead node holds')
  // The dead node's entries leave the session list within its TTL (15 s).
  await until(async () => !(await sessions(alive[0] as Node)).some(s => s.node === dead.id), 25_000, `${dead.id}'s sessions gone from the list`)
  for (const node of alive) assert.equal(node.process.exited, false, `${node.id} still running`)
  await endClient(back)
})
