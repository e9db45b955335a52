// Address text: RFC 5952 output, strict spec 2.1 input (PROXY-NOTES.md 1.2).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  formatIPv4, formatIPv6, IPV6_CANONICAL, IPV6_INVALID, isCanonicalIPv6, parseIPv4, parseIPv6, readIPv6
} from '../../src/protocol/address.js'
import { parseHeader } from '../../src/protocol/parse.js'
import { encodeV2, ipv6Bytes } from '../helpers/encode.js'

/** 16 bytes from eight hex groups, written out in full (independent of both parsers). */
const groups = (...g: number[]): Buffer => {
  const out = Buffer.alloc(16)
  g.forEach((v, i) => out.writeUInt16BE(v, 2 * i))
  return out
}

// RFC 5952 section 4 and 5.
const canonical: ReadonlyArray<{ name: string, bytes: Buffer, text: string }> = [
  { name: 'longest zero run shortened', bytes: groups(0x2001, 0xdb8, 0, 0, 0, 0, 2, 1), text: '2001:db8::2:1' },
  {
    name: 'leading zeros in a group dropped (4.1)', bytes: groups(0x2001, 0x0db8, 0, 0, 0, 0, 0, 1), text: '2001:db8::1'
  },
  {
    name: 'a single zero group is not shortened (4.2.2)',
    bytes: groups(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1),
    text: '2001:db8:0:1:1:1:1:1'
  },
  { name: 'the longer of two runs (4.2.3)', bytes: groups(0x2001, 0, 0, 1, 0, 0, 0, 1), text: '2001:0:0:1::1' },
  {
    name: 'the first of two equal runs (4.2.3)',
    bytes: groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1),
    text: '2001:db8::1:0:0:1'
  },
  { name: 'lower case (4.3)', bytes: groups(0x2001, 0xdb8, 0, 0, 0, 0, 0xabcd, 0xef01), text: '2001:db8::abcd:ef01' },
  { name: 'all zero', bytes: groups(0, 0, 0, 0, 0, 0, 0, 0), text: '::' },
  { name: 'loopback', bytes: groups(0, 0, 0, 0, 0, 0, 0, 1), text: '::1' },
  { name: 'trailing run', bytes: groups(1, 0, 0, 0, 0, 0, 0, 0), text: '1::' },
  { name: 'run of two at the end', bytes: groups(1, 2, 3, 4, 5, 6, 0, 0), text: '1:2:3:4:5:6::' },
  { name: 'run of two at the start', bytes: groups(0, 0, 3, 4, 5, 6, 7, 8), text: '::3:4:5:6:7:8' },
  { name: 'alternating zeros: nothing to shorten', bytes: groups(1, 0, 2, 0, 3, 0, 4, 0), text: '1:0:2:0:3:0:4:0' },
  { name: 'later run longer than the first', bytes: groups(0, 1, 0, 0, 1, 0, 0, 0), text: '0:1:0:0:1::' },
  {
    name: 'no zeros',
    bytes: groups(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff),
    text: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
  },
  {
    name: 'IPv4-mapped as ::ffff:a.b.c.d (5)',
    bytes: groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201),
    text: '::ffff:192.0.2.1'
  },
  { name: 'IPv4-mapped zero address', bytes: groups(0, 0, 0, 0, 0, 0xffff, 0, 0), text: '::ffff:0.0.0.0' },
  {
    name: 'link-local', bytes: groups(0xfe80, 0, 0, 0, 0x1ff, 0xfe23, 0x4567, 0x890a), text: 'fe80::1ff:fe23:4567:890a'
  }
]

