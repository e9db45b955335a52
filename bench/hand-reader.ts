// The practical limit for a PROXY header reader in JavaScript: extracts the
// fixed fields (version, addresses, ports, header length) and nothing else.
// It validates nothing beyond what it needs to find those fields, does not
// decode TLVs (it only skips them with the v2 length), and prints IPv6
// addresses without RFC 5952 compression. Not for production: a yardstick.

export interface FixedFields {
  readonly version: 1 | 2
  readonly sourceAddress: string
  readonly sourcePort: number
  readonly destinationAddress: string
  readonly destinationPort: number
  /** Header length: where the MQTT bytes start. */
  readonly length: number
}

const CR = 0x0d
const V1_MAX = 107

/** Reads a complete v1 or v2 header at the start of `buf`, or returns undefined. */
export function readFixed (buf: Buffer): FixedFields | undefined {
  if (buf.length >= 16 && buf[0] === CR && buf[1] === 0x0a && buf[11] === 0x0a) return readV2(buf)
  if (buf[0] === 0x50) return readV1(buf)
  return undefined
}

function readV1 (buf: Buffer): FixedFields | undefined {
  const end = Math.min(buf.length, V1_MAX)
  let cr = -1
  for (let i = 6; i < end; i++) {
    if (buf[i] === CR) { cr = i; break }
  }
  if (cr < 0) return undefined
  const parts = buf.toString('latin1', 6, cr).split(' ')
  return {
    version: 1,
    sourceAddress: parts[1] ?? '',
    destinationAddress: parts[2] ?? '',
    sourcePort: Number(parts[3]),
    destinationPort: Number(parts[4]),
    length: cr + 2
  }
}

function readV2 (buf: Buffer): FixedFields | undefined {
  const length = 16 + buf.readUInt16BE(14)
  if (buf.length < length) return undefined
  const family = buf[13] as number >> 4
  if (family === 1) {
    return {
      version: 2,
      sourceAddress: `${buf[16] as number}.${buf[17] as number}.${buf[18] as number}.${buf[19] as number}`,
      destinationAddress: `${buf[20] as number}.${buf[21] as number}.${buf[22] as number}.${buf[23] as number}`,
      sourcePort: buf.readUInt16BE(24),
      destinationPort: buf.readUInt16BE(26),
      length
    }
  }
  if (family === 2) {
    return {
      version: 2,
      sourceAddress: ipv6(buf, 16),
      destinationAddress: ipv6(buf, 32),
      sourcePort: buf.readUInt16BE(48),
      destinationPort: buf.readUInt16BE(50),
      length
    }
  }
  return undefined
}

function ipv6 (buf: Buffer, at: number): string {
  let text = buf.readUInt16BE(at).toString(16)
  for (let i = 2; i < 16; i += 2) text += ':' + buf.readUInt16BE(at + i).toString(16)
  return text
}
