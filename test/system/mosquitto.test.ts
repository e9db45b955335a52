// The mosquitto command-line clients (mosquitto_sub, mosquitto_pub) through a
// real HAProxy (send-proxy-v2) to a real aedes broker with the plugin: a
// client the test did not write. HAProxy connects to the broker from
// 127.0.0.9 (`source`). mosquitto_sub binds its socket to 127.0.0.3 (-A);
// mosquitto_pub is left to the OS, so it comes from 127.0.0.1. Every process
// is stopped by PID in t.after (test/helpers/spawn.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startStack } from '../helpers/stack.js'
import { freePort, haproxyStats, requireProgram, startHaproxy, until } from '../helpers/programs.js'
import { spawnProgram } from '../helpers/spawn.js'

test('mosquitto_pub → HAProxy send-proxy-v2 → aedes → mosquitto_sub: the message arrives and the hooks see the clients', async (t) => {
  const haproxy = requireProgram(t, 'haproxy', 'haproxy')
  if (haproxy === undefined) return
  const sub = requireProgram(t, 'mosquitto_sub', 'mosquitto-clients')
  if (sub === undefined) return
  const pub = requireProgram(t, 'mosquitto_pub', 'mosquitto-clients')
  if (pub === undefined) return

  const stack = await startStack({ listener: 'tcp', plugin: { listeners: { tcp: { proxyEnabled: true } } } })
  t.after(() => stack.close())
  const subscribed = new Set<string>()
  stack.broker.on('subscribe', (_subs, client) => { if (client !== null) subscribed.add(client.id) })

  const fe = await freePort()
  const hap = await startHaproxy(dir => [
    'global',
    '  nbthread 1',
    `  stats socket ${join(dir, 'admin.sock')} mode 600 level admin`,
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 15s',
    '  timeout server 15s',
    'frontend fe',
    `  bind 127.0.0.1:${fe}`,
    '  default_backend be',
    'backend be',
    `  server s1 127.0.0.1:${stack.port} send-proxy-v2 source 127.0.0.9`,
    ''
  ].join('\n'), {
    // No probe connection through the frontend: the stats socket says when it is open.
    readyCheck: async dir => (await haproxyStats(join(dir, 'admin.sock'))).some(r => r.pxname === 'fe' && r.svname === 'FRONTEND' && r.status === 'OPEN')
  })
  t.after(() => hap.stop())

  const suffix = `${process.pid}-${Date.now()}`
  const topic = `mosquitto/${suffix}`
  const payload = `hello from mosquitto_pub ${suffix}`
  const subId = `mosq-sub-${suffix}`
  const pubId = `mosq-pub-${suffix}`
  const subscriber = spawnProgram(sub, ['-h', '127.0.0.1', '-p', String(fe), '-A', '127.0.0.3', '-i', subId, '-t', topic, '-q', '1', '-C', '1', '-W', '10'], { t })
  await until(() => subscribed.has(subId), 5000, 'mosquitto_sub subscribed')
  const publisher = spawnProgram(pub, ['-h', '127.0.0.1', '-p', String(fe), '-i', pubId, '-t', topic, '-q', '1', '-m', payload], { t })
  const published = await publisher.done
  assert.equal(published.code, 0, `mosquitto_pub failed: ${published.stderr}`)
  const received = await subscriber.done
  assert.equal(received.code, 0, `mosquitto_sub failed (code ${String(received.code)}, signal ${String(received.signal)}): ${received.stderr}`)
  assert.equal(received.stdout.trim(), payload)

  const details = (id: string): NonNullable<(typeof stack.seen)[number]['details']> => {
    const seen = stack.seen.find(s => s.hook === 'authenticate' && s.clientId === id)
    assert.ok(seen?.details, `authenticate saw connDetails for ${id}`)
    return seen.details
  }
  for (const [id, address] of [[subId, '127.0.0.3'], [pubId, '127.0.0.1']] as const) {
    const d = details(id)
    assert.equal(d.ipAddress, address, `${id} address`)
    assert.equal(d.ipFamily, 4)
    assert.ok(d.port > 0 && d.port !== d.peer.port, `${id} port ${d.port} is the client's, not HAProxy's ${d.peer.port}`)
    assert.equal(d.isProxy, 2)
    assert.equal(d.serverIpAddress, '127.0.0.1')
    assert.equal(d.serverPort, fe)
    assert.equal(d.peer.address, '127.0.0.9')
    assert.equal(d.listener, 'tcp')
  }
})
