import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveOptions } from '../src/options.js'
import { PEERLESS, verdictFor } from '../src/trust.js'

const rows = [
  { proxyEnabled: true, hints: true, trusted: true, verdict: { verb: 'REQUIRE' } },
  { proxyEnabled: true, hints: true, trusted: false, verdict: { verb: 'REFUSE' } },
  { proxyEnabled: 'optional', hints: true, trusted: true, verdict: { verb: 'USE' } },
  { proxyEnabled: 'optional', hints: true, trusted: false, verdict: { verb: 'REJECT', code: 'PROXY_ERR_UNTRUSTED' } },
  { proxyEnabled: false, hints: true, trusted: true, verdict: { verb: 'REJECT', code: 'PROXY_ERR_UNEXPECTED_HEADER' } },
  { proxyEnabled: false, hints: true, trusted: false, verdict: { verb: 'REJECT', code: 'PROXY_ERR_UNEXPECTED_HEADER' } },
  { proxyEnabled: false, hints: false, trusted: true, verdict: { verb: 'IGNORE' } },
  { proxyEnabled: false, hints: false, trusted: false, verdict: { verb: 'IGNORE' } }
] as const

for (const row of rows) {
  test(`proxyEnabled ${String(row.proxyEnabled)}, hints ${String(row.hints)}, ${row.trusted ? 'trusted' : 'untrusted'} peer: ${row.verdict.verb}`, () => {
    const settings = resolveOptions({ proxyEnabled: row.proxyEnabled, hints: row.hints, trustedProxies: ['127.0.0.9'] }).tcp
    assert.deepEqual(verdictFor(settings, row.trusted), row.verdict)
  })
}

test('a peer whose address is gone is read as on a listener that requires a header', () => {
  assert.deepEqual(PEERLESS, { verb: 'REQUIRE' })
})
