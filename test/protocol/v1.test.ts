// PROXY v1 (spec 2.1), one row per rule of PROXY-NOTES.md 1.2.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseHeader } from '../../src/protocol/parse.js'
import { ProxyProtocolError, type ProxyErrorCode } from '../../src/protocol/errors.js'
import { V1_MAX_LENGTH } from '../../src/protocol/v1.js'
import type { ProxyHeader } from '../../src/protocol/header.js'
import { encodeV1 } from '../helpers/encode.js'
import { MQTT_CONNECT } from '../helpers/fixtures.js'

const line = (text: string): Buffer => Buffer.from(text, 'latin1')

/** Parses `header` + MQTT CONNECT; checks `length` and that the rest is the payload. */
function parseComplete (header: Buffer): ProxyHeader {
  const input = Buffer.concat([header, MQTT_CONNECT])
  const result = parseHeader(input)
  if (result.status !== 'complete') return assert.fail(`expected complete, got ${result.status}`)
  assert.equal(result.length, header.length)
  assert.deepEqual(input.subarray(result.length), MQTT_CONNECT)
  return result.header
}

function assertRejects (input: Buffer, code: ProxyErrorCode): void {
  assert.throws(() => parseHeader(input), (err: unknown) => {
    assert.ok(err instanceof ProxyProtocolError, `not a ProxyProtocolError: ${String(err)}`)
    assert.equal(err.code, code)
    return true
  })
}

function tcp (family: 'INET' | 'INET6', src: string, sport: number, dst: string, dport: number): ProxyHeader {
  return {
    version: 1,
    proxied: true,
    command: 'PROXY',
    family,
    transport: 'STREAM',
    source: { address: src, port: sport },
    destination: { address: dst, port: dport },
    tlvs: { raw: [] }
  }
}

const UNKNOWN: ProxyHeader = {
  version: 1, proxied: false, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs: { raw: [] }
}
const FFFF = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
/** The spec's 107-byte worst case (spec 2.1). */
const UNKNOWN_107 = `PROXY UNKNOWN ${FFFF} ${FFFF} 65535 65535\r\n`

const valid: ReadonlyArray<{ name: string, input: string, expect: ProxyHeader }> = [
  {
    name: 'TCP4',
    input: 'PROXY TCP4 192.0.2.1 198.51.100.2 56324 1883\r\n',
    expect: tcp('INET', '192.0.2.1', 56324, '198.51.100.2', 1883)
  },
  {
    name: 'TCP6',
    input: 'PROXY TCP6 2001:db8::1 2001:db8::2 56324 8883\r\n',
    expect: tcp('INET6', '2001:db8::1', 56324, '2001:db8::2', 8883)
  },
  {
    name: 'TCP6 written long and upper case, reported canonical',
    input: 'PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 ::1 1 2\r\n',
    expect: tcp('INET6', '2001:db8::1', 1, '::1', 2)
  },
  {
    name: 'TCP6 IPv4-mapped source',
    input: 'PROXY TCP6 ::ffff:192.0.2.1 ::ffff:c633:6402 1 2\r\n',
    expect: tcp('INET6', '::ffff:192.0.2.1', 1, '::ffff:198.51.100.2', 2)
  },
  { name: 'UNKNOWN short form (15 bytes)', input: 'PROXY UNKNOWN\r\n', expect: UNKNOWN },
  {
    name: 'UNKNOWN long form: addresses ignored',
    input: 'PROXY UNKNOWN 192.0.2.1 198.51.100.2 56324 1883\r\n',
    expect: UNKNOWN
  },
  {
    name: 'UNKNOWN long form: anything before CRLF ignored',
    input: 'PROXY UNKNOWN banana 1.2.3.4 99999 080 x y z\r\n',
    expect: UNKNOWN
  },
  { name: 'UNKNOWN long form at the 107-byte maximum', input: UNKNOWN_107, expect: UNKNOWN },
  {
    name: 'UNKNOWN long form: even control bytes before CRLF are ignored (spec 2.1)',
    input: 'PROXY UNKNOWN \t\x00\x7f x\r\n',
    expect: UNKNOWN
  },
  {
    name: 'TCP4 at its 56-byte maximum',
    input: 'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n',
    expect: tcp('INET', '255.255.255.255', 65535, '255.255.255.255', 65535)
  },
  {
    name: 'TCP6 at its 104-byte maximum',
    input: `PROXY TCP6 ${FFFF} ${FFFF} 65535 65535\r\n`,
    expect: tcp('INET6', FFFF, 65535, FFFF, 65535)
  },
  {
    name: 'port 0',
    input: 'PROXY TCP4 192.0.2.1 198.51.100.2 0 0\r\n',
    expect: tcp('INET', '192.0.2.1', 0, '198.51.100.2', 0)
  },
  {
    name: 'port 65535',
    input: 'PROXY TCP4 192.0.2.1 198.51.100.2 65535 65535\r\n',
    expect: tcp('INET', '192.0.2.1', 65535, '198.51.100.2', 65535)
  },
  {
    name: 'IPv4 octet 0 (a lone zero is not a leading zero)',
    input: 'PROXY TCP4 0.0.0.0 10.0.0.1 1 2\r\n',
    expect: tcp('INET', '0.0.0.0', 1, '10.0.0.1', 2)
  },
  { name: 'IPv6 all zero', input: 'PROXY TCP6 :: ::1 1 2\r\n', expect: tcp('INET6', '::', 1, '::1', 2) }
]

