// The broker's connect and disconnect lines: why a client went, and client
// strings bounded and escaped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Client } from 'aedes'
import { connectClient, endClient } from '../../../test/helpers/client.js'
import { startPlainBroker } from '../../../test/helpers/plain-broker.js'
import { until } from '../../../test/helpers/wait.js'
import { logText } from 'aedes-proxy-protocol'
import { isCleanText } from '../../../src/protocol/text.js'
import { UNCLEAN_KINDS } from '../../../test/helpers/unclean.js'
import { logActivity, TAKEN_OVER } from '../src/activity.js'

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
