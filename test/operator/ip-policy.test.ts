import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { IpPolicy } from '../../src/operator/ip-policy.js'

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

describe('one bucket per client, however its address is written', () => {
  test('the IPv4-mapped form from a dual-stack listener and upper-case IPv6 share the plain form\'s bucket', () => {
    const p = new IpPolicy({ rateLimit: { perSecond: 1, burst: 2 } }, () => 0)
    assert.deepEqual([p.check('127.0.0.52'), p.check('127.0.0.52'), p.check('::ffff:127.0.0.52'), p.check('::FFFF:127.0.0.52')], [undefined, undefined, 'rate-limited', 'rate-limited'])
    assert.deepEqual([p.check('2001:DB8:0::1'), p.check('2001:db8::1'), p.check('2001:db8:0:0:0:0:0:1')], [undefined, undefined, 'rate-limited'])
    assert.equal(p.check('127.0.0.53'), undefined, 'another client has its own bucket')
  })
})

describe('bounds under hostile input (issue 9)', () => {
  test('IpPolicy: at its address bound, a new address evicts the least recently used one only', () => {
    const p = new IpPolicy({ rateLimit: { perSecond: 1, burst: 1 } }, () => 0, 3)
    for (const a of ['a', 'b', 'c']) assert.equal(p.check(a), undefined)
    assert.equal(p.check('a'), 'rate-limited', 'a is remembered, and now the most recently used')
    assert.equal(p.check('d'), undefined) // evicts b, the least recently used
    assert.equal(p.check('c'), 'rate-limited', 'c is still remembered')
    assert.equal(p.check('a'), 'rate-limited', 'a is still remembered')
    assert.equal(p.check('b'), undefined, 'b was forgotten: a full bucket again')
  })
})

describe('installed alone on a plain aedes broker', () => {
  test('no PROXY plugin: the socket address is checked, a denied client gets CONNACK 5, others connect', async (t) => {
    const { startPlainBroker, outcome } = await import('../helpers/plain-broker.js')
    const { connectClient } = await import('../helpers/client.js')
    const { ipPolicy } = await import('../../src/operator/ip-policy.js')
    const plain = await startPlainBroker({}, broker => { broker.use(ipPolicy({ deny: ['127.0.0.2'] })) })
    t.after(() => plain.close())
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.2' })), 5)
    assert.equal(await outcome(connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.3' })), 'connected')
  })
  test('a second IP policy on one broker is a coded usage error', async (t) => {
    const { startPlainBroker } = await import('../helpers/plain-broker.js')
    const { ipPolicy } = await import('../../src/operator/ip-policy.js')
    const plain = await startPlainBroker({}, broker => { broker.use(ipPolicy({})) })
    t.after(() => plain.close())
    assert.throws(() => plain.broker.use(ipPolicy({})), (err: unknown) => err instanceof TypeError && (err as { code?: string }).code === 'PROXY_ERR_USAGE')
  })
  test('options in plain words: a bad rate names its path and echoes the value', () => {
    assert.throws(() => new IpPolicy({ rateLimit: { perSecond: -1 } }), /rateLimit\.perSecond: must be at least 0.000001 \(attempts per second\) \(got -1\)/)
    assert.throws(() => new IpPolicy({ denyList: ['10.0.0.1'] } as never), /denyList: is not an option: did you mean `deny`\?/)
  })
})