for (const row of valid) {
  test(`v1 accepts ${row.name}`, () => {
    const header = parseComplete(line(row.input))
    assert.deepEqual(header, row.expect)
    if (!header.proxied) assert.equal('source' in header, false, 'no addresses on an unproxied header')
  })
}

test('v1 line lengths: the spec maxima are 56 (TCP4), 104 (TCP6), 15 (UNKNOWN), 107 (worst case)', () => {
  assert.equal(V1_MAX_LENGTH, 107)
  assert.equal(line(UNKNOWN_107).length, 107)
  assert.equal(line(valid.find(v => v.name.startsWith('TCP4 at its'))?.input ?? '').length, 56)
  assert.equal(line(valid.find(v => v.name.startsWith('TCP6 at its'))?.input ?? '').length, 104)
  assert.equal(line('PROXY UNKNOWN\r\n').length, 15)
})

test('v1 takes only the first line: a second header is payload', () => {
  const first = line('PROXY TCP4 192.0.2.1 198.51.100.2 1 2\r\n')
  const second = line('PROXY TCP4 203.0.113.9 198.51.100.2 3 4\r\n')
  const input = Buffer.concat([first, second])
  const result = parseHeader(input)
  assert.equal(result.status, 'complete')
  if (result.status !== 'complete') return
  assert.equal(result.length, first.length)
  assert.deepEqual(input.subarray(result.length), second)
  assert.deepEqual(result.header, tcp('INET', '192.0.2.1', 1, '198.51.100.2', 2))
})

