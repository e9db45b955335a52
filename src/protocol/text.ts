import { proxyError } from './errors.js'

/**
 * Which TLV strings become text (spec 2.2.2, 2.2.6; PROXY-NOTES: "reject
 * control characters before values reach auth").
 *
 * A string TLV (AUTHORITY, SSL_CN, NETNS, the SSL names) is one of three:
 * - **clean text**: decoded and set (`authority`, `ssl.cn`, ...);
 * - **not text, or not clean**: left undecoded, the field absent, its bytes
 *   still in `raw` / `ssl.tlvs`. That is a value with a NUL byte (UTF-16,
 *   as HAProxy forwards a BMPString CN), invalid UTF-8 (a T61String or
 *   Latin-1 CN), or UTF-8 whose characters could disguise one name as
 *   another: format and invisible characters (U+200B, U+202E, U+2060,
 *   U+FEFF, ...: Unicode's default-ignorable code points), line and
 *   paragraph separators, spaces other than U+0020, private-use and
 *   unassigned code points, text that is not in NFC, and letters from more
 *   than one of Latin, Greek and Cyrillic ("pаypal" with a Cyrillic а);
 * - **a CRLF-injection attempt**: a control character (C0 but NUL, DEL, C1)
 *   in a value that is otherwise text: the header is refused with
 *   `PROXY_ERR_TLV_VALUE`, as EMQX refuses it.
 */
const CONTROL_C1 = /[\u0080-\u009f]/
const NOT_CLEAN = /[\p{Cc}\p{Default_Ignorable_Code_Point}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u
const LATIN = /\p{Script=Latin}/u
const GREEK = /\p{Script=Greek}/u
const CYRILLIC = /\p{Script=Cyrillic}/u

// ignoreBOM: keep a leading U+FEFF, so `\uFEFFadmin` is seen (and refused as
// not clean) rather than decoded as `admin`.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** True when every byte is printable US-ASCII (0x20-0x7E). */
function printableAscii (value: Uint8Array): boolean {
  for (let i = 0; i < value.length; i++) {
    const byte = value[i] as number
    if (byte < 0x20 || byte > 0x7e) return false
  }
  return true
}

/** Throws on a C0 control other than NUL, or DEL: bytes that break a log line. */
function refuseControlBytes (value: Uint8Array, what: string): void {
  for (let i = 0; i < value.length; i++) {
    const byte = value[i] as number
    if ((byte >= 0x01 && byte < 0x20) || byte === 0x7f) {
      throw proxyError('PROXY_ERR_TLV_VALUE', `${what} contains a control character (0x${byte.toString(16).padStart(2, '0')})`)
    }
  }
}

/** True when `text` may be shown and compared as a name (see above). */
export function isCleanText (text: string): boolean {
  if (NOT_CLEAN.test(text)) return false
  if (text.normalize('NFC') !== text) return false
  const scripts = (LATIN.test(text) ? 1 : 0) + (GREEK.test(text) ? 1 : 0) + (CYRILLIC.test(text) ? 1 : 0)
  return scripts <= 1
}

/**
 * A UTF-8 string TLV: its text when clean, undefined when it is not text or
 * not clean (its bytes stay raw).
 * @throws ProxyProtocolError `PROXY_ERR_TLV_VALUE` for a control character in text.
 */
export function textValue (value: Uint8Array, what: string): string | undefined {
  if (printableAscii(value)) return Buffer.from(value.buffer, value.byteOffset, value.length).toString('latin1')
  if (value.includes(0)) return undefined // UTF-16 or binary, not UTF-8 text
  refuseControlBytes(value, what)
  let text: string
  try {
    text = utf8.decode(value)
  } catch {
    return undefined // not UTF-8: a T61String or Latin-1 name, say
  }
  if (CONTROL_C1.test(text)) throw proxyError('PROXY_ERR_TLV_VALUE', `${what} contains a C1 control character`)
  return isCleanText(text) ? text : undefined
}

/**
 * Checks the string TLV `bytes[start, end)` as {@link textValue} (or, with
 * `ascii`, {@link asciiValue}) will decode it, without decoding printable
 * US-ASCII (all that real senders write).
 * @throws ProxyProtocolError `PROXY_ERR_TLV_VALUE` where the decoder would.
 */
export function checkText (bytes: Uint8Array, start: number, end: number, what: string, ascii: boolean): void {
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number
    if (byte < 0x20 || byte > 0x7e) {
      const value = bytes.subarray(start, end)
      if (ascii) asciiValue(value, what)
      else textValue(value, what)
      return
    }
  }
}

/**
 * Buffer's own latin1 decoder, called on any Uint8Array: one copy of
 * `bytes[start, end)` into a string, without a Buffer view made first.
 */
export const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice

/**
 * {@link textValue} (or, with `ascii`, {@link asciiValue}) of
 * `bytes[start, end)`, printable US-ASCII decoded in place.
 */
export function textAt (bytes: Uint8Array, start: number, end: number, what: string, ascii: boolean): string | undefined {
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number
    if (byte < 0x20 || byte > 0x7e) {
      const value = bytes.subarray(start, end)
      return ascii ? asciiValue(value, what) : textValue(value, what)
    }
  }
  return latin1Slice.call(bytes, start, end)
}

/** Sets a decoded string field only when the value was clean text. */
export function setText<T extends object> (target: T, key: keyof T, text: string | undefined): void {
  if (text !== undefined) (target as Record<keyof T, unknown>)[key] = text
}

/**
 * A US-ASCII string TLV (SSL_VERSION, SSL_CIPHER, NETNS, ...): its text when
 * printable, undefined when it has other bytes (they stay raw).
 * @throws ProxyProtocolError `PROXY_ERR_TLV_VALUE` for a control character.
 */
export function asciiValue (value: Uint8Array, what: string): string | undefined {
  if (printableAscii(value)) return Buffer.from(value.buffer, value.byteOffset, value.length).toString('latin1')
  if (value.includes(0)) return undefined
  refuseControlBytes(value, what)
  return undefined
}

/**
 * `text` for a log field: at most `max` characters, and every character
 * that is not clean escaped as `\uXXXX`, so a client id or name can never
 * print as another, nor break a line.
 */
export function escapeUnclean (text: string, max = 256): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text
  if (isCleanText(cut)) return cut
  const escape = (ch: string): string => ch.split('').map(c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
  let out = ''
  for (const ch of cut) out += ch === '…' || isCleanText(ch) ? ch : escape(ch)
  if (isCleanText(out)) return out
  // Each character is clean but the whole is not (mixed scripts, not NFC):
  // everything outside US-ASCII is escaped, so it cannot pass for another name.
  let ascii = ''
  for (const ch of out) ascii += ch === '…' || ch.charCodeAt(0) < 0x80 ? ch : escape(ch)
  return ascii
}

/** `text` for a hint or a message: quoted, at most `max` characters, escaped as {@link escapeUnclean}. */
export function printable (text: string, max = 64): string {
  return `"${escapeUnclean(text.replace(/["\\]/g, '\\$&'), max)}"`
}
