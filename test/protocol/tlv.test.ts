// v2 TLVs (spec 2.2, 2.2.1-2.2.7), one row per rule of PROXY-NOTES.md 1.4;
// the cloud vendors' (2.2.8) are in tlvparse/cloud.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseHeader } from '../../src/protocol/parse.js'
import { ProxyProtocolError, type ProxyErrorCode } from '../../src/protocol/errors.js'
import type { TlvSet } from '../../src/protocol/tlv.js'
import { MAX_TLVS } from '../../src/protocol/tlv.js'
import { encodeV2, signCrc32c, sslTlv, TLV, tlvBytes, v2Raw, type Tlv } from '../helpers/encode.js'
import { MQTT_CONNECT } from '../helpers/fixtures.js'
import { bytes, latin1, parseTlvs, raw, withTlvs } from '../helpers/tlv-set.js'
import { UNCLEAN_KINDS } from '../helpers/unclean.js'

const ADDRESS_BLOCK = Buffer.from([192, 0, 2, 1, 198, 51, 100, 2, 0xc8, 0x22, 0x07, 0x5b])

/** A PROXY INET header whose TLV area is exactly `bytes`, well-formed or not. */
const withTlvArea = (bytes: Uint8Array): Buffer => v2Raw(0x21, 0x11, Buffer.concat([ADDRESS_BLOCK, bytes]))

function assertRejects (input: Buffer, code: ProxyErrorCode): void {
  assert.throws(() => parseHeader(input), (err: unknown) => {
    assert.ok(err instanceof ProxyProtocolError, `not a ProxyProtocolError: ${String(err)}`)
    assert.equal(err.code, code)
    return true
  })
}

const rawList = (set: TlvSet): Array<[number, string]> => set.raw.map(t => [t.type, t.value.toString('hex')])
const hexOf = (v: Uint8Array | string): string =>
  (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v)).toString('hex')

// ------------------------------------------------------------------ walker

const accepted: ReadonlyArray<{ name: string, input: Buffer, check: (set: TlvSet) => void }> = [
  {
    name: 'no TLVs: an empty set',
    input: withTlvs([]),
    check: set => assert.deepEqual(set, { raw: [] })
  },
  {
    name: 'a zero-length TLV',
    input: withTlvs([raw(0xe5, ''), raw(TLV.ALPN, 'mqtt')]),
    check: set => assert.deepEqual(rawList(set), [[0xe5, ''], [TLV.ALPN, hexOf('mqtt')]])
  },
  {
    name: 'a zero-length TLV as the last 3 bytes (Netty stops at < 4)',
    input: withTlvArea(bytes(0xe5, 0x00, 0x00)),
    check: set => assert.deepEqual(rawList(set), [[0xe5, '']])
  },
  {
    name: 'NOOP is skipped and not in raw',
    input: withTlvs([raw(TLV.ALPN, 'mqtt')], { noopPadding: 9 }),
    check: set => assert.deepEqual(rawList(set), [[TLV.ALPN, hexOf('mqtt')]])
  },
  {
    name: 'zero-length NOOP, NOOP with non-zero content, NOOP between TLVs',
    input: withTlvs([
      raw(TLV.NOOP, ''), raw(0xe1, 'a'), raw(TLV.NOOP, bytes(1, 2, 3, 0xff)), raw(0xe2, 'b'), raw(TLV.NOOP, '')
    ]),
    check: set => assert.deepEqual(rawList(set), [[0xe1, hexOf('a')], [0xe2, hexOf('b')]])
  },
  {
    name: 'unknown types are kept in raw, in wire order, duplicates included',
    input: withTlvs([
      raw(0x06, 'six'), raw(0x31, 'x'), raw(0xe5, bytes(0, 1)), raw(0xf0, 'exp'), raw(0xf8, 'fut'), raw(0xff, ''),
      raw(0x06, 'again')
    ]),
    check: set => assert.deepEqual(rawList(set), [
      [0x06, hexOf('six')], [0x31, hexOf('x')], [0xe5, '0001'], [0xf0, hexOf('exp')], [0xf8, hexOf('fut')], [0xff, ''],
      [0x06, hexOf('again')]
    ])
  },
  {
    name: 'ALPN as bytes',
    input: withTlvs([raw(TLV.ALPN, bytes(0x6d, 0x71, 0x74, 0x74, 0x00, 0xff))]),
    check: set => assert.deepEqual(set.alpn, bytes(0x6d, 0x71, 0x74, 0x74, 0x00, 0xff))
  },
  {
    name: 'AUTHORITY',
    input: withTlvs([raw(TLV.AUTHORITY, 'broker.example.com')]),
    check: set => assert.equal(set.authority, 'broker.example.com')
  },
  {
    name: 'AUTHORITY of 255 bytes',
    input: withTlvs([raw(TLV.AUTHORITY, 'a'.repeat(255))]),
    check: set => assert.equal(set.authority, 'a'.repeat(255))
  },
  {
    name: 'AUTHORITY in UTF-8 (IDN)',
    input: withTlvs([raw(TLV.AUTHORITY, 'bücher.example')]),
    check: set => assert.equal(set.authority, 'bücher.example')
  },
  {
    name: 'empty AUTHORITY',
    input: withTlvs([raw(TLV.AUTHORITY, '')]),
    check: set => assert.equal(set.authority, '')
  },
  {
    name: 'UNIQUE_ID of 128 bytes, binary',
    input: withTlvs([raw(TLV.UNIQUE_ID, Buffer.alloc(128, 0xa5))]),
    check: set => assert.deepEqual(set.uniqueId, Buffer.alloc(128, 0xa5))
  },
  {
    name: 'NETNS',
    input: withTlvs([raw(TLV.NETNS, 'blue')]),
    check: set => assert.equal(set.netns, 'blue')
  },
  {
    name: 'the CRC32C TLV is kept in raw',
    input: withTlvs([], { crc32c: true }),
    check: set => assert.deepEqual(set.raw.map(t => t.type), [TLV.CRC32C])
  }
]

