// Property tests (fast-check): encode -> parse round trips, and the fuzz
// invariants of go-proxyproto fuzz_test.go: any input gives a result or a
// ProxyProtocolError, never anything else.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SocketAddress } from 'node:net'
import fc from 'fast-check'
import { parseHeader } from '../../../src/protocol/parse.js'
import { ProxyProtocolError } from '../../../src/protocol/errors.js'
import type { ParseResult } from '../../../src/protocol/header.js'
import { encodeV1, encodeV2, ipv6Bytes, sslTlv, TLV, V2_SIG, type Tlv } from '../../helpers/encode.js'
import { assertIncomplete } from '../../helpers/incomplete.js'

const RUNS = 1000

// ------------------------------------------------------------------ oracles

const groupsOf = (b: Uint8Array): number[] =>
  Array.from({ length: 8 }, (_, i) => ((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0))

/**
 * RFC 5952 text from libuv's inet_ntop (via node:net), an implementation
 * independent of ours. libuv also prints the deprecated IPv4-compatible form
 * `::a.b.c.d`, which RFC 5952 does not ask for; those are left to
 * address.test.ts.
 */
function canonicalIPv6 (bytes: Uint8Array): string | undefined {
  const g = groupsOf(bytes)
  if (g.slice(0, 6).every(x => x === 0) && g[6] !== 0) return undefined
  return new SocketAddress({ address: g.map(x => x.toString(16)).join(':'), family: 'ipv6' }).address
}

/** `parseHeader`, with anything thrown that is not a ProxyProtocolError failing the test. */
function outcome (buf: Uint8Array): ParseResult | ProxyProtocolError {
  try {
    return parseHeader(buf)
  } catch (err) {
    if (err instanceof ProxyProtocolError) return err
    throw new Error(`parseHeader threw something other than a ProxyProtocolError: ${String(err)}`, { cause: err })
  }
}

/** Shape checks that hold for every outcome of `buf`. */
function checkOutcome (buf: Uint8Array, out: ParseResult | ProxyProtocolError): void {
  if (out instanceof ProxyProtocolError) {
    assert.match(out.code, /^PROXY_ERR_/)
    return
  }
  if (out.status !== 'complete') return
  assert.ok(out.length > 0 && out.length <= buf.length, `length ${out.length} within ${buf.length}`)
  if (out.header.version === 2) {
    assert.equal(out.length, 16 + (((buf[14] ?? 0) << 8) | (buf[15] ?? 0)))
  } else {
    assert.ok(out.length <= 107)
    assert.equal(buf[out.length - 2], 0x0d)
    assert.equal(buf[out.length - 1], 0x0a)
  }
  if (out.header.proxied) {
    for (const e of [out.header.source, out.header.destination]) {
      assert.ok(Number.isInteger(e.port) && e.port >= 0 && e.port <= 65535)
    }
  }
}

/**
 * A prefix of `buf` can only be incomplete, or already show what `buf`
 * shows: the same header once the header is all there, the same failure
 * (or absence) once the offending byte is there.
 */
function checkPrefixes (buf: Uint8Array): void {
  const whole = outcome(buf)
  checkOutcome(buf, whole)
  for (let k = 0; k < buf.length; k++) {
    const part = outcome(buf.subarray(0, k))
    if (part instanceof ProxyProtocolError) {
      assert.ok(whole instanceof ProxyProtocolError, `prefix ${k} threw ${part.code}, whole input did not`)
      continue
    }
    if (part.status === 'incomplete') {
      if (whole instanceof ProxyProtocolError || whole.status !== 'complete') continue
      assert.ok(k < whole.length, `prefix ${k} incomplete but header is ${whole.length} bytes`)
      continue
    }
    if (part.status === 'absent') {
      assert.ok(!(whole instanceof ProxyProtocolError) && whole.status === 'absent',
        `prefix ${k} absent, whole input not`)
      continue
    }
    assert.deepEqual(part, whole, `prefix ${k} complete`)
  }
}

// ------------------------------------------------------------------ generators

const port = fc.integer({ min: 0, max: 65535 })
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 })
/** Random groups, biased towards zero runs (RFC 5952 cases) and IPv4-mapped addresses. */
const ipv6 = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
    { minLength: 8, maxLength: 8 })
    .map(g => { const b = Buffer.alloc(16); g.forEach((x, i) => b.writeUInt16BE(x, 2 * i)); return new Uint8Array(b) }),
  ipv4.map(v4 => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]))
)
const v4Text = (b: Uint8Array): string => Array.from(b).join('.')
const v6Full = (b: Uint8Array, upper: boolean, pad: boolean): string => {
  const text = groupsOf(b).map(x => pad ? x.toString(16).padStart(4, '0') : x.toString(16)).join(':')
  return upper ? text.toUpperCase() : text
}

