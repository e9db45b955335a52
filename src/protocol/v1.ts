import { formatIPv6, parseIPv4, parseIPv6 } from './address.js'
import { proxyError } from './errors.js'
import type { ParseResult, ProxyHeader } from './header.js'
import { EMPTY_TLVS } from './tlv.js'

/** Spec 2.1: "PROXY" is the signature of the text format. */
const V1_SIGNATURE = [0x50, 0x52, 0x4f, 0x58, 0x59] // "PROXY"
/** Spec 2.1: the worst-case line, CRLF included, is 107 bytes. */
export const V1_MAX_LENGTH = 107
const CR = 0x0d
const LF = 0x0a
const SPACE = 0x20
const UNKNOWN_PREFIX = Buffer.from('PROXY UNKNOWN ', 'latin1')

function startsWith (buf: Uint8Array, prefix: Uint8Array): boolean {
  if (buf.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (buf[i] !== prefix[i]) return false
  return true
}

/** Every byte of a v1 line is checked as it arrives: parse again at the next one. */
function incomplete (length: number): ParseResult {
  return { status: 'incomplete', needed: length + 1, capacity: V1_MAX_LENGTH }
}

/** Spec 2.1: ports are 0..65535 in decimal without leading zeros. */
function port (text: string, which: string): number {
  let value = text.length > 0 && text.length <= 5 && !(text.length > 1 && text.charCodeAt(0) === 0x30) ? 0 : -1
  for (let i = 0; value >= 0 && i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30
    value = digit >= 0 && digit <= 9 ? value * 10 + digit : -1
  }
  if (value < 0 || value > 65535) {
    const why = /^0[0-9]/.test(text) ? 'has a leading zero' : 'is not a decimal number from 0 to 65535'
    throw proxyError('PROXY_ERR_V1_PORT', `v1 ${which} port "${text}" ${why}`)
  }
  return value
}

/**
 * Parses a v1 header at the start of `buf` (whose first byte is `P`).
 * Fails as soon as the bytes seen cannot become a valid line (spec 2.1:
 * "abort the connection as soon as possible"), waits for the CRLF otherwise.
 */
export function parseV1 (buf: Uint8Array): ParseResult {
  const prefix = Math.min(buf.length, V1_SIGNATURE.length)
  for (let i = 0; i < prefix; i++) {
    if (buf[i] !== V1_SIGNATURE[i]) return { status: 'absent' }
  }
  if (buf.length > V1_SIGNATURE.length && buf[V1_SIGNATURE.length] !== SPACE) {
    throw proxyError('PROXY_ERR_V1_SYNTAX', 'v1 "PROXY" is not followed by exactly one space')
  }
  const scan = Math.min(buf.length, V1_MAX_LENGTH)
  // Spec 2.1: after "UNKNOWN " the receiver "must ignore anything presented
  // before the CRLF", so only CR and LF are looked at there.
  const unknownTail = startsWith(buf, UNKNOWN_PREFIX)
  let end = -1
  for (let i = V1_SIGNATURE.length; i < scan; i++) {
    const byte = buf[i] as number
    if (byte === CR) {
      // The LF must still fit within the 107 bytes.
      if (i + 1 >= V1_MAX_LENGTH) break
      if (i + 1 >= buf.length) return incomplete(buf.length)
      if (buf[i + 1] !== LF) throw proxyError('PROXY_ERR_V1_CRLF', 'v1 CR is not followed by LF')
      end = i
      break
    }
    if (byte === LF) throw proxyError('PROXY_ERR_V1_CRLF', 'v1 line ends in LF without CR')
    if ((byte < SPACE || byte > 0x7e) && !(unknownTail && i >= UNKNOWN_PREFIX.length)) {
      throw proxyError('PROXY_ERR_V1_SYNTAX', `v1 line has a non-printable byte 0x${byte.toString(16).padStart(2, '0')}`)
    }
  }
  if (end < 0) {
    if (buf.length >= V1_MAX_LENGTH || scan === V1_MAX_LENGTH) {
      throw proxyError('PROXY_ERR_V1_TOO_LONG', `v1 line has no CRLF within ${V1_MAX_LENGTH} bytes`)
    }
    return incomplete(buf.length)
  }
  const line = Buffer.from(buf.buffer, buf.byteOffset + V1_SIGNATURE.length + 1, end - V1_SIGNATURE.length - 1).toString('latin1')
  return { status: 'complete', header: parseV1Fields(line), length: end + 2 }
}

/** The part of the line after `PROXY ` and before CRLF. */
function parseV1Fields (line: string): ProxyHeader {
  // Spec 2.1: UNKNOWN may stand alone, or be followed by anything, which the
  // receiver ignores (addresses included).
  if (line === 'UNKNOWN' || line.startsWith('UNKNOWN ')) {
    return { version: 1, proxied: false, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs: EMPTY_TLVS }
  }
  const fields = line.split(' ')
  const family = fields[0] as string
  if (family === '') throw proxyError('PROXY_ERR_V1_SYNTAX', 'v1 "PROXY" is followed by more than one space')
  if (family !== 'TCP4' && family !== 'TCP6') {
    throw proxyError('PROXY_ERR_V1_FAMILY', `v1 protocol "${family.slice(0, 16)}" is not TCP4, TCP6 or UNKNOWN`)
  }
  if (fields.length !== 5) {
    throw proxyError('PROXY_ERR_V1_SYNTAX', `v1 ${family} line needs exactly four fields separated by single spaces`)
  }
  const [, src, dst, sport, dport] = fields as [string, string, string, string, string]
  if (src === '' || dst === '' || sport === '' || dport === '') {
    throw proxyError('PROXY_ERR_V1_SYNTAX', `v1 ${family} line needs exactly four fields separated by single spaces`)
  }
  let source: string
  let destination: string
  if (family === 'TCP4') {
    // Strict dotted decimal is already canonical: validate, keep the text.
    if (parseIPv4(src) === undefined) throw proxyError('PROXY_ERR_V1_ADDRESS', `v1 source "${src}" is not an IPv4 address`)
    if (parseIPv4(dst) === undefined) throw proxyError('PROXY_ERR_V1_ADDRESS', `v1 destination "${dst}" is not an IPv4 address`)
    source = src
    destination = dst
  } else {
    const srcBytes = parseIPv6(src)
    if (srcBytes === undefined) throw proxyError('PROXY_ERR_V1_ADDRESS', `v1 source "${src}" is not an IPv6 address`)
    const dstBytes = parseIPv6(dst)
    if (dstBytes === undefined) throw proxyError('PROXY_ERR_V1_ADDRESS', `v1 destination "${dst}" is not an IPv6 address`)
    source = formatIPv6(srcBytes, 0)
    destination = formatIPv6(dstBytes, 0)
  }
  return {
    version: 1,
    proxied: true,
    command: 'PROXY',
    family: family === 'TCP4' ? 'INET' : 'INET6',
    transport: 'STREAM',
    source: { address: source, port: port(sport, 'source') },
    destination: { address: destination, port: port(dport, 'destination') },
    tlvs: EMPTY_TLVS
  }
}
