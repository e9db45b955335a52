/**
 * CRC32C (Castagnoli, RFC 4960 appendix B), the checksum of the
 * PP2_TYPE_CRC32C TLV (spec 2.2.3). Table-driven, reflected polynomial
 * 0x82F63B78. Headers are at most a few KiB, so one table is enough.
 */
const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/**
 * CRC32C of `bytes[start, end)`, treating `bytes[zeroFrom, zeroFrom + 4)` as
 * zero (spec 2.2.3: the receiver zeroes the checksum field before computing).
 * Leave `zeroFrom` out (or pass a negative value) to zero nothing.
 */
export function crc32c (bytes: Uint8Array, start = 0, end = bytes.length, zeroFrom = -1): number {
  if (zeroFrom < start || zeroFrom >= end) return (update(0xffffffff, bytes, start, end) ^ 0xffffffff) >>> 0
  let crc = update(0xffffffff, bytes, start, zeroFrom)
  for (let i = zeroFrom; i < zeroFrom + 4 && i < end; i++) crc = (TABLE[crc & 0xff] as number) ^ (crc >>> 8)
  crc = update(crc, bytes, Math.min(zeroFrom + 4, end), end)
  return (crc ^ 0xffffffff) >>> 0
}

function update (crc: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) crc = (TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8)
  return crc
}
