// Issue 6, as an operator runs it: `npm start` (packages/broker/dist/broker.js) behind a
// real HAProxy with send-proxy-v2. The client's real address shows in the
// log, in the admin session list and, after a wrong password, in the
// unauthorized-clients list.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import { connectClient, endClient } from '../helpers/client.js'
import { freePort, startTestHaproxy } from '../helpers/programs.js'
import { startNpmBroker } from '../helpers/npm-start.js'

async function getJson (port: number, path: string, method = 'GET'): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method })
  assert.equal(res.status, 200)
  return await res.json()
}

test('npm start behind HAProxy send-proxy-v2: real address in the log, the session list and the unauthorized list', async (t) => {
  const [mqttPort, adminPort] = [await freePort(), await freePort()]
  const broker = startNpmBroker(t, { LISTENER_TCP_BIND_PORT: String(mqttPort), ADMIN_BIND_PORT: String(adminPort) })
  const lines = broker.lines
  await broker.waitFor(/"msg":"admin endpoint on/, 15_000, 'the admin endpoint line (the broker started)')
  const listening = lines.map(l => JSON.parse(l) as Record<string, unknown>).find(r => r.event === 'listening' && r.listener === 'tcp')
  assert.deepEqual(listening && { ...listening, time: undefined }, {
    level: 30,
    time: undefined,
    event: 'listening',
    listener: 'tcp',
    bindAddress: '127.0.0.1',
    bindPort: mqttPort,
    proxyProtocol: 'required',
    trustedProxies: ['127.0.0.9'],
    msg: `tcp listener on 127.0.0.1:${mqttPort}, PROXY protocol required from 127.0.0.9`
  })

  const fe = await freePort()
  const hap = await startTestHaproxy(t, {
    frontend: [`bind 127.0.0.1:${fe}`],
    server: `server s1 127.0.0.1:${mqttPort} send-proxy-v2 check check-send-proxy inter 500ms source 127.0.0.9`
  })
  if (hap === undefined) return

  // A good client, bound to 127.0.0.2: its port is the one the OS gave it.
  const good = await connectClient({ listener: 'tcp', port: fe, localAddress: '127.0.0.2', clientId: 'meter-1', username: 'device', password: 'secret' })
  const goodPort = (good.stream as net.Socket).localPort
  const logged = JSON.parse(await broker.waitFor(l => l.includes('"event":"connect"') && l.includes('meter-1'), 5000, 'the connect log line')) as Record<string, unknown>
  assert.equal(logged.ipAddress, '127.0.0.2')
  assert.equal(logged.port, goodPort)
  assert.equal((logged.peer as { address: string }).address, '127.0.0.9')
  assert.equal(logged.username, 'device')
  assert.equal(logged.isProxy, 2)
  assert.equal(logged.tls, false)
  const sessions = await getJson(adminPort, '/clients') as Array<Record<string, unknown>>
  assert.deepEqual(sessions.map(s => [s.clientId, s.ipAddress, s.port, s.listener, s.isProxy]), [['meter-1', '127.0.0.2', goodPort, 'tcp', 2]])

  // A wrong password from 127.0.0.3.
  await assert.rejects(connectClient({ listener: 'tcp', port: fe, localAddress: '127.0.0.3', clientId: 'intruder', username: 'device', password: 'guess' }))
  const unauthorized = await getJson(adminPort, '/unauthorized') as Array<Record<string, unknown>>
  assert.equal(unauthorized.length, 1)
  assert.equal(unauthorized[0]?.clientId, 'intruder')
  assert.equal(unauthorized[0]?.ipAddress, '127.0.0.3')
  assert.equal(unauthorized[0]?.username, 'device')
  assert.equal(unauthorized[0]?.passwordProvided, true)
  assert.equal(unauthorized[0]?.reason, 'bad user name or password')
  const failed = lines.map(l => JSON.parse(l) as Record<string, unknown>).find(r => r.event === 'refused' && r.clientId === 'intruder')
  assert.deepEqual(failed && [failed.refusedBy, failed.ipAddress, failed.username, failed.msg], ['authentication', '127.0.0.3', 'device', 'authentication failed'], 'the failure is logged with the real address and what refused it')
  assert.deepEqual(await getJson(adminPort, '/unauthorized', 'DELETE'), { removed: 1 })

  // HAProxy's LOCAL health checks were never logged above debug.
  const proxyRefusals = lines.filter(l => l.includes('"refusedBy":"proxy"'))
  assert.deepEqual(proxyRefusals, [], 'no PROXY refusal at all: the checks are counted, not refused')
  const stats = await getJson(adminPort, '/stats') as Record<string, { proxied: { v2: number } }>
  assert.ok((stats.tcp?.proxied.v2 ?? 0) >= 2)

  await endClient(good)
  const { code } = await broker.stop('SIGTERM')
  assert.equal(code, 0)
})
