import { crc32c } from './crc32c.js'
import { ownLatin1 } from './own-buffer.js'
import { proxyError } from './errors.js'
import { latin1Slice, setText, textAt } from './text.js'
import { decodeCloud, type CloudTlvs } from './tlv-cloud.js'
import { checkSsl, decodeSsl, type SslInfo } from './tlv-ssl.js'
import {
  PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY, PP2_TYPE_CRC32C, PP2_TYPE_NETNS, PP2_TYPE_NOOP, PP2_TYPE_SSL, PP2_TYPE_UNIQUE_ID
} from './tlv-types.js'
import { lazyTlvs, MAX_TLVS, Slot, TLV_HEADER_LENGTH, tlvEnd, type RawTlv } from './tlv-walk.js'

// The TLV list of a v2 header (spec 2.2): the walk and its bound are in
// tlv-walk.ts, the SSL TLV in tlv-ssl.ts, cloud vendors' TLVs in tlv-cloud.ts.
export { MAX_TLVS, type RawTlv } from './tlv-walk.js'
export type { SslInfo } from './tlv-ssl.js'
export type { CloudTlvs } from './tlv-cloud.js'

/** Spec 2.2.2 / HAProxy receiver: AUTHORITY is a host name, at most 255 bytes. */
export const MAX_AUTHORITY_LENGTH = 255
/** Spec 2.2.5: UNIQUE_ID is at most 128 bytes. */
export const MAX_UNIQUE_ID_LENGTH = 128
/** The TLVs of one v2 header, decoded where the type is known. */
export interface TlvSet extends CloudTlvs {
  /** Every TLV except NOOP padding, in wire order, unknown types included. */
  readonly raw: readonly RawTlv[]
  /** PP2_TYPE_ALPN: the negotiated application protocol, as bytes. */
  readonly alpn?: Buffer
  /** PP2_TYPE_AUTHORITY: host name the client asked for (usually TLS SNI). */
  readonly authority?: string
  /** PP2_TYPE_CRC32C: the checksum carried; present only when it matched. */
  readonly crc32c?: number
  /** PP2_TYPE_UNIQUE_ID: opaque connection id from the proxy. */
  readonly uniqueId?: Buffer
  /** PP2_TYPE_SSL. */
  readonly ssl?: SslInfo
  /** PP2_TYPE_NETNS: network namespace name. */
  readonly netns?: string
}

/** The set of a header that carries no TLVs. Frozen and shared. */
export const EMPTY_TLVS: TlvSet = Object.freeze({ raw: Object.freeze([]) })

/** The TLV types of which a header may carry one only, as bits; 0 for the others. */
function knownTypeBit (type: number): number {
  switch (type) {
    case PP2_TYPE_ALPN: return 1
    case PP2_TYPE_AUTHORITY: return 2
    case PP2_TYPE_CRC32C: return 4
    case PP2_TYPE_UNIQUE_ID: return 8
    case PP2_TYPE_SSL: return 16
    case PP2_TYPE_NETNS: return 32
    default: return 0
  }
}

/**
 * Walks the TLVs of a v2 header and checks every rule the decoder relies
 * on, decoding nothing: each TLV fits and the walk ends at `16 + len`, at
 * most {@link MAX_TLVS}, each known type at most once, AUTHORITY and
 * UNIQUE_ID within their bounds, the SSL TLV (see checkSsl) and the
 * CRC32C when present. A string's bytes never refuse a header: one that is
 * not clean text is kept raw (text.ts). What passes
 * decodes without an error ({@link decodeTlvs}), so a header is refused
 * here or never.
 *
 * @param header - starts with the header; the CRC32C TLV, when present, is
 *   checked over `header[0, end)` (spec 2.2.3).
 * @param start - where the TLVs begin (after the address block).
 * @param end - where the header ends, `16 + len`.
 * @throws ProxyProtocolError `PROXY_ERR_TLV`, `PROXY_ERR_TLV_VALUE` or
 *   `PROXY_ERR_CRC32C`.
 */
