import { crc32c } from './crc32c.js'
import { proxyError } from './errors.js'
import { asciiValue, textValue } from './text.js'
import { decodeCloud, type CloudTlvs } from './tlv-cloud.js'
import { decodeSsl, type SslInfo } from './tlv-ssl.js'
import {
  PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY, PP2_TYPE_CRC32C, PP2_TYPE_NETNS, PP2_TYPE_NOOP, PP2_TYPE_SSL, PP2_TYPE_UNIQUE_ID
} from './tlv-types.js'
import { lazyTlvs, MAX_TLVS, setText, walk, type RawTlv } from './tlv-walk.js'

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

/** The TLV types of which a header may carry one only, as bits. */
const KNOWN_TYPE_BIT: Readonly<Record<number, number>> = {
  [PP2_TYPE_ALPN]: 1,
  [PP2_TYPE_AUTHORITY]: 2,
  [PP2_TYPE_CRC32C]: 4,
  [PP2_TYPE_UNIQUE_ID]: 8,
  [PP2_TYPE_SSL]: 16,
  [PP2_TYPE_NETNS]: 32
}

/**
 * Walks and decodes the TLVs of a v2 header.
 *
 * @param header - the whole header, `16 + len` bytes; the CRC32C TLV, when
 *   present, is checked over all of it (spec 2.2.3).
 * @param start - where the TLVs begin (after the address block).
 * @throws ProxyProtocolError `PROXY_ERR_TLV`, `PROXY_ERR_TLV_VALUE` or
 *   `PROXY_ERR_CRC32C`.
 */
export function parseTlvs (header: Uint8Array, start: number): TlvSet {
  const end = header.length
  if (start === end) return EMPTY_TLVS
  // One copy of the whole header: TLV values are views of it, so they never
  // pin the socket's read buffer, and there is one allocation, not one per TLV.
  const own = Buffer.allocUnsafe(end)
  own.set(header)
  const set: { -readonly [K in keyof TlvSet]: TlvSet[K] } = { raw: [] }
  const budget = { left: MAX_TLVS }
  let seen = 0
  let crcAt = -1
  walk(own, start, end, 'TLV', budget, (type, vs, ve) => {
    if (type === PP2_TYPE_NOOP) return // spec 2.2.4: padding, ignored
    const length = ve - vs
    const value = own.subarray(vs, ve)
    const bit = KNOWN_TYPE_BIT[type] ?? 0
    if (bit !== 0) {
      // One value per known type: a second AUTHORITY or SSL would let a
      // sender show one value to one reader and another to the next.
      if ((seen & bit) !== 0) throw proxyError('PROXY_ERR_TLV_VALUE', `TLV 0x${type.toString(16).padStart(2, '0')} appears twice`)
      seen |= bit
    }
    switch (type) {
      case PP2_TYPE_ALPN:
        set.alpn = value
        break
      case PP2_TYPE_AUTHORITY:
        if (length > MAX_AUTHORITY_LENGTH) throw proxyError('PROXY_ERR_TLV_VALUE', `AUTHORITY is ${length} bytes, more than ${MAX_AUTHORITY_LENGTH}`)
        setText(set, 'authority', textValue(value, 'AUTHORITY'))
        break
      case PP2_TYPE_CRC32C:
        if (length !== 4) throw proxyError('PROXY_ERR_TLV_VALUE', `CRC32C TLV is ${length} bytes, not 4`)
        crcAt = vs
        break
      case PP2_TYPE_UNIQUE_ID:
        if (length > MAX_UNIQUE_ID_LENGTH) throw proxyError('PROXY_ERR_TLV_VALUE', `UNIQUE_ID is ${length} bytes, more than ${MAX_UNIQUE_ID_LENGTH}`)
        set.uniqueId = value
        break
      case PP2_TYPE_SSL:
        set.ssl = decodeSsl(own, vs, ve, budget)
        break
      case PP2_TYPE_NETNS:
        setText(set, 'netns', asciiValue(value, 'NETNS'))
        break
      default:
        // Application-specific range (spec 2.2.8): decoded only when the
        // value has the shape the cloud vendor documents; otherwise kept raw.
        decodeCloud(set, type, value)
        break // spec 2.2: unknown types are skipped, not rejected
    }
  })
  if (crcAt >= 0) {
    const carried = (((header[crcAt] as number) << 24) | ((header[crcAt + 1] as number) << 16) |
      ((header[crcAt + 2] as number) << 8) | (header[crcAt + 3] as number)) >>> 0
    const computed = crc32c(header, 0, end, crcAt)
    if (carried !== computed) {
      throw proxyError('PROXY_ERR_CRC32C', `CRC32C mismatch: header carries 0x${carried.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}`)
    }
    set.crc32c = carried
  }
  lazyTlvs(set, 'raw', own, start, end)
  return set
}
