/**
 * Every way a PROXY header, or the connection that should carry one, can be
 * refused. Codes are stable: programs and tests match on `code`, never on the
 * message text. Each one is documented in docs/api.md's error-code table.
 */
export const PROXY_ERROR_CODES = [
  // Detection
  'PROXY_ERR_NOT_PROXY', // first bytes are not a v1 or v2 signature (spec 2: must drop)
  // v1 (spec 2.1)
  'PROXY_ERR_V1_TOO_LONG', // no CRLF within 107 bytes
  'PROXY_ERR_V1_CRLF', // a CR or LF that is not part of the closing CRLF
  'PROXY_ERR_V1_SYNTAX', // separators, field count, characters
  'PROXY_ERR_V1_FAMILY', // protocol token other than TCP4, TCP6, UNKNOWN
  'PROXY_ERR_V1_ADDRESS', // address not valid for the announced family
  'PROXY_ERR_V1_PORT', // port out of range, leading zero or not decimal
  // v2 (spec 2.2)
  'PROXY_ERR_V2_VERSION', // version nibble is not 0x2
  'PROXY_ERR_V2_COMMAND', // command nibble is neither LOCAL nor PROXY
  'PROXY_ERR_V2_FAMILY', // family/transport byte outside the allowed set
  'PROXY_ERR_V2_TOO_LONG', // declared length above the configured cap
  'PROXY_ERR_V2_ADDRESS_LENGTH', // declared length shorter than the address block
  // TLVs (spec 2.2.1 - 2.2.8)
  'PROXY_ERR_TLV', // a TLV or SSL sub-TLV does not fit, or the walk does not end at 16 + len
  'PROXY_ERR_TLV_VALUE', // a TLV value is malformed, too long, or repeated (a string's bytes never refuse)
  'PROXY_ERR_CRC32C', // CRC32C TLV present and does not match the header
  // Connection
  'PROXY_ERR_TIMEOUT', // no complete header within headerTimeout
  'PROXY_ERR_CLOSED', // peer closed or reset the connection before a complete header
  'PROXY_ERR_NOT_ATTACHED', // PROXY is on for a TLS/WS listener whose server was not attached
  'PROXY_ERR_TOO_MANY_PENDING', // the listener already has maxPending connections waiting for a header
  'PROXY_ERR_INTERNAL', // a bug in this package, never a problem with the peer or the configuration
  // Policy
  'PROXY_ERR_UNTRUSTED', // peer outside trustedProxies (sent a header, or reached a required listener)
  'PROXY_ERR_UNEXPECTED_HEADER', // a header arrived on a listener where PROXY is off
  'PROXY_ERR_INJECTED_HEADER' // a second PROXY header followed the proxy's: a client behind it spoofing an address
] as const

/** One of {@link PROXY_ERROR_CODES}. */
export type ProxyErrorCode = typeof PROXY_ERROR_CODES[number]

/** The prefix of every message this package raises (the parser's, the plugins', the options'). */
export const PREFIX = 'aedes-proxy-protocol: '

/**
 * Thrown by the parser and reported by the plugin for every refused header.
 * `code` is stable; `message` says what was wrong with the input.
 */
export class ProxyProtocolError extends Error {
  override readonly name = 'ProxyProtocolError'
  readonly code: ProxyErrorCode

  constructor (code: ProxyErrorCode, message: string) {
    super(`${PREFIX}${message}`)
    this.code = code
  }
}

/** Shorthand used by the parser: build the error to throw. */
export function proxyError (code: ProxyErrorCode, message: string): ProxyProtocolError {
  return new ProxyProtocolError(code, message)
}
