import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { ipPolicy } from '../../src/operator/ip-policy.js'
import { UnauthorizedClients, unauthorizedClients } from '../../src/operator/unauthorized.js'
import type { UnauthorizedAttempt, UnauthorizedClient } from '../../src/operator/unauthorized-store.js'
import { connectClient } from '../helpers/client.js'
import { outcome, startPlainBroker } from '../helpers/plain-broker.js'

describe('unauthorized clients, installed alone on a plain aedes broker', () => {
  test('a wrong password is recorded with the socket address, emitted, listed and cleared', async (t) => {
    let list: ReturnType<typeof unauthorizedClients> | undefined
    const plain = await startPlainBroker({
      authenticate: (_c, _u, password, done) => { done(null, password?.toString() === 'right') }
    }, broker => { list = broker.use(unauthorizedClients({ maxEntries: 10 })) })
    t.after(() => plain.close())
    assert.ok(list !== undefined)
    const events: UnauthorizedClient[] = []
    const refusals: UnauthorizedAttempt[] = []
    list.on('unauthorized', e => events.push(e))
    list.on('refused', a => refusals.push(a))
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.4', clientId: 'plain-intruder', username: 'u', password: 'wrong' })), 5)
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.4', clientId: 'plain-fine', username: 'u', password: 'right' })), 'connected')
    const entries = await list.list()
    assert.deepEqual(entries.map(e => [e.clientId, e.ipAddress, e.username, e.reason, e.tls]), [['plain-intruder', '127.0.0.4', 'u', 'bad user name or password', false]])
    assert.ok((entries[0]?.port ?? 0) > 0, 'the socket\'s port')
    assert.deepEqual(events, entries)
    // One 'refused' per refusal too: the attempt, the entry without its time and count.
    const { time, attempts, ...attempt } = entries[0] as UnauthorizedClient
    void time; void attempts
    assert.deepEqual(refusals, [attempt])
    assert.equal(await list.clear(), 1)
    assert.deepEqual(await list.list(), [])
  })
  for (const order of ['ipPolicy first', 'unauthorizedClients first'] as const) {
    test(`an IP-policy refusal is recorded whatever the order of use() (${order})`, async (t) => {
      let list: ReturnType<typeof unauthorizedClients> | undefined
      const plain = await startPlainBroker({}, broker => {
        if (order === 'ipPolicy first') broker.use(ipPolicy({ deny: ['127.0.0.5'] }))
        list = broker.use(unauthorizedClients())
        if (order !== 'ipPolicy first') broker.use(ipPolicy({ deny: ['127.0.0.5'] }))
      })
      t.after(() => plain.close())
      assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.5', clientId: 'denied' })), 5)
      assert.deepEqual((await list?.list())?.map(e => [e.clientId, e.reason]), [['denied', 'ip-denied']])
    })
  }
  test('a 60,000-character client id and user name: the \'refused\' attempt has them cut to 256 characters, as the list does', async (t) => {
    let list: ReturnType<typeof unauthorizedClients> | undefined
    const plain = await startPlainBroker({ authenticate: (_c, _u, _p, done) => { done(null, false) } }, broker => { list = broker.use(unauthorizedClients()) })
    t.after(() => plain.close())
    const refusals: UnauthorizedAttempt[] = []
    list?.on('refused', a => refusals.push(a))
    const long = 'x'.repeat(60_000)
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.4', clientId: long, username: `u${long}`, password: 'p' })), 5)
    assert.deepEqual(refusals.map(a => [a.clientId, a.username]), [[`${'x'.repeat(256)}…`, `u${'x'.repeat(255)}…`]])
    assert.deepEqual((await list?.list())?.map(e => [e.clientId, e.username]), refusals.map(a => [a.clientId, a.username]))
  })
  test('options in plain words', () => {
    assert.throws(() => unauthorizedClients({ maxEntrys: 5 } as never), /maxEntrys: is not an option: did you mean `maxEntries`\?/)
    assert.throws(() => unauthorizedClients({ maxAge: 0 }), /maxAge: must be at least 1 \(milliseconds\) \(got 0\)/)
  })
})

