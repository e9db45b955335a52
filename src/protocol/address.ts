/**
 * Address parsing and formatting for header fields. Pure: no `node:net`.
 * Output is canonical so two headers naming the same client give the same
 * string: IPv4 dotted decimal, IPv6 per RFC 5952 (lower case, no leading
 * zeros, the longest run of two or more zero groups shortened to `::`, the
 * first such run on a tie), and IPv4-mapped IPv6 as `::ffff:a.b.c.d`.
 */

/** Dotted decimal from four bytes at `offset`. */
export function formatIPv4 (bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`
}

/** RFC 5952 text from sixteen bytes at `offset`. */
export function formatIPv6 (bytes: Uint8Array, offset: number): string {
  const groups: number[] = []
  for (let i = 0; i < 8; i++) {
    groups.push(((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0))
  }
  // RFC 5952 5: IPv4-mapped addresses keep the dotted quad.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 &&
      groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`
  }
  // RFC 5952 4.2: shorten the longest run of at least two zero groups.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) { bestStart = i; bestLength = j - i }
    i = j
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map(g => g.toString(16)).join(':')
  if (bestStart < 0) return hex(0, 8)
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`
}

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/

/**
 * Strict dotted decimal (spec 2.1: "4 numbers in the range 0..255, without
 * leading zeros"). Returns the four bytes, or `undefined` when invalid.
 */
export function parseIPv4 (text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string
    if (!DECIMAL_OCTET.test(part)) return undefined
    const value = Number(part)
    if (value > 255) return undefined
    out[i] = value
  }
  return out
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/

/**
 * IPv6 text as RFC 4291 2.2 writes it: eight hex groups of one to four
 * digits, at most one `::`, and optionally a dotted quad for the last 32
 * bits. Zone identifiers (`%eth0`) are refused: they name an interface on the
 * sender, not an address. Returns sixteen bytes, or `undefined`.
 */
export function parseIPv6 (text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const toGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === '') return []
    const fields = part.split(':')
    const groups: number[] = []
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as string
      if (allowV4Tail && i === fields.length - 1 && field.includes('.')) {
        const v4 = parseIPv4(field)
        if (v4 === undefined) return undefined
        groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number))
      } else {
        if (!HEX_GROUP.test(field)) return undefined
        groups.push(parseInt(field, 16))
      }
    }
    return groups
  }
  let groups: number[]
  if (halves.length === 1) {
    const all = toGroups(text, true)
    if (all === undefined || all.length !== 8) return undefined
    groups = all
  } else {
    const head = toGroups(halves[0] as string, false)
    const tail = toGroups(halves[1] as string, true)
    if (head === undefined || tail === undefined) return undefined
    // `::` stands for at least one zero group (RFC 4291 2.2 item 2).
    if (head.length + tail.length > 7) return undefined
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  }
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as number
    out[2 * i] = g >> 8
    out[2 * i + 1] = g & 0xff
  }
  return out
}
