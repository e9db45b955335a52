// Cross-check with the npm package proxy-protocol-js (moznion, 4.0.6): its
// builders make headers our parser must read, and on the inputs its parsers
// handle (plain v1 TCP4/TCP6, v2 without TLVs) the two must agree.
// The last section records, as assertions on ITS behaviour, where it is wrong
// (PROXY-NOTES.md 3.3): that is why we do not parse with it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  Command, INETProtocol, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, Peer, TransportProtocol,
  UnspecProxyAddress, V1ProxyProtocol, V1ProxyProtocolParseError, V2ProxyProtocol, type IPv4AddressTuple,
  type IPv6AddressTuple
} from 'proxy-protocol-js'
import { parseHeader } from '../../../src/protocol/parse.js'
import type { ProxyHeader } from '../../../src/protocol/header.js'
import { encodeV1, encodeV2, ipv4Bytes, ipv6Bytes, TLV } from '../../helpers/encode.js'
import {
  AWS_NLB_VPCE_CAPTURE, HAPROXY_TLV_VECTOR, HAPROXY_TLV_VECTOR_HEADER_LENGTH, MQTT_CONNECT
} from '../../helpers/fixtures.js'

function parseComplete (input: Uint8Array): { header: ProxyHeader, length: number } {
  const result = parseHeader(input)
  if (result.status !== 'complete') return assert.fail(`expected complete, got ${result.status}`)
  return result
}

const v4Tuple = (text: string): IPv4AddressTuple => Array.from(ipv4Bytes(text)) as IPv4AddressTuple
const v6Tuple = (text: string): IPv6AddressTuple => Array.from(ipv6Bytes(text)) as IPv6AddressTuple
const MQTT_TEXT = MQTT_CONNECT.toString('latin1')

// ------------------------------------------------------------------ its builders, our parser

const v1Built: ReadonlyArray<{
  name: string, protocol: INETProtocol, src: [string, number], dst: [string, number], family: 'INET' | 'INET6'
}> = [
  { name: 'TCP4', protocol: INETProtocol.TCP4, src: ['192.0.2.1', 51234], dst: ['198.51.100.2', 1883], family: 'INET' },
  {
    name: 'TCP4 ports 0 and 65535',
    protocol: INETProtocol.TCP4,
    src: ['0.0.0.0', 0],
    dst: ['255.255.255.255', 65535],
    family: 'INET'
  },
  {
    name: 'TCP6',
    protocol: INETProtocol.TCP6,
    src: ['2001:db8::1', 51234],
    dst: ['2001:db8:0:1::2', 8883],
    family: 'INET6'
  },
  {
    name: 'TCP6 IPv4-mapped',
    protocol: INETProtocol.TCP6,
    src: ['::ffff:192.0.2.1', 1],
    dst: ['::1', 2],
    family: 'INET6'
  }
]

for (const row of v1Built) {
  test(`proxy-protocol-js V1ProxyProtocol.build ${row.name}: our parser reads it`, () => {
    const built = new V1ProxyProtocol(row.protocol, new Peer(...row.src), new Peer(...row.dst), MQTT_TEXT).build()
    const input = Buffer.from(built, 'latin1')
    const { header, length } = parseComplete(input)
    assert.equal(length, built.indexOf('\r\n') + 2)
    assert.deepEqual(input.subarray(length), MQTT_CONNECT)
    if (!header.proxied) return assert.fail('expected a proxied header')
    assert.equal(header.family, row.family)
    assert.deepEqual(header.source, { address: row.src[0], port: row.src[1] })
    assert.deepEqual(header.destination, { address: row.dst[0], port: row.dst[1] })
  })
}