/** UTF-8 text without control characters, as AUTHORITY and SSL_CN must be. */
const hostText = fc.array(fc.constantFrom('a', 'z', '0', '9', '.', '-', 'ü', '日', '😀', ' '), { maxLength: 40 })
  .map(a => a.join(''))
const asciiText = fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 30 }).map(a => String.fromCharCode(...a))
const bytes = (maxLength: number) => fc.uint8Array({ maxLength })

/** Types the parser keeps raw and never rejects. */
const SPECIAL = new Set<number>([TLV.ALPN, TLV.AUTHORITY, TLV.CRC32C, TLV.NOOP, TLV.UNIQUE_ID, TLV.SSL, TLV.NETNS])
const unknownTlv = fc.record({ type: fc.integer({ min: 0, max: 255 }).filter(t => !SPECIAL.has(t)), value: bytes(24) })

interface TlvPlan {
  readonly tlvs: Tlv[]
  readonly authority: string | null
  readonly alpn: Uint8Array | null
  readonly uniqueId: Uint8Array | null
  readonly netns: string | null
  readonly ssl: {
    client: number, verify: number, version: string | null, cn: string | null, cert: Uint8Array | null, unknown: Tlv[]
  } | null
}

const sslPlan = fc.record({
  client: fc.integer({ min: 0, max: 255 }),
  verify: fc.integer({ min: 0, max: 0xffffffff }),
  version: fc.option(asciiText),
  cn: fc.option(hostText),
  cert: fc.option(bytes(64)),
  unknown: fc.array(fc.record({ type: fc.integer({ min: 0x29, max: 0x2f }), value: bytes(8) }), { maxLength: 2 })
})

const tlvPlan: fc.Arbitrary<TlvPlan> = fc.record({
  unknown: fc.array(unknownTlv, { maxLength: 5 }),
  authority: fc.option(hostText),
  alpn: fc.option(bytes(16)),
  uniqueId: fc.option(bytes(128)),
  netns: fc.option(asciiText),
  ssl: fc.option(sslPlan)
}).chain(p => {
  const known: Tlv[] = []
  if (p.authority !== null) known.push({ type: TLV.AUTHORITY, value: p.authority })
  if (p.alpn !== null) known.push({ type: TLV.ALPN, value: p.alpn })
  if (p.uniqueId !== null) known.push({ type: TLV.UNIQUE_ID, value: p.uniqueId })
  if (p.netns !== null) known.push({ type: TLV.NETNS, value: p.netns })
  if (p.ssl !== null) {
    const subs: Tlv[] = [...p.ssl.unknown]
    if (p.ssl.version !== null) subs.push({ type: TLV.SSL_VERSION, value: p.ssl.version })
    if (p.ssl.cn !== null) subs.push({ type: TLV.SSL_CN, value: p.ssl.cn })
    if (p.ssl.cert !== null) subs.push({ type: TLV.SSL_CLIENT_CERT, value: p.ssl.cert })
    known.push(sslTlv(p.ssl.client, p.ssl.verify, subs))
  }
  const all = [...p.unknown, ...known]
  return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length })
    .map(tlvs => ({ tlvs, authority: p.authority, alpn: p.alpn, uniqueId: p.uniqueId, netns: p.netns, ssl: p.ssl }))
})

/** Both families' addresses and the ports: a header plan picks one family. */
const endpoints = { src4: ipv4, dst4: ipv4, src6: ipv6, dst6: ipv6, sport: port, dport: port }

const v2Plan = fc.record({
  inet6: fc.boolean(),
  ...endpoints,
  tlvs: tlvPlan,
  crc32c: fc.boolean(),
  noop: fc.option(fc.integer({ min: 0, max: 40 }))
})

const v2Header = v2Plan.map(p => encodeV2({
  family: p.inet6 ? 'INET6' : 'INET',
  addressBlock: Buffer.concat([
    p.inet6 ? p.src6 : p.src4, p.inet6 ? p.dst6 : p.dst4,
    Buffer.from([p.sport >> 8, p.sport & 0xff, p.dport >> 8, p.dport & 0xff])
  ]),
  tlvs: p.tlvs.tlvs,
  crc32c: p.crc32c,
  ...(p.noop === null ? {} : { noopPadding: p.noop })
}))

