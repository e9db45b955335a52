// The CI-sized run of scripts/fuzz.ts (`npm run fuzz` runs a million).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fuzz } from '../../../scripts/fuzz.js'

test('50,000 fuzzed inputs: only results or coded errors, no slow parse', () => {
  const report = fuzz(50_000, 20261127)
  assert.deepEqual(report.failures, [])
  assert.equal(report.outcomes.UNCODED, undefined)
  // the run reached every kind of outcome, so it exercised the parser
  const outcomes = ['complete', 'incomplete', 'absent', 'PROXY_ERR_V2_VERSION', 'PROXY_ERR_V1_SYNTAX', 'PROXY_ERR_TLV',
    'PROXY_ERR_CRC32C']
  for (const outcome of outcomes) {
    assert.ok((report.outcomes[outcome] ?? 0) > 0, `no ${outcome} outcome in ${JSON.stringify(report.outcomes)}`)
  }
})
