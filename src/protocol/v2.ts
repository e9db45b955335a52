import { formatIPv4, formatIPv6 } from './address.js'
import { proxyError } from './errors.js'
import type { ParseResult, ProxyHeader } from './header.js'
import { checkTlvs, EMPTY_TLVS, lazyTlvSet } from './tlv.js'

/** Spec 2.2: the 12-byte v2 signature. It contains NUL, so it is no C string. */
export const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a)
/** Spec 2.2: signature, ver/cmd, fam/proto, 16-bit length. */
export const V2_FIXED_LENGTH = 16
/** Default cap on `len`: room for an SSL TLV carrying a DER client certificate (go-proxyproto's bound). */
export const DEFAULT_MAX_V2_LENGTH = 4096

const COMMAND_LOCAL = 0x0
const COMMAND_PROXY = 0x1
/** Spec 2.2: address block sizes per family. */
const ADDRESS_LENGTH = { UNSPEC: 0, INET: 12, INET6: 36, UNIX: 216 } as const
const FAMILIES = ['UNSPEC', 'INET', 'INET6', 'UNIX'] as const
const TRANSPORTS = ['UNSPEC', 'STREAM', 'DGRAM'] as const
/** Spec 2.2: the only valid family/transport bytes; others "must be rejected as invalid". */
const VALID_FAMILY_BYTES: readonly boolean[] = (() => {
  const valid = new Array<boolean>(256).fill(false)
  for (const byte of [0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32]) valid[byte] = true
  return valid
})()

/**
 * Parses a v2 header at the start of `buf` (whose first byte is 0x0D).
 * Checks each fixed byte as soon as it has arrived; waits for all `16 + len`
 * bytes before reading the address block (spec 2.2: never parse a prefix).
 */
export function parseV2 (buf: Uint8Array, maxV2Length: number): ParseResult {
  const prefix = Math.min(buf.length, V2_SIGNATURE.length)
  for (let i = 0; i < prefix; i++) {
    if (buf[i] !== V2_SIGNATURE[i]) return { status: 'absent' }
  }
  if (buf.length > 12) {
    const verCmd = buf[12] as number
    // Spec 2.2: "the receiver must only accept this value".
    if (verCmd >> 4 !== 0x2) {
      throw proxyError('PROXY_ERR_V2_VERSION', `v2 version nibble is 0x${(verCmd >> 4).toString(16)}, not 0x2`)
    }
    const command = verCmd & 0x0f
    if (command !== COMMAND_LOCAL && command !== COMMAND_PROXY) {
      throw proxyError('PROXY_ERR_V2_COMMAND',
        `v2 command nibble is 0x${command.toString(16)}, neither LOCAL nor PROXY`)
    }
  }
  if (buf.length > 13 && VALID_FAMILY_BYTES[buf[13] as number] !== true) {
    const byte = (buf[13] as number).toString(16).padStart(2, '0')
    throw proxyError('PROXY_ERR_V2_FAMILY', `v2 family/transport byte 0x${byte} is not one the spec allows`)
  }
  // Every fixed byte is checked as it arrives: parse again at the next one.
  if (buf.length < V2_FIXED_LENGTH) return { status: 'incomplete', needed: buf.length + 1, capacity: V2_FIXED_LENGTH }
  const length = ((buf[14] as number) << 8) | (buf[15] as number)
  if (length > maxV2Length) {
    throw proxyError('PROXY_ERR_V2_TOO_LONG', `v2 length ${length} is above the limit of ${maxV2Length}`)
  }
  const total = V2_FIXED_LENGTH + length
  if (buf.length < total) return { status: 'incomplete', needed: total, capacity: total }
  return { status: 'complete', header: parseV2Body(buf, total), length: total }
}

/** The header is `buf[0, total)`; bytes after it are the payload's. */
function parseV2Body (buf: Uint8Array, total: number): ProxyHeader {
  const famByte = buf[13] as number
  const family = FAMILIES[famByte >> 4] as typeof FAMILIES[number]
  const transport = TRANSPORTS[famByte & 0x0f] as typeof TRANSPORTS[number]
  const length = total - V2_FIXED_LENGTH
  if (((buf[12] as number) & 0x0f) === COMMAND_LOCAL) {
    // Spec 2.2: LOCAL means "use the real connection endpoints and discard the
    // protocol block including the family". `len` was honoured above, so an
    // AWS health check (LOCAL, AF_INET, CRC32C, NOOP) is skipped whole.
    return { version: 2, proxied: false, command: 'LOCAL', family, transport, tlvs: EMPTY_TLVS }
  }
  const addressLength = ADDRESS_LENGTH[family]
  if (length < addressLength) {
    throw proxyError('PROXY_ERR_V2_ADDRESS_LENGTH',
      `v2 length ${length} is shorter than the ${addressLength}-byte ${family} address block`)
  }
  const tlvStart = V2_FIXED_LENGTH + addressLength
  const hasTlvs = tlvStart < total
  // Every TLV rule is checked now, so a bad TLV refuses the header here;
  // the values are decoded when `tlvs` is first read.
  if (hasTlvs) checkTlvs(buf, tlvStart, total)
  let header: ProxyHeader
  if ((family === 'INET' || family === 'INET6') && transport === 'STREAM') {
    // Spec 2.2: src addr, dst addr, src port, dst port (network byte order).
    const a = V2_FIXED_LENGTH
    const size = family === 'INET' ? 4 : 16
    const format = family === 'INET' ? formatIPv4 : formatIPv6
    const ports = a + 2 * size
    const source = { address: format(buf, a), port: ((buf[ports] as number) << 8) | (buf[ports + 1] as number) }
    const destination = {
      address: format(buf, a + size), port: ((buf[ports + 2] as number) << 8) | (buf[ports + 3] as number)
    }
    if (!hasTlvs) {
      return { version: 2, proxied: true, command: 'PROXY', family, transport, source, destination, tlvs: EMPTY_TLVS }
    }
    header = {
      version: 2, proxied: true, command: 'PROXY', family, transport, source, destination
    } as unknown as ProxyHeader
  } else {
    // Spec 2.2: UNSPEC (addresses ignored) and combinations a TCP receiver
    // does not serve (UNIX, DGRAM) fall back to the socket's own endpoints.
    if (!hasTlvs) return { version: 2, proxied: false, command: 'PROXY', family, transport, tlvs: EMPTY_TLVS }
    header = { version: 2, proxied: false, command: 'PROXY', family, transport } as unknown as ProxyHeader
  }
  lazyTlvSet(header, buf, tlvStart, total)
  return header
}
