import { crc32c } from './crc32c.js'
import { proxyError } from './errors.js'
import { asciiValue, textValue } from './text.js'

// Spec 2.2: TLV types. Wire names kept so they grep against the document.
export const PP2_TYPE_ALPN = 0x01
export const PP2_TYPE_AUTHORITY = 0x02
export const PP2_TYPE_CRC32C = 0x03
export const PP2_TYPE_NOOP = 0x04
export const PP2_TYPE_UNIQUE_ID = 0x05
export const PP2_TYPE_SSL = 0x20
export const PP2_SUBTYPE_SSL_VERSION = 0x21
export const PP2_SUBTYPE_SSL_CN = 0x22
export const PP2_SUBTYPE_SSL_CIPHER = 0x23
export const PP2_SUBTYPE_SSL_SIG_ALG = 0x24
export const PP2_SUBTYPE_SSL_KEY_ALG = 0x25
export const PP2_SUBTYPE_SSL_GROUP = 0x26
export const PP2_SUBTYPE_SSL_SIG_SCHEME = 0x27
export const PP2_SUBTYPE_SSL_CLIENT_CERT = 0x28
export const PP2_TYPE_NETNS = 0x30
// Spec 2.2.8: 0xE0-0xEF are application-specific. Cloud load balancers use:
export const PP2_TYPE_GCP = 0xe0 // Private Service Connect: 8-byte connection id, big-endian
export const PP2_TYPE_AWS = 0xea // NLB: subtype 0x01 + VPC endpoint id
export const PP2_SUBTYPE_AWS_VPCE_ID = 0x01
export const PP2_TYPE_AZURE = 0xee // Private Link: subtype 0x01 + uint32 link id, little-endian
export const PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID = 0x01

// Spec 2.2.6: bits of the SSL TLV's `client` field.
export const PP2_CLIENT_SSL = 0x01
export const PP2_CLIENT_CERT_CONN = 0x02
export const PP2_CLIENT_CERT_SESS = 0x04

/** Spec 2.2: type(1) length_hi(1) length_lo(1). */
const TLV_HEADER_LENGTH = 3
/** Spec 2.2.6: client(1) verify(4) before the SSL sub-TLVs. */
const SSL_PREFIX_LENGTH = 5
/** Spec 2.2.2 / HAProxy receiver: AUTHORITY is a host name, at most 255 bytes. */
export const MAX_AUTHORITY_LENGTH = 255
/** Spec 2.2.5: UNIQUE_ID is at most 128 bytes. */
export const MAX_UNIQUE_ID_LENGTH = 128
/**
 * TLVs one header may carry, NOOP padding and SSL sub-TLVs included. Real
 * senders use a handful (HAProxy at most about ten, AWS three); the bound
 * keeps a header of thousands of empty TLVs from costing a walk and a
 * record per TLV for the whole session.
 */
export const MAX_TLVS = 128

/** One TLV as received. `value` is a copy, never a view of the socket buffer. */
export interface RawTlv {
  readonly type: number
  readonly value: Buffer
}

/** The SSL TLV (spec 2.2.6): what the proxy knows of the client's TLS session. */
export interface SslInfo {
  /** The raw `client` bit field. */
  readonly client: number
  /** PP2_CLIENT_SSL: the client connected over SSL/TLS. */
  readonly clientSsl: boolean
  /** PP2_CLIENT_CERT_CONN: the client sent a certificate on this connection. */
  readonly certConn: boolean
  /** PP2_CLIENT_CERT_SESS: the client sent a certificate at least once in this TLS session. */
  readonly certSess: boolean
  /** The raw `verify` field: 0 means the certificate was presented and verified. */
  readonly verify: number
  /** The client connected over TLS, presented a certificate (on the connection or the session), and it was verified. */
  readonly verified: boolean
  /** PP2_SUBTYPE_SSL_VERSION, for example `TLSv1.3`. */
  readonly version?: string
  /** PP2_SUBTYPE_SSL_CN: common name of the client certificate's subject. */
  readonly cn?: string
  /** PP2_SUBTYPE_SSL_CIPHER, for example `ECDHE-RSA-AES128-GCM-SHA256`. */
  readonly cipher?: string
  /** PP2_SUBTYPE_SSL_SIG_ALG: algorithm that signed the proxy's own certificate. */
  readonly sigAlg?: string
  /** PP2_SUBTYPE_SSL_KEY_ALG: key algorithm of the proxy's own certificate. */
  readonly keyAlg?: string
  /** PP2_SUBTYPE_SSL_GROUP: key-exchange group. */
  readonly group?: string
  /** PP2_SUBTYPE_SSL_SIG_SCHEME: signature scheme. */
  readonly sigScheme?: string
  /** PP2_SUBTYPE_SSL_CLIENT_CERT: the client certificate, DER. */
  readonly clientCert?: Buffer
  /** Every sub-TLV, in wire order (unknown ones included). */
  readonly tlvs: readonly RawTlv[]
}