for (const row of accepted) {
  test(`TLV: ${row.name}`, () => row.check(parseTlvs(row.input)))
}

const rejected: ReadonlyArray<{ name: string, input: Buffer, code: ProxyErrorCode }> = [
  {
    name: 'TLV value overruns len by one byte',
    input: withTlvArea(bytes(0xe5, 0x00, 0x05, 1, 2, 3, 4)),
    code: 'PROXY_ERR_TLV'
  },
  { name: 'TLV declaring 65535 bytes', input: withTlvArea(bytes(0xe5, 0xff, 0xff, 1)), code: 'PROXY_ERR_TLV' },
  {
    name: 'second TLV overruns',
    input: withTlvArea(Buffer.concat([tlvBytes(raw(0xe5, 'ok')), bytes(0xe6, 0x00, 0x02, 1)])),
    code: 'PROXY_ERR_TLV'
  },
  {
    name: '1 trailing byte after the TLVs',
    input: withTlvArea(Buffer.concat([tlvBytes(raw(0xe5, 'ok')), bytes(0x00)])),
    code: 'PROXY_ERR_TLV'
  },
  {
    name: '2 trailing bytes after the TLVs',
    input: withTlvArea(Buffer.concat([tlvBytes(raw(0xe5, 'ok')), bytes(0x04, 0x00)])),
    code: 'PROXY_ERR_TLV'
  },
  { name: '1 byte where a TLV would start', input: withTlvArea(bytes(0x04)), code: 'PROXY_ERR_TLV' },
  { name: 'NOOP overrunning len', input: withTlvArea(bytes(TLV.NOOP, 0x00, 0x10, 0, 0)), code: 'PROXY_ERR_TLV' },
  {
    name: 'AUTHORITY of 256 bytes', input: withTlvs([raw(TLV.AUTHORITY, 'a'.repeat(256))]), code: 'PROXY_ERR_TLV_VALUE'
  },
  {
    name: 'UNIQUE_ID of 129 bytes',
    input: withTlvs([raw(TLV.UNIQUE_ID, Buffer.alloc(129, 1))]),
    code: 'PROXY_ERR_TLV_VALUE'
  },
  {
    name: 'duplicate AUTHORITY',
    input: withTlvs([raw(TLV.AUTHORITY, 'a.example'), raw(TLV.AUTHORITY, 'b.example')]),
    code: 'PROXY_ERR_TLV_VALUE'
  },
  {
    name: 'duplicate AUTHORITY with something between',
    input: withTlvs([raw(TLV.AUTHORITY, 'a.example'), raw(0xe5, ''), raw(TLV.AUTHORITY, 'a.example')]),
    code: 'PROXY_ERR_TLV_VALUE'
  },
  { name: 'duplicate SSL', input: withTlvs([sslTlv(1, 0), sslTlv(1, 0)]), code: 'PROXY_ERR_TLV_VALUE' }
]

