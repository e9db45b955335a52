// The broker's connect and disconnect lines: why a client went, and client
// strings bounded and escaped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Client } from 'aedes'
import { connectClient, endClient } from '../../../../test/helpers/client.js'
import { startPlainBroker } from '../../../../test/helpers/plain-broker.js'
import { until } from '../../../../test/helpers/wait.js'
import { logText } from 'aedes-proxy-protocol'
import { fileURLToPath } from 'node:url'
import mqttPacket from 'mqtt-packet'
import { encodeV2 } from '../../../../support/encode.js'
import { isCleanText } from '../../../../src/protocol/text.js'
import { announcedPort, metric, NPM_START_ENV } from '../../../../test/helpers/npm-start.js'
import { rawExchange } from '../../../../test/helpers/raw.js'
import { spawnProgram } from '../../../../test/helpers/spawn.js'
import { UNCLEAN_KINDS } from '../../../../test/helpers/unclean.js'
import { connectionErrorReason, logActivity, TAKEN_OVER } from '../../src/activity.js'

const root = fileURLToPath(new URL('../../../..', import.meta.url))

test('a client whose id a new connection takes is logged as taken over; a clean DISCONNECT as such; the reasons reach the counter', async (t) => {
  const records: Array<Record<string, unknown>> = []
  const reasons: string[] = []
  let accepted: (client: Client) => void = () => {}
  const plain = await startPlainBroker({
    authenticate: (client, _u, _p, done) => { accepted(client); done(null, true) }
  }, broker => {
    accepted = logActivity(broker, { info: (record: object) => { records.push(record as Record<string, unknown>) } }, new WeakMap(), r => reasons.push(r)).accepted
  })
  t.after(() => plain.close())
  const first = await connectClient({ listener: 'tcp', port: plain.port, clientId: 'dup' })
  first.on('error', () => {})
  const second = await connectClient({ listener: 'tcp', port: plain.port, clientId: 'dup' })
  await until(() => records.some(r => r.event === 'disconnect'), 5000, 'the first client\'s disconnect line')
  await endClient(second)
  await until(() => records.filter(r => r.event === 'disconnect').length === 2, 5000, 'the second client\'s disconnect line')
  first.end(true)
  assert.deepEqual(records.filter(r => r.event === 'disconnect').map(r => [r.clientId, r.reason]), [['dup', TAKEN_OVER], ['dup', 'client disconnected']])
  assert.deepEqual(reasons, [TAKEN_OVER, 'client disconnected'])
})

test('client ids and user names in log lines: at most 256 characters, every kind of unclean text escaped as the plugins escape it', async (t) => {
  const records: Array<Record<string, unknown>> = []
  const usernames = new WeakMap<Client, string>()
  const plain = await startPlainBroker({
    authenticate: (client, username, _p, done) => { if (username !== undefined) usernames.set(client, username); done(null, true) }
  }, broker => { logActivity(broker, { info: (record: object) => { records.push(record as Record<string, unknown>) } }, usernames) })
  t.after(() => plain.close())
  const long = `${'x'.repeat(20_000)}\u202e\u0007`
  const sent = [long, ...UNCLEAN_KINDS.map(k => k.text)]
  for (const text of sent) {
    const client = await connectClient({ listener: 'tcp', port: plain.port, clientId: text, username: text })
    await endClient(client)
  }
  await until(() => records.filter(r => r.event === 'disconnect').length === sent.length, 5000, 'every disconnect line')
  assert.equal(records.length, 2 * sent.length)
  for (const r of records) {
    const i = sent.findIndex(text => logText(text) === r.clientId)
    assert.ok(i >= 0, `${r.event as string}: clientId ${JSON.stringify(r.clientId)} is the plugins' escape of what was sent`)
    const name = i === 0 ? 'a 20,000-character id' : UNCLEAN_KINDS[i - 1]?.name ?? ''
    assert.equal(r.username, r.clientId, `${name}: the user name escaped as the client id`)
    assert.equal(isCleanText(r.clientId as string), true, `${name}: ${JSON.stringify(r.clientId)} is clean text`)
  }
  assert.equal(records[0]?.clientId, `${'x'.repeat(256)}…`)
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

test('errors before CONNECT: the reasons are a fixed set', () => {
  assert.equal(connectionErrorReason(new Error('unacceptable protocol version')), 'protocol-version')
  assert.equal(connectionErrorReason(new Error('connect did not arrive in time')), 'connect-timeout')
  assert.equal(connectionErrorReason(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'socket-error')
  assert.equal(connectionErrorReason(new Error('Invalid header flag bits, must be 0x0 for puback packet')), 'malformed-packet')
  assert.equal(connectionErrorReason(new Error('client says: anything at all')), 'other')
})