const invalid: ReadonlyArray<{ name: string, input: string, code: ProxyErrorCode }> = [
  // 107-byte cap (spec 2.1: "If the CRLF sequence is not found in the first 107 characters ... invalid")
  {
    name: '108-byte UNKNOWN line', input: UNKNOWN_107.replace('65535\r\n', '65535 \r\n'), code: 'PROXY_ERR_V1_TOO_LONG'
  },
  {
    name: 'CR at byte 107, LF at byte 108',
    input: `PROXY UNKNOWN ${'x'.repeat(106 - 14)}\r\n`,
    code: 'PROXY_ERR_V1_TOO_LONG'
  },
  {
    name: '107 printable bytes and no CRLF yet (does not wait for more)',
    input: `PROXY ${'A'.repeat(101)}`,
    code: 'PROXY_ERR_V1_TOO_LONG'
  },
  { name: '300 printable bytes and no CRLF', input: `PROXY TCP4 ${'1'.repeat(289)}`, code: 'PROXY_ERR_V1_TOO_LONG' },
  // CRLF only
  { name: 'LF without CR', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80 443\n', code: 'PROXY_ERR_V1_CRLF' },
  { name: 'CR without LF', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80 443\rX\n', code: 'PROXY_ERR_V1_CRLF' },
  { name: 'LF CR instead of CR LF', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80 443\n\r', code: 'PROXY_ERR_V1_CRLF' },
  {
    name: 'lone CR inside the line', input: 'PROXY TCP4 192.0.2.1\r 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_CRLF'
  },
  {
    name: 'lone LF inside the line (not waiting for the CRLF)',
    input: 'PROXY TCP4 192.0.2.1\n',
    code: 'PROXY_ERR_V1_CRLF'
  },
  { name: 'CR CR LF', input: 'PROXY UNKNOWN\r\r\n', code: 'PROXY_ERR_V1_CRLF' },
  { name: 'UNKNOWN with LF only', input: 'PROXY UNKNOWN\n', code: 'PROXY_ERR_V1_CRLF' },
  // exactly one space
  { name: 'no space after PROXY', input: 'PROXYTCP4 192.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  { name: 'tab after PROXY', input: 'PROXY\tTCP4 192.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  { name: 'CRLF right after PROXY', input: 'PROXY\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  // The empty token where the protocol belongs is reported as a family error.
  {
    name: 'two spaces after PROXY', input: 'PROXY  TCP4 192.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_SYNTAX'
  },
  { name: 'two spaces before UNKNOWN', input: 'PROXY  UNKNOWN\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  {
    name: 'two spaces between addresses',
    input: 'PROXY TCP4 192.0.2.1  198.51.100.2 80 443\r\n',
    code: 'PROXY_ERR_V1_SYNTAX'
  },
  {
    name: 'two spaces between ports',
    input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80  443\r\n',
    code: 'PROXY_ERR_V1_SYNTAX'
  },
  {
    name: 'trailing space before CRLF',
    input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80 443 \r\n',
    code: 'PROXY_ERR_V1_SYNTAX'
  },
  { name: 'tab between fields', input: 'PROXY TCP4 192.0.2.1\t198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  { name: 'three fields', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  { name: 'five fields', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80 443 1\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  { name: 'TCP4 and nothing else', input: 'PROXY TCP4\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  // protocol token
  { name: 'empty protocol', input: 'PROXY \r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  { name: 'lower-case tcp4', input: 'PROXY tcp4 192.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_FAMILY' },
  { name: 'TCP5', input: 'PROXY TCP5 192.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_FAMILY' },
  { name: 'UDP4', input: 'PROXY UDP4 192.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_FAMILY' },
  { name: 'UNKNOWNX', input: 'PROXY UNKNOWNX\r\n', code: 'PROXY_ERR_V1_FAMILY' },
  { name: 'lower-case unknown', input: 'PROXY unknown\r\n', code: 'PROXY_ERR_V1_FAMILY' },
  // IPv4: 4 decimal numbers 0..255, no leading zeros
  {
    name: 'IPv4 leading zero in the first octet',
    input: 'PROXY TCP4 01.2.3.4 198.51.100.2 80 443\r\n',
    code: 'PROXY_ERR_V1_ADDRESS'
  },
  {
    name: 'IPv4 leading zero in the last octet',
    input: 'PROXY TCP4 192.0.2.01 198.51.100.2 80 443\r\n',
    code: 'PROXY_ERR_V1_ADDRESS'
  },
  { name: 'IPv4 octet 00', input: 'PROXY TCP4 192.0.00.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  {
    name: 'IPv4 octet written 010 (octal-looking)',
    input: 'PROXY TCP4 192.0.2.1 198.51.100.010 80 443\r\n',
    code: 'PROXY_ERR_V1_ADDRESS'
  },
  { name: 'IPv4 octet 256', input: 'PROXY TCP4 256.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  { name: 'IPv4 with three octets', input: 'PROXY TCP4 192.0.2 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  {
    name: 'IPv4 with five octets', input: 'PROXY TCP4 192.0.2.1.5 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS'
  },
  { name: 'IPv4 as one number', input: 'PROXY TCP4 3221225985 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  { name: 'IPv4 hex octet', input: 'PROXY TCP4 0xc0.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  { name: 'host name', input: 'PROXY TCP4 localhost 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  { name: 'bad destination', input: 'PROXY TCP4 192.0.2.1 198.51.100 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  // family-consistent addresses ("the advertised protocol family dictates what format to use")
  {
    name: 'TCP4 with an IPv6 source',
    input: 'PROXY TCP4 2001:db8::1 198.51.100.2 80 443\r\n',
    code: 'PROXY_ERR_V1_ADDRESS'
  },
  {
    name: 'TCP4 with an IPv4-mapped IPv6 source',
    input: 'PROXY TCP4 ::ffff:192.0.2.1 198.51.100.2 80 443\r\n',
    code: 'PROXY_ERR_V1_ADDRESS'
  },
  {
    name: 'TCP6 with an IPv4 destination (nginx#1609)',
    input: 'PROXY TCP6 2001:db8::1 192.0.2.1 51234 1883\r\n',
    code: 'PROXY_ERR_V1_ADDRESS'
  },
  {
    name: 'TCP6 with an IPv4 source',
    input: 'PROXY TCP6 192.0.2.1 2001:db8::1 51234 1883\r\n',
    code: 'PROXY_ERR_V1_ADDRESS'
  },
  { name: 'TCP6 with two ::', input: 'PROXY TCP6 2001::db8::1 ::1 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  { name: 'TCP6 with a zone id', input: 'PROXY TCP6 fe80::1%eth0 ::1 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  { name: 'TCP6 in brackets', input: 'PROXY TCP6 [2001:db8::1] ::1 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  { name: 'TCP6 with nine groups', input: 'PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 80 443\r\n', code: 'PROXY_ERR_V1_ADDRESS' },
  // ports: 0..65535, decimal, no leading zeros
  { name: 'port 65536', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  { name: 'port 99999', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 99999 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  { name: 'port 123456', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 123456 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  {
    name: 'port with a leading zero', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 080 443\r\n', code: 'PROXY_ERR_V1_PORT'
  },
  { name: 'port 00', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 00 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  {
    name: 'destination port with a leading zero',
    input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80 0443\r\n',
    code: 'PROXY_ERR_V1_PORT'
  },
  { name: 'destination port 65536', input: 'PROXY TCP6 ::1 ::2 80 65536\r\n', code: 'PROXY_ERR_V1_PORT' },
  { name: 'negative port', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  { name: 'port with a plus sign', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 +80 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  { name: 'hex port', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 0x50 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  { name: 'port in exponent form', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 1e3 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  { name: 'port with a fraction', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80.0 443\r\n', code: 'PROXY_ERR_V1_PORT' },
  // non-printable bytes
  { name: 'NUL in the line', input: 'PROXY TCP4 192.0.2.1\x00 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  {
    name: 'ESC in the line', input: 'PROXY TCP4 \x1b[31m192.0.2.1 198.51.100.2 80 443\r\n', code: 'PROXY_ERR_V1_SYNTAX'
  },
  { name: 'DEL in the line', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80 443\x7f\r\n', code: 'PROXY_ERR_V1_SYNTAX' },
  {
    name: 'byte 0xFF in the line', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 80 \xff\r\n', code: 'PROXY_ERR_V1_SYNTAX'
  },
  {
    name: 'non-ASCII digit (fullwidth 1 as UTF-8)',
    input: 'PROXY TCP4 192.0.2.\xef\xbc\x91 198.51.100.2 80 443\r\n',
    code: 'PROXY_ERR_V1_SYNTAX'
  }
]

for (const row of invalid) {
  test(`v1 rejects ${row.name}`, () => {
    assertRejects(line(row.input), row.code)
  })
}

test('v1 rejects are raised before the 107-byte window is full ("as soon as possible")', () => {
  // A lone LF, a non-printable byte and a bad byte after PROXY are visible at once.
  assertRejects(line('PROXY TCP4 1\n'), 'PROXY_ERR_V1_CRLF')
  assertRejects(line('PROXY TCP4 1\x00'), 'PROXY_ERR_V1_SYNTAX')
  assertRejects(line('PROXYX'), 'PROXY_ERR_V1_SYNTAX')
})

const incomplete: ReadonlyArray<{ name: string, input: string }> = [
  { name: 'empty input', input: '' },
  { name: '"P"', input: 'P' },
  { name: '"PROX"', input: 'PROX' },
  { name: '"PROXY"', input: 'PROXY' },
  { name: '"PROXY "', input: 'PROXY ' },
  { name: '"PROXY UNKNOWN"', input: 'PROXY UNKNOWN' },
  { name: 'a full TCP4 line without CRLF', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 56324 1883' },
  { name: 'a full TCP4 line ending in CR (waits for the LF)', input: 'PROXY TCP4 192.0.2.1 198.51.100.2 56324 1883\r' },
  { name: 'the short UNKNOWN form ending in CR', input: 'PROXY UNKNOWN\r' },
  { name: '106 printable bytes (one more may be the LF)', input: UNKNOWN_107.slice(0, 106) },
  // A line whose fields are already wrong is still only judged at its CRLF.
  { name: 'a TCP4 line with a bad address, no CRLF yet', input: 'PROXY TCP4 banana' }
]

for (const row of incomplete) {
  test(`v1 waits on ${row.name}`, () => {
    assert.deepEqual(parseHeader(line(row.input)),
      { status: 'incomplete', needed: row.input.length + 1, capacity: row.input.length === 0 ? 1 : V1_MAX_LENGTH })
  })
}

const absent: ReadonlyArray<{ name: string, input: Buffer }> = [
  { name: 'MQTT CONNECT', input: MQTT_CONNECT },
  { name: 'HTTP GET', input: line('GET /mqtt HTTP/1.1\r\n') },
  { name: 'HTTP POST (starts with P)', input: line('POST / HTTP/1.1\r\n') },
  { name: 'TLS ClientHello', input: Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]) },
  { name: '"PRXY"', input: line('PRXY TCP4') },
  { name: 'lower-case "proxy"', input: line('proxy TCP4 192.0.2.1 198.51.100.2 80 443\r\n') },
  { name: '"Proxy"', input: line('Proxy TCP4 192.0.2.1 198.51.100.2 80 443\r\n') },
  { name: '"PROX!"', input: line('PROX!') }
]

for (const row of absent) {
  test(`v1: ${row.name} is not a PROXY header`, () => {
    assert.deepEqual(parseHeader(row.input), { status: 'absent' })
  })
}

test('v1 encoder and parser agree on the rows above', () => {
  const built = encodeV1({
    family: 'TCP4', source: { address: '192.0.2.1', port: 56324 }, destination: { address: '198.51.100.2', port: 1883 }
  })
  assert.deepEqual(built, line(valid[0]?.input ?? ''))
  assert.deepEqual(encodeV1({ family: 'UNKNOWN' }), line('PROXY UNKNOWN\r\n'))
})