for (const row of rejected) {
  test(`TLV rejects ${row.name}`, () => assertRejects(row.input, row.code))
}

// A decoded string must be what was sent: a leading U+FEFF (EF BB BF) is valid
// UTF-8 and may be kept or refused, but must not be silently dropped, or
// "\uFEFFadmin" and "admin" would reach auth hooks as the same CN.
const bomValues: ReadonlyArray<{ name: string, tlv: Tlv, read: (set: TlvSet) => string | undefined }> = [
  { name: 'AUTHORITY', tlv: raw(TLV.AUTHORITY, bytes(0xef, 0xbb, 0xbf, 0x61)), read: set => set.authority },
  { name: 'SSL_CN', tlv: sslTlv(3, 0, [raw(TLV.SSL_CN, bytes(0xef, 0xbb, 0xbf, 0x61))]), read: set => set.ssl?.cn }
]

for (const row of bomValues) {
  test(`TLV: ${row.name} starting with U+FEFF is never decoded as "a": the text is absent, the bytes raw`, () => {
    const set = parseTlvs(withTlvs([row.tlv]))
    assert.equal(row.read(set), undefined)
  })
}

// Issue 9 (10, 11, 22): a string TLV that is not clean text never refuses
// the header, whatever its bytes; the decoded field is absent and its bytes
// stay in raw / ssl.tlvs, so sslCnAsUsername falls back to the MQTT username.
// What may be text is in src/protocol/text.ts.
const utf16be = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16()
/** Every C0 control but NUL, and DEL, inside otherwise clean text. */
const controls = [...Array.from({ length: 0x1f }, (_, i) => i + 1), 0x7f]
const notClean: ReadonlyArray<{ name: string, value: Buffer | string }> = [
  // HAProxy forwards a BMPString CN's UTF-16BE bytes: no NUL in non-Latin
  // scripts, and bytes a UTF-8 reader takes for control characters.
  { name: 'a UTF-16BE Cyrillic CN (Термометр: 04 22 04 35 ...)', value: utf16be('Термометр') },
  { name: 'a UTF-16BE Greek CN (Θερμόμετρο: 03 98 ...)', value: utf16be('Θερμόμετρο') },
  { name: 'a UTF-16BE Arabic CN (مقياس: 06 45 ...)', value: utf16be('مقياس') },
  { name: 'a UTF-16BE Hebrew CN (מדחום: 05 de ...)', value: utf16be('מדחום') },
  { name: 'a UTF-16BE CJK CN holding 0A and 0D (上不: 4E 0A 4E 0D)', value: utf16be('上不') },
  ...controls.map(c => ({
    name: `control character 0x${c.toString(16).padStart(2, '0')} in text`, value: `a.exa${String.fromCharCode(c)}mple`
  })),
  { name: 'a BMPString CN as HAProxy forwards it (UTF-16BE)', value: utf16be('client-1') },
  { name: 'a UTF-16BE CN of Latin and CJK characters', value: utf16be('client-上海') },
  { name: 'a T61String / Latin-1 CN', value: latin1('Jürgen Müller') },
  { name: 'a NUL byte', value: 'admin\u0000.example' },
  // A value with a NUL is never text, whatever else it holds (README, security model).
  { name: 'a NUL byte beside a CR LF', value: 'evil\r\nforged\u0000' },
  { name: 'UTF-16BE whose bytes hold a LF (a + 上 = 00 61 4E 0A)', value: utf16be('a上') },
  { name: 'byte 0xFF (invalid UTF-8)', value: latin1('a\xff.example') },
  { name: 'an overlong "/" (C0 AF)', value: bytes(0x61, 0xc0, 0xaf) },
  { name: 'a UTF-16 surrogate (ED A0 80)', value: bytes(0x61, 0xed, 0xa0, 0x80) },
  { name: 'a truncated sequence (E2 82)', value: bytes(0x61, 0xe2, 0x82) },
  { name: 'a code point above U+10FFFF (F4 90 80 80)', value: bytes(0xf4, 0x90, 0x80, 0x80) },
  ...UNCLEAN_KINDS.map(k => ({ name: k.name, value: k.text }))
]
for (const row of notClean) {
  test(`TLV: AUTHORITY and SSL_CN with ${row.name}: accepted, text absent, bytes kept`, () => {
    const value = typeof row.value === 'string' ? Buffer.from(row.value, 'utf8') : row.value
    const set = parseTlvs(withTlvs([raw(TLV.AUTHORITY, value), sslTlv(3, 0, [raw(TLV.SSL_CN, value)])]))
    assert.equal(set.authority, undefined)
    assert.equal(set.ssl?.cn, undefined)
    assert.equal(set.ssl?.verified, true)
    assert.deepEqual(set.raw.find(t => t.type === TLV.AUTHORITY)?.value, value)
    assert.deepEqual(set.ssl?.tlvs.find(t => t.type === TLV.SSL_CN)?.value, value)
  })
}
const clean: ReadonlyArray<{ name: string, value: string }> = [
  { name: 'Latin with diacritics', value: 'Jürgen Müller' },
  { name: 'Chinese', value: '上海客户端' },
  { name: 'Japanese (Han, Hiragana, Katakana, Latin)', value: '東京のクライアントA' },
  { name: 'Greek', value: 'Ελληνικά' },
  { name: 'Cyrillic', value: 'клиент-1' },
  { name: 'Arabic', value: 'عميل' },
  { name: 'Hebrew with digits', value: 'לקוח 1' }
]
for (const row of clean) {
  test(`TLV: SSL_CN in ${row.name} is decoded`, () => {
    const set = parseTlvs(withTlvs([sslTlv(3, 0, [raw(TLV.SSL_CN, row.value)])]))
    assert.equal(set.ssl?.cn, row.value)
  })
}
for (const row of notClean) {
  test(`TLV: NETNS and every SSL name with ${row.name}: accepted, text absent, bytes kept`, () => {
    const value = typeof row.value === 'string' ? Buffer.from(row.value, 'utf8') : row.value
    const names = [TLV.SSL_VERSION, TLV.SSL_CIPHER, TLV.SSL_SIG_ALG, TLV.SSL_KEY_ALG, TLV.SSL_GROUP, TLV.SSL_SIG_SCHEME]
    const set = parseTlvs(withTlvs([raw(TLV.NETNS, value), sslTlv(1, 0, names.map(type => raw(type, value)))]))
    assert.equal(set.netns, undefined)
    const { version, cipher, sigAlg, keyAlg, group, sigScheme } = set.ssl ?? {}
    assert.deepEqual([version, cipher, sigAlg, keyAlg, group, sigScheme], Array(6).fill(undefined))
    assert.deepEqual(set.raw.find(t => t.type === TLV.NETNS)?.value, value)
    assert.deepEqual(set.ssl?.tlvs.map(t => t.value), names.map(() => value))
  })
}
test('TLV: an SSL_VERSION outside US-ASCII is left raw, not refused', () => {
  const value = bytes(0x54, 0x4c, 0x53, 0x80)
  const set = parseTlvs(withTlvs([sslTlv(1, 0, [raw(TLV.SSL_VERSION, value)])]))
  assert.equal(set.ssl?.version, undefined)
  assert.deepEqual(set.ssl?.tlvs[0]?.value, value)
})
test(`TLV: at most ${MAX_TLVS} TLVs, NOOP and SSL sub-TLVs included`, () => {
  const empty = (n: number): Tlv[] => Array.from({ length: n }, () => raw(0xe5, ''))
  assert.equal(parseTlvs(withTlvs(empty(MAX_TLVS))).raw.length, MAX_TLVS)
  assertRejects(withTlvs(empty(MAX_TLVS + 1)), 'PROXY_ERR_TLV')
  const ssl = sslTlv(1, 0, [raw(TLV.SSL_VERSION, 'TLSv1.3'), raw(TLV.SSL_CIPHER, 'A')])
  assertRejects(withTlvs([...empty(MAX_TLVS - 2), ssl]), 'PROXY_ERR_TLV')
  const noops = Array.from({ length: MAX_TLVS + 1 }, () => bytes(TLV.NOOP, 0, 0))
  assertRejects(withTlvArea(Buffer.concat(noops)), 'PROXY_ERR_TLV')
})

