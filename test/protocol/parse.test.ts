// Real-world headers (PROXY-NOTES.md 2): each parses to what its sender meant,
// and each valid one survives being split at every byte offset.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { crc32c } from '../../src/protocol/crc32c.js'
import { parseHeader } from '../../src/protocol/parse.js'
import { ProxyProtocolError } from '../../src/protocol/errors.js'
import type { ProxyHeader } from '../../src/protocol/header.js'
import { TLV } from '../helpers/encode.js'
import {
  AWS_NLB_HEALTH_CHECK_CAPTURE, AWS_NLB_HEALTH_CHECK_ENCODED, AWS_NLB_VPCE_CAPTURE, AWS_NLB_VPCE_EXAMPLE,
  HAPROXY_TLV_VECTOR, HAPROXY_TLV_VECTOR_HEADER_LENGTH, HAPROXY_V1_UNKNOWN_SHORT, MQTT_CONNECT,
  NGINX_MIXED_FAMILY_V1, SPEC_V1_TCP4_EXAMPLE, SPEC_V1_TCP4_MAX, SPEC_V1_TCP6_MAX, V1_UNKNOWN_LONG
} from '../helpers/fixtures.js'
import { assertIncomplete } from '../helpers/incomplete.js'

interface Fixture {
  readonly name: string
  /** The header bytes only. */
  readonly header: Buffer
  /** Bytes the sender put after the header in the same capture, if any. */
  readonly payload?: Buffer
  readonly check: (header: ProxyHeader) => void
}

const FFFF = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'

function unproxied (command: 'PROXY' | 'LOCAL', version: 1 | 2) {
  return (h: ProxyHeader): void => {
    assert.equal(h.version, version)
    assert.equal(h.proxied, false)
    assert.equal(h.command, command)
    assert.equal('source' in h, false)
    assert.deepEqual(h.tlvs, { raw: [] })
  }
}

const fixtures: Fixture[] = [
  {
    name: 'HAProxy TLV test vector (aiosmtpd#174)',
    header: HAPROXY_TLV_VECTOR.subarray(0, HAPROXY_TLV_VECTOR_HEADER_LENGTH),
    payload: HAPROXY_TLV_VECTOR.subarray(HAPROXY_TLV_VECTOR_HEADER_LENGTH),
    check: h => {
      if (!h.proxied) return assert.fail('expected a proxied header')
      assert.equal(h.version, 2)
      assert.equal(h.family, 'INET')
      assert.deepEqual(h.source, { address: '127.0.0.1', port: 45138 })
      assert.deepEqual(h.destination, { address: '127.0.0.1', port: 25253 })
      const t = h.tlvs
      assert.equal(t.authority, 'AUTHORITY')
      assert.equal(t.uniqueId?.toString('latin1'), 'UNIQUE_ID')
      assert.equal(t.crc32c, 0x54fdc6ff)
      assert.equal(t.ssl?.client, 0x01)
      assert.equal(t.ssl?.clientSsl, true)
      assert.equal(t.ssl?.verify, 0)
      assert.equal(t.ssl?.verified, false) // no client certificate
      assert.equal(t.ssl?.version, 'TLSv1.2')
      assert.equal(t.ssl?.keyAlg, 'RSA4096')
      assert.equal(t.ssl?.sigAlg, 'RSA-SHA256')
      assert.equal(t.ssl?.cipher, 'ECDHE-RSA-AES256-GCM-SHA384')
      assert.deepEqual(t.ssl?.tlvs.map(s => s.type),
        [TLV.SSL_VERSION, TLV.SSL_KEY_ALG, TLV.SSL_SIG_ALG, TLV.SSL_CIPHER])
      assert.deepEqual(t.raw.map(r => r.type), [TLV.CRC32C, TLV.AUTHORITY, TLV.UNIQUE_ID, TLV.SSL])
    }
  },
  {
    name: 'AWS NLB VPC endpoint example (go-proxyproto aws_test.go)',
    header: AWS_NLB_VPCE_EXAMPLE,
    check: h => {
      if (!h.proxied) return assert.fail('expected a proxied header')
      assert.deepEqual(h.source, { address: '172.31.7.113', port: 51442 })
      assert.deepEqual(h.destination, { address: '172.31.10.31', port: 80 })
      assert.equal(h.tlvs.awsVpceId, 'vpce-08d2bf15fac5001c9')
      assert.equal(h.tlvs.crc32c, 0xe8d6892d)
      assert.deepEqual(h.tlvs.raw.map(r => r.type), [TLV.CRC32C, TLV.AWS]) // NOOP dropped
    }
  },
  {
    name: 'AWS NLB VPC endpoint capture (go-proxyproto aws_test.go)',
    header: AWS_NLB_VPCE_CAPTURE,
    check: h => {
      if (!h.proxied) return assert.fail('expected a proxied header')
      assert.deepEqual(h.source, { address: '192.168.44.10', port: 52286 })
      assert.deepEqual(h.destination, { address: '192.168.44.7', port: 9243 })
      assert.equal(h.tlvs.awsVpceId, 'vpce-00eafc458ec97b833')
      assert.equal(h.tlvs.crc32c, 0xb9286fa6)
      assert.deepEqual(h.tlvs.raw.map(r => r.type), [TLV.CRC32C, TLV.AWS])
    }
  },
  {
    name: 'AWS NLB LOCAL health check capture (kubernetes#57250)',
    header: AWS_NLB_HEALTH_CHECK_CAPTURE,
    check: h => {
      unproxied('LOCAL', 2)(h)
      assert.equal(h.family, 'INET')
    }
  },
  {
    name: 'AWS NLB LOCAL health check, encoded as PROXY-NOTES.md 2.2 describes it',
    header: AWS_NLB_HEALTH_CHECK_ENCODED,
    check: unproxied('LOCAL', 2)
  },
  { name: 'HAProxy short "PROXY UNKNOWN\\r\\n"', header: HAPROXY_V1_UNKNOWN_SHORT, check: unproxied('PROXY', 1) },
  { name: 'v1 long UNKNOWN form, 107 bytes', header: V1_UNKNOWN_LONG, check: unproxied('PROXY', 1) },
  {
    name: 'spec 2.1 TCP4 example',
    header: SPEC_V1_TCP4_EXAMPLE,
    check: h => {
      if (!h.proxied) return assert.fail('expected a proxied header')
      assert.deepEqual([h.source, h.destination],
        [{ address: '192.168.0.1', port: 56324 }, { address: '192.168.0.11', port: 443 }])
    }
  },
  {
    name: 'spec 2.1 longest TCP4 line',
    header: SPEC_V1_TCP4_MAX,
    check: h => {
      if (!h.proxied) return assert.fail('expected a proxied header')
      assert.deepEqual(h.source, { address: '255.255.255.255', port: 65535 })
    }
  },
  {
    name: 'spec 2.1 longest TCP6 line',
    header: SPEC_V1_TCP6_MAX,
    check: h => {
      if (!h.proxied) return assert.fail('expected a proxied header')
      assert.deepEqual(h.destination, { address: FFFF, port: 65535 })
    }
  }
]

