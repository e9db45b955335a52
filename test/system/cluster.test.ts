// Many brokers behind one load balancer: a real redis-server, two broker
// processes from examples/cluster/broker.ts (aedes + this plugin, sharing
// state through Redis with mqemitter-redis and aedes-persistence-redis), and a
// real HAProxy started from examples/cluster/haproxy.cfg (balance roundrobin,
// send-proxy-v2, health checks with check-send-proxy) in front of them.
// Clients connect to HAProxy from 127.0.0.2, 127.0.0.3 and 127.0.0.4; HAProxy
// connects to the nodes from 127.0.0.9 (`source`), so each node's log can
// tell a client's address from the proxy's. Everything is on loopback; every
// process is stopped by PID in t.after.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type net from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MqttClient } from 'mqtt'
import { connectClient, endClient } from '../helpers/client.js'
import { freePort, haproxyStats, requireProgram, startHaproxy, until } from '../helpers/programs.js'
import { redisCommand, startRedis } from '../helpers/redis.js'
import { spawnProgram } from '../helpers/spawn.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const PROXY_SOURCE = '127.0.0.9'
const SUBSCRIBER_ADDRESS = '127.0.0.2'
const PUBLISHER_ADDRESS = '127.0.0.3'
const LATE_ADDRESS = '127.0.0.4'

/** A JSON line a node prints on client connect or disconnect. */
interface ClientLine {
  readonly event: 'connect' | 'disconnect'
  readonly node: string
  readonly clientId: string
  readonly ipAddress: string
  readonly port: number
  readonly peer: { readonly address: string, readonly port: number }
}

interface BrokerNode {
  readonly id: string
  readonly pid: number
  readonly port: number
  /** every line printed so far, stdout and stderr */
  readonly lines: string[]
  /** the connect/disconnect JSON lines so far */
  clientLines (): ClientLine[]
  stop (): Promise<void>
}

/**
 * Stops, in reverse order of registration, everything a test started: HAProxy
 * before the nodes, the nodes before Redis. (t.after runs hooks in the order
 * they were added.)
 */
function cleanupStack (t: TestContext): (stop: () => Promise<void>) => void {
  const stops: Array<() => Promise<void>> = []
  t.after(async () => {
    for (const stop of stops.reverse()) await stop()
  })
  return stop => { stops.push(stop) }
}

/** Runs examples/cluster/broker.ts as a user would (`node --import tsx`), on a free port; resolves on its ready line. */
async function startNode (id: string, redisPort: number, onStop: (stop: () => Promise<void>) => void): Promise<BrokerNode> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: '0', NODE_ID: id, REDIS_PORT: String(redisPort) }
  delete env.REDIS_URL
  delete env.REDIS_HOST
  const program = spawnProgram(process.execPath, ['--import', 'tsx', 'examples/cluster/broker.ts'], { cwd: root, env, label: `node ${id}` })
  const stop = async (): Promise<void> => { await program.stop('SIGTERM', 5000) }
  onStop(stop)
  const lines = program.lines
  const ready = /^node (\S+): tcp listener on 127\.0\.0\.1:(\d+), PROXY protocol required/
  const readyLine = await program.waitFor(ready, 20_000, 'its ready line')
  const match = ready.exec(readyLine) as RegExpExecArray
  assert.equal(match[1], id, 'the ready line names the node')
  const clientLines = (): ClientLine[] => lines
    .filter(l => l.startsWith('{'))
    .map(l => JSON.parse(l) as ClientLine | { event: string })
    .filter((l): l is ClientLine => l.event === 'connect' || l.event === 'disconnect')
  return { id, pid: program.pid as number, port: Number(match[2]), lines, clientLines, stop }
}

/**
 * examples/cluster/haproxy.cfg with its `"${NAME-default}"` addresses filled
 * in, plus what the test needs: a stats socket, and `source 127.0.0.9` so the
 * nodes see the proxy at an address of its own.
 */
function clusterConfig (dir: string, addresses: Record<string, string>): string {
  // Without its comments, whose examples name non-loopback addresses.
  const template = readFileSync(join(root, 'examples/cluster/haproxy.cfg'), 'utf8').replace(/^\s*#.*\n/gm, '')
  let text = template.replace(/"\$\{(\w+)(?:-[^}"]*)?\}"/g, (_all, name: string) => {
    const value = addresses[name]
    if (value === undefined) throw new Error(`examples/cluster/haproxy.cfg uses \${${name}}, which the test does not set`)
    return value
  })
  for (const [section, line] of [
    ['global', `stats socket ${join(dir, 'admin.sock')} mode 600 level admin`],
    ['backend brokers', `source ${PROXY_SOURCE}`]
  ] as const) {
    const heading = new RegExp(`^${section}\\s*$`, 'm')
    assert.match(text, heading, `examples/cluster/haproxy.cfg has a "${section}" section`)
    text = text.replace(heading, `${section}\n    ${line}`)
  }
  return text
}