test('TLV values are copies, not views of the input buffer', () => {
  const header = withTlvs([raw(TLV.ALPN, 'mqtt'), raw(0xe5, 'keep'), sslTlv(1, 0, [raw(TLV.SSL_CLIENT_CERT, 'DER')])])
  const input = Buffer.concat([header, MQTT_CONNECT])
  const result = parseHeader(input)
  if (result.status !== 'complete') return assert.fail(result.status)
  input.fill(0x58)
  const { tlvs } = result.header
  assert.equal(tlvs.alpn?.toString(), 'mqtt')
  assert.equal(tlvs.raw[1]?.value.toString(), 'keep')
  assert.equal(tlvs.ssl?.clientCert?.toString(), 'DER')
})

// ------------------------------------------------------------------ SSL (2.2.6)

const DER = Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00, 0x0d, 0x0a, 0x00, 0x7f, 0xff])

test('SSL: every sub-TLV 0x21-0x28 is decoded, including 0x26 GROUP, 0x27 SIG_SCHEME, 0x28 CLIENT_CERT', () => {
  const subs = [
    raw(TLV.SSL_VERSION, 'TLSv1.3'),
    raw(TLV.SSL_CN, 'client-42.example'),
    raw(TLV.SSL_CIPHER, 'TLS_AES_128_GCM_SHA256'),
    raw(TLV.SSL_SIG_ALG, 'RSA-SHA256'),
    raw(TLV.SSL_KEY_ALG, 'RSA2048'),
    raw(TLV.SSL_GROUP, 'secp256r1'),
    raw(TLV.SSL_SIG_SCHEME, 'rsa_pss_rsae_sha256'),
    raw(TLV.SSL_CLIENT_CERT, DER)
  ]
  const ssl = parseTlvs(withTlvs([sslTlv(0x07, 0, subs)])).ssl
  assert.ok(ssl)
  assert.equal(ssl.client, 0x07)
  assert.equal(ssl.clientSsl, true)
  assert.equal(ssl.certConn, true)
  assert.equal(ssl.certSess, true)
  assert.equal(ssl.verify, 0)
  assert.equal(ssl.verified, true)
  assert.equal(ssl.version, 'TLSv1.3')
  assert.equal(ssl.cn, 'client-42.example')
  assert.equal(ssl.cipher, 'TLS_AES_128_GCM_SHA256')
  assert.equal(ssl.sigAlg, 'RSA-SHA256')
  assert.equal(ssl.keyAlg, 'RSA2048')
  assert.equal(ssl.group, 'secp256r1')
  assert.equal(ssl.sigScheme, 'rsa_pss_rsae_sha256')
  assert.deepEqual(ssl.clientCert, DER)
  assert.deepEqual(ssl.tlvs.map(t => [t.type, t.value.toString('hex')]), subs.map(s => [s.type, hexOf(s.value)]))
})