const v1Header = fc.oneof(
  fc.record({ src: ipv4, dst: ipv4, sport: port, dport: port }).map(p =>
    encodeV1({
      family: 'TCP4',
      source: { address: v4Text(p.src), port: p.sport },
      destination: { address: v4Text(p.dst), port: p.dport }
    })),
  fc.record({ src: ipv6, dst: ipv6, sport: port, dport: port, upper: fc.boolean(), pad: fc.boolean() }).map(p =>
    encodeV1({
      family: 'TCP6',
      source: { address: v6Full(p.src, p.upper, p.pad), port: p.sport },
      destination: { address: v6Full(p.dst, p.upper, p.pad), port: p.dport }
    })),
  fc.constant(encodeV1({ family: 'UNKNOWN' })),
  asciiText.map(rest => encodeV1({ family: 'UNKNOWN', rest }))
)

const validHeader = fc.oneof(v1Header, v2Header)

// ------------------------------------------------------------------ properties

test('property: v2 encode -> parse round trip (addresses, ports, TLV sets, CRC32C, NOOP)', () => {
  fc.assert(fc.property(v2Plan, bytes(20), (p, payload) => {
    const header = encodeV2({
      family: p.inet6 ? 'INET6' : 'INET',
      addressBlock: Buffer.concat([
        p.inet6 ? p.src6 : p.src4, p.inet6 ? p.dst6 : p.dst4,
        Buffer.from([p.sport >> 8, p.sport & 0xff, p.dport >> 8, p.dport & 0xff])
      ]),
      tlvs: p.tlvs.tlvs,
      crc32c: p.crc32c,
      ...(p.noop === null ? {} : { noopPadding: p.noop })
    })
    const input = Buffer.concat([header, payload])
    const result = parseHeader(input)
    if (result.status !== 'complete' || !result.header.proxied) {
      return assert.fail(`expected a proxied header, got ${result.status}`)
    }
    assert.equal(result.length, header.length)
    assert.deepEqual(input.subarray(result.length), Buffer.from(payload))
    const { source, destination, tlvs } = result.header
    if (p.inet6) {
      assert.deepEqual(ipv6Bytes(source.address), Buffer.from(p.src6))
      assert.deepEqual(ipv6Bytes(destination.address), Buffer.from(p.dst6))
      const expected = canonicalIPv6(p.src6)
      if (expected !== undefined) assert.equal(source.address, expected)
    } else {
      assert.equal(source.address, v4Text(p.src4))
      assert.equal(destination.address, v4Text(p.dst4))
    }
    assert.equal(source.port, p.sport)
    assert.equal(destination.port, p.dport)
    // raw: every TLV but NOOP, in wire order, CRC32C first when present.
    const sent = [...(p.crc32c ? [TLV.CRC32C] : []), ...p.tlvs.tlvs.map(t => t.type)]
    assert.deepEqual(tlvs.raw.map(t => t.type), sent)
    p.tlvs.tlvs.forEach((t, i) => {
      const value = typeof t.value === 'string' ? Buffer.from(t.value, 'utf8') : Buffer.from(t.value)
      assert.deepEqual(tlvs.raw[i + (p.crc32c ? 1 : 0)]?.value, value)
    })
    assert.equal(tlvs.crc32c === undefined, !p.crc32c)
    assert.equal(tlvs.authority, p.tlvs.authority ?? undefined)
    assert.deepEqual(tlvs.alpn, p.tlvs.alpn === null ? undefined : Buffer.from(p.tlvs.alpn))
    assert.deepEqual(tlvs.uniqueId, p.tlvs.uniqueId === null ? undefined : Buffer.from(p.tlvs.uniqueId))
    assert.equal(tlvs.netns, p.tlvs.netns ?? undefined)
    const ssl = p.tlvs.ssl
    if (ssl === null) {
      assert.equal(tlvs.ssl, undefined)
    } else {
      assert.equal(tlvs.ssl?.client, ssl.client)
      assert.equal(tlvs.ssl?.verify, ssl.verify)
      assert.equal(tlvs.ssl?.verified, (ssl.client & 0x01) !== 0 && (ssl.client & 0x06) !== 0 && ssl.verify === 0)
      assert.equal(tlvs.ssl?.version, ssl.version ?? undefined)
      assert.equal(tlvs.ssl?.cn, ssl.cn ?? undefined)
      assert.deepEqual(tlvs.ssl?.clientCert, ssl.cert === null ? undefined : Buffer.from(ssl.cert))
    }
  }), { numRuns: RUNS })
})

