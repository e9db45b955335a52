/**
 * PROXY header encoder for the tests, the fuzzer and the benchmarks, never
 * shipped (spec: haproxy doc/proxy-protocol.txt 2.1, 2.2). It builds correct
 * headers so tests can state what they send; tests that need a broken header
 * build a correct one and then patch bytes.
 *
 * Addresses are turned into bytes here, not with src/protocol/address.ts,
 * so a round-trip test does not check the parser against itself.
 */
import { crc32c } from '../src/protocol/crc32c.js'

/** Spec 2.2: the 12-byte v2 signature. */
export const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])

export const TLV = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  SSL_VERSION: 0x21,
  SSL_CN: 0x22,
  SSL_CIPHER: 0x23,
  SSL_SIG_ALG: 0x24,
  SSL_KEY_ALG: 0x25,
  SSL_GROUP: 0x26,
  SSL_SIG_SCHEME: 0x27,
  SSL_CLIENT_CERT: 0x28,
  NETNS: 0x30,
  GCP: 0xe0,
  AWS: 0xea,
  AZURE: 0xee
} as const

export interface EncodeEndpoint {
  readonly address: string
  readonly port: number
}

/** A TLV; a string value is written as UTF-8. */
export interface Tlv {
  readonly type: number
  readonly value: Uint8Array | string
}

// ---------------------------------------------------------------- v1

export type EncodeV1Options =
  | { readonly family: 'TCP4' | 'TCP6', readonly source: EncodeEndpoint, readonly destination: EncodeEndpoint }
  /** `rest` is the optional text after `UNKNOWN` (spec 2.1 long form), without the leading space. */
  | { readonly family: 'UNKNOWN', readonly rest?: string }

/** A v1 line, CRLF included: `PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n`. */
export function encodeV1 (options: EncodeV1Options): Buffer {
  if (options.family === 'UNKNOWN') {
    const rest = options.rest === undefined ? '' : ` ${options.rest}`
    return Buffer.from(`PROXY UNKNOWN${rest}\r\n`, 'latin1')
  }
  const { family, source: s, destination: d } = options
  return Buffer.from(`PROXY ${family} ${s.address} ${d.address} ${s.port} ${d.port}\r\n`, 'latin1')
}

// ---------------------------------------------------------------- v2

export type V2Command = 'LOCAL' | 'PROXY'
export type V2Family = 'UNSPEC' | 'INET' | 'INET6' | 'UNIX'
export type V2Transport = 'UNSPEC' | 'STREAM' | 'DGRAM'

const COMMAND_NIBBLE: Record<V2Command, number> = { LOCAL: 0x0, PROXY: 0x1 }
const FAMILY_NIBBLE: Record<V2Family, number> = { UNSPEC: 0x0, INET: 0x1, INET6: 0x2, UNIX: 0x3 }
const TRANSPORT_NIBBLE: Record<V2Transport, number> = { UNSPEC: 0x0, STREAM: 0x1, DGRAM: 0x2 }

export interface EncodeV2Options {
  /** @defaultValue 'PROXY' */
  readonly command?: V2Command
  /** @defaultValue 'INET' */
  readonly family?: V2Family
  /** @defaultValue 'STREAM' */
  readonly transport?: V2Transport
  /** For UNIX the address is a path (zero-padded to 108 bytes) and the port is ignored. Default: all zero. */
  readonly source?: EncodeEndpoint
  readonly destination?: EncodeEndpoint
  /** Raw address block, replacing the one built from family/source/destination (e.g. empty, to make len short). */
  readonly addressBlock?: Uint8Array
  /** Written in order after the address block (and after the CRC32C TLV, if any). */
  readonly tlvs?: readonly Tlv[]
  /** Add a CRC32C TLV right after the address block (where AWS and HAProxy put it), computed over the whole header. */
  readonly crc32c?: boolean
  /** Add a NOOP TLV with this many zero bytes of value, last. */
  readonly noopPadding?: number
}

/** One TLV on the wire: type(1) length(2, BE) value. */
export function tlvBytes (tlv: Tlv): Buffer {
  const value = typeof tlv.value === 'string' ? Buffer.from(tlv.value, 'utf8') : Buffer.from(tlv.value)
  const head = Buffer.alloc(3)
  head[0] = tlv.type
  head.writeUInt16BE(value.length, 1)
  return Buffer.concat([head, value])
}

