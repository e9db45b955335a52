// The broker's connect and disconnect lines: why a client went, and client
// strings bounded and escaped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Client } from 'aedes'
import { connectClient, endClient } from '../../../test/helpers/client.js'
import { startPlainBroker } from '../../../test/helpers/plain-broker.js'
import { until } from '../../../test/helpers/wait.js'
import { clientText, logActivity, TAKEN_OVER } from '../src/activity.js'

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

test('client ids and user names in log lines: at most 256 characters, invisible and control characters escaped', async (t) => {
  const records: Array<Record<string, unknown>> = []
  const plain = await startPlainBroker({}, broker => { logActivity(broker, { info: (record: object) => { records.push(record as Record<string, unknown>) } }, new WeakMap()) })
  t.after(() => plain.close())
  const id = `${'x'.repeat(20_000)}\u202e\u0007`
  const client = await connectClient({ listener: 'tcp', port: plain.port, clientId: id })
  await endClient(client)
  await until(() => records.some(r => r.event === 'disconnect'), 5000)
  for (const r of records) assert.equal(r.clientId, `${'x'.repeat(256)}…`)
  assert.equal(clientText('a\u202eb\u0007c\u2028'), 'a\\u{202e}b\\u{7}c\\u{2028}')
  assert.equal(clientText('plain id é'), 'plain id é')
  assert.equal(clientText(undefined), undefined)
})