const sslBits: ReadonlyArray<{
  client: number, verify: number, clientSsl: boolean, certConn: boolean, certSess: boolean, verified: boolean
}> = [
  {
    client: 0x01, verify: 0, clientSsl: true, certConn: false, certSess: false, verified: false
  }, // TLS, no certificate
  { client: 0x03, verify: 0, clientSsl: true, certConn: true, certSess: false, verified: true },
  { client: 0x05, verify: 0, clientSsl: true, certConn: false, certSess: true, verified: true },
  {
    client: 0x03, verify: 1, clientSsl: true, certConn: true, certSess: false, verified: false
  }, // presented, not verified
  { client: 0x07, verify: 0xffffffff, clientSsl: true, certConn: true, certSess: true, verified: false },
  { client: 0x00, verify: 0, clientSsl: false, certConn: false, certSess: false, verified: false }
]

for (const row of sslBits) {
  test(`SSL: client 0x${row.client.toString(16).padStart(2, '0')} verify ${row.verify}`, () => {
    const ssl = parseTlvs(withTlvs([sslTlv(row.client, row.verify)])).ssl
    assert.ok(ssl)
    assert.deepEqual(
      {
        client: ssl.client,
        verify: ssl.verify,
        clientSsl: ssl.clientSsl,
        certConn: ssl.certConn,
        certSess: ssl.certSess,
        verified: ssl.verified
      },
      row)
    assert.deepEqual(ssl.tlvs, [])
  })
}

