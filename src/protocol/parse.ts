import type { ParseLimits, ParseResult } from './header.js'
import { parseV1 } from './v1.js'
import { DEFAULT_MAX_V2_LENGTH, parseV2 } from './v2.js'

const V2_FIRST_BYTE = 0x0d
const V1_FIRST_BYTE = 0x50 // "P"

/**
 * Looks for a PROXY header at the start of `buf`.
 *
 * The first byte decides (go-proxyproto `header.go`): 0x0D can only start a
 * v2 header, `P` a v1 header; MQTT CONNECT (0x10), a TLS record (0x16) and an
 * HTTP `GET` can start neither. Returns `absent` as soon as the bytes seen
 * stop matching a signature, `incomplete` while more bytes are needed, and
 * `complete` with the header and its length in bytes.
 *
 * @throws ProxyProtocolError when the bytes are a signature followed by
 *   anything the spec does not allow.
 */
export function parseHeader (buf: Uint8Array, limits: ParseLimits = {}): ParseResult {
  if (buf.length === 0) return { status: 'incomplete' }
  const first = buf[0]
  if (first === V2_FIRST_BYTE) return parseV2(buf, limits.maxV2Length ?? DEFAULT_MAX_V2_LENGTH)
  if (first === V1_FIRST_BYTE) return parseV1(buf)
  return { status: 'absent' }
}