test('property: v1 encode -> parse round trip (TCP4, TCP6 in any spelling, UNKNOWN)', () => {
  fc.assert(fc.property(
    fc.record({ ...endpoints, tcp6: fc.boolean(), upper: fc.boolean(), pad: fc.boolean() }),
    bytes(20),
    (p, payload) => {
      const header = p.tcp6
        ? encodeV1({
          family: 'TCP6',
          source: { address: v6Full(p.src6, p.upper, p.pad), port: p.sport },
          destination: { address: v6Full(p.dst6, p.upper, p.pad), port: p.dport }
        })
        : encodeV1({
          family: 'TCP4',
          source: { address: v4Text(p.src4), port: p.sport },
          destination: { address: v4Text(p.dst4), port: p.dport }
        })
      const input = Buffer.concat([header, payload])
      const result = parseHeader(input)
      if (result.status !== 'complete' || !result.header.proxied) {
        return assert.fail(`expected a proxied header, got ${result.status}`)
      }
      assert.equal(result.length, header.length)
      assert.deepEqual(input.subarray(result.length), Buffer.from(payload))
      const { source, destination } = result.header
      assert.equal(source.port, p.sport)
      assert.equal(destination.port, p.dport)
      if (p.tcp6) {
        assert.equal(result.header.family, 'INET6')
        assert.deepEqual(ipv6Bytes(source.address), Buffer.from(p.src6))
        assert.deepEqual(ipv6Bytes(destination.address), Buffer.from(p.dst6))
        const expected = canonicalIPv6(p.dst6)
        if (expected !== undefined) assert.equal(destination.address, expected)
        // Canonical output parses back to itself.
        const again = parseHeader(encodeV1({ family: 'TCP6', source, destination }))
        assert.deepEqual(again.status === 'complete' ? again.header : again, result.header)
      } else {
        assert.equal(result.header.family, 'INET')
        assert.equal(source.address, v4Text(p.src4))
        assert.equal(destination.address, v4Text(p.dst4))
      }
    }), { numRuns: RUNS })
})

test('property: prefixes of valid headers are always incomplete', () => {
  fc.assert(fc.property(validHeader, header => {
    for (let k = 0; k < header.length; k++) {
      const part = outcome(header.subarray(0, k))
      if (part instanceof ProxyProtocolError) return assert.fail(`prefix ${k} threw ${part.code}`)
      assertIncomplete(part, k, header.length, `prefix ${k} of ${header.length}`)
    }
    const whole = outcome(header)
    assert.ok(!(whole instanceof ProxyProtocolError) && whole.status === 'complete' && whole.length === header.length)
  }), { numRuns: 500 })
})

const leads = [
  Buffer.alloc(0),
  V2_SIG,
  Buffer.concat([V2_SIG, Buffer.from([0x21, 0x11])]),
  Buffer.concat([V2_SIG, Buffer.from([0x21, 0x21, 0x00])]),
  Buffer.from('PROXY ', 'latin1'),
  Buffer.from('PROXY TCP4 ', 'latin1'),
  Buffer.from('PROXY TCP6 ', 'latin1'),
  Buffer.from('PROXY UNKNOWN', 'latin1')
]

test('property: arbitrary bytes give a result or a ProxyProtocolError, consistently for every prefix', () => {
  fc.assert(fc.property(fc.constantFrom(...leads), bytes(200), (lead, tail) => {
    checkPrefixes(Buffer.concat([lead, tail]))
  }), { numRuns: 1500 })
})

test('property: arbitrary printable v1-ish lines give a result or a ProxyProtocolError', () => {
  const token = fc.oneof(
    fc.constantFrom('TCP4', 'TCP6', 'UNKNOWN', '::', '::1', '0', '65535', '65536', '1.2.3.4', '01.2.3.4', 'ffff::1',
      ' ', '\r\n', '\r', '\n'),
    asciiText)
  fc.assert(fc.property(fc.array(token, { maxLength: 8 }), tokens => {
    checkPrefixes(Buffer.from(`PROXY ${tokens.join(' ')}`, 'latin1'))
  }), { numRuns: 1000 })
})

test('property: valid headers with random byte mutations give a result or a ProxyProtocolError', () => {
  const mutation = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) })
  const mutationLists = fc.array(mutation, { minLength: 1, maxLength: 4 })
  fc.assert(fc.property(validHeader, mutationLists, bytes(8), (header, mutations, payload) => {
    const input = Buffer.concat([header, payload])
    for (const m of mutations) input[m.at % input.length] = m.byte
    checkPrefixes(input)
  }), { numRuns: 1000 })
})

test('property: a complete header does not depend on the bytes after it', () => {
  fc.assert(fc.property(validHeader, bytes(40), bytes(40), (header, a, b) => {
    const x = outcome(Buffer.concat([header, a]))
    const y = outcome(Buffer.concat([header, b]))
    assert.deepEqual(x, y)
  }), { numRuns: 500 })
})
