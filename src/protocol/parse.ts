import type { ParseLimits, ParseResult } from './header.js'
import { parseV1 } from './v1.js'
import { DEFAULT_MAX_V2_LENGTH, parseV2, V2_SIGNATURE } from './v2.js'

const V2_FIRST_BYTE = 0x0d
const V1_FIRST_BYTE = 0x50 // "P"
/** Spec 2.1: the v1 signature with its separator, `PROXY `. */
const V1_SIGNATURE = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20)

/**
 * Looks for a PROXY header at the start of `buf`.
 *
 * The first byte decides (go-proxyproto `header.go`): 0x0D can only start a
 * v2 header, `P` a v1 header; MQTT CONNECT (0x10), a TLS record (0x16) and an
 * HTTP `GET` can start neither. Returns `absent` as soon as the bytes seen
 * stop matching a signature, `incomplete` (with how many bytes are needed)
 * while more bytes are needed, and `complete` with the header and its length
 * in bytes.
 *
 * @throws ProxyProtocolError when the bytes are a signature followed by
 *   anything the spec does not allow.
 */
export function parseHeader (buf: Uint8Array, limits: ParseLimits = {}): ParseResult {
  if (buf.length === 0) return { status: 'incomplete', needed: 1, capacity: 1 }
  const first = buf[0]
  if (first === V2_FIRST_BYTE) return parseV2(buf, limits.maxV2Length ?? DEFAULT_MAX_V2_LENGTH)
  if (first === V1_FIRST_BYTE) return parseV1(buf)
  return { status: 'absent' }
}

/**
 * Whether `bytes` start with a whole PROXY signature (`PROXY ` or the 12-byte
 * v2 one), are still a strict prefix of one (`partial`, also for no bytes),
 * or cannot be one (`none`). Decides on the signature alone, without parsing
 * what follows it.
 */
export function signatureAt (bytes: Uint8Array): 'signature' | 'partial' | 'none' {
  if (bytes.length === 0) return 'partial'
  const signature = bytes[0] === V1_FIRST_BYTE ? V1_SIGNATURE : bytes[0] === V2_FIRST_BYTE ? V2_SIGNATURE : undefined
  if (signature === undefined) return 'none'
  const n = Math.min(bytes.length, signature.length)
  for (let i = 1; i < n; i++) if (bytes[i] !== signature[i]) return 'none'
  return n === signature.length ? 'signature' : 'partial'
}