async function connectAs (t: TestContext, clientId: string, port: number, localAddress: string): Promise<{ client: MqttClient, localPort: number }> {
  const client = await connectClient({ listener: 'tcp', port, localAddress, clientId })
  t.after(() => { client.end(true) })
  const localPort = (client.stream as net.Socket).localPort
  assert.ok(typeof localPort === 'number' && localPort > 0, 'client source port known')
  return { client, localPort }
}

/** The node that logged `clientId`'s connect (waits up to 5 s), checking no other node did. */
async function nodeOf (nodes: readonly BrokerNode[], clientId: string): Promise<{ node: BrokerNode, line: ClientLine }> {
  const connects = (n: BrokerNode): ClientLine[] => n.clientLines().filter(l => l.event === 'connect' && l.clientId === clientId)
  await until(() => nodes.some(n => connects(n).length > 0), 5000, `a node logging the connect of ${clientId}`)
  const found = nodes.filter(n => connects(n).length > 0)
  assert.equal(found.length, 1, `${clientId} connected to exactly one node, not ${found.map(n => n.id).join(', ')}`)
  const node = found[0] as BrokerNode
  const lines = connects(node)
  assert.equal(lines.length, 1, `${clientId} logged once on ${node.id}`)
  return { node, line: lines[0] as ClientLine }
}

/** Resolves with the next message on `topic`; rejects after `ms`. */
async function nextMessage (client: MqttClient, topic: string, ms = 5000): Promise<{ payload: string, retain: boolean }> {
  return await new Promise((resolve, reject) => {
    const onMessage = (t: string, payload: Buffer, packet: { retain?: boolean }): void => {
      if (t !== topic) return
      clearTimeout(timer)
      client.off('message', onMessage)
      resolve({ payload: payload.toString('utf8'), retain: packet.retain === true })
    }
    const timer = setTimeout(() => { client.off('message', onMessage); reject(new Error(`no message on ${topic} within ${ms} ms`)) }, ms)
    client.on('message', onMessage)
  })
}