test('fixture sizes are the documented ones', () => {
  assert.equal(HAPROXY_TLV_VECTOR.length, 169)
  assert.equal(HAPROXY_TLV_VECTOR.subarray(HAPROXY_TLV_VECTOR_HEADER_LENGTH).toString('latin1'),
    'Test data that is not part of PROXYv2.\n')
  const aws = [AWS_NLB_VPCE_EXAMPLE, AWS_NLB_VPCE_CAPTURE, AWS_NLB_HEALTH_CHECK_CAPTURE, AWS_NLB_HEALTH_CHECK_ENCODED]
  for (const b of aws) {
    assert.equal(b.length, 16 + 0x54)
    assert.equal(b.readUInt16BE(14), 0x54)
  }
  assert.equal(HAPROXY_V1_UNKNOWN_SHORT.length, 15)
  assert.equal(V1_UNKNOWN_LONG.length, 107)
  assert.equal(SPEC_V1_TCP4_MAX.length, 56)
  assert.equal(SPEC_V1_TCP6_MAX.length, 104)
})

test('AWS LOCAL capture: its CRC32C (right after the 16-byte prefix) matches the whole header', () => {
  // The parser skips LOCAL bodies, so check the capture itself: it is a real CRC over all 100 bytes.
  const carried = AWS_NLB_HEALTH_CHECK_CAPTURE.readUInt32BE(19)
  assert.equal(AWS_NLB_HEALTH_CHECK_CAPTURE[16], TLV.CRC32C)
  assert.equal(crc32c(AWS_NLB_HEALTH_CHECK_CAPTURE, 0, AWS_NLB_HEALTH_CHECK_CAPTURE.length, 19), carried)
})