for (const row of canonical) {
  test(`formatIPv6: ${row.name} -> ${row.text}`, () => {
    assert.equal(formatIPv6(row.bytes, 0), row.text)
    // At an offset, as inside a v2 address block.
    assert.equal(formatIPv6(Buffer.concat([Buffer.alloc(5, 0xaa), row.bytes, Buffer.alloc(3, 0xbb)]), 5), row.text)
  })
  test(`v2 INET6 reports ${row.text} for ${row.name}`, () => {
    const addressBlock = Buffer.concat([row.bytes, groups(0, 0, 0, 0, 0, 0, 0, 1), Buffer.from([0, 1, 0, 2])])
    const header = encodeV2({ family: 'INET6', addressBlock })
    const result = parseHeader(header)
    if (result.status !== 'complete' || !result.header.proxied) return assert.fail('expected a proxied header')
    assert.equal(result.header.source.address, row.text)
    assert.equal(result.header.destination.address, '::1')
  })
}

test('formatIPv4: dotted decimal at an offset', () => {
  assert.equal(formatIPv4(Buffer.from([9, 192, 0, 2, 1]), 1), '192.0.2.1')
  assert.equal(formatIPv4(Buffer.from([0, 0, 0, 0]), 0), '0.0.0.0')
  assert.equal(formatIPv4(Buffer.from([255, 255, 255, 255]), 0), '255.255.255.255')
})

const ipv4Valid = ['0.0.0.0', '192.0.2.1', '255.255.255.255', '10.0.0.10', '1.2.3.4']
const ipv4Invalid = [
  '', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1.2.3.00', '256.0.0.0', '1.2.3.-1', '1..3.4', '1.2.3.4.',
  '.1.2.3.4', ' 1.2.3.4', '1.2.3.4 ', '0x1.2.3.4', '1.2.3.4a', '1e2.1.1.1', '+1.2.3.4', '1.2.3.1000', '::1', 'localhost'
]

for (const text of ipv4Valid) {
  test(`parseIPv4 accepts "${text}"`, () => {
    assert.deepEqual(parseIPv4(text), Uint8Array.from(text.split('.').map(Number)))
  })
}
for (const text of ipv4Invalid) {
  test(`parseIPv4 rejects "${text}"`, () => {
    assert.equal(parseIPv4(text), undefined)
  })
}

// RFC 4291 2.2 text forms; the expected bytes come from the test encoder, not the parser.
const ipv6Valid: ReadonlyArray<{ text: string, canonical: string }> = [
  { text: '::', canonical: '::' },
  { text: '::1', canonical: '::1' },
  { text: '1::', canonical: '1::' },
  { text: '1:2:3:4:5:6:7:8', canonical: '1:2:3:4:5:6:7:8' },
  { text: '1::8', canonical: '1::8' },
  { text: '1:2:3:4:5:6:7::', canonical: '1:2:3:4:5:6:7:0' },
  { text: '::2:3:4:5:6:7:8', canonical: '0:2:3:4:5:6:7:8' },
  { text: '2001:0DB8:0000:0000:0000:0000:0000:0001', canonical: '2001:db8::1' },
  { text: '0000:0000::0001', canonical: '::1' },
  { text: 'ABCD::ef', canonical: 'abcd::ef' },
  { text: '::ffff:192.0.2.1', canonical: '::ffff:192.0.2.1' },
  { text: '::FFFF:c000:0201', canonical: '::ffff:192.0.2.1' },
  { text: '0:0:0:0:0:ffff:192.0.2.1', canonical: '::ffff:192.0.2.1' },
  { text: '1:2:3:4:5:6:1.2.3.4', canonical: '1:2:3:4:5:6:102:304' },
  { text: '64:ff9b::192.0.2.33', canonical: '64:ff9b::c000:221' },
  { text: 'fe80::1ff:fe23:4567:890a', canonical: 'fe80::1ff:fe23:4567:890a' }
]

for (const row of ipv6Valid) {
  test(`parseIPv6 accepts "${row.text}"`, () => {
    const parsed = parseIPv6(row.text)
    assert.ok(parsed)
    assert.deepEqual(Buffer.from(parsed), ipv6Bytes(row.text))
    assert.equal(formatIPv6(parsed, 0), row.canonical)
  })
  test(`v1 TCP6 accepts "${row.text}" and reports ${row.canonical}`, () => {
    const result = parseHeader(Buffer.from(`PROXY TCP6 ${row.text} ::1 1 2\r\n`, 'latin1'))
    if (result.status !== 'complete' || !result.header.proxied) return assert.fail('expected a proxied header')
    assert.equal(result.header.source.address, row.canonical)
  })
}