describe('a store that fails', () => {
  test('the failed login still gets its CONNACK refusal and its refused line, the failure is logged, the broker keeps serving', async (t) => {
    const lines: string[] = []
    const log = (obj: object, msg?: string): void => { lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`) }
    const store = {
      record: async () => { await Promise.resolve(); throw new Error('redis down') },
      list: () => [],
      clear: () => 0
    }
    let list: ReturnType<typeof unauthorizedClients> | undefined
    const plain = await startPlainBroker({
      authenticate: (_c, _u, password, done) => { done(null, password?.toString() === 'right') }
    }, broker => { list = broker.use(unauthorizedClients({ store, logger: { debug: log, info: log, warn: log, error: log } })) })
    t.after(() => plain.close())
    const refusals: UnauthorizedAttempt[] = []
    let stored = 0
    assert.ok(list !== undefined)
    list.on('refused', a => refusals.push(a))
    list.on('unauthorized', () => { stored++ })
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.4', clientId: 'lost', username: 'u', password: 'wrong' })), 5)
    // Not stored, so no 'unauthorized'; refused all the same, so one 'refused'.
    assert.equal(stored, 0)
    assert.deepEqual(refusals.map(a => [a.clientId, a.refusedBy, a.reason, a.ipAddress]), [['lost', 'authentication', 'bad user name or password', '127.0.0.4']])
    // The entry is lost; the refusal's line is not (it says why the client was refused).
    assert.equal(lines.length, 2, lines.join('\n'))
    assert.equal(lines[0], 'unauthorized clients: recording a failed login: the store failed {"event":"store-failed","operation":"unauthorized clients: recording a failed login","reason":"redis down"}')
    assert.match(lines[1] ?? '', /^authentication failed \{"event":"refused","refusedBy":"authentication",.*"ipAddress":"127\.0\.0\.4","port":\d+,.*"reason":"bad user name or password"\}$/)
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.4', username: 'u', password: 'right' })), 'connected')
  })
  test('an authenticate that throws: the client is refused, the exception goes on to uncaughtException', async (t) => {
    const plain = await startPlainBroker({
      authenticate: () => { throw new Error('authenticate bug') }
    }, broker => { broker.use(unauthorizedClients()) })
    t.after(() => plain.close())
    const saved = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    const errors: unknown[] = []
    process.on('uncaughtException', err => { errors.push(err) })
    try {
      assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.4' })), 5)
      await new Promise(resolve => setImmediate(resolve))
    } finally {
      process.removeAllListeners('uncaughtException')
      for (const l of saved) process.on('uncaughtException', l)
    }
    assert.match(String(errors[0]), /authenticate bug/)
  })
})

test('a logger must have all four methods: the store-failure line goes to error', () => {
  assert.throws(() => unauthorizedClients({ logger: { warn: () => {} } as never }), /logger: must be a pino-compatible logger with debug, info, warn and error methods/)
})

test('refused logins are logged once a minute per kind and listener, then with how many more; every one is still recorded and emitted', async (t) => {
  const lines: Array<{ record: Record<string, unknown>, msg: string }> = []
  const log = (record: object, msg?: string): void => { lines.push({ record: record as Record<string, unknown>, msg: msg ?? '' }) }
  let now = 0
  const list = new UnauthorizedClients({ logger: { debug: log, info: log, warn: log, error: log } }, () => now)
  const plain = await startPlainBroker({ authenticate: (_c, _u, _p, done) => { done(null, false) } }, broker => { broker.use(list) })
  t.after(() => plain.close())
  const events: UnauthorizedClient[] = []
  let refusals = 0
  list.on('unauthorized', e => events.push(e))
  list.on('refused', () => { refusals++ })
  for (let i = 0; i < 5; i++) await outcome(connectClient({ listener: 'tcp', port: plain.port, clientId: `flood-${i}`, username: 'u', password: 'p' }))
  assert.equal(events.length, 5)
  assert.equal(refusals, 5, 'every refusal, logged or held back')
  assert.deepEqual(lines.map(l => [l.record.clientId, l.record.repeated, l.msg]), [['flood-0', undefined, 'authentication failed']])
  now = 60_000
  await outcome(connectClient({ listener: 'tcp', port: plain.port, clientId: 'flood-5', username: 'u', password: 'p' }))
  assert.deepEqual(lines.map(l => [l.record.clientId, l.record.repeated, l.msg]), [
    ['flood-0', undefined, 'authentication failed'],
    ['flood-5', 4, 'authentication failed (4 more like it in the last minute not logged)']
  ])
  assert.equal((await list.list()).length, 6)
})
