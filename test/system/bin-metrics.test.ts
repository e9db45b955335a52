// Issue 11, as an operator runs it: `npm start` behind a real HAProxy that
// sends PROXY v2 with LOCAL health checks to the MQTT listener and checks
// GET /ready on the admin endpoint; /health, /ready and /metrics scraped
// through HAProxy; the metrics show the checks, a client, and refusals of
// every kind; promtool accepts them; on SIGTERM HAProxy sees the broker not
// ready while it drains.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connectClient, endClient } from '../helpers/client.js'
import { freePort, haproxyStats, requireProgram, startHaproxy, until } from '../helpers/programs.js'
import { connectPacket, rawExchange } from '../helpers/raw.js'
import { announcedPort, startNpmBroker } from '../helpers/npm-start.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** One sample of the Prometheus text: `name{labels} value`; 0 when absent. */
function sample (text: string, name: string, labels = ''): number {
  const line = text.split('\n').find(l => l.startsWith(`${name}${labels === '' ? '' : `{${labels}}`} `))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

test('npm start behind HAProxy: /health, /ready and /metrics through HAProxy; the checks, a client and refusals counted; promtool accepts the metrics; not ready while draining', async (t) => {
  const promtool = requireProgram(t, 'promtool', 'prometheus (or just its promtool binary)')
  if (promtool === undefined) return
  if (requireProgram(t, 'haproxy', 'haproxy') === undefined) return
  const [mqttPort, adminPort, feMqtt, feAdmin] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const broker = startNpmBroker(t, { LISTENER_TCP_BIND_PORT: String(mqttPort), MQTT_IP_DENY_LIST: '127.0.0.6', MQTT_DRAIN_TIMEOUT: '20000', ADMIN_BIND_PORT: String(adminPort) })
  await announcedPort(broker, 'admin')

  let statsSocket = ''
  const hap = await startHaproxy(dir => {
    statsSocket = join(dir, 'admin.sock')
    return [
      'global',
      `  stats socket ${statsSocket} mode 600 level admin`,
      'defaults',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  timeout check 2s',
      'frontend mqtt',
      '  mode tcp',
      `  bind 127.0.0.1:${feMqtt}`,
      '  default_backend mqtt',
      'backend mqtt',
      '  mode tcp',
      `  server broker 127.0.0.1:${mqttPort} send-proxy-v2 check check-send-proxy inter 300ms source 127.0.0.9`,
      'frontend admin',
      '  mode http',
      `  bind 127.0.0.1:${feAdmin}`,
      '  default_backend admin',
      'backend admin',
      '  mode http',
      '  option httpchk GET /ready',
      '  http-check expect status 200',
      `  server broker 127.0.0.1:${adminPort} check inter 300ms fall 1 rise 1`,
      ''
    ].join('\n')
  }, { ready: [{ host: '127.0.0.1', port: feAdmin }] })
  t.after(() => hap.stop())
  const status = async (backend: string): Promise<string | undefined> =>
    (await haproxyStats(statsSocket)).find(r => r.pxname === backend && r.svname === 'broker')?.status
  await until(async () => await status('mqtt') === 'UP' && await status('admin') === 'UP', 10_000, 'both HAProxy servers UP')

  const get = async (path: string): Promise<Response> => await fetch(`http://127.0.0.1:${feAdmin}${path}`)
  assert.deepEqual(await (await get('/health')).json(), { status: 'up' })
  assert.deepEqual(await (await get('/ready')).json(), { ready: true })

  // A client through HAProxy; a wrong password; an address the IP policy denies;
  // a peer that is not the trusted load balancer, straight to the listener.
  const good = await connectClient({ listener: 'tcp', port: feMqtt, localAddress: '127.0.0.2', clientId: 'meter-1', username: 'device', password: 'secret' })
  await assert.rejects(connectClient({ listener: 'tcp', port: feMqtt, localAddress: '127.0.0.3', clientId: 'intruder', username: 'device', password: 'guess' }))
  await assert.rejects(connectClient({ listener: 'tcp', port: feMqtt, localAddress: '127.0.0.6', clientId: 'denied', username: 'device', password: 'secret' }))
  const direct = await rawExchange(mqttPort, [connectPacket('direct')], { localAddress: '127.0.0.7' })
  assert.equal(direct.closed, true, 'an untrusted peer is closed on')

  const local = async (): Promise<number> => sample(await (await get('/metrics')).text(), 'aedes_proxy_protocol_connections_total', 'listener="tcp",outcome="local"')
  await until(async () => await local() >= 2, 10_000, 'two LOCAL health checks counted')
  const metricsRes = await get('/metrics')
  assert.equal(metricsRes.status, 200)
  assert.match(metricsRes.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const text = await metricsRes.text()
  const lint = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' })
  assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`)

  // HAProxy's LOCAL checks, every 300 ms since it started: counted as local, never as refusals.
  assert.ok(sample(text, 'aedes_proxy_protocol_connections_total', 'listener="tcp",outcome="local"') >= 2, text)
  assert.equal(sample(text, 'aedes_proxy_protocol_connections_total', 'listener="tcp",outcome="proxied_v2"'), 3)
  assert.equal(sample(text, 'aedes_proxy_protocol_rejected_total', 'listener="tcp",code="PROXY_ERR_UNTRUSTED"'), 1)
  assert.equal(sample(text, 'aedes_proxy_protocol_connections_total', 'listener="tcp",outcome="rejected"'), 1)
  assert.equal(sample(text, 'aedes_proxy_protocol_header_read_seconds_count', 'listener="tcp"') >= 3, true)
  assert.equal(sample(text, 'aedes_refused_logins_total', 'refused_by="authentication",reason="bad-credentials"'), 1)
  assert.equal(sample(text, 'aedes_refused_logins_total', 'refused_by="ip-policy",reason="ip-denied"'), 1)
  assert.equal(sample(text, 'aedes_connected_clients'), 1)
  assert.equal(sample(text, 'aedes_client_connects_total'), 1)
  assert.ok(sample(text, 'process_resident_memory_bytes') > 0, 'the process metrics are there')

  // The log says what refused each one.
  const refused = broker.lines.filter(l => l.includes('"event":"refused"')).map(l => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(refused.map(r => [r.refusedBy, r.ipAddress ?? (r.peer as { address: string }).address]).sort(), [
    ['authentication', '127.0.0.3'], ['ip-policy', '127.0.0.6'], ['proxy', '127.0.0.7']
  ])

  // SIGTERM with a client still connected: not ready (HAProxy marks the admin check down), then the client leaves.
  const exited = broker.stop('SIGTERM', 30_000)
  await until(async () => await status('admin') === 'DOWN', 10_000, 'HAProxy sees the broker not ready')
  assert.equal((await fetch(`http://127.0.0.1:${adminPort}/ready`)).status, 503)
  await endClient(good)
  const { code } = await exited
  assert.equal(code, 0)
  const disconnect = JSON.parse(broker.lines.find(l => l.includes('"event":"disconnect"')) ?? '{}') as Record<string, unknown>
  assert.equal(disconnect.reason, 'client disconnected')
  assert.equal(typeof disconnect.duration, 'number')
  const shutdown = broker.lines.map(l => JSON.parse(l) as { event: string, msg: string }).filter(r => r.event === 'shutdown').map(r => r.msg)
  assert.deepEqual(shutdown, ['shutting down: draining', 'drained: closing the broker'], 'both shutdown lines, in order (the log is written synchronously)')
  // One vocabulary: every field of every line, shutdown included, is in docs/api.md's table, and every aedes metric in docs/broker.md's.
  const api = readFileSync(join(root, 'docs', 'api.md'), 'utf8')
  const table = api.slice(api.indexOf('\n## Log fields\n'), api.indexOf('\n## ', api.indexOf('\n## Log fields\n') + 1))
  const documented = new Set([...table.matchAll(/^\| ((?:`\w+`(?:, )?)+) \|/gm)].flatMap(m => [...(m[1] as string).matchAll(/`(\w+)`/g)].map(f => f[1])))
  for (const line of broker.lines) {
    for (const key of Object.keys(JSON.parse(line) as object)) {
      if (!['level', 'time', 'msg'].includes(key)) assert.ok(documented.has(key), `log field ${key} is not in docs/api.md's table: ${line}`)
    }
  }
  const brokerDoc = readFileSync(join(root, 'docs', 'broker.md'), 'utf8')
  const metricsTable = brokerDoc.slice(brokerDoc.indexOf('\n## Health, readiness and metrics\n'))
  for (const name of new Set([...text.matchAll(/^# TYPE (aedes_\w+) /gm)].map(m => m[1] as string))) {
    assert.ok(metricsTable.includes(`| \`${name}\` |`), `metric ${name} is not in docs/broker.md's table`)
  }
})