/** The TLVs of one v2 header, decoded where the type is known. */
export interface TlvSet {
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
  /** AWS 0xEA subtype 0x01: VPC endpoint id. */
  readonly awsVpceId?: string
  /** Azure 0xEE subtype 0x01: private endpoint link id. */
  readonly azureLinkId?: number
  /** Google Cloud 0xE0: Private Service Connect connection id. */
  readonly gcpPscConnectionId?: bigint
}

/** The set of a header that carries no TLVs. Frozen and shared. */
export const EMPTY_TLVS: TlvSet = Object.freeze({ raw: Object.freeze([]) as readonly RawTlv[] })

/**
 * Walks `bytes[start, end)` as a TLV list (spec 2.2): every TLV header and
 * value must fit, and the walk must end exactly at `end`.
 */
function walk (bytes: Uint8Array, start: number, end: number, what: string, budget: { left: number },
  visit: (type: number, valueStart: number, valueEnd: number) => void): void {
  let offset = start
  while (offset < end) {
    if (--budget.left < 0) throw proxyError('PROXY_ERR_TLV', `more than ${MAX_TLVS} TLVs (SSL sub-TLVs and NOOP included)`)
    if (end - offset < TLV_HEADER_LENGTH) {
      throw proxyError('PROXY_ERR_TLV', `${what} has ${end - offset} trailing byte(s) at offset ${offset}, too short for a TLV`)
    }
    const type = bytes[offset] as number
    const length = ((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number)
    const valueStart = offset + TLV_HEADER_LENGTH
    const valueEnd = valueStart + length
    if (valueEnd > end) {
      throw proxyError('PROXY_ERR_TLV', `${what} type 0x${type.toString(16)} at offset ${offset} declares ${length} byte(s) but only ${end - valueStart} remain`)
    }
    visit(type, valueStart, valueEnd)
    offset = valueEnd
  }
}

function decodeSsl (bytes: Buffer, start: number, end: number, budget: { left: number }): SslInfo {
  if (end - start < SSL_PREFIX_LENGTH) {
    throw proxyError('PROXY_ERR_TLV_VALUE', `SSL TLV is ${end - start} byte(s), shorter than its 5-byte client/verify prefix`)
  }
  const client = bytes[start] as number
  const verify = (((bytes[start + 1] as number) << 24) | ((bytes[start + 2] as number) << 16) |
    ((bytes[start + 3] as number) << 8) | (bytes[start + 4] as number)) >>> 0
  const certConn = (client & PP2_CLIENT_CERT_CONN) !== 0
  const certSess = (client & PP2_CLIENT_CERT_SESS) !== 0
  const ssl: {
    -readonly [K in keyof SslInfo]: SslInfo[K]
  } = {
    client,
    clientSsl: (client & PP2_CLIENT_SSL) !== 0,
    certConn,
    certSess,
    verify,
    verified: (client & PP2_CLIENT_SSL) !== 0 && (certConn || certSess) && verify === 0,
    tlvs: []
  }
  let seen = 0
  // Sub-TLVs are read one level deep only: an SSL TLV inside the SSL TLV is
  // kept raw, never recursed into (Netty's GHSA-fx2c-96vj-985v was unbounded
  // recursion on exactly that).
  walk(bytes, start + SSL_PREFIX_LENGTH, end, 'SSL sub-TLV', budget, (type, vs, ve) => {
    const value = bytes.subarray(vs, ve)
    if (type >= PP2_SUBTYPE_SSL_VERSION && type <= PP2_SUBTYPE_SSL_CLIENT_CERT) {
      const bit = 1 << (type - PP2_SUBTYPE_SSL_VERSION)
      if ((seen & bit) !== 0) throw proxyError('PROXY_ERR_TLV_VALUE', `SSL sub-TLV 0x${type.toString(16)} appears twice`)
      seen |= bit
    }
    switch (type) {
      case PP2_SUBTYPE_SSL_VERSION: setText(ssl, 'version', asciiValue(value, 'SSL_VERSION')); break
      case PP2_SUBTYPE_SSL_CN: setText(ssl, 'cn', textValue(value, 'SSL_CN')); break
      case PP2_SUBTYPE_SSL_CIPHER: setText(ssl, 'cipher', asciiValue(value, 'SSL_CIPHER')); break
      case PP2_SUBTYPE_SSL_SIG_ALG: setText(ssl, 'sigAlg', asciiValue(value, 'SSL_SIG_ALG')); break
      case PP2_SUBTYPE_SSL_KEY_ALG: setText(ssl, 'keyAlg', asciiValue(value, 'SSL_KEY_ALG')); break
      case PP2_SUBTYPE_SSL_GROUP: setText(ssl, 'group', asciiValue(value, 'SSL_GROUP')); break
      case PP2_SUBTYPE_SSL_SIG_SCHEME: setText(ssl, 'sigScheme', asciiValue(value, 'SSL_SIG_SCHEME')); break
      case PP2_SUBTYPE_SSL_CLIENT_CERT: ssl.clientCert = value; break
      default: break // unknown sub-types are tolerated (spec 2.2), unlike ranch
    }
  })
  lazyTlvs(ssl, 'tlvs', bytes, start + SSL_PREFIX_LENGTH, end)
  return ssl
}

/** Sets a decoded string field only when the value was clean text. */
function setText<T extends object, K extends keyof T> (target: T, key: K, text: string | undefined): void {
  if (text !== undefined) (target as Record<K, unknown>)[key] = text
}

/**
 * Makes `target[key]` the list of the TLVs in `bytes[start, end)` (already
 * walked and validated), built when first read: a connected client keeps
 * the header's bytes, not an object and a Buffer view per TLV it may never
 * read. NOOP padding is left out of the top-level list (spec 2.2.4).
 */
function lazyTlvs (target: object, key: 'raw' | 'tlvs', bytes: Buffer, start: number, end: number): void {
  let built: readonly RawTlv[] | undefined
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: false,
    get (): readonly RawTlv[] {
      if (built === undefined) {
        const list: RawTlv[] = []
        for (let offset = start; offset < end;) {
          const type = bytes[offset] as number
          const valueStart = offset + TLV_HEADER_LENGTH
          const valueEnd = valueStart + (((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number))
          if (key === 'tlvs' || type !== PP2_TYPE_NOOP) list.push({ type, value: bytes.subarray(valueStart, valueEnd) })
          offset = valueEnd
        }
        built = Object.freeze(list)
      }
      return built
    }
  })
}

const VPCE_ID = /^[A-Za-z0-9-]*$/

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
      // Application-specific range (spec 2.2.8): decoded only when the value
      // has the shape the cloud vendor documents; otherwise kept raw.
      case PP2_TYPE_AWS:
        if (length >= 1 && value[0] === PP2_SUBTYPE_AWS_VPCE_ID && set.awsVpceId === undefined) {
          const id = value.subarray(1).toString('latin1')
          if (VPCE_ID.test(id)) set.awsVpceId = id
        }
        break
      case PP2_TYPE_AZURE:
        if (length === 5 && value[0] === PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID && set.azureLinkId === undefined) {
          set.azureLinkId = value.readUInt32LE(1)
        }
        break
      case PP2_TYPE_GCP:
        if (length === 8 && set.gcpPscConnectionId === undefined) set.gcpPscConnectionId = value.readBigUInt64BE(0)
        break
      default:
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
