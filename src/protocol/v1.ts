import { formatIPv6, IPV6_CANONICAL, IPV6_INVALID, isCanonicalIPv6, readIPv4, readIPv6 } from './address.js'
import { proxyError } from './errors.js'
import type { ParseResult, ProxyHeader } from './header.js'
import { latin1Slice } from './text.js'
import { EMPTY_TLVS } from './tlv.js'

/** Spec 2.1: "PROXY" is the signature of the text format. */
const V1_SIGNATURE = [0x50, 0x52, 0x4f, 0x58, 0x59] // "PROXY"
/** Spec 2.1: the worst-case line, CRLF included, is 107 bytes. */
export const V1_MAX_LENGTH = 107
const CR = 0x0d
const LF = 0x0a
const SPACE = 0x20
const ZERO = 0x30
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

/**
 * Spec 2.1: ports are 0..65535 in decimal without leading zeros. Reads
 * `line[start, end)`.
 */
function port (line: string, start: number, end: number, which: string): number {
  const length = end - start
  let value = length > 0 && length <= 5 && !(length > 1 && line.charCodeAt(start) === ZERO) ? 0 : -1
  for (let i = start; value >= 0 && i < end; i++) {
    const digit = line.charCodeAt(i) - ZERO
    value = digit >= 0 && digit <= 9 ? value * 10 + digit : -1
  }
  if (value < 0 || value > 65535) {
    const text = line.slice(start, end)
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
  // Where the spaces after "PROXY " are, for parseV1Fields: the first four,
  // and how many (relative to the line after "PROXY ").
  const spaces = spaceScratch
  let count = 0
  for (let i = V1_SIGNATURE.length + 1; i < scan; i++) {
    const byte = buf[i] as number
    if (byte >= SPACE && byte <= 0x7e) { // printable: the common case, checked first
      if (byte === SPACE && count++ < 4) spaces[count - 1] = i - V1_SIGNATURE.length - 1
      continue
    }
    if (byte === CR) {
      // The LF must still fit within the 107 bytes.
      if (i + 1 >= V1_MAX_LENGTH) break
      if (i + 1 >= buf.length) return incomplete(buf.length)
      if (buf[i + 1] !== LF) throw proxyError('PROXY_ERR_V1_CRLF', 'v1 CR is not followed by LF')
      end = i
      break
    }
    if (byte === LF) throw proxyError('PROXY_ERR_V1_CRLF', 'v1 line ends in LF without CR')
    if (!(unknownTail && i >= UNKNOWN_PREFIX.length)) {
      throw proxyError('PROXY_ERR_V1_SYNTAX',
        `v1 line has a non-printable byte 0x${byte.toString(16).padStart(2, '0')}`)
    }
  }
  if (end < 0) {
    if (buf.length >= V1_MAX_LENGTH || scan === V1_MAX_LENGTH) {
      throw proxyError('PROXY_ERR_V1_TOO_LONG', `v1 line has no CRLF within ${V1_MAX_LENGTH} bytes`)
    }
    return incomplete(buf.length)
  }
  // One string for the whole line: fields are slices of it (a copy, so the
  // header never pins the socket's buffer), read with charCodeAt.
  // Bench: parser cases v1-tcp4 and v1-tcp6 (bench/cases.ts), candidate ours (bench/candidates.ts).
  const line = latin1Slice.call(buf, V1_SIGNATURE.length + 1, end)
  return { status: 'complete', header: parseV1Fields(line, count, spaces), length: end + 2 }
}

/** Space positions found by the CRLF scan, read by parseV1Fields in the same call. */
// Bench (this and `scratch`: no allocation per line): parser cases v1-tcp4 and v1-tcp6 (bench/cases.ts).
const spaceScratch = new Int32Array(4)

/** Scratch for address validation: written and read within one call. */
const scratch = new Uint8Array(16)

/**
 * The part of the line after `PROXY ` and before CRLF, read in one pass:
 * where the single spaces are, then each field in place. Checks run in the
 * order the refusals are ranked (syntax, family, field count, addresses,
 * ports), so each line gets the same code whatever else is wrong with it.
 */
function parseV1Fields (line: string, spaces: number, at: Int32Array): ProxyHeader {
  const length = line.length
  // Spec 2.1: UNKNOWN may stand alone, or be followed by anything, which the
  // receiver ignores (addresses included).
  if (line.startsWith('UNKNOWN') && (length === 7 || line.charCodeAt(7) === SPACE)) {
    return { version: 1, proxied: false, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs: EMPTY_TLVS }
  }
  // s1..s4: the spaces after the protocol, each address and the source port.
  const s1 = spaces > 0 ? at[0] as number : -1
  const s2 = at[1] as number
  const s3 = at[2] as number
  const s4 = at[3] as number
  if (s1 === 0 || length === 0) throw proxyError('PROXY_ERR_V1_SYNTAX', 'v1 "PROXY" is followed by more than one space')
  const familyEnd = s1 < 0 ? length : s1
  const tcp4 = familyEnd === 4 && line.startsWith('TCP4')
  if (!tcp4 && !(familyEnd === 4 && line.startsWith('TCP6'))) {
    throw proxyError('PROXY_ERR_V1_FAMILY',
      `v1 protocol "${line.slice(0, Math.min(familyEnd, 16))}" is not TCP4, TCP6 or UNKNOWN`)
  }
  const family = tcp4 ? 'TCP4' : 'TCP6'
  if (spaces !== 4 || s2 === s1 + 1 || s3 === s2 + 1 || s4 === s3 + 1 || s4 === length - 1) {
    throw proxyError('PROXY_ERR_V1_SYNTAX', `v1 ${family} line needs exactly four fields separated by single spaces`)
  }
  let source: string
  let destination: string
  if (tcp4) {
    // Strict dotted decimal is already canonical: validate, keep the text.
    if (!readIPv4(line, s1 + 1, s2, scratch, 0)) {
      throw proxyError('PROXY_ERR_V1_ADDRESS', `v1 source "${line.slice(s1 + 1, s2)}" is not an IPv4 address`)
    }
    if (!readIPv4(line, s2 + 1, s3, scratch, 0)) {
      throw proxyError('PROXY_ERR_V1_ADDRESS', `v1 destination "${line.slice(s2 + 1, s3)}" is not an IPv4 address`)
    }
    source = line.slice(s1 + 1, s2)
    destination = line.slice(s2 + 1, s3)
  } else {
    // RFC 5952 text is kept as it is; anything else valid is rewritten.
    const src = readIPv6(line, s1 + 1, s2, scratch)
    if (src === IPV6_INVALID) {
      throw proxyError('PROXY_ERR_V1_ADDRESS', `v1 source "${line.slice(s1 + 1, s2)}" is not an IPv6 address`)
    }
    source = src === IPV6_CANONICAL || isCanonicalIPv6(line, s1 + 1, s2, scratch)
      ? line.slice(s1 + 1, s2)
      : formatIPv6(scratch, 0)
    const dst = readIPv6(line, s2 + 1, s3, scratch)
    if (dst === IPV6_INVALID) {
      throw proxyError('PROXY_ERR_V1_ADDRESS', `v1 destination "${line.slice(s2 + 1, s3)}" is not an IPv6 address`)
    }
    destination = dst === IPV6_CANONICAL || isCanonicalIPv6(line, s2 + 1, s3, scratch)
      ? line.slice(s2 + 1, s3)
      : formatIPv6(scratch, 0)
  }
  return {
    version: 1,
    proxied: true,
    command: 'PROXY',
    family: tcp4 ? 'INET' : 'INET6',
    transport: 'STREAM',
    source: { address: source, port: port(line, s3 + 1, s4, 'source') },
    destination: { address: destination, port: port(line, s4 + 1, length, 'destination') },
    tlvs: EMPTY_TLVS
  }
}
