import { crc32c } from './crc32c.js'
import { ownLatin1 } from './own-buffer.js'
import { proxyError } from './errors.js'
import { latin1Slice, setText, textAt } from './text.js'
import { decodeCloud, type CloudTlvs } from './tlvparse/cloud.js'

// The TLV list of a v2 header (spec 2.2): the type numbers, the walk and its
// bound, the lazily decoded set, and the spec's own TLVs, SSL (2.2.6)
// included. Cloud vendors' TLVs of the application-specific range (2.2.8)
// are decoded in tlvparse/, as go-proxyproto does.

// ------------------------------------------------------------------ type numbers

// Spec 2.2: TLV type numbers, with the wire names kept so they grep against
// the document. `header.tlvs.raw[i].type` is one of these, one of
// tlvparse/cloud.ts', or any other byte.
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

// Spec 2.2.6: bits of the SSL TLV's `client` field.
export const PP2_CLIENT_SSL = 0x01
export const PP2_CLIENT_CERT_CONN = 0x02
export const PP2_CLIENT_CERT_SESS = 0x04

// ------------------------------------------------------------------ the walk

/** Spec 2.2: type(1) length_hi(1) length_lo(1). */
const TLV_HEADER_LENGTH = 3
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

/**
 * Checks the TLV at `offset` of `bytes[.., end)` (spec 2.2): its header and
 * value must fit. Returns where its value ends; `budget` is what is left of
 * the header's TLV budget before it, shared by the top level and the SSL
 * sub-TLVs.
 */
function tlvEnd (bytes: Uint8Array, offset: number, end: number, what: string, budget: number): number {
  if (budget <= 0) throw proxyError('PROXY_ERR_TLV', `more than ${MAX_TLVS} TLVs (SSL sub-TLVs and NOOP included)`)
  if (end - offset < TLV_HEADER_LENGTH) {
    throw proxyError('PROXY_ERR_TLV',
      `${what} has ${end - offset} trailing byte(s) at offset ${offset}, too short for a TLV`)
  }
  const length = ((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number)
  const valueEnd = offset + TLV_HEADER_LENGTH + length
  if (valueEnd > end) {
    throw proxyError('PROXY_ERR_TLV', `${what} type 0x${(bytes[offset] as number).toString(16)} at offset ${offset} ` +
      `declares ${length} byte(s) but only ${end - offset - TLV_HEADER_LENGTH} remain`)
  }
  return valueEnd
}

function readUInt32BE (bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) |
    ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>> 0
}

// ------------------------------------------------------------------ decoded when first read

/**
 * Base of {@link Slot}: returns the object it is given, so `Slot`'s private
 * fields are put on that object (a plain object stays plain: same
 * prototype, same keys, nothing enumerable or visible to JSON, structured
 * clone or deep equality).
 */
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- returning its argument is the point
class Target {
  constructor (target: object) {
    return target
  }
}

/**
 * What a lazily built property of a header object is built from, kept in a
 * private field of the object itself: one shared getter then serves every
 * object (a getter closed over its own state per object would give every
 * object its own hidden class, which costs far more than the value).
 */
// Bench: parser case v2-inet6-tlvs, candidates ours and ours-read (bench/candidates.ts); client-memory.ts.
class Slot extends Target {
  #make: (() => unknown) | undefined
  #value: unknown

  private constructor (target: object, make: () => unknown) {
    super(target)
    this.#make = make
  }

  /**
   * Defines `target[key]` as an enumerable, non-configurable property whose
   * value is `make()`, called once, when first read.
   */
  static define (target: object, key: string, make: () => unknown): void {
    // eslint-disable-next-line no-new -- the constructor writes the fields onto `target`
    new Slot(target, make)
    Object.defineProperty(target, key, { enumerable: true, configurable: false, get: readSlot })
  }

  /** The value of `target`'s slot, built on the first call. */
  static read (target: Slot): unknown {
    const make = target.#make
    if (make !== undefined) {
      target.#value = make()
      target.#make = undefined
    }
    return target.#value
  }
}

function readSlot (this: Slot): unknown {
  return Slot.read(this)
}

/**
 * Makes `target[key]` the list of the TLVs in `bytes[start, end)` (already
 * walked and validated), built when first read: a connected client keeps
 * the header's bytes, not an object and a Buffer view per TLV it may never
 * read. NOOP padding is left out of the top-level list (spec 2.2.4).
 */