const sslAccepted: ReadonlyArray<{ name: string, tlv: Tlv, check: (set: TlvSet) => void }> = [
  {
    name: 'exactly the 5-byte prefix, no sub-TLVs',
    tlv: raw(TLV.SSL, bytes(1, 0, 0, 0, 0)),
    check: set => assert.equal(set.ssl?.tlvs.length, 0)
  },
  {
    name: 'unknown sub-types (0x29, 0x2f, 0xe0) tolerated and kept',
    tlv: sslTlv(1, 0, [raw(0x29, 'new'), raw(TLV.SSL_VERSION, 'TLSv1.2'), raw(0x2f, ''), raw(0xe0, bytes(1))]),
    check: set => {
      assert.equal(set.ssl?.version, 'TLSv1.2')
      assert.deepEqual(set.ssl?.tlvs.map(t => t.type), [0x29, TLV.SSL_VERSION, 0x2f, 0xe0])
    }
  },
  {
    name: 'an SSL TLV nested in the SSL TLV is kept raw, not recursed into',
    tlv: sslTlv(1, 0, [sslTlv(1, 0, [raw(TLV.SSL_CN, 'inner')])]),
    check: set => {
      assert.equal(set.ssl?.cn, undefined)
      assert.deepEqual(set.ssl?.tlvs.map(t => t.type), [TLV.SSL])
    }
  },
  {
    name: 'CN in UTF-8',
    tlv: sslTlv(3, 0, [raw(TLV.SSL_CN, 'Jürgen Müller')]),
    check: set => assert.equal(set.ssl?.cn, 'Jürgen Müller')
  },
  {
    name: 'a 2000-byte client certificate',
    tlv: sslTlv(3, 0, [raw(TLV.SSL_CLIENT_CERT, Buffer.alloc(2000, 0x30))]),
    check: set => assert.deepEqual(set.ssl?.clientCert, Buffer.alloc(2000, 0x30))
  }
]

for (const row of sslAccepted) {
  test(`SSL: ${row.name}`, () => row.check(parseTlvs(withTlvs([row.tlv]))))
}

const sslRejected: ReadonlyArray<{ name: string, tlv: Tlv, code: ProxyErrorCode }> = [
  { name: 'SSL TLV of 0 bytes', tlv: raw(TLV.SSL, ''), code: 'PROXY_ERR_TLV_VALUE' },
  { name: 'SSL TLV of 4 bytes', tlv: raw(TLV.SSL, bytes(1, 0, 0, 0)), code: 'PROXY_ERR_TLV_VALUE' },
  {
    name: 'sub-TLV overrunning the SSL value',
    tlv: raw(TLV.SSL, Buffer.concat([bytes(1, 0, 0, 0, 0), bytes(TLV.SSL_VERSION, 0, 9), latin1('TLSv1')])),
    code: 'PROXY_ERR_TLV'
  },
  {
    name: '1 trailing byte after the sub-TLVs',
    tlv: raw(TLV.SSL, Buffer.concat([bytes(1, 0, 0, 0, 0), tlvBytes(raw(TLV.SSL_VERSION, 'TLSv1.3')), bytes(0)])),
    code: 'PROXY_ERR_TLV'
  },
  {
    name: '2 trailing bytes after the sub-TLVs',
    tlv: raw(TLV.SSL, Buffer.concat([bytes(1, 0, 0, 0, 0), bytes(0x21, 0)])),
    code: 'PROXY_ERR_TLV'
  },
  { name: 'duplicate CN', tlv: sslTlv(3, 0, [raw(TLV.SSL_CN, 'a'), raw(TLV.SSL_CN, 'b')]), code: 'PROXY_ERR_TLV_VALUE' }
]

for (const row of sslRejected) {
  test(`SSL rejects ${row.name}`, () => assertRejects(withTlvs([row.tlv]), row.code))
}

// ------------------------------------------------------------------ CRC32C (2.2.3)

