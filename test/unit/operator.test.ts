import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { IpPolicy, UnauthorizedClients } from '../../src/index.js'

describe('IpPolicy', () => {
  test('deny is checked before allow; allow lists who may connect', () => {
    const p = new IpPolicy({ allow: ['10.0.0.0/8'], deny: ['10.0.0.66'] })
    assert.equal(p.check('10.1.2.3'), undefined)
    assert.equal(p.check('::ffff:10.1.2.3'), undefined)
    assert.equal(p.check('10.0.0.66'), 'ip-denied')
    assert.equal(p.check('192.0.2.1'), 'ip-not-allowed')
  })
  test('token bucket per address: burst, then the rate; other addresses unaffected', () => {
    let now = 1_000_000
    const p = new IpPolicy({ rateLimit: { perSecond: 2, burst: 3 } }, () => now)
    assert.deepEqual([p.check('a'), p.check('a'), p.check('a'), p.check('a')], [undefined, undefined, undefined, 'rate-limited'])
    assert.equal(p.check('b'), undefined)
    now += 499
    assert.equal(p.check('a'), 'rate-limited')
    now += 1
    assert.equal(p.check('a'), undefined, 'one token after 500 ms at 2/s')
    now += 10_000
    assert.deepEqual([p.check('a'), p.check('a'), p.check('a'), p.check('a')], [undefined, undefined, undefined, 'rate-limited'], 'refills only up to the burst')
  })
})

describe('UnauthorizedClients', () => {
  const attempt = (clientId: string, reason = 'bad user name or password') => ({
    clientId, ipAddress: '203.0.113.7', port: 5000, listener: 'tcp' as const, username: 'u', passwordProvided: true, tls: false as const, reason
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