const v2Built: ReadonlyArray<{
  name: string, build: () => V2ProxyProtocol, expect: Partial<Record<keyof ProxyHeader, unknown>>
}> = [
  {
    name: 'PROXY INET STREAM',
    build: () => new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM,
      new IPv4ProxyAddress(
        new IPv4Address(v4Tuple('192.0.2.1')), 51234, new IPv4Address(v4Tuple('198.51.100.2')), 1883),
      MQTT_CONNECT),
    expect: {
      command: 'PROXY',
      proxied: true,
      family: 'INET',
      source: { address: '192.0.2.1', port: 51234 },
      destination: { address: '198.51.100.2', port: 1883 }
    }
  },
  {
    name: 'PROXY INET6 STREAM',
    build: () => new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM,
      new IPv6ProxyAddress(
        new IPv6Address(v6Tuple('2001:db8::1')), 65535, new IPv6Address(v6Tuple('::ffff:192.0.2.1')), 0),
      MQTT_CONNECT),
    expect: {
      command: 'PROXY',
      proxied: true,
      family: 'INET6',
      source: { address: '2001:db8::1', port: 65535 },
      destination: { address: '::ffff:192.0.2.1', port: 0 }
    }
  },
  {
    name: 'LOCAL UNSPEC (health check)',
    build: () => new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new UnspecProxyAddress(), MQTT_CONNECT),
    expect: { command: 'LOCAL', proxied: false, family: 'UNSPEC', transport: 'UNSPEC' }
  },
  {
    name: 'PROXY INET DGRAM',
    build: () => new V2ProxyProtocol(Command.PROXY, TransportProtocol.DGRAM,
      new IPv4ProxyAddress(new IPv4Address(v4Tuple('192.0.2.1')), 53, new IPv4Address(v4Tuple('198.51.100.2')), 53),
      MQTT_CONNECT),
    expect: { command: 'PROXY', proxied: false, family: 'INET', transport: 'DGRAM' }
  }
]

for (const row of v2Built) {
  test(`proxy-protocol-js V2ProxyProtocol.build ${row.name}: our parser reads it`, () => {
    const input = Buffer.from(row.build().build())
    const { header, length } = parseComplete(input)
    assert.equal(length, 16 + input.readUInt16BE(14))
    assert.deepEqual(input.subarray(length), MQTT_CONNECT)
    for (const [key, value] of Object.entries(row.expect)) {
      assert.deepEqual(header[key as keyof ProxyHeader], value, key)
    }
  })
}

// ------------------------------------------------------------------ both parsers agree

const port = fc.integer({ min: 0, max: 65535 })

test('proxy-protocol-js and our parser agree on plain v1 TCP4 lines', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), port, port, (a, sport, dport) => {
    const src = Array.from(a.subarray(0, 4)).join('.')
    const dst = Array.from(a.subarray(4)).join('.')
    const line = encodeV1({
      family: 'TCP4', source: { address: src, port: sport }, destination: { address: dst, port: dport }
    })
    const text = line.toString('latin1') + MQTT_TEXT
    const theirs = V1ProxyProtocol.parse(text)
    const ours = parseComplete(Buffer.from(text, 'latin1'))
    if (!ours.header.proxied) return assert.fail('expected a proxied header')
    assert.equal(theirs.inetProtocol, INETProtocol.TCP4)
    assert.deepEqual([theirs.source.ipAddress, theirs.source.port],
      [ours.header.source.address, ours.header.source.port])
    assert.deepEqual([theirs.destination.ipAddress, theirs.destination.port],
      [ours.header.destination.address, ours.header.destination.port])
    assert.equal(theirs.data, text.slice(ours.length))
  }), { numRuns: 300 })
})

test('proxy-protocol-js and our parser agree on plain v1 TCP6 lines (canonical addresses)', () => {
  const rows = [
    ['2001:db8::1', '2001:db8::2'], ['::1', '::'], ['::ffff:192.0.2.1', 'fe80::1ff:fe23:4567:890a'],
    ['1:2:3:4:5:6:7:8', '2001:db8::1:0:0:1']
  ] as const
  for (const [src, dst] of rows) {
    const line = encodeV1({
      family: 'TCP6', source: { address: src, port: 1 }, destination: { address: dst, port: 65535 }
    })
    const text = line.toString('latin1') + MQTT_TEXT
    const theirs = V1ProxyProtocol.parse(text)
    const ours = parseComplete(Buffer.from(text, 'latin1'))
    if (!ours.header.proxied) return assert.fail('expected a proxied header')
    assert.equal(theirs.inetProtocol, INETProtocol.TCP6)
    assert.equal(theirs.source.ipAddress, ours.header.source.address)
    assert.equal(theirs.destination.ipAddress, ours.header.destination.address)
    assert.equal(theirs.data, text.slice(ours.length))
  }
})