const crcGood: ReadonlyArray<{ name: string, input: Buffer }> = [
  { name: 'CRC32C first (AWS, HAProxy)', input: withTlvs([raw(TLV.AUTHORITY, 'broker.example')], { crc32c: true }) },
  {
    name: 'CRC32C first with NOOP padding',
    input: withTlvs([raw(0xea, Buffer.concat([bytes(1), latin1('vpce-0123')]))], { crc32c: true, noopPadding: 36 })
  },
  {
    name: 'CRC32C last (nginx)',
    input: (() => {
      const h = withTlvs([raw(TLV.ALPN, 'mqtt'), raw(TLV.CRC32C, Buffer.alloc(4))])
      return signCrc32c(h, h.length - 4)
    })()
  },
  {
    name: 'CRC32C in the middle',
    input: (() => {
      const h = withTlvs([raw(TLV.ALPN, 'mqtt'), raw(TLV.CRC32C, Buffer.alloc(4)), raw(0xe5, 'after')])
      return signCrc32c(h, h.length - 8 - 4)
    })()
  },
  {
    name: 'CRC32C on INET6',
    input: encodeV2({
      family: 'INET6',
      source: { address: '2001:db8::1', port: 1 },
      destination: { address: '::1', port: 2 },
      crc32c: true
    })
  }
]

for (const row of crcGood) {
  test(`CRC32C accepts ${row.name}`, () => {
    const set = parseTlvs(row.input)
    const at = set.raw.findIndex(t => t.type === TLV.CRC32C)
    const carried = set.raw[at]?.value.readUInt32BE(0)
    assert.equal(typeof carried, 'number')
    assert.equal(set.crc32c, carried)
  })
}

test('CRC32C covers the header only: the payload does not change the outcome', () => {
  const header = withTlvs([], { crc32c: true })
  for (const payload of [Buffer.alloc(0), MQTT_CONNECT, Buffer.alloc(100, 0xff)]) {
    const result = parseHeader(Buffer.concat([header, payload]))
    assert.equal(result.status, 'complete')
  }
})

const crcBad: ReadonlyArray<{ name: string, mutate: (h: Buffer) => void, code: ProxyErrorCode }> = [
  {
    name: 'one bit of the checksum flipped',
    mutate: h => { h[16 + 12 + 3] = (h[16 + 12 + 3] ?? 0) ^ 0x01 },
    code: 'PROXY_ERR_CRC32C'
  },
  { name: 'checksum zero', mutate: h => { h.fill(0, 16 + 12 + 3, 16 + 12 + 7) }, code: 'PROXY_ERR_CRC32C' },
  {
    name: 'one bit of the source address flipped',
    mutate: h => { h[16] = (h[16] ?? 0) ^ 0x80 },
    code: 'PROXY_ERR_CRC32C'
  },
  { name: 'the source port changed', mutate: h => { h[24] = (h[24] ?? 0) ^ 0x01 }, code: 'PROXY_ERR_CRC32C' },
  { name: 'a byte of the NOOP padding changed', mutate: h => { h[h.length - 1] = 0x01 }, code: 'PROXY_ERR_CRC32C' },
  { name: 'a byte of the AUTHORITY changed', mutate: h => { h[16 + 12 + 7 + 3] = 0x42 }, code: 'PROXY_ERR_CRC32C' },
  {
    name: 'the family byte changed from 0x11 to 0x12 (still parsed: INET DGRAM)',
    mutate: h => { h[13] = 0x12 },
    code: 'PROXY_ERR_CRC32C'
  }
]

for (const row of crcBad) {
  test(`CRC32C rejects ${row.name}`, () => {
    const header = withTlvs([raw(TLV.AUTHORITY, 'broker.example')], { crc32c: true, noopPadding: 8 })
    row.mutate(header)
    assertRejects(header, row.code)
  })
}

test('CRC32C TLV of 3 or 5 bytes is malformed', () => {
  assertRejects(withTlvs([raw(TLV.CRC32C, bytes(0, 0, 0))]), 'PROXY_ERR_TLV_VALUE')
  assertRejects(withTlvs([raw(TLV.CRC32C, bytes(0, 0, 0, 0, 0))]), 'PROXY_ERR_TLV_VALUE')
})

test('duplicate CRC32C TLV is rejected', () => {
  const h = withTlvs([raw(TLV.CRC32C, Buffer.alloc(4))], { crc32c: true })
  assertRejects(h, 'PROXY_ERR_TLV_VALUE')
})

