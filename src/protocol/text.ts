/**
 * Which TLV strings become text (spec 2.2.2, 2.2.6).
 *
 * A string TLV (AUTHORITY, SSL_CN, NETNS, the SSL names) is one of two:
 * - **clean text**: decoded and set (`authority`, `ssl.cn`, ...);
 * - **anything else**: left undecoded, the field absent, its bytes still in
 *   `raw` / `ssl.tlvs`, and the header accepted whatever the bytes are. That
 *   is a value with a control character (C0, NUL included, DEL, C1: a CR LF
 *   injection attempt, or UTF-16BE, as HAProxy forwards a BMPString CN, whose
 *   bytes hold 0x04 in Cyrillic or 0x0A in 上), invalid UTF-8 (a T61String
 *   or Latin-1 CN), or UTF-8 whose characters could disguise one name as
 *   another: format and invisible characters (U+200B, U+202E, U+2060,
 *   U+FEFF, ...: Unicode's default-ignorable code points), line and
 *   paragraph separators, spaces other than U+0020, private-use and
 *   unassigned code points, text that is not in NFC, and letters from more
 *   than one of Latin, Greek and Cyrillic ("pаypal" with a Cyrillic а).
 * A value that is not decoded reaches no decoded field and no log line as
 * text, so it cannot inject anything: refusing the client for it (as the
 * plugin did for a Cyrillic BMPString CN) would only lock out real clients.
 */
// \p{DI} is \p{Default_Ignorable_Code_Point}.
const NOT_CLEAN = /[\p{Cc}\p{DI}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u
const LATIN = /\p{Script=Latin}/u
const GREEK = /\p{Script=Greek}/u
const CYRILLIC = /\p{Script=Cyrillic}/u

// ignoreBOM: keep a leading U+FEFF, so `\uFEFFadmin` is seen (and left raw
// as not clean) rather than decoded as `admin`.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** True when every byte of `bytes[start, end)` is printable US-ASCII (0x20-0x7E). */
function printableAscii (bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number
    if (byte < 0x20 || byte > 0x7e) return false
  }
  return true
}

/** True when `text` may be shown and compared as a name (see above). */
export function isCleanText (text: string): boolean {
  if (NOT_CLEAN.test(text)) return false
  if (text.normalize('NFC') !== text) return false
  const scripts = (LATIN.test(text) ? 1 : 0) + (GREEK.test(text) ? 1 : 0) + (CYRILLIC.test(text) ? 1 : 0)
  return scripts <= 1
}

/**
 * Buffer's own latin1 decoder, called on any Uint8Array: one copy of
 * `bytes[start, end)` into a string, without a Buffer view made first.
 */
// Bench: parser cases v1-tcp4, v1-tcp6 and v2-inet6-tlvs (bench/cases.ts), candidate ours (bench/candidates.ts).
export const latin1Slice = (Buffer.prototype as unknown as {
  latin1Slice: (this: Uint8Array, start: number, end: number) => string
}).latin1Slice

/**
 * The string TLV `bytes[start, end)` as text: printable US-ASCII decoded in
 * place (all that real senders write); otherwise, unless `ascii` (the SSL
 * names, NETNS), UTF-8 that is clean text; undefined for anything else (its
 * bytes stay raw). Never throws: no value refuses a header.
 */
export function textAt (bytes: Uint8Array, start: number, end: number, ascii: boolean): string | undefined {
  // Bench: parser case v2-inet6-tlvs (bench/cases.ts), candidate ours-read (bench/candidates.ts).
  if (printableAscii(bytes, start, end)) return latin1Slice.call(bytes, start, end)
  if (ascii) return undefined
  let text: string
  try {
    text = utf8.decode(bytes.subarray(start, end))
  } catch {
    return undefined // not UTF-8: a T61String or Latin-1 name, say
  }
  return isCleanText(text) ? text : undefined
}

/** Sets a decoded string field only when the value was clean text. */
export function setText<T extends object> (target: T, key: keyof T, text: string | undefined): void {
  if (text !== undefined) (target as Record<keyof T, unknown>)[key] = text
}

/**
 * `text` for a log field: at most `max` characters, and every character
 * that is not clean escaped as `\uXXXX`, so a client id or name can never
 * print as another, nor break a line.
 */
export function escapeUnclean (text: string, max = 256): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text
  if (isCleanText(cut)) return cut
  const escape = (ch: string): string =>
    ch.split('').map(c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
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
