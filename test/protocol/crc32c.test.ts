// The CRC32C (Castagnoli) function the v2 CRC32C TLV is checked with (spec
// 2.2.3); the TLV's own rules are in tlv.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { crc32c } from '../../src/protocol/crc32c.js'

// Castagnoli check values: "123456789" (RFC 3385 / the CRC catalogue) and RFC 3720 B.4.
const crcVectors: ReadonlyArray<{ name: string, input: Buffer, crc: number }> = [
  { name: '"123456789"', input: Buffer.from('123456789', 'latin1'), crc: 0xe3069283 },
  { name: '32 bytes of 0x00', input: Buffer.alloc(32, 0x00), crc: 0x8a9136aa },
  { name: '32 bytes of 0xFF', input: Buffer.alloc(32, 0xff), crc: 0x62a8ab43 },
  {
    name: '32 ascending bytes 0x00..0x1F', input: Buffer.from(Array.from({ length: 32 }, (_, i) => i)), crc: 0x46dd794e
  },
  {
    name: '32 descending bytes 0x1F..0x00',
    input: Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)),
    crc: 0x113fdb5c
  }
]

for (const row of crcVectors) {
  test(`CRC32C function: check value of ${row.name}`, () => {
    assert.equal(crc32c(row.input), row.crc, 'default arguments')
    assert.equal(crc32c(row.input, 0, row.input.length, row.input.length), row.crc, 'zeroFrom past the end')
  })
}

test('CRC32C function: zeroFrom treats exactly 4 bytes as zero, start/end bound the range', () => {
  const data = Buffer.from('0123456789abcdef', 'latin1')
  const zeroed = Buffer.from(data)
  zeroed.fill(0, 6, 10)
  assert.equal(crc32c(data, 0, data.length, 6), crc32c(zeroed, 0, zeroed.length, zeroed.length))
  assert.equal(crc32c(data, 2, 9, 100), crc32c(data.subarray(2, 9), 0, 7, 100))
})