test('proxy-protocol-js and our parser agree on v2 PROXY INET/INET6 STREAM without TLVs', () => {
  const addresses = fc.uint8Array({ minLength: 32, maxLength: 32 })
  fc.assert(fc.property(fc.boolean(), addresses, port, port, (inet6, a, sport, dport) => {
    const n = inet6 ? 16 : 4
    const src = a.subarray(0, n)
    const dst = a.subarray(16, 16 + n)
    const ports = Buffer.from([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff])
    const header = encodeV2({ family: inet6 ? 'INET6' : 'INET', addressBlock: Buffer.concat([src, dst, ports]) })
    const input = Buffer.concat([header, MQTT_CONNECT])
    const theirs = V2ProxyProtocol.parse(input)
    const ours = parseComplete(input)
    if (!ours.header.proxied) return assert.fail('expected a proxied header')
    const address = theirs.proxyAddress
    if (!(address instanceof IPv4ProxyAddress || address instanceof IPv6ProxyAddress)) {
      return assert.fail('expected an IP address block')
    }
    const toBytes = inet6 ? ipv6Bytes : ipv4Bytes
    assert.deepEqual(Buffer.from(address.sourceAddress.address), toBytes(ours.header.source.address))
    assert.deepEqual(Buffer.from(address.destinationAddress.address), toBytes(ours.header.destination.address))
    assert.equal(address.sourcePort, ours.header.source.port)
    assert.equal(address.destinationPort, ours.header.destination.port)
    assert.equal(theirs.command, Command.PROXY)
    assert.deepEqual(Buffer.from(theirs.data ?? []), input.subarray(ours.length))
  }), { numRuns: 300 })
})

// ------------------------------------------------------------------ where it is wrong
// A record of why we don't parse with proxy-protocol-js: each row asserts ITS
// behaviour, next to what the spec (and our parser) says.

test('proxy-protocol-js is wrong: rejects the short "PROXY UNKNOWN\\r\\n" that spec 2.1 allows', () => {
  const line = 'PROXY UNKNOWN\r\n'
  assert.throws(() => V1ProxyProtocol.parse(line), (err: unknown) => err instanceof V1ProxyProtocolParseError)
  const ours = parseComplete(Buffer.from(line, 'latin1'))
  assert.equal(ours.header.proxied, false)
  assert.equal(ours.length, 15)
})

test('proxy-protocol-js is wrong: accepts port 99999 (spec 2.1: 0..65535)', () => {
  const line = 'PROXY TCP4 192.0.2.1 198.51.100.2 99999 1883\r\n'
  assert.equal(V1ProxyProtocol.parse(line).source.port, 99999)
  assert.throws(() => parseHeader(Buffer.from(line, 'latin1')), { code: 'PROXY_ERR_V1_PORT' })
})

test('proxy-protocol-js is wrong: accepts a leading-zero port and a non-address (spec 2.1)', () => {
  const line = 'PROXY TCP4 banana 198.51.100.2 0080 1883\r\n'
  const theirs = V1ProxyProtocol.parse(line)
  assert.equal(theirs.source.ipAddress, 'banana')
  assert.equal(theirs.source.port, 80)
  assert.throws(() => parseHeader(Buffer.from(line, 'latin1')), { code: 'PROXY_ERR_V1_ADDRESS' })
})

test('proxy-protocol-js is wrong: returns v2 TLV bytes as payload (ignores len)', () => {
  for (const [name, input, headerLength] of [
    ['HAProxy TLV vector', HAPROXY_TLV_VECTOR, HAPROXY_TLV_VECTOR_HEADER_LENGTH],
    ['AWS NLB capture + MQTT CONNECT',
      Buffer.concat([AWS_NLB_VPCE_CAPTURE, MQTT_CONNECT]), AWS_NLB_VPCE_CAPTURE.length],
    ['encoded header with AUTHORITY + MQTT CONNECT',
      Buffer.concat([encodeV2({ tlvs: [{ type: TLV.AUTHORITY, value: 'a.example' }] }), MQTT_CONNECT]), 16 + 12 + 3 + 9]
  ] as const) {
    const theirs = V2ProxyProtocol.parse(input)
    // Its `data` starts right after the 12-byte address block, so it begins with the TLVs.
    assert.deepEqual(Buffer.from(theirs.data ?? []), input.subarray(16 + 12), name)
    assert.ok((theirs.data?.length ?? 0) > input.length - headerLength, name)
    const ours = parseComplete(input)
    assert.equal(ours.length, headerLength, name)
  }
})

test('proxy-protocol-js is wrong: its v2 builder writes len = address block, so it cannot carry TLVs', () => {
  const built = new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM,
    new IPv4ProxyAddress(new IPv4Address(v4Tuple('192.0.2.1')), 1, new IPv4Address(v4Tuple('198.51.100.2')), 2),
    Buffer.from([TLV.AUTHORITY, 0x00, 0x01, 0x61])).build()
  assert.equal(Buffer.from(built).readUInt16BE(14), 12)
  // Our parser, honouring len, sees the would-be TLV as payload.
  const ours = parseComplete(built)
  assert.equal(ours.length, 28)
  assert.deepEqual(ours.header.tlvs, { raw: [] })
})