/** The SSL TLV (spec 2.2.6): client(1) verify(4, BE) then sub-TLVs. */
export function sslTlv (client: number, verify: number, subTlvs: readonly Tlv[] = []): Tlv {
  const prefix = Buffer.alloc(5)
  prefix[0] = client
  prefix.writeUInt32BE(verify >>> 0, 1)
  return { type: TLV.SSL, value: Buffer.concat([prefix, ...subTlvs.map(tlvBytes)]) }
}

/** A v2 header from its raw fields; `len` defaults to the body length. */
export function v2Raw (verCmd: number, famProto: number, body: Uint8Array = Buffer.alloc(0), len = body.length): Buffer {
  const fixed = Buffer.alloc(4)
  fixed[0] = verCmd
  fixed[1] = famProto
  fixed.writeUInt16BE(len, 2)
  return Buffer.concat([V2_SIG, fixed, body])
}

/** A correct v2 header. */
export function encodeV2 (options: EncodeV2Options = {}): Buffer {
  const command = options.command ?? 'PROXY'
  const family = options.family ?? 'INET'
  const transport = options.transport ?? 'STREAM'
  const address = options.addressBlock ?? addressBlock(family, options.source, options.destination)
  const tlvs: Tlv[] = []
  if (options.crc32c === true) tlvs.push({ type: TLV.CRC32C, value: Buffer.alloc(4) })
  tlvs.push(...(options.tlvs ?? []))
  if (options.noopPadding !== undefined) tlvs.push({ type: TLV.NOOP, value: Buffer.alloc(options.noopPadding) })
  const body = Buffer.concat([address, ...tlvs.map(tlvBytes)])
  const header = v2Raw(0x20 | COMMAND_NIBBLE[command], (FAMILY_NIBBLE[family] << 4) | TRANSPORT_NIBBLE[transport], body)
  if (options.crc32c === true) signCrc32c(header, 16 + address.length + 3)
  return header
}

/**
 * Writes the CRC32C of the whole header into the 4 bytes at `valueOffset`
 * (spec 2.2.3: computed with the checksum field zeroed). Returns `header`.
 */
export function signCrc32c (header: Buffer, valueOffset: number): Buffer {
  header.fill(0, valueOffset, valueOffset + 4)
  header.writeUInt32BE(crc32c(header, 0, header.length, valueOffset), valueOffset)
  return header
}

const ZERO_ENDPOINT: Record<'INET' | 'INET6' | 'UNIX', EncodeEndpoint> = {
  INET: { address: '0.0.0.0', port: 0 },
  INET6: { address: '::', port: 0 },
  UNIX: { address: '', port: 0 }
}

function addressBlock (family: V2Family, source?: EncodeEndpoint, destination?: EncodeEndpoint): Buffer {
  if (family === 'UNSPEC') return Buffer.alloc(0)
  const s = source ?? ZERO_ENDPOINT[family]
  const d = destination ?? ZERO_ENDPOINT[family]
  if (family === 'UNIX') return Buffer.concat([unixPath(s.address), unixPath(d.address)])
  const bytes = family === 'INET' ? ipv4Bytes : ipv6Bytes
  const ports = Buffer.alloc(4)
  ports.writeUInt16BE(s.port, 0)
  ports.writeUInt16BE(d.port, 2)
  return Buffer.concat([bytes(s.address), bytes(d.address), ports])
}

function unixPath (path: string): Buffer {
  const out = Buffer.alloc(108)
  out.write(path, 'utf8')
  return out
}

/** Dotted quad to 4 bytes; throws on anything else (test inputs are trusted). */
export function ipv4Bytes (text: string): Buffer {
  const parts = text.split('.').map(Number)
  if (parts.length !== 4 || parts.some(p => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`encode: bad IPv4 ${text}`)
  return Buffer.from(parts)
}

/** IPv6 text (with `::` and an optional dotted tail) to 16 bytes. */
export function ipv6Bytes (text: string): Buffer {
  let head = text
  let tail = ''
  const gap = text.indexOf('::')
  if (gap >= 0) { head = text.slice(0, gap); tail = text.slice(gap + 2) }
  const groups = (part: string): number[] => part === ''
    ? []
    : part.split(':').flatMap(g => {
      if (!g.includes('.')) return [parseInt(g, 16)]
      const v4 = ipv4Bytes(g)
      return [v4.readUInt16BE(0), v4.readUInt16BE(2)]
    })
  const h = groups(head)
  const t = groups(tail)
  const all = gap >= 0 ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h
  if (all.length !== 8 || all.some(g => !Number.isInteger(g) || g < 0 || g > 0xffff)) throw new Error(`encode: bad IPv6 ${text}`)
  const out = Buffer.alloc(16)
  all.forEach((g, i) => out.writeUInt16BE(g, 2 * i))
  return out
}
