// The kinds of string that are not clean text (src/protocol/text.ts): one
// list for every test that a client id, a user name or a TLV string of each
// kind is escaped in a log line or left undecoded. Each kind sits in
// otherwise clean text, so only that kind makes it unclean.
export const UNCLEAN_KINDS: ReadonlyArray<{ readonly name: string, readonly text: string }> = [
  { name: 'a C0 control (BEL)', text: 'dev\u0007ice' },
  { name: 'CR LF (a log-injection attempt)', text: 'device\r\nX-Injected: 1' },
  { name: 'an ANSI escape sequence', text: '\u001b[2Jdevice' },
  { name: 'DEL', text: 'device\u007f' },
  { name: 'a C1 control (U+0085 NEXT LINE)', text: 'device\u0085' },
  { name: 'U+202E RIGHT-TO-LEFT OVERRIDE', text: 'admin\u202enimda' },
  { name: 'U+200B ZERO WIDTH SPACE', text: 'ad\u200bmin' },
  { name: 'U+2060 WORD JOINER', text: 'ad\u2060min' },
  { name: 'U+FEFF inside', text: 'ad\ufeffmin' },
  { name: 'U+00AD SOFT HYPHEN', text: 'ad\u00admin' },
  { name: 'U+2028 LINE SEPARATOR', text: 'admin\u2028root' },
  { name: 'U+2029 PARAGRAPH SEPARATOR', text: 'admin\u2029root' },
  { name: 'a private-use character', text: 'admin\ue000' },
  { name: 'Hangul fillers (U+3164, U+115F, U+FFA0)', text: 'admin\u3164\u115f\uffa0' },
  { name: 'a combining grapheme joiner (U+034F)', text: 'ad\u034fmin' },
  { name: 'variation selectors (U+FE0F, U+E0100)', text: 'admin\ufe0f\u{e0100}' },
  { name: 'spaces other than U+0020 (U+00A0, U+2007, U+3000)', text: 'admin\u00a0ro\u2007ot\u3000' },
  { name: 'an unassigned code point (U+0378)', text: 'admin\u0378' },
  { name: 'text not in NFC (e + combining acute)', text: 'jose\u0301' },
  { name: 'Latin mixed with Cyrillic (pаypal)', text: 'p\u0430ypal' },
  { name: 'Latin mixed with Greek (οk)', text: '\u03bfk' }
]