test('two aedes nodes sharing Redis behind HAProxy roundrobin send-proxy-v2: clients on different nodes talk, each node sees its clients\' real addresses', async (t) => {
  const haproxyBin = requireProgram(t, 'haproxy', 'haproxy')
  if (haproxyBin === undefined) return
  const redisBin = requireProgram(t, 'redis-server', 'redis-server')
  if (redisBin === undefined) return
  const onStop = cleanupStack(t)

  const redis = await startRedis(redisBin)
  onStop(redis.stop)
  const nodes = await Promise.all([startNode('node1', redis.port, onStop), startNode('node2', redis.port, onStop)])
  const [node1, node2] = nodes

  const fe = await freePort()
  let statsSocket = ''
  const hap = await startHaproxy(dir => {
    statsSocket = join(dir, 'admin.sock')
    return clusterConfig(dir, { FRONTEND: `127.0.0.1:${fe}`, NODE1: `127.0.0.1:${node1.port}`, NODE2: `127.0.0.1:${node2.port}` })
  }, {
    // Ready once both nodes have passed a health check (a v2 LOCAL header the
    // plugin accepts), read from the stats socket: no probe connection
    // through the frontend, which would reach a node as a client.
    readyCheck: async dir => {
      const rows = await haproxyStats(join(dir, 'admin.sock'))
      const up = rows.filter(r => r.pxname === 'brokers' && (r.svname === 'node1' || r.svname === 'node2') && r.status === 'UP' && (r.check_status ?? '').startsWith('L4OK'))
      return up.length === 2 && rows.some(r => r.pxname === 'mqtt' && r.svname === 'FRONTEND' && r.status === 'OPEN')
    },
    timeoutMs: 15_000
  })
  onStop(hap.stop)

  // Roundrobin sends consecutive connections to alternate nodes.
  const sub = await connectAs(t, 'cluster-sub', fe, SUBSCRIBER_ADDRESS)
  const pub = await connectAs(t, 'cluster-pub', fe, PUBLISHER_ADDRESS)
  const onSub = await nodeOf(nodes, 'cluster-sub')
  const onPub = await nodeOf(nodes, 'cluster-pub')
  assert.notEqual(onSub.node.id, onPub.node.id, `subscriber and publisher on different nodes\n${hap.output()}`)
  for (const [seen, address, localPort] of [[onSub, SUBSCRIBER_ADDRESS, sub.localPort], [onPub, PUBLISHER_ADDRESS, pub.localPort]] as const) {
    assert.equal(seen.line.node, seen.node.id)
    assert.equal(seen.line.ipAddress, address, `${seen.line.clientId}: the client's address, not HAProxy's`)
    assert.equal(seen.line.port, localPort, `${seen.line.clientId}: the client's own source port`)
    assert.equal(seen.line.peer.address, PROXY_SOURCE, `${seen.line.clientId}: the immediate peer is HAProxy`)
    assert.notEqual(seen.line.peer.port, localPort)
  }

  // A message published on one node reaches a subscriber on the other (mqemitter-redis).
  await sub.client.subscribeAsync('cluster/+', { qos: 1 })
  const arriving = nextMessage(sub.client, 'cluster/hello')
  await pub.client.publishAsync('cluster/hello', `from ${onPub.node.id} to ${onSub.node.id}`, { qos: 1 })
  assert.deepEqual(await arriving, { payload: `from ${onPub.node.id} to ${onSub.node.id}`, retain: false })

  // And back the other way.
  await pub.client.subscribeAsync('cluster/reply', { qos: 1 })
  const reply = nextMessage(pub.client, 'cluster/reply')
  await sub.client.publishAsync('cluster/reply', 'and back', { qos: 1 })
  assert.equal((await reply).payload, 'and back')

  // A retained message stored by one node (aedes-persistence-redis, in Redis)
  // is delivered by the other to a client that subscribes later.
  await pub.client.publishAsync('cluster/retained', 'kept in redis', { qos: 1, retain: true })
  await until(async () => {
    const keys = await redisCommand(redis.port, ['HKEYS', 'retained'])
    return Array.isArray(keys) && keys.includes('cluster/retained')
  }, 5000, 'the retained message stored in Redis')
  const late = await connectAs(t, 'cluster-late', fe, LATE_ADDRESS)
  const onLate = await nodeOf(nodes, 'cluster-late')
  assert.notEqual(onLate.node.id, onPub.node.id, 'the late subscriber is on the other node than the retained message\'s publisher')
  assert.equal(onLate.line.ipAddress, LATE_ADDRESS)
  assert.equal(onLate.line.port, late.localPort)
  assert.equal(onLate.line.peer.address, PROXY_SOURCE)
  const retained = nextMessage(late.client, 'cluster/retained')
  await late.client.subscribeAsync('cluster/retained', { qos: 1 })
  assert.deepEqual(await retained, { payload: 'kept in redis', retain: true })

  // The same client id connecting again, through HAProxy to the other node:
  // the node holding the old connection closes it (aedes' new-client message
  // on the shared bus).
  const first = await connectAs(t, 'cluster-twice', fe, '127.0.0.5')
  const firstClosed = new Promise<void>(resolve => first.client.once('close', () => resolve()))
  const second = await connectAs(t, 'cluster-twice', fe, '127.0.0.6')
  const connectsOf = (address: string): BrokerNode[] => nodes.filter(n => n.clientLines().some(l => l.event === 'connect' && l.clientId === 'cluster-twice' && l.ipAddress === address))
  await until(() => connectsOf('127.0.0.5').length === 1 && connectsOf('127.0.0.6').length === 1, 5000, 'both connects of cluster-twice logged')
  const [oldNode, newNode] = [connectsOf('127.0.0.5')[0] as BrokerNode, connectsOf('127.0.0.6')[0] as BrokerNode]
  assert.notEqual(oldNode.id, newNode.id, 'the second connection went to the other node')
  let closeTimer: NodeJS.Timeout | undefined
  await Promise.race([firstClosed, new Promise<never>((_resolve, reject) => {
    closeTimer = setTimeout(() => reject(new Error(`${oldNode.id} did not close the first cluster-twice within 5 s`)), 5000)
  })])
  clearTimeout(closeTimer)
  await until(() => oldNode.clientLines().some(l => l.event === 'disconnect' && l.clientId === 'cluster-twice' && l.port === first.localPort),
    5000, `${oldNode.id} logging the disconnect of the first cluster-twice`)
  assert.equal(second.client.connected, true, 'the new connection stays')
  await endClient(second.client)

  // Health checks all along: LOCAL headers, accepted, nodes UP, nothing refused.
  const rows = (await haproxyStats(statsSocket)).filter(r => r.pxname === 'brokers' && (r.svname ?? '').startsWith('node'))
  assert.deepEqual(rows.map(r => [r.svname, r.status, r.chkfail]), [['node1', 'UP', '0'], ['node2', 'UP', '0']])
  for (const node of nodes) {
    assert.deepEqual(node.lines.filter(l => l.includes('"event":"refused"') || l.includes('"redis-error"')), [], `${node.id} refused nothing`)
    for (const line of node.clientLines()) assert.equal(line.node, node.id)
  }

  await endClient(late.client)
  await endClient(pub.client)
  await endClient(sub.client)
  // Each node logs its own client's disconnect, with the same real address.
  await until(() => [onSub, onPub, onLate].every(({ node, line }) =>
    node.clientLines().some(l => l.event === 'disconnect' && l.clientId === line.clientId && l.ipAddress === line.ipAddress && l.port === line.port)),
  5000, 'disconnect lines on the nodes')
})
