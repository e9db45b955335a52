// Issue 22: what the broker loses before a client is connected is said, not
// silent: connections past what its open-file limit holds (libuv accepts and
// closes them without a word when accept() fails with EMFILE), and errors
// before CONNECT (aedes' connectionError); each counted by reason in /metrics
// and logged once a minute per kind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import mqttPacket from 'mqtt-packet'
import { encodeV2 } from '../../../support/encode.js'
import { announcedPort, NPM_START_ENV } from '../../../test/helpers/npm-start.js'
import { rawExchange } from '../../../test/helpers/raw.js'
import { spawnProgram } from '../../../test/helpers/spawn.js'
import { until } from '../../../test/helpers/wait.js'
import { connectionErrorReason } from '../src/activity.js'
import { FILE_RESERVE, openFileLimit } from '../src/capacity.js'
import { OncePerMinute } from '../src/once-per-minute.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))

/** A counter's value in the /metrics text, 0 when absent. */
async function metric (adminPort: number, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}

test('past its open-file limit the broker drops connections itself: counted (file-limit) and logged once', async (t) => {
  const LIMIT = 200
  const broker = spawnProgram('/bin/sh', ['-c', `ulimit -n ${LIMIT} && exec "$0" packages/broker/dist/broker.js`, process.execPath], {
    cwd: root,
    env: { ...process.env, ...NPM_START_ENV, MQTT_PROXY_PROTOCOL_ENABLED: 'false', LISTENER_TCP_BIND_PORT: '0', ADMIN_BIND_PORT: '0' },
    label: 'npm start (ulimit -n 200)',
    t
  })
  const [port, admin] = [await announcedPort(broker, 'tcp'), await announcedPort(broker, 'admin')]
  const sockets: net.Socket[] = []
  t.after(() => { for (const s of sockets) s.destroy() })
  let closed = 0
  for (let i = 0; i < 300; i++) {
    const s = net.connect({ port, host: '127.0.0.1' })
    s.on('error', () => {})
    s.once('close', () => { closed++ })
    sockets.push(s)
  }
  const budget = LIMIT - FILE_RESERVE
  const series = 'aedes_dropped_connections_total{listener="tcp",reason="file-limit"}'
  await until(async () => closed === 300 - budget && await metric(admin, series) === 300 - budget, 15_000, `${300 - budget} connections dropped and counted`)
  const lines = broker.lines.filter(l => l.includes('"event":"dropped"'))
  assert.equal(lines.length, 1, 'one line for the minute')
  assert.match(lines[0] ?? '', /"level":40,.*"listener":"tcp","reason":"file-limit","peer":"127\.0\.0\.1","msg":"connection from 127\.0\.0\.1 dropped on the tcp listener: the broker holds as many connections as its open-file limit allows \(200, less 64 kept for itself\); raise it/)
  // The connections it kept are still served.
  assert.equal(sockets.filter(s => !s.destroyed).length, budget)
})

test('errors before CONNECT: an MQTT 5 CONNECT, bytes that are not MQTT after a good PROXY header; counted by reason and logged once per reason', async (t) => {
  const broker = spawnProgram(process.execPath, ['packages/broker/dist/broker.js'], {
    cwd: root,
    env: { ...process.env, ...NPM_START_ENV, LISTENER_TCP_BIND_PORT: '0', ADMIN_BIND_PORT: '0' },
    label: 'npm start',
    t
  })
  const [port, admin] = [await announcedPort(broker, 'tcp'), await announcedPort(broker, 'admin')]
  const header = encodeV2({ source: { address: '203.0.113.7', port: 40000 }, destination: { address: '127.0.0.1', port } })
  const v5 = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'v5-client', keepalive: 0 })
  const garbage = Buffer.from('GET / HTTP/1.1\r\nHost: broker\r\n\r\n')
  for (let i = 0; i < 3; i++) {
    assert.equal((await rawExchange(port, [Buffer.concat([header, v5])])).closed, true)
    assert.equal((await rawExchange(port, [Buffer.concat([header, garbage])])).closed, true)
  }
  await until(async () => await metric(admin, 'aedes_connection_errors_total{reason="protocol-version"}') === 3 &&
    await metric(admin, 'aedes_connection_errors_total{reason="malformed-packet"}') === 3, 5000, 'both counted three times')
  const lines = broker.lines.filter(l => l.includes('"event":"connection-error"')).map(l => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(lines.map(r => [r.level, r.reason, r.listener, r.ipAddress, r.port]), [
    [40, 'protocol-version', 'tcp', '203.0.113.7', 40000],
    [40, 'malformed-packet', 'tcp', '203.0.113.7', 40000]
  ], 'one line per reason, with the client\'s real address')
  assert.equal(lines[0]?.msg, 'connection closed before its CONNECT was accepted (protocol-version): unacceptable protocol version')
})

test('the reasons are a fixed set; once a minute says how many more there were', async () => {
  assert.equal(connectionErrorReason(new Error('unacceptable protocol version')), 'protocol-version')
  assert.equal(connectionErrorReason(new Error('connect did not arrive in time')), 'connect-timeout')
  assert.equal(connectionErrorReason(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'socket-error')
  assert.equal(connectionErrorReason(new Error('Invalid header flag bits, must be 0x0 for puback packet')), 'malformed-packet')
  assert.equal(connectionErrorReason(new Error('client says: anything at all')), 'other')
  const said: string[] = []
  const logs = new OncePerMinute({ warn: (_record, message) => { said.push(message) } }, 50)
  for (let i = 0; i < 4; i++) logs.say('k', () => [{}, 'first'], n => [{}, `${n} more`])
  logs.say('other', () => [{}, 'another kind'], n => [{}, `${n} more of the other`])
  await until(() => said.length === 3, 2000, 'the summary')
  assert.deepEqual(said, ['first', 'another kind', '3 more'])
  assert.equal(openFileLimit('/nonexistent/limits'), undefined)
})