const ipv6Invalid = [
  '', ':', ':::', '::::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '::1::', '12345::', 'g::1', '::g',
  'fe80::1%eth0', 'fe80::1%1', '1.2.3.4', '[::1]', ' ::1', '::1 ', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8',
  ':1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:', '1:2:3:4:5:6:7:', '1.2.3.4::', '::1.2.3.4:1', '::ffff:1.2.3',
  '::ffff:01.2.3.4', '::ffff:256.1.1.1', '::ffff:1.2.3.4.5', '1:2:3:4:5:6:7:1.2.3.4', '1:2:3:4:5:6:7:8:1.2.3.4',
  '-1::', '+1::', '0x1::', '1:::2', `${'0000:'.repeat(8)}0000`
]

for (const text of ipv6Invalid) {
  test(`parseIPv6 rejects "${text}"`, () => {
    assert.equal(parseIPv6(text), undefined)
  })
}

// Issue 13: v1 keeps IPv6 text that is already RFC 5952 as it is, without
// formatting it again; isCanonicalIPv6 must say yes exactly when formatting
// the parsed bytes would give the same text back.
const groupText = fc.integer({ min: 0, max: 0xffff }).chain(v => fc.constantFrom(
  v.toString(16), v.toString(16).toUpperCase(), v.toString(16).padStart(4, '0'), v.toString(16).padStart(2, '0')))
const zeroish = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
const ipv6Text = fc.oneof(
  // every group written out, in any spelling
  fc.array(
    zeroish.chain(v => fc.constantFrom(v.toString(16), v.toString(16).toUpperCase(), v.toString(16).padStart(4, '0'))),
    { minLength: 8, maxLength: 8 }
  ).map(g => g.join(':')),
  // one run shortened to `::`, wherever it is and however long
  fc.tuple(fc.array(groupText, { maxLength: 6 }), fc.array(groupText, { maxLength: 6 }))
    .filter(([a, b]) => a.length + b.length <= 7).map(([a, b]) => `${a.join(':')}::${b.join(':')}`),
  // the last 32 bits as a dotted quad, mapped or not
  fc.tuple(
    fc.constantFrom('::ffff:', '::', '0:0:0:0:0:ffff:', '::FFFF:', '64:ff9b::', '::1:'),
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })
  )
    .map(([p, q]) => p + q.join('.')),
  // the canonical text of random bytes
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map(b => formatIPv6(b, 0))
)

test('readIPv6 and isCanonicalIPv6 agree with formatting the parsed bytes', () => {
  fc.assert(fc.property(ipv6Text, fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), (text, before, after) => {
    const bytes = parseIPv6(text)
    const line = before + text + after
    const out = new Uint8Array(16)
    const verdict = readIPv6(line, before.length, before.length + text.length, out)
    if (bytes === undefined) {
      assert.equal(verdict, IPV6_INVALID, text)
      return
    }
    assert.deepEqual(out, bytes)
    const canonical = formatIPv6(bytes, 0) === text
    // readIPv6 tells every canonical text but the dotted quads, so those need no second look
    assert.equal(verdict === IPV6_CANONICAL, canonical && !text.includes('.'), `${text}: readIPv6 says ${verdict}`)
    assert.equal(isCanonicalIPv6(line, before.length, before.length + text.length, bytes), canonical, text)
  }), { numRuns: 20_000 })
})

test('formatIPv6 writes what the WHATWG URL serialiser writes (RFC 5952 but for the mapped form)', () => {
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }))
  fc.assert(fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), g => {
    const bytes = groups(...g)
    const mapped = g.slice(0, 5).every(v => v === 0) && g[5] === 0xffff
    if (mapped) return
    const url = new URL(`http://[${g.map(v => v.toString(16)).join(':')}]/`)
    assert.equal(formatIPv6(bytes, 0), url.hostname.slice(1, -1))
  }), { numRuns: 20_000 })
})