for (const fx of fixtures) {
  test(`fixture ${fx.name}: parses to the expected header`, () => {
    const payload = fx.payload ?? MQTT_CONNECT
    const input = Buffer.concat([fx.header, payload])
    const result = parseHeader(input)
    if (result.status !== 'complete') return assert.fail(`expected complete, got ${result.status}`)
    assert.equal(result.length, fx.header.length)
    assert.deepEqual(input.subarray(result.length), payload)
    fx.check(result.header)
  })

  test(`fixture ${fx.name}: every prefix is incomplete, never an error`, () => {
    for (let k = 0; k < fx.header.length; k++) {
      let result
      try {
        result = parseHeader(fx.header.subarray(0, k))
      } catch (err) {
        return assert.fail(`prefix of ${k} bytes threw ${String(err)}`)
      }
      assertIncomplete(result, k, fx.header.length, `prefix of ${k} bytes`)
    }
  })

  test(`fixture ${fx.name}: split at every offset, then whole + MQTT CONNECT, gives the same header and length`, () => {
    const whole = parseHeader(fx.header)
    if (whole.status !== 'complete') return assert.fail(`expected complete, got ${whole.status}`)
    assert.equal(whole.length, fx.header.length)
    const stream = Buffer.concat([fx.header, MQTT_CONNECT])
    for (let k = 0; k <= stream.length; k++) {
      // What a reader holds after a first chunk of k bytes, and after the rest arrives.
      const first = parseHeader(stream.subarray(0, k))
      if (k < fx.header.length) {
        assertIncomplete(first, k, fx.header.length, `first chunk of ${k} bytes`)
      } else {
        assert.deepEqual(first, whole, `first chunk of ${k} bytes`)
      }
      const joined = parseHeader(Buffer.concat([stream.subarray(0, k), stream.subarray(k)]))
      assert.deepEqual(joined, whole, `split at ${k}`)
    }
  })
}

test('fixtures parse the same from a plain Uint8Array and from a view at a non-zero offset', () => {
  for (const fx of fixtures) {
    const expected = parseHeader(fx.header)
    assert.deepEqual(parseHeader(new Uint8Array(fx.header)), expected, `${fx.name} as Uint8Array`)
    const big = Buffer.concat([Buffer.alloc(7, 0x50), fx.header, Buffer.alloc(5, 0x0d)])
    assert.deepEqual(parseHeader(big.subarray(7)), expected, `${fx.name} at offset 7`)
  }
})

test('fixture AWS NLB LOCAL capture: byte-by-byte accumulation', () => {
  const chunks: Buffer[] = []
  const stream = Buffer.concat([AWS_NLB_HEALTH_CHECK_CAPTURE, MQTT_CONNECT])
  let done = -1
  for (let i = 0; i < stream.length && done < 0; i++) {
    chunks.push(stream.subarray(i, i + 1))
    const result = parseHeader(Buffer.concat(chunks))
    if (result.status === 'complete') done = result.length
    else assert.equal(result.status, 'incomplete')
  }
  assert.equal(done, AWS_NLB_HEALTH_CHECK_CAPTURE.length)
})

test('fixture nginx mixed-family v1 line (nginx#1609) is rejected: TCP6 with an IPv4 destination', () => {
  assert.throws(() => parseHeader(Buffer.concat([NGINX_MIXED_FAMILY_V1, MQTT_CONNECT])), (err: unknown) => {
    assert.ok(err instanceof ProxyProtocolError)
    assert.equal(err.code, 'PROXY_ERR_V1_ADDRESS')
    return true
  })
})

test('fixture nginx mixed-family v1 line: prefixes before the CRLF are incomplete, never an error', () => {
  const crlf = NGINX_MIXED_FAMILY_V1.indexOf('\r\n')
  for (let k = 0; k <= crlf; k++) {
    assertIncomplete(parseHeader(NGINX_MIXED_FAMILY_V1.subarray(0, k)), k, undefined, `prefix ${k}`)
  }
})

// Issue 13: CRC32C is computed eight bytes at a time; check it against the
// byte-at-a-time definition on every length and alignment of a 64-byte run.
test('CRC32C (slice-by-8) equals the bitwise definition on every length, offset and zeroed field', () => {
  const bitwise = (bytes: Uint8Array, start: number, end: number, zeroFrom: number): number => {
    let crc = 0xffffffff
    for (let i = start; i < end; i++) {
      crc ^= zeroFrom >= 0 && i >= zeroFrom && i < zeroFrom + 4 ? 0 : bytes[i] as number
      for (let k = 0; k < 8; k++) crc = (crc & 1) !== 0 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
    }
    return (crc ^ 0xffffffff) >>> 0
  }
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 0xff)
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= bytes.length; end++) {
      assert.equal(crc32c(bytes, start, end), bitwise(bytes, start, end, -1), `[${start}, ${end})`)
      for (const zeroFrom of [start, start + 5, end - 4]) {
        if (zeroFrom >= start && zeroFrom + 4 <= end) {
          assert.equal(crc32c(bytes, start, end, zeroFrom), bitwise(bytes, start, end, zeroFrom),
            `[${start}, ${end}) zero at ${zeroFrom}`)
        }
      }
    }
  }
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283) // RFC 4960 / iSCSI check value
})