export function checkTlvs (header: Uint8Array, start: number, end: number): void {
  let budget = MAX_TLVS
  let seen = 0
  let crcAt = -1
  for (let offset = start; offset < end;) {
    const ve = tlvEnd(header, offset, end, 'TLV', budget--)
    const type = header[offset] as number
    const vs = offset + TLV_HEADER_LENGTH
    offset = ve
    if (type === PP2_TYPE_NOOP) continue // spec 2.2.4: padding, ignored
    const bit = knownTypeBit(type)
    if (bit === 0) continue // spec 2.2: unknown types are skipped, not rejected; cloud TLVs never refuse
    // One value per known type: a second AUTHORITY or SSL would let a
    // sender show one value to one reader and another to the next.
    if ((seen & bit) !== 0) throw proxyError('PROXY_ERR_TLV_VALUE', `TLV 0x${type.toString(16).padStart(2, '0')} appears twice`)
    seen |= bit
    const length = ve - vs
    switch (type) {
      case PP2_TYPE_AUTHORITY:
        if (length > MAX_AUTHORITY_LENGTH) throw proxyError('PROXY_ERR_TLV_VALUE', `AUTHORITY is ${length} bytes, more than ${MAX_AUTHORITY_LENGTH}`)
        break
      case PP2_TYPE_CRC32C:
        if (length !== 4) throw proxyError('PROXY_ERR_TLV_VALUE', `CRC32C TLV is ${length} bytes, not 4`)
        crcAt = vs
        break
      case PP2_TYPE_UNIQUE_ID:
        if (length > MAX_UNIQUE_ID_LENGTH) throw proxyError('PROXY_ERR_TLV_VALUE', `UNIQUE_ID is ${length} bytes, more than ${MAX_UNIQUE_ID_LENGTH}`)
        break
      case PP2_TYPE_SSL:
        budget = checkSsl(header, vs, ve, budget)
        break
      default: // ALPN, NETNS: any bytes (a string that is not clean text is kept raw, never refused)
        break
    }
  }
  if (crcAt >= 0) {
    const carried = readUInt32BE(header, crcAt)
    const computed = crc32c(header, 0, end, crcAt)
    if (carried !== computed) {
      throw proxyError('PROXY_ERR_CRC32C', `CRC32C mismatch: header carries 0x${carried.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}`)
    }
  }
}

function readUInt32BE (bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) |
    ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>> 0
}

/**
 * Decodes the TLVs in `own[start, end)`, which passed {@link checkTlvs}:
 * `own` is the set's own copy (its values are views of it, so they never
 * pin the socket's read buffer, and there is one allocation, not one per
 * TLV).
 */
export function decodeTlvs (own: Buffer, start: number, end: number): TlvSet {
  const set = {} as { -readonly [K in keyof TlvSet]: TlvSet[K] }
  lazyTlvs(set, 'raw', own, start, end)
  let crcAt = -1
  for (let offset = start; offset < end;) {
    const type = own[offset] as number
    const vs = offset + TLV_HEADER_LENGTH
    const ve = vs + (((own[offset + 1] as number) << 8) | (own[offset + 2] as number))
    offset = ve
    switch (type) {
      case PP2_TYPE_NOOP: break
      case PP2_TYPE_ALPN: set.alpn = own.subarray(vs, ve); break
      case PP2_TYPE_AUTHORITY: setText(set, 'authority', textAt(own, vs, ve, false)); break
      case PP2_TYPE_CRC32C: crcAt = vs; break
      case PP2_TYPE_UNIQUE_ID: set.uniqueId = own.subarray(vs, ve); break
      case PP2_TYPE_SSL: set.ssl = decodeSsl(own, vs, ve); break
      case PP2_TYPE_NETNS: setText(set, 'netns', textAt(own, vs, ve, true)); break
      default:
        // Application-specific range (spec 2.2.8): decoded only when the
        // value has the shape the cloud vendor documents; otherwise kept raw.
        decodeCloud(set, type, own.subarray(vs, ve))
        break
    }
  }
  if (crcAt >= 0) set.crc32c = readUInt32BE(own, crcAt)
  return set
}

/**
 * Defines `target.tlvs` as the set of the TLVs in `header[start, end)`,
 * which passed {@link checkTlvs}, decoded when first read. Until then the
 * target keeps one latin1 string of those bytes (a copy: nothing pins the
 * socket's buffer), and parsing a header costs one copy, not a Buffer, an
 * object and a string per TLV the application may never read.
 */
export function lazyTlvSet (target: object, header: Uint8Array, start: number, end: number): void {
  const bytes = latin1Slice.call(header, start, end)
  Slot.define(target, 'tlvs', () => decodeTlvs(ownLatin1(bytes), 0, end - start))
}