test('TLVs of every kind together, with CRC32C and padding', () => {
  const set = parseTlvs(withTlvs([
    raw(TLV.ALPN, 'mqtt'),
    raw(TLV.AUTHORITY, 'broker.example'),
    raw(TLV.UNIQUE_ID, bytes(1, 2, 3)),
    sslTlv(3, 0, [raw(TLV.SSL_VERSION, 'TLSv1.3'), raw(TLV.SSL_CN, 'device-1')]),
    raw(TLV.NETNS, 'ns1'),
    raw(TLV.AWS, Buffer.concat([bytes(1), latin1('vpce-1')])),
    raw(TLV.AZURE, bytes(1, 1, 0, 0, 0)),
    raw(TLV.GCP, Buffer.alloc(8, 0).fill(9, 7))
  ], { crc32c: true, noopPadding: 11 }))
  assert.equal(set.alpn?.toString(), 'mqtt')
  assert.equal(set.authority, 'broker.example')
  assert.deepEqual(set.uniqueId, bytes(1, 2, 3))
  assert.equal(set.ssl?.cn, 'device-1')
  assert.equal(set.ssl?.verified, true)
  assert.equal(set.netns, 'ns1')
  assert.equal(set.awsVpceId, 'vpce-1')
  assert.equal(set.azureLinkId, 1)
  assert.equal(set.gcpPscConnectionId, 9n)
  assert.equal(typeof set.crc32c, 'number')
  assert.deepEqual(set.raw.map(t => t.type),
    [TLV.CRC32C, TLV.ALPN, TLV.AUTHORITY, TLV.UNIQUE_ID, TLV.SSL, TLV.NETNS, TLV.AWS, TLV.AZURE, TLV.GCP])
})

// Issue 13: TLVs are checked while the header is parsed and decoded when
// `tlvs` is first read; what a program sees of them is plain data, as before.
test('TLVs decoded on first read enumerate, serialise and clone as plain data', () => {
  const input = withTlvs([
    raw(TLV.ALPN, 'mqtt'), raw(TLV.AUTHORITY, 'a.example'), raw(TLV.NOOP, ''),
    sslTlv(7, 0, [raw(TLV.SSL_VERSION, 'TLSv1.3'), raw(TLV.SSL_CN, 'device-1')]),
    raw(TLV.AWS, latin1('\x01vpce-1'))
  ], { crc32c: true })
  const result = parseHeader(input)
  if (result.status !== 'complete') return assert.fail(result.status)
  const { header } = result
  input.fill(0) // the header keeps its own copy
  assert.deepEqual(Object.keys(header),
    ['version', 'proxied', 'command', 'family', 'transport', 'source', 'destination', 'tlvs'])
  assert.deepEqual(Object.keys(header.tlvs), ['raw', 'alpn', 'authority', 'ssl', 'awsVpceId', 'crc32c'])
  assert.deepEqual(Object.keys(header.tlvs.ssl ?? {}),
    ['client', 'clientSsl', 'certConn', 'certSess', 'verify', 'verified', 'tlvs', 'version', 'cn'])
  for (const o of [header, header.tlvs, header.tlvs.ssl]) {
    assert.equal(Object.getPrototypeOf(o), Object.prototype)
    assert.deepEqual(Object.getOwnPropertySymbols(o), [])
  }
  assert.equal(header.tlvs, header.tlvs, 'decoded once')
  const json = JSON.parse(JSON.stringify(header)) as {
    tlvs: { raw: unknown[], authority: string, ssl: { cn: string, tlvs: unknown[] }, awsVpceId: string }
  }
  assert.deepEqual(
    [json.tlvs.raw.length, json.tlvs.authority, json.tlvs.ssl.cn, json.tlvs.ssl.tlvs.length, json.tlvs.awsVpceId],
    [5, 'a.example', 'device-1', 2, 'vpce-1'])
  const clone = structuredClone(header)
  assert.deepEqual(Object.keys(clone.tlvs), Object.keys(header.tlvs))
  assert.equal(clone.tlvs.ssl?.cn, 'device-1')
  assert.deepEqual({ ...header, tlvs: { ...header.tlvs, ssl: { ...header.tlvs.ssl } } }, header)
})
