import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveOptions } from '../src/options.js'
import { addressMatcher, MATCH_ANY, PEERLESS, verdictFor } from '../src/trust.js'

const rows = [
  { proxyEnabled: true, hints: true, trusted: true, verdict: { verb: 'REQUIRE' } },
  { proxyEnabled: true, hints: true, trusted: false, verdict: { verb: 'REFUSE' } },
  { proxyEnabled: 'optional', hints: true, trusted: true, verdict: { verb: 'USE' } },
  { proxyEnabled: 'optional', hints: true, trusted: false, verdict: { verb: 'REJECT', code: 'PROXY_ERR_UNTRUSTED' } },
  { proxyEnabled: false, hints: true, trusted: true, verdict: { verb: 'REJECT', code: 'PROXY_ERR_UNEXPECTED_HEADER' } },
  {
    proxyEnabled: false, hints: true, trusted: false, verdict: { verb: 'REJECT', code: 'PROXY_ERR_UNEXPECTED_HEADER' }
  },
  { proxyEnabled: false, hints: false, trusted: true, verdict: { verb: 'IGNORE' } },
  { proxyEnabled: false, hints: false, trusted: false, verdict: { verb: 'IGNORE' } }
] as const

for (const row of rows) {
  const peer = row.trusted ? 'trusted' : 'untrusted'
  const { proxyEnabled, hints } = row
  test(`proxyEnabled ${String(proxyEnabled)}, hints ${String(hints)}, ${peer} peer: ${row.verdict.verb}`, () => {
    const options = { proxyEnabled: row.proxyEnabled, hints: row.hints, trustedProxies: ['127.0.0.9'] }
    const settings = resolveOptions(options).tcp
    assert.deepEqual(verdictFor(settings, row.trusted), row.verdict)
  })
}

test('a peer whose address is gone is read as on a listener that requires a header', () => {
  assert.deepEqual(PEERLESS, { verb: 'REQUIRE' })
})

// ------------------------------------------------------------------ the address matcher

const matcherRows = [
  { list: ['10.0.0.0/8'], peer: '10.1.2.3', trusted: true },
  { list: ['10.0.0.0/8'], peer: '::ffff:10.1.2.3', trusted: true },
  { list: ['10.0.0.0/8'], peer: '::FFFF:10.1.2.3', trusted: true },
  { list: ['10.0.0.0/8'], peer: '11.0.0.1', trusted: false },
  { list: ['10.0.0.0/8'], peer: '::ffff:11.0.0.1', trusted: false },
  { list: ['192.0.2.1'], peer: '192.0.2.1', trusted: true },
  { list: ['192.0.2.1'], peer: '192.0.2.2', trusted: false },
  { list: ['fd00::/8'], peer: 'fd12::1', trusted: true },
  { list: ['fd00::/8'], peer: 'fe80::1', trusted: false },
  { list: ['::1'], peer: '::1', trusted: true },
  { list: ['::1'], peer: '127.0.0.1', trusted: false },
  { list: ['::ffff:10.0.0.0/104'], peer: '10.9.9.9', trusted: true },
  // An IPv6 range holding the mapped block holds IPv4 peers too (README, "Who may send a header").
  { list: ['::/0'], peer: '127.0.0.1', trusted: true },
  { list: ['0.0.0.0/0'], peer: '::1', trusted: false },
  { list: ['10.0.0.0/8'], peer: '', trusted: false },
  { list: ['10.0.0.0/8'], peer: 'not-an-address', trusted: false }
]
for (const row of matcherRows) {
  const peer = row.peer || '(no address)'
  test(`trustedProxies ${JSON.stringify(row.list)}: ${peer} is ${row.trusted ? '' : 'not '}trusted`, () => {
    assert.equal(addressMatcher(row.list)(row.peer), row.trusted)
  })
}
test('no list: every peer may send a header', () => {
  assert.equal(MATCH_ANY('203.0.113.9'), true)
})
