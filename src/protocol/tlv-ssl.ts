import { proxyError } from './errors.js'
import { setText, textAt } from './text.js'
import {
  PP2_CLIENT_CERT_CONN, PP2_CLIENT_CERT_SESS, PP2_CLIENT_SSL,
  PP2_SUBTYPE_SSL_CIPHER, PP2_SUBTYPE_SSL_CLIENT_CERT, PP2_SUBTYPE_SSL_CN, PP2_SUBTYPE_SSL_GROUP,
  PP2_SUBTYPE_SSL_KEY_ALG, PP2_SUBTYPE_SSL_SIG_ALG, PP2_SUBTYPE_SSL_SIG_SCHEME, PP2_SUBTYPE_SSL_VERSION
} from './tlv-types.js'
import { lazyTlvs, TLV_HEADER_LENGTH, tlvEnd, type RawTlv } from './tlv-walk.js'

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

/**
 * Checks the SSL TLV in `bytes[start, end)` (spec 2.2.6) as
 * {@link decodeSsl} will read it: the client/verify prefix, its sub-TLVs
 * (one level deep, each known one at most once; a string's bytes never
 * refuse it, see text.ts). Returns
 * what is left of the TLV budget.
 * @throws ProxyProtocolError `PROXY_ERR_TLV` or `PROXY_ERR_TLV_VALUE`.
 */
export function checkSsl (bytes: Uint8Array, start: number, end: number, budget: number): number {
  if (end - start < SSL_PREFIX_LENGTH) {
    throw proxyError('PROXY_ERR_TLV_VALUE', `SSL TLV is ${end - start} byte(s), shorter than its 5-byte client/verify prefix`)
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
      if ((seen & bit) !== 0) throw proxyError('PROXY_ERR_TLV_VALUE', `SSL sub-TLV 0x${type.toString(16)} appears twice`)
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
export function decodeSsl (bytes: Buffer, start: number, end: number): SslInfo {
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
