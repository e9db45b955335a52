/**
 * Address parsing and formatting for header fields. Pure: no `node:net`.
 * Output is canonical so two headers naming the same client give the same
 * string: IPv4 dotted decimal, IPv6 per RFC 5952 (lower case, no leading
 * zeros, the longest run of two or more zero groups shortened to `::`, the
 * first such run on a tie), and IPv4-mapped IPv6 as `::ffff:a.b.c.d`.
 */

const DOT = 0x2e
const COLON = 0x3a
const ZERO = 0x30
const NINE = 0x39

/** Decimal text of each byte value, and the same followed by a dot. */
const DECIMAL = Array.from({ length: 256 }, (_, b) => String(b))
const DECIMAL_DOT = DECIMAL.map(d => `${d}.`)

/** Dotted decimal from four bytes at `offset` (callers check the four bytes are there). */
export function formatIPv4 (bytes: Uint8Array, offset: number): string {
  // Three joins of table strings: fewer intermediate strings than a
  // template's seven, measured about a third faster.
  // Bench: parser case v2-inet (bench/cases.ts), candidate ours (bench/candidates.ts).
  return (DECIMAL_DOT[bytes[offset] as number] as string) + (DECIMAL_DOT[bytes[offset + 1] as number] as string) +
    (DECIMAL_DOT[bytes[offset + 2] as number] as string) + (DECIMAL[bytes[offset + 3] as number] as string)
}

