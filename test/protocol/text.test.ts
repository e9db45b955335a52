// What may be text in a log line or a hint: src/protocol/text.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { escapeUnclean, isCleanText, printable } from '../../src/protocol/text.js'
import { UNCLEAN_KINDS } from '../helpers/unclean.js'

test('printable: quoted, cut at 64 characters, quotes and backslashes escaped', () => {
  assert.equal(printable('ab"c\\d'), '"ab\\"c\\\\d"')
  assert.equal(printable('a'.repeat(70)), `"${'a'.repeat(64)}…"`)
})
test('printable and escapeUnclean: invisible, format and control characters become \\u escapes', () => {
  assert.equal(printable('x\u202ey\r\n'), '"x\\u202ey\\u000d\\u000a"')
  assert.equal(escapeUnclean('ad\u200bmin'), 'ad\\u200bmin')
  assert.equal(escapeUnclean('ad\ufeffmin'), 'ad\\ufeffmin')
  assert.equal(escapeUnclean('Jürgen 東京 😀'), 'Jürgen 東京 😀')
})
test('isCleanText: one script among Latin, Greek and Cyrillic, NFC, nothing invisible', () => {
  for (const ok of ['admin', 'Jürgen Müller', 'клиент', 'Ελληνικά', '東京のクライアントA', 'عميل 1']) {
    assert.equal(isCleanText(ok), true, ok)
  }
  for (const bad of ['p\u0430ypal', 'jose\u0301', 'a\u00a0b', 'a\u2028b', 'a\u3164', 'a\ue000', 'a\u0378', 'a\u0085']) {
    assert.equal(isCleanText(bad), false, bad)
  }
})
test('escapeUnclean: a name of clean characters that is not clean as a whole (mixed scripts, not NFC) ' +
  'is escaped outside US-ASCII', () => {
  assert.equal(escapeUnclean('p\u0430ypal'), 'p\\u0430ypal')
  assert.equal(escapeUnclean('jose\u0301'), 'jose\\u0301')
})
for (const kind of UNCLEAN_KINDS) {
  test(`${kind.name}: not clean text; escapeUnclean makes it clean, and printable too`, () => {
    assert.equal(isCleanText(kind.text), false)
    assert.equal(isCleanText(escapeUnclean(kind.text)), true)
    assert.equal(isCleanText(printable(kind.text)), true)
  })
}
