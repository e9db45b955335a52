import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_FIELD_LENGTH, MemoryUnauthorizedStore as UnauthorizedClients } from '../../src/operator/unauthorized-store.js'
import { settledMemory } from '../helpers/memory.js'

describe('UnauthorizedClients', () => {
  const attempt = (clientId: string, reason = 'bad user name or password') => ({
    clientId, ipAddress: '203.0.113.7', port: 5000, listener: 'tcp' as const, refusedBy: 'authentication' as const, username: 'u', passwordProvided: true, tls: false as const, reason
  })
  test('one entry per client id, counting attempts, newest first', () => {
    let now = 0
    const list = new UnauthorizedClients({}, () => now)
    list.record(attempt('a'))
    now = 10
    list.record(attempt('b'))
    now = 20
    const again = list.record(attempt('a', 'ip-denied'))
    assert.equal(again.attempts, 2)
    assert.equal(again.reason, 'ip-denied')
    assert.deepEqual(list.list().map(e => [e.clientId, e.time]), [['a', 20], ['b', 10]])
  })
  test('bounded in size: the oldest goes first', () => {
    const list = new UnauthorizedClients({ maxEntries: 2 })
    for (const id of ['a', 'b', 'c']) list.record(attempt(id))
    assert.deepEqual(list.list().map(e => e.clientId), ['c', 'b'])
  })
  test('bounded in age', () => {
    let now = 0
    const list = new UnauthorizedClients({ maxAge: 1000 }, () => now)
    list.record(attempt('a'))
    now = 500
    list.record(attempt('b'))
    now = 1200
    assert.deepEqual(list.list().map(e => e.clientId), ['b'])
    now = 1600
    assert.deepEqual(list.list(), [])
  })
  test('clear one or all', () => {
    const list = new UnauthorizedClients()
    list.record(attempt('a'))
    list.record(attempt('b'))
    assert.equal(list.clear('a'), 1)
    assert.equal(list.clear('zzz'), 0)
    assert.equal(list.clear(), 1)
    assert.deepEqual(list.list(), [])
  })
})

describe('bounds under hostile input (issue 9)', () => {
  test('UnauthorizedClients: 1,100 failed logins with 60,000-character ids and user names hold about 2 KiB each', async () => {
    const list = new UnauthorizedClients()
    const before = await settledMemory()
    for (let i = 0; i < 1100; i++) {
      const long = `${String(i).padStart(5, '0')}${'x'.repeat(60_000)}`
      list.record({ clientId: long, ipAddress: '203.0.113.7', port: 5000, listener: 'tcp', refusedBy: 'authentication', username: `u${long}`, passwordProvided: true, tls: false, reason: `r${long}` })
    }
    const held = (await settledMemory()) - before
    const entries = list.list()
    assert.equal(entries.length, 1000)
    assert.equal(entries[0]?.clientId.length, MAX_FIELD_LENGTH + 1)
    assert.ok(entries[0]?.clientId.endsWith('…'))
    assert.equal(entries[0]?.username?.length, MAX_FIELD_LENGTH + 1)
    // an id stored cut is still found by the id as sent
    const long = `00000${'x'.repeat(60_000)}`
    list.record({ clientId: long, ipAddress: '203.0.113.7', port: 5000, listener: 'tcp', refusedBy: 'authentication', username: undefined, passwordProvided: false, tls: false, reason: 'r' })
    assert.equal(list.clear(long), 1)
    // before the bound: 122 MiB
    assert.ok(held < 2.5 * 1024 * 1024, `the list holds ${held} bytes`)
  })
})
