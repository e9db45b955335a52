// Many clients at once through a real HAProxy (mode tcp, send-proxy-v2) to
// one aedes broker with the plugin: 300 MQTT.js clients connect concurrently,
// each bound to a loopback source address spread over 127.0.0.10-127.0.0.250,
// and every one must reach `authenticate` with its own address and its own
// source port, never another client's and never HAProxy's (127.0.0.9).
// Bounded: the whole test must finish well within 30 s. Every process is
// stopped by PID in t.after.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { connectClient } from '../helpers/client.js'
import { freePort, haproxyStats, requireProgram, startHaproxy, until } from '../helpers/programs.js'
import { startStack } from '../helpers/stack.js'
import type { ProxyProtocolError } from '../../src/protocol/errors.js'
import type { RejectedEvent } from '../../src/events.js'

const CLIENTS = 300
const FIRST_ADDRESS = 10
const LAST_ADDRESS = 250
const PROXY_SOURCE = '127.0.0.9'
/** Time allowed for all the clients to get their CONNACK. */
const CONNECT_BUDGET_MS = 15_000

interface Connected {
  readonly clientId: string
  readonly address: string
  readonly localPort: number
  readonly client: MqttClient
}

test(`${CLIENTS} concurrent clients through HAProxy send-proxy-v2: each seen in authenticate with its own address and port`, async (t) => {
  if (requireProgram(t, 'haproxy', 'haproxy') === undefined) return
  const s = await startStack({ listener: 'tcp', plugin: { listeners: { tcp: { proxyEnabled: true } } } })
  t.after(() => s.close())
  const rejected: Array<{ err: ProxyProtocolError, ev: RejectedEvent }> = []
  s.proxy.on('rejected', (err, ev) => rejected.push({ err, ev }))

  const fe = await freePort()
  let statsSocket = ''
  const hap = await startHaproxy(dir => {
    statsSocket = join(dir, 'admin.sock')
    return [
      'global',
      `  stats socket ${statsSocket} mode 600 level admin`,
      '  maxconn 2000',
      'defaults',
      '  mode tcp',
      '  maxconn 2000',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend fe',
      `  bind 127.0.0.1:${fe}`,
      '  default_backend be',
      'backend be',
      `  server s1 127.0.0.1:${s.port} send-proxy-v2 source ${PROXY_SOURCE}`,
      ''
    ].join('\n')
  }, {
    // The stats socket, not a connection through the frontend (the broker would see it).
    readyCheck: async dir => (await haproxyStats(join(dir, 'admin.sock')))
      .some(r => r.pxname === 'fe' && r.svname === 'FRONTEND' && r.status === 'OPEN')
  })
  t.after(() => hap.stop())

  const span = LAST_ADDRESS - FIRST_ADDRESS + 1
  const started = Date.now()
  const attempts = Array.from({ length: CLIENTS }, async (_unused, i): Promise<Connected> => {
    const address = `127.0.0.${FIRST_ADDRESS + (i % span)}`
    const clientId = `load-${i}`
    const client = await connectClient({ listener: 'tcp', port: fe, localAddress: address, clientId })
    t.after(() => { client.end(true) })
    const localPort = (client.stream as net.Socket).localPort
    assert.ok(typeof localPort === 'number' && localPort > 0, `${clientId}: source port known`)
    return { clientId, address, localPort, client }
  })
  let budget: NodeJS.Timeout | undefined
  const results = await Promise.race([
    Promise.allSettled(attempts),
    new Promise<never>((_resolve, reject) => {
      budget = setTimeout(() => reject(new Error(`${CLIENTS} clients not all settled within ${CONNECT_BUDGET_MS} ms`)), CONNECT_BUDGET_MS)
    })
  ])
  clearTimeout(budget)
  const connectMs = Date.now() - started
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  assert.equal(failures.length, 0, `${failures.length} of ${CLIENTS} clients failed to connect, first: ${String(failures[0]?.reason)}`)
  const clients = results.map(r => (r as PromiseFulfilledResult<Connected>).value)
  t.diagnostic(`${CLIENTS} clients connected in ${connectMs} ms`)

  // The clients themselves: distinct (address, port) pairs, every address used.
  assert.equal(new Set(clients.map(c => `${c.address}:${c.localPort}`)).size, CLIENTS)
  assert.equal(new Set(clients.map(c => c.address)).size, Math.min(CLIENTS, span))

  // All of them connected at the same time, on both sides of HAProxy.
  assert.equal(s.broker.connectedClients, CLIENTS, 'the broker holds every client at once')
  const fronts = (await haproxyStats(statsSocket)).find(r => r.pxname === 'fe' && r.svname === 'FRONTEND')
  assert.equal(fronts?.scur, String(CLIENTS), 'HAProxy holds every client at once')

  // Each seen once in authenticate with its own address and port.
  const authenticated = new Map<string, number>()
  for (const seen of s.seen) {
    if (seen.hook === 'authenticate') authenticated.set(seen.clientId, (authenticated.get(seen.clientId) ?? 0) + 1)
  }
  assert.equal(authenticated.size, CLIENTS, 'authenticate ran for every client')
  for (const c of clients) {
    assert.equal(authenticated.get(c.clientId), 1, `${c.clientId}: authenticate ran once`)
    const seen = s.seen.find(x => x.hook === 'authenticate' && x.clientId === c.clientId)
    const d = seen?.details
    assert.ok(d, `${c.clientId}: authenticate saw connDetails`)
    assert.equal(`${d.ipAddress}:${d.port}`, `${c.address}:${c.localPort}`, `${c.clientId}: its own address and port`)
    assert.equal(d.ipFamily, 4)
    assert.equal(d.isProxy, 2)
    assert.equal(d.serverIpAddress, '127.0.0.1')
    assert.equal(d.serverPort, fe)
    assert.equal(d.peer.address, PROXY_SOURCE, `${c.clientId}: the immediate peer is HAProxy`)
  }
  assert.deepEqual(rejected.map(r => `${r.err.code}: ${r.err.message}`), [], 'nothing refused')
  assert.equal(s.proxy.stats().tcp.proxied.v2, CLIENTS, 'one v2 header per client')

  // Every connection is live: one publish reaches all of them.
  await Promise.all(clients.map(async c => await c.client.subscribeAsync('load/all', { qos: 0 })))
  const received = new Set<string>()
  for (const c of clients) {
    c.client.on('message', topic => { if (topic === 'load/all') received.add(c.clientId) })
  }
  await clients[0]?.client.publishAsync('load/all', 'to everyone', { qos: 0 })
  await until(() => received.size === CLIENTS, 10_000, `the message delivered to all ${CLIENTS} clients`)

  // Close them all at once; the broker lets go of every one.
  for (const c of clients) c.client.end(true)
  await until(() => s.broker.connectedClients === 0, 10_000, 'the broker dropping every client')
})
