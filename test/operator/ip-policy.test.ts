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

describe('rates whose period is no whole number of milliseconds', () => {
  test('the whole burst gets in, and the next attempt is refused (sums of 1000/3 ms do not drift past the burst)', () => {
    for (const [perSecond, burst] of [[3, 3], [0.3, 7], [7, 49], [1 / 3, 10]] as const) {
      let now = 1_000_000
      const p = new IpPolicy({ rateLimit: { perSecond, burst } }, () => now)
      const got = Array.from({ length: burst + 1 }, () => p.check('10.0.0.1'))
      assert.deepEqual(got, [...Array<undefined>(burst).fill(undefined), 'rate-limited'], `${perSecond}/s, burst ${burst}`)
      now += 1000 / perSecond
      assert.deepEqual([p.check('10.0.0.1'), p.check('10.0.0.1')], [undefined, 'rate-limited'], `${perSecond}/s: one period, one token`)
    }
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

describe('one budget per network, not per address (issue 22)', () => {
  // One host with a /64, what an ISP gives one customer, has 2^64 addresses:
  // a budget per address never limits it.
  const oneSlash64 = Array.from({ length: 100 }, (_, i) => `2001:db8:1:2::${(i + 1).toString(16)}`)
  const admitted = (p: IpPolicy, addresses: readonly string[]): number => addresses.filter(a => p.check(a) === undefined).length
  test('100 addresses of one /64 get the budget of one address', () => {
    const p = new IpPolicy({ rateLimit: { perSecond: 0.001, burst: 1 } }, () => 0)
    assert.equal(admitted(p, oneSlash64), 1)
    assert.equal(p.check('2001:db8:1:3::1'), undefined, 'the next /64 has a budget of its own')
    assert.equal(p.check('2001:DB8:1:3:ffff:ffff:ffff:ffff'), 'rate-limited', 'however the address is written')
  })
  test('ipv6Prefix and ipv4Prefix set the network a budget is for', () => {
    const perAddress = new IpPolicy({ rateLimit: { perSecond: 0.001, burst: 1, ipv6Prefix: 128 } }, () => 0)
    assert.equal(admitted(perAddress, oneSlash64), 100)
    const per48 = new IpPolicy({ rateLimit: { perSecond: 0.001, burst: 1, ipv6Prefix: 48 } }, () => 0)
    assert.equal(admitted(per48, ['2001:db8:1:2::1', '2001:db8:1:ffff::1', '2001:db8:2::1']), 2)
    const per24 = new IpPolicy({ rateLimit: { perSecond: 0.001, burst: 1, ipv4Prefix: 24 } }, () => 0)
    assert.equal(admitted(per24, ['10.1.2.3', '10.1.2.200', '::ffff:10.1.2.9', '10.1.3.3']), 2)
  })
  test('IPv4 stays per address by default, and its IPv4-mapped form is the same bucket', () => {
    const p = new IpPolicy({ rateLimit: { perSecond: 0.001, burst: 1 } }, () => 0)
    assert.equal(admitted(p, ['127.0.0.5', '::ffff:127.0.0.5', '::FFFF:127.0.0.5', '127.0.0.6', '127.0.0.7']), 3)
  })
  test('the store is asked for the network: the same key for every store, a shared one too', () => {
    const keys: string[] = []
    const p = new IpPolicy({ rateLimit: { perSecond: 1 }, store: { consume: key => { keys.push(key); return true } } })
    for (const a of ['2001:db8:1:2:3:4:5:6', '::ffff:10.1.2.3', '10.1.2.3', 'not an address']) void p.check(a)
    assert.deepEqual(keys, ['2001:db8:1:2::/64', '10.1.2.3', '10.1.2.3', 'not an address'])
    const wider = new IpPolicy({ rateLimit: { perSecond: 1, ipv4Prefix: 16, ipv6Prefix: 56 }, store: { consume: key => { keys.push(key); return true } } })
    for (const a of ['2001:db8:1:2ff:3:4:5:6', '::ffff:10.1.2.3']) void wider.check(a)
    assert.deepEqual(keys.slice(4), ['2001:db8:1:200::/56', '10.1.0.0/16'])
    const unaligned = new IpPolicy({ rateLimit: { perSecond: 1, ipv4Prefix: 20, ipv6Prefix: 60 }, store: { consume: key => { keys.push(key); return true } } })
    for (const a of ['2001:db8:1:2ff:3:4:5:6', '10.1.255.3']) void unaligned.check(a)
    assert.deepEqual(keys.slice(6), ['2001:db8:1:2f0::/60', '10.1.240.0/20'], 'a prefix within a byte')
  })
  test('prefix lengths out of range are coded option errors', () => {
    assert.throws(() => new IpPolicy({ rateLimit: { perSecond: 1, ipv6Prefix: 8 } }), /rateLimit\.ipv6Prefix: must be a whole number from 32 to 128 \(got 8\)/)
    assert.throws(() => new IpPolicy({ rateLimit: { perSecond: 1, ipv4Prefix: 33 } }), /rateLimit\.ipv4Prefix: must be a whole number from 16 to 32 \(got 33\)/)
    assert.throws(() => new IpPolicy({ rateLimit: { perSecond: 1, ipv4Prefix: 24.5 } }), /rateLimit\.ipv4Prefix/)
  })
})

describe('bounds under hostile input (issues 9 and 22)', () => {
  test('at its bound, a flooded address keeps its spent budget: only a bucket that is full again is dropped', () => {
    let now = 0
    const p = new IpPolicy({ rateLimit: { perSecond: 1, burst: 2 } }, () => now, 3)
    assert.deepEqual([p.check('10.0.0.1'), p.check('10.0.0.1'), p.check('10.0.0.1')], [undefined, undefined, 'rate-limited'])
    // Fresh addresses push the flooded one out of a least-recently-used table.
    for (let i = 2; i < 10; i++) void p.check(`10.0.0.${i}`)
    assert.equal(p.check('10.0.0.1'), 'rate-limited', 'the flooded address is still limited')
    now += 1000
    assert.equal(p.check('10.0.0.1'), undefined, 'one token after a second at 1/s')
    assert.equal(p.check('10.0.0.1'), 'rate-limited')
  })
  test('memory at the bound: MAX_BUCKETS of the longest keys (43 characters) fit in 12.5 MB', async () => {
    const { settledMemory } = await import('../helpers/memory.js')
    const { MAX_BUCKETS } = await import('../../src/operator/rate-limit.js')
    // A /124 of eight four-digit groups: `ffff:...:fff0/124`, the longest key.
    const address = (i: number): string => `aaaa:bbbb:cccc:dddd:eeee:ffff:${(0x8000 + (i >> 12)).toString(16)}:${(0x8000 + ((i & 0xfff) << 4)).toString(16)}`
    const before = await settledMemory()
    const p = new IpPolicy({ rateLimit: { perSecond: 0.1, burst: 2, ipv6Prefix: 124 } })
    for (let i = 0; i < MAX_BUCKETS; i++) void p.check(address(i))
    const perEntry = (await settledMemory() - before) / MAX_BUCKETS
    assert.equal(p.check(address(0)), undefined, 'the table is in use (and kept alive) here')
    assert.ok(perEntry < 125, `${perEntry.toFixed(1)} bytes an entry`)
  })
  test('at its bound with no bucket full again, new addresses share one overflow budget', () => {
    let now = 0
    const p = new IpPolicy({ rateLimit: { perSecond: 1, burst: 2 } }, () => now, 3)
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) assert.equal(p.check(a), undefined)
    assert.deepEqual(['10.0.0.4', '10.0.0.5', '10.0.0.6'].map(a => p.check(a)), [undefined, undefined, 'rate-limited'])
    now += 2000 // every bucket is full again: dropping one gives nothing away
    assert.deepEqual([p.check('10.0.0.7'), p.check('10.0.0.7'), p.check('10.0.0.7')], [undefined, undefined, 'rate-limited'])
  })
})

describe('the bound under a table-holding flood (review of issue 22)', () => {
  test('a bucket full again behind one that is not is still found: the new key gets a bucket of its own', () => {
    let now = 0
    const p = new IpPolicy({ rateLimit: { perSecond: 1, burst: 2 } }, () => now, 3)
    assert.deepEqual([p.check('10.0.1.1'), p.check('10.0.1.1')], [undefined, undefined]) // the oldest: full again at 2000
    now = 500
    assert.equal(p.check('10.0.2.1'), undefined) // full again at 1500
    now = 600
    assert.equal(p.check('10.0.3.1'), undefined) // full again at 1600
    now = 1700 // the oldest is not full yet; the next one is
    // The newcomer takes the full bucket's place: a budget of its own (burst 2), not the shared overflow.
    assert.deepEqual([p.check('10.9.9.9'), p.check('10.9.9.9'), p.check('10.9.9.9')], [undefined, undefined, 'rate-limited'])
    assert.deepEqual([p.check('10.8.8.8'), p.check('10.8.8.8')], [undefined, undefined])
  })
  test('an attacker who keeps every bucket busy and spends the overflow from his networks does not lock out others', () => {
    let now = 0
    const p = new IpPolicy({ rateLimit: { perSecond: 1 / 60, burst: 10 } }, () => now, 50)
    const held = Array.from({ length: 50 }, (_, i) => `2001:db8:${i.toString(16)}::1`)
    for (let round = 0; round < 5; round++) {
      for (const a of held) void p.check(a) // each held bucket is not full for a minute
      // New networks of the attacker's own /48 spend whatever overflow they reach.
      for (let i = 0; i < 100; i++) void p.check(`2001:db8:0:${(0x100 + i).toString(16)}::1`)
      const others = ['2001:db8:ffff:1::1', '192.0.2.1', '198.51.100.7'].map(a => p.check(a))
      assert.deepEqual(others, [undefined, undefined, undefined], `round ${round}: a client from another network gets in`)
      now += 60_000
    }
  })
  test('a zone id does not make a link-local address its own network', () => {
    const p = new IpPolicy({ rateLimit: { perSecond: 0.001, burst: 1 } })
    const outcomes = Array.from({ length: 20 }, (_, i) => p.check(`fe80::${(i + 1).toString(16)}%eth0`))
    assert.equal(outcomes.filter(o => o === undefined).length, 1)
  })
  test('the rate is exact at the top of its range, whatever the clock reads', () => {
    for (const start of [0, 864e6]) { // a clock at 0, and ten days on
      let now = start
      const p = new IpPolicy({ rateLimit: { perSecond: 1_000_000, burst: 1 } }, () => now)
      assert.deepEqual([p.check('10.0.0.1'), p.check('10.0.0.1')], [undefined, 'rate-limited'], `burst 1 at ${start}`)
      now += 0.001
      assert.deepEqual([p.check('10.0.0.1'), p.check('10.0.0.1')], [undefined, 'rate-limited'], `one period later at ${start}`)
    }
  })
  test('the default clock does not step: a budget is not spent for the length of a wall-clock step back', async (t) => {
    const { MemoryRateLimitStore } = await import('../../src/operator/rate-limit.js')
    const realNow = Date.now
    let step = 0
    Date.now = () => realNow() - step
    t.after(() => { Date.now = realNow })
    const store = new MemoryRateLimitStore()
    const limit = { perSecond: 1000, burst: 1 }
    assert.equal(store.consume('k', limit), true)
    step = 3_600_000 // the wall clock stepped back an hour (NTP, a VM restored)
    await new Promise(resolve => setTimeout(resolve, 5))
    assert.equal(store.consume('k', limit), true, 'a millisecond period later, the budget is back')
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