/** Hex text of each byte value: without leading zeros, and as two digits. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16))
const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

/** RFC 5952 text from sixteen bytes at `offset`. */
export function formatIPv6 (bytes: Uint8Array, offset: number): string {
  // RFC 5952 5: IPv4-mapped addresses keep the dotted quad.
  let zeros = 0
  while (zeros < 10 && bytes[offset + zeros] === 0) zeros++
  if (zeros === 10 && bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`
  }
  // RFC 5952 4.2: shorten the longest run of at least two zero groups (the
  // first one on a tie).
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (((bytes[offset + 2 * i] as number) | (bytes[offset + 2 * i + 1] as number)) !== 0) { i++; continue }
    let j = i + 1
    while (j < 8 && ((bytes[offset + 2 * j] as number) | (bytes[offset + 2 * j + 1] as number)) === 0) j++
    if (j - i > bestLength) { bestStart = i; bestLength = j - i }
    i = j
  }
  // Groups in lower case without leading zeros (4.1, 4.3), from tables
  // rather than toString(16) per group.
  // Bench: parser case v2-inet6-tlvs (bench/cases.ts), candidate ours (bench/candidates.ts).
  let out = ''
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::'
      i += bestLength - 1
      continue
    }
    if (i > 0 && i !== bestStart + bestLength) out += ':'
    const hi = bytes[offset + 2 * i] as number
    const lo = bytes[offset + 2 * i + 1] as number
    out += hi === 0 ? HEX[lo] as string : (HEX[hi] as string) + (HEX2[lo] as string)
  }
  return out
}

/** Scratch for isCanonicalIPv6: written and read within one call. */
const groupScratch = new Uint16Array(8)

/**
 * Whether `text[start, end)`, which {@link readIPv6} read into `bytes`, is
 * already what {@link formatIPv6} writes for them, so the text can be kept
 * as it is. Walks the RFC 5952 form group by group (the same rules as
 * formatIPv6) comparing characters, without building a string.
 */
export function isCanonicalIPv6 (text: string, start: number, end: number, bytes: Uint8Array): boolean {
  const g = groupScratch
  for (let i = 0; i < 8; i++) g[i] = ((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    // `::ffff:` and the last 32 bits as a dotted quad, which readIPv6 only
    // takes without leading zeros; written as two hex groups it has a colon.
    if (!text.startsWith('::ffff:', start)) return false
    for (let i = start + 7; i < end; i++) if (text.charCodeAt(i) === COLON) return false
    return true
  }
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i + 1
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLength) { bestStart = i; bestLength = j - i }
    i = j
  }
  let p = start
  let colon = false
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      if (text.charCodeAt(p) !== COLON || text.charCodeAt(p + 1) !== COLON) return false
      p += 2
      i += bestLength - 1
      colon = false
      continue
    }
    if (colon) {
      if (text.charCodeAt(p) !== COLON) return false
      p++
    }
    const value = g[i] as number
    for (let shift = value >= 0x1000 ? 12 : value >= 0x100 ? 8 : value >= 0x10 ? 4 : 0; shift >= 0; shift -= 4) {
      const digit = (value >> shift) & 0xf
      if (p >= end || text.charCodeAt(p) !== (digit < 10 ? ZERO + digit : 0x57 + digit)) return false
      p++
    }
    colon = true
  }
  return p === end
}

/** Value of a hex digit's char code, or -1. */
function hexValue (c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO
  const lower = c | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}

/**
 * Strict dotted decimal of `text[start, end)` into `out[at, at + 4)`
 * (spec 2.1: "4 numbers in the range 0..255, without leading zeros").
 * Such text is already canonical.
 */
export function readIPv4 (text: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let octet = 0
  let value = 0
  let digits = 0
  for (let i = start; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : DOT
    if (c === DOT) {
      if (digits === 0 || octet > 3) return false
      out[at + octet] = value
      octet++
      value = 0
      digits = 0
    } else if (c >= ZERO && c <= NINE) {
      if (digits === 1 && value === 0) return false // leading zero
      value = value * 10 + (c - ZERO)
      if (++digits > 3 || value > 255) return false
    } else {
      return false
    }
  }
  return octet === 4
}

/**
 * Strict dotted decimal (spec 2.1: "4 numbers in the range 0..255, without
 * leading zeros"). Returns the four bytes, or `undefined` when invalid.
 */
export function parseIPv4 (text: string): Uint8Array | undefined {
  const out = new Uint8Array(4)
  return text.length <= 15 && readIPv4(text, 0, text.length, out, 0) ? out : undefined
}

/**
 * IPv6 text as RFC 4291 2.2 writes it: eight hex groups of one to four
 * digits, at most one `::`, and optionally a dotted quad for the last 32
 * bits. Zone identifiers (`%eth0`) are refused: they name an interface on the
 * sender, not an address. Returns sixteen bytes, or `undefined`.
 */
export function parseIPv6 (text: string): Uint8Array | undefined {
  const out = new Uint8Array(16)
  return readIPv6(text, 0, text.length, out) >= 0 ? out : undefined
}

/** {@link readIPv6}: not an address. */
export const IPV6_INVALID = -1
/** {@link readIPv6}: an address; whether the text is canonical is not known. */
export const IPV6_VALID = 0
/** {@link readIPv6}: an address, and the text is already what formatIPv6 writes. */
export const IPV6_CANONICAL = 1

/**
 * IPv6 text of `text[start, end)` (as {@link parseIPv6} reads it) into the
 * sixteen bytes of `out`. Returns {@link IPV6_INVALID} when the text is not
 * one address (`out` is then partly written), {@link IPV6_CANONICAL} when
 * it is written as RFC 5952 writes it without a dotted quad (lower case,
 * no leading zeros, `::` on the longest run of zero groups, the first on a
 * tie; what a sender formatting addresses writes), {@link IPV6_VALID}
 * otherwise ({@link isCanonicalIPv6} then decides).
 */
export function readIPv6 (text: string, start: number, end: number, out: Uint8Array): number {
  if (end - start < 2 || end - start > 45) return IPV6_INVALID
  let group = 0 // groups written
  let gap = -1 // group index where `::` stands
  let i = start
  // No upper-case hex digit, no group with a leading zero, no dotted quad.
  let plain = true
  let bits = 0xff // every character code ANDed: upper-case hex lacks 0x20
  if (text.charCodeAt(start) === COLON) {
    if (text.charCodeAt(start + 1) !== COLON) return IPV6_INVALID
    gap = 0
    i = start + 2
    if (i === end) { out.fill(0); return IPV6_CANONICAL } // "::"
  }
  while (i < end) {
    // One field: hex digits, or a dotted quad as the last field.
    const fieldStart = i
    let value = 0
    let digits = 0
    let h: number
    let c = 0
    while (i < end && (h = hexValue(c = text.charCodeAt(i))) >= 0) {
      value = (value << 4) | h
      bits &= c
      digits++
      i++
    }
    if (c === DOT && i < end) {
      // RFC 4291 2.2 item 3: the last 32 bits as dotted decimal.
      if (group > 6 || !readIPv4(text, fieldStart, end, out, 2 * group)) return IPV6_INVALID
      group += 2
      plain = false
      i = end
      break
    }
    if (digits === 0 || digits > 4 || group >= 8) return IPV6_INVALID
    if (digits > 1 && text.charCodeAt(fieldStart) === ZERO) plain = false
    out[2 * group] = value >> 8
    out[2 * group + 1] = value & 0xff
    group++
    if (i === end) break
    if (c !== COLON) return IPV6_INVALID
    i++
    if (i < end && text.charCodeAt(i) === COLON) {
      if (gap >= 0) return IPV6_INVALID // a second `::`
      gap = group
      i++
      if (i === end) break
    } else if (i === end) {
      return IPV6_INVALID // a trailing single colon
    }
  }
  if (gap < 0) {
    if (group !== 8) return IPV6_INVALID
  } else {
    // `::` stands for at least one zero group (RFC 4291 2.2 item 2).
    if (group > 7) return IPV6_INVALID
    const tail = group - gap
    const shift = 8 - group
    for (let g = tail - 1; g >= 0; g--) {
      out[2 * (gap + shift + g)] = out[2 * (gap + g)] as number
      out[2 * (gap + shift + g) + 1] = out[2 * (gap + g) + 1] as number
    }
    out.fill(0, 2 * gap, 2 * (gap + shift))
  }
  if (!plain || (bits & 0x20) === 0) return IPV6_VALID
  // IPv4-mapped: RFC 5952 writes a dotted quad, which this text has not.
  let zeros = 0
  while (zeros < 10 && out[zeros] === 0) zeros++
  if (zeros === 10 && out[10] === 0xff && out[11] === 0xff) return IPV6_VALID
  // RFC 5952 4.2: the `::` must stand on the longest run of two or more
  // zero groups, the first on a tie, and nowhere else.
  let bestStart = -1
  let bestLength = 1
  for (let k = 0; k < 8;) {
    if (((out[2 * k] as number) | (out[2 * k + 1] as number)) !== 0) { k++; continue }
    let j = k + 1
    while (j < 8 && ((out[2 * j] as number) | (out[2 * j + 1] as number)) === 0) j++
    if (j - k > bestLength) { bestStart = k; bestLength = j - k }
    k = j
  }
  if (gap < 0) return bestStart < 0 ? IPV6_CANONICAL : IPV6_VALID
  return bestStart === gap && bestLength === 8 - group ? IPV6_CANONICAL : IPV6_VALID
}

/**
 * The canonical form of an IP address written as text (X-Forwarded-For, say):
 * IPv4 as dotted decimal, IPv6 as RFC 5952 writes it (IPv4-mapped as
 * `::ffff:a.b.c.d`), or `undefined` when the text is not exactly one
 * address (a zone id, leading zeros, a port, anything else).
 */
export function canonicalAddress (text: string): { readonly address: string, readonly family: 4 | 6 } | undefined {
  const v4 = parseIPv4(text)
  if (v4 !== undefined) return { address: formatIPv4(v4, 0), family: 4 }
  const v6 = parseIPv6(text)
  if (v6 !== undefined) return { address: formatIPv6(v6, 0), family: 6 }
  return undefined
}

/** The IPv4 address an IPv4-mapped IPv6 text stands for (`::ffff:10.1.2.3`, any case: `10.1.2.3`), else undefined. */
export function unmappedIPv4 (text: string): string | undefined {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text)?.[1]
}

/** Whether sixteen bytes are an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`. */
export function isMappedIPv4 (bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false
  return bytes[10] === 0xff && bytes[11] === 0xff
}