function lazyTlvs (target: object, key: 'raw' | 'tlvs', bytes: Buffer, start: number, end: number): void {
  Slot.define(target, key, () => {
    const list: RawTlv[] = []
    for (let offset = start; offset < end;) {
      const type = bytes[offset] as number
      const valueStart = offset + TLV_HEADER_LENGTH
      const valueEnd = valueStart + (((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number))
      if (key === 'tlvs' || type !== PP2_TYPE_NOOP) list.push({ type, value: bytes.subarray(valueStart, valueEnd) })
      offset = valueEnd
    }
    return Object.freeze(list)
  })
}

// ------------------------------------------------------------------ the set

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
    if ((seen & bit) !== 0) {
      throw proxyError('PROXY_ERR_TLV_VALUE', `TLV 0x${type.toString(16).padStart(2, '0')} appears twice`)
    }
    seen |= bit
    const length = ve - vs
    switch (type) {
      case PP2_TYPE_AUTHORITY:
        if (length > MAX_AUTHORITY_LENGTH) {
          throw proxyError('PROXY_ERR_TLV_VALUE', `AUTHORITY is ${length} bytes, more than ${MAX_AUTHORITY_LENGTH}`)
        }
        break
      case PP2_TYPE_CRC32C:
        if (length !== 4) throw proxyError('PROXY_ERR_TLV_VALUE', `CRC32C TLV is ${length} bytes, not 4`)
        crcAt = vs
        break
      case PP2_TYPE_UNIQUE_ID:
        if (length > MAX_UNIQUE_ID_LENGTH) {
          throw proxyError('PROXY_ERR_TLV_VALUE', `UNIQUE_ID is ${length} bytes, more than ${MAX_UNIQUE_ID_LENGTH}`)
        }
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
      const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`
      throw proxyError('PROXY_ERR_CRC32C', `CRC32C mismatch: header carries ${hex(carried)}, computed ${hex(computed)}`)
    }
  }
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

// ------------------------------------------------------------------ SSL (2.2.6)

/** Spec 2.2.6: client(1) verify(4) before the SSL sub-TLVs. */
const SSL_PREFIX_LENGTH = 5

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
  /**
   * The client connected over TLS, presented a certificate (on the
   * connection or the session), and it was verified.
   */
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

/**
 * Checks the SSL TLV in `bytes[start, end)` (spec 2.2.6) as
 * {@link decodeSsl} will read it: the client/verify prefix, its sub-TLVs
 * (one level deep, each known one at most once; a string's bytes never
 * refuse it, see text.ts). Returns
 * what is left of the TLV budget.
 * @throws ProxyProtocolError `PROXY_ERR_TLV` or `PROXY_ERR_TLV_VALUE`.
 */
function checkSsl (bytes: Uint8Array, start: number, end: number, budget: number): number {
  if (end - start < SSL_PREFIX_LENGTH) {
    throw proxyError('PROXY_ERR_TLV_VALUE',
      `SSL TLV is ${end - start} byte(s), shorter than its 5-byte client/verify prefix`)
  }
  let seen = 0
  // Sub-TLVs are read one level deep only: an SSL TLV inside the SSL TLV is
  // kept raw, never recursed into (Netty's GHSA-fx2c-96vj-985v was unbounded
  // recursion on exactly that).
  for (let offset = start + SSL_PREFIX_LENGTH; offset < end;) {
    const valueEnd = tlvEnd(bytes, offset, end, 'SSL sub-TLV', budget--)
    const type = bytes[offset] as number
    if (type >= PP2_SUBTYPE_SSL_VERSION && type <= PP2_SUBTYPE_SSL_CLIENT_CERT) {
      const bit = 1 << (type - PP2_SUBTYPE_SSL_VERSION)
      if ((seen & bit) !== 0) {
        throw proxyError('PROXY_ERR_TLV_VALUE', `SSL sub-TLV 0x${type.toString(16)} appears twice`)
      }
      seen |= bit
    }
    offset = valueEnd
  }
  return budget
}

/**
 * Decodes the SSL TLV in `bytes[start, end)` (spec 2.2.6): the client bits,
 * the verify result, and its sub-TLVs, one level deep. The TLV has passed
 * {@link checkSsl}.
 */
function decodeSsl (bytes: Buffer, start: number, end: number): SslInfo {
  const client = bytes[start] as number
  const verify = readUInt32BE(bytes, start + 1)
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
    verified: (client & PP2_CLIENT_SSL) !== 0 && (certConn || certSess) && verify === 0
  } as SslInfo
  lazyTlvs(ssl, 'tlvs', bytes, start + SSL_PREFIX_LENGTH, end)
  for (let offset = start + SSL_PREFIX_LENGTH; offset < end;) {
    const type = bytes[offset] as number
    const vs = offset + TLV_HEADER_LENGTH
    const ve = vs + (((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number))
    offset = ve
    switch (type) {
      case PP2_SUBTYPE_SSL_VERSION: setText(ssl, 'version', textAt(bytes, vs, ve, true)); break
      case PP2_SUBTYPE_SSL_CN: setText(ssl, 'cn', textAt(bytes, vs, ve, false)); break
      case PP2_SUBTYPE_SSL_CIPHER: setText(ssl, 'cipher', textAt(bytes, vs, ve, true)); break
      case PP2_SUBTYPE_SSL_SIG_ALG: setText(ssl, 'sigAlg', textAt(bytes, vs, ve, true)); break
      case PP2_SUBTYPE_SSL_KEY_ALG: setText(ssl, 'keyAlg', textAt(bytes, vs, ve, true)); break
      case PP2_SUBTYPE_SSL_GROUP: setText(ssl, 'group', textAt(bytes, vs, ve, true)); break
      case PP2_SUBTYPE_SSL_SIG_SCHEME: setText(ssl, 'sigScheme', textAt(bytes, vs, ve, true)); break
      case PP2_SUBTYPE_SSL_CLIENT_CERT: ssl.clientCert = bytes.subarray(vs, ve); break
      default: break // unknown sub-types are tolerated (spec 2.2), unlike ranch
    }
  }
  return ssl
}
