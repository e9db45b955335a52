// A PROXY INET header carrying TLVs, parsed back to its TLV set: shared by
// the tests of src/protocol/tlv.ts and src/protocol/tlvparse/.
import assert from 'node:assert/strict'
import { parseHeader } from '../../src/protocol/parse.js'
import type { TlvSet } from '../../src/protocol/tlv.js'
import { encodeV2, type Tlv } from './encode.js'
import { MQTT_CONNECT } from './fixtures.js'

export const SRC = { address: '192.0.2.1', port: 51234 }
export const DST = { address: '198.51.100.2', port: 1883 }

/** A PROXY INET header carrying `tlvs`. */
export const withTlvs = (tlvs: readonly Tlv[], options: { crc32c?: boolean, noopPadding?: number } = {}): Buffer =>
  encodeV2({ source: SRC, destination: DST, tlvs, ...options })
export const raw = (type: number, value: Uint8Array | string): Tlv => ({ type, value })
export const bytes = (...b: number[]): Buffer => Buffer.from(b)
export const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1')

/** Parses `header` + MQTT CONNECT; checks `length` and the payload; returns the TLVs. */
export function parseTlvs (header: Buffer): TlvSet {
  const input = Buffer.concat([header, MQTT_CONNECT])
  const result = parseHeader(input)
  if (result.status !== 'complete') return assert.fail(`expected complete, got ${result.status}`)
  assert.equal(result.length, header.length)
  assert.deepEqual(input.subarray(result.length), MQTT_CONNECT)
  return result.header.tlvs
}
