// PROXY v2 (spec 2.2), one row per rule of PROXY-NOTES.md 1.3.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_MAX_V2_LENGTH, V2_SIGNATURE } from '../../src/protocol/v2.js'
import { parseHeader } from '../../src/protocol/parse.js'
import { ProxyProtocolError, type ProxyErrorCode } from '../../src/protocol/errors.js'
import type { ParseLimits, ProxyHeader } from '../../src/protocol/header.js'
import { encodeV2, TLV, tlvBytes, V2_SIG, v2Raw, type EncodeV2Options } from '../helpers/encode.js'
import { MQTT_CONNECT } from '../helpers/fixtures.js'
import { assertIncomplete } from '../helpers/incomplete.js'

/** Parses `header` + MQTT CONNECT; checks `length` and that the rest is the payload. */
function parseComplete (header: Buffer, limits?: ParseLimits): ProxyHeader {
  const input = Buffer.concat([header, MQTT_CONNECT])
  const result = parseHeader(input, limits)
  if (result.status !== 'complete') return assert.fail(`expected complete, got ${result.status}`)
  assert.equal(result.length, header.length)
  assert.deepEqual(input.subarray(result.length), MQTT_CONNECT)
  return result.header
}

function assertRejects (input: Buffer, code: ProxyErrorCode, limits?: ParseLimits): void {
  assert.throws(() => parseHeader(input, limits), (err: unknown) => {
    assert.ok(err instanceof ProxyProtocolError, `not a ProxyProtocolError: ${String(err)}`)
    assert.equal(err.code, code)
    return true
  })
}

const SRC4 = { address: '192.0.2.1', port: 51234 }
const DST4 = { address: '198.51.100.2', port: 1883 }
const SRC6 = { address: '2001:db8::1', port: 51234 }
const DST6 = { address: '2001:db8:0:1::2', port: 8883 }
const SOME_TLVS = [{ type: TLV.AUTHORITY, value: 'broker.example' }, { type: 0xe5, value: 'x' }]
const zeros = (n: number): Buffer => Buffer.alloc(n)

test('v2 signature constant is the spec one (contains NUL)', () => {
  assert.deepEqual(Buffer.from(V2_SIGNATURE), V2_SIG)
  assert.equal(V2_SIG.includes(0x00), true)
})

interface ValidRow {
  readonly name: string
  readonly input: Buffer
  readonly expect: Partial<Record<keyof ProxyHeader, unknown>>
  readonly limits?: ParseLimits
}

const valid: ValidRow[] = [
  {
    name: 'PROXY INET STREAM (0x11), 12-byte address block',
    input: encodeV2({ source: SRC4, destination: DST4 }),
    expect: {
      version: 2,
      command: 'PROXY',
      proxied: true,
      family: 'INET',
      transport: 'STREAM',
      source: SRC4,
      destination: DST4,
      tlvs: { raw: [] }
    }
  },
  {
    name: 'PROXY INET6 STREAM (0x21), 36-byte address block',
    input: encodeV2({ family: 'INET6', source: SRC6, destination: DST6 }),
    expect: {
      version: 2,
      command: 'PROXY',
      proxied: true,
      family: 'INET6',
      transport: 'STREAM',
      source: SRC6,
      destination: DST6,
      tlvs: { raw: [] }
    }
  },
  {
    name: 'ports are big-endian (0x0102 = 258)',
    input: v2Raw(0x21, 0x11, Buffer.from([192, 0, 2, 1, 198, 51, 100, 2, 0x01, 0x02, 0xff, 0x00])),
    expect: { source: { address: '192.0.2.1', port: 258 }, destination: { address: '198.51.100.2', port: 65280 } }
  },
  {
    name: 'ports 0 and 65535',
    input: encodeV2({
      source: { address: '0.0.0.0', port: 0 }, destination: { address: '255.255.255.255', port: 65535 }
    }),
    expect: { source: { address: '0.0.0.0', port: 0 }, destination: { address: '255.255.255.255', port: 65535 } }
  },
  {
    name: 'INET6 with IPv4-mapped addresses (HAProxy mixed families)',
    input: encodeV2({
      family: 'INET6',
      source: { address: '::ffff:192.0.2.1', port: 1 },
      destination: { address: '2001:db8::2', port: 2 }
    }),
    expect: {
      family: 'INET6',
      source: { address: '::ffff:192.0.2.1', port: 1 },
      destination: { address: '2001:db8::2', port: 2 }
    }
  },
  {
    name: 'INET with TLVs: length points past them',
    input: encodeV2({ source: SRC4, destination: DST4, tlvs: SOME_TLVS }),
    expect: { proxied: true, source: SRC4, destination: DST4 }
  },
  {
    name: 'INET6 with TLVs, CRC32C and NOOP: length points past them',
    input: encodeV2({
      family: 'INET6', source: SRC6, destination: DST6, tlvs: SOME_TLVS, crc32c: true, noopPadding: 17
    }),
    expect: { proxied: true, source: SRC6, destination: DST6 }
  },
  // Fall back to the socket's endpoints (spec 2.2: UNSPEC mode).
  {
    name: 'PROXY UNSPEC (0x00) with len 0',
    input: v2Raw(0x21, 0x00),
    expect: { command: 'PROXY', proxied: false, family: 'UNSPEC', transport: 'UNSPEC' }
  },
  {
    name: 'PROXY UNSPEC with TLVs: len honoured',
    input: encodeV2({ family: 'UNSPEC', transport: 'UNSPEC', tlvs: SOME_TLVS }),
    expect: { command: 'PROXY', proxied: false, family: 'UNSPEC' }
  },
  {
    name: 'PROXY UNIX STREAM (0x31), 216-byte address block',
    input: encodeV2({
      family: 'UNIX',
      source: { address: '/run/client.sock', port: 0 },
      destination: { address: '/run/mqtt.sock', port: 0 }
    }),
    expect: { command: 'PROXY', proxied: false, family: 'UNIX', transport: 'STREAM' }
  },
  {
    name: 'PROXY UNIX DGRAM (0x32) with TLVs',
    input: encodeV2({ family: 'UNIX', transport: 'DGRAM', tlvs: SOME_TLVS }),
    expect: { command: 'PROXY', proxied: false, family: 'UNIX', transport: 'DGRAM' }
  },
  {
    name: 'PROXY INET DGRAM (0x12)',
    input: encodeV2({ transport: 'DGRAM', source: SRC4, destination: DST4 }),
    expect: { command: 'PROXY', proxied: false, family: 'INET', transport: 'DGRAM' }
  },
  {
    name: 'PROXY INET6 DGRAM (0x22) with TLVs',
    input: encodeV2({ family: 'INET6', transport: 'DGRAM', source: SRC6, destination: DST6, tlvs: SOME_TLVS }),
    expect: { command: 'PROXY', proxied: false, family: 'INET6', transport: 'DGRAM' }
  },
  // LOCAL: "use the real connection endpoints and discard the protocol block including the family"
  {
    name: 'LOCAL UNSPEC with len 0 (HAProxy health check)',
    input: v2Raw(0x20, 0x00),
    expect: { version: 2, command: 'LOCAL', proxied: false, family: 'UNSPEC', transport: 'UNSPEC', tlvs: { raw: [] } }
  },
  {
    name: 'LOCAL INET with addresses: no addresses reported',
    input: encodeV2({ command: 'LOCAL', source: SRC4, destination: DST4 }),
    expect: { command: 'LOCAL', proxied: false, family: 'INET', tlvs: { raw: [] } }
  },
  {
    name: 'LOCAL INET with non-zero len (AWS NLB: CRC32C + NOOP): skipped whole',
    input: encodeV2({ command: 'LOCAL', crc32c: true, noopPadding: 62 }),
    expect: { command: 'LOCAL', proxied: false, tlvs: { raw: [] } }
  },
  {
    name: 'LOCAL INET whose body is not valid TLVs: skipped whole, never parsed',
    input: v2Raw(0x20, 0x11, Buffer.alloc(84, 0xff)),
    expect: { command: 'LOCAL', proxied: false, tlvs: { raw: [] } }
  },
  {
    name: 'LOCAL INET with len shorter than the address block',
    input: v2Raw(0x20, 0x11, zeros(4)),
    expect: { command: 'LOCAL', proxied: false }
  },
  {
    name: 'LOCAL INET6 with a wrong CRC32C: skipped whole',
    input: (() => {
      const b = encodeV2({ command: 'LOCAL', family: 'INET6', crc32c: true })
      b[16 + 36 + 3] = (b[16 + 36 + 3] ?? 0) ^ 0xff
      return b
    })(),
    expect: { command: 'LOCAL', proxied: false, tlvs: { raw: [] } }
  },
  {
    name: 'LOCAL UNIX DGRAM',
    input: encodeV2({ command: 'LOCAL', family: 'UNIX', transport: 'DGRAM' }),
    expect: { command: 'LOCAL', proxied: false, family: 'UNIX', transport: 'DGRAM' }
  },
  // maxV2Length
  {
    name: `len equal to the default cap (${DEFAULT_MAX_V2_LENGTH})`,
    input: encodeV2({ source: SRC4, destination: DST4, noopPadding: DEFAULT_MAX_V2_LENGTH - 12 - 3 }),
    expect: { proxied: true, source: SRC4 }
  },
  {
    name: 'len equal to a configured cap',
    input: encodeV2({ source: SRC4, destination: DST4, noopPadding: 300 - 12 - 3 }),
    expect: { proxied: true, source: SRC4 },
    limits: { maxV2Length: 300 }
  },
  {
    name: 'len 65535 under a cap of 65535',
    input: encodeV2({ source: SRC4, destination: DST4, noopPadding: 65535 - 12 - 3 }),
    expect: { proxied: true },
    limits: { maxV2Length: 65535 }
  }
]

for (const row of valid) {
  test(`v2 accepts ${row.name}`, () => {
    const header = parseComplete(row.input, row.limits)
    for (const [key, value] of Object.entries(row.expect)) {
      assert.deepEqual(header[key as keyof ProxyHeader], value, `field ${key}`)
    }
    if (!header.proxied) {
      assert.equal('source' in header, false)
      assert.equal('destination' in header, false)
    }
  })
}

test('v2 address block sizes: 12 (INET), 36 (INET6), 216 (UNIX)', () => {
  for (const [family, size] of [['INET', 12], ['INET6', 36], ['UNIX', 216], ['UNSPEC', 0]] as const) {
    const header = encodeV2({ family, transport: family === 'UNSPEC' ? 'UNSPEC' : 'STREAM' })
    assert.equal(header.readUInt16BE(14), size, family)
    parseComplete(header)
  }
})

test('v2 TLVs after the address block do not leak into the payload', () => {
  // The header is followed by bytes that are themselves a valid TLV: only len decides.
  const header = encodeV2({ source: SRC4, destination: DST4, tlvs: SOME_TLVS })
  const trailing = tlvBytes({ type: TLV.AUTHORITY, value: 'evil.example' })
  const input = Buffer.concat([header, trailing, MQTT_CONNECT])
  const result = parseHeader(input)
  if (result.status !== 'complete') return assert.fail(result.status)
  assert.equal(result.length, 16 + header.readUInt16BE(14))
  assert.equal(result.length, header.length)
  assert.deepEqual(input.subarray(result.length), Buffer.concat([trailing, MQTT_CONNECT]))
  assert.equal(result.header.tlvs.authority, 'broker.example')
})

test('v2 takes only the first header: a second one is payload', () => {
  const first = encodeV2({ source: SRC4, destination: DST4 })
  const second = encodeV2({ family: 'INET6', source: SRC6, destination: DST6 })
  const input = Buffer.concat([first, second])
  const result = parseHeader(input)
  if (result.status !== 'complete') return assert.fail(result.status)
  assert.equal(result.length, first.length)
  assert.deepEqual(input.subarray(result.length), second)
})

// Byte 14 (spec 2.2): only 0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32 are valid.
const BODY_FOR_FAMILY: Record<number, number> = { 0x0: 0, 0x1: 12, 0x2: 36, 0x3: 216 }
const familyBytes: ReadonlyArray<{ byte: number, family: string, transport: string, proxied: boolean }> = [
  { byte: 0x00, family: 'UNSPEC', transport: 'UNSPEC', proxied: false },
  { byte: 0x11, family: 'INET', transport: 'STREAM', proxied: true },
  { byte: 0x12, family: 'INET', transport: 'DGRAM', proxied: false },
  { byte: 0x21, family: 'INET6', transport: 'STREAM', proxied: true },
  { byte: 0x22, family: 'INET6', transport: 'DGRAM', proxied: false },
  { byte: 0x31, family: 'UNIX', transport: 'STREAM', proxied: false },
  { byte: 0x32, family: 'UNIX', transport: 'DGRAM', proxied: false }
]

for (const row of familyBytes) {
  const hex = `0x${row.byte.toString(16).padStart(2, '0')}`
  test(`v2 family/transport byte ${hex} is ${row.family}/${row.transport} with PROXY`, () => {
    const header = parseComplete(v2Raw(0x21, row.byte, zeros(BODY_FOR_FAMILY[row.byte >> 4] ?? 0)))
    assert.equal(header.family, row.family)
    assert.equal(header.transport, row.transport)
    assert.equal(header.proxied, row.proxied)
  })
  test(`v2 family/transport byte ${hex} is accepted with LOCAL`, () => {
    const header = parseComplete(v2Raw(0x20, row.byte, zeros(BODY_FOR_FAMILY[row.byte >> 4] ?? 0)))
    assert.equal(header.command, 'LOCAL')
    assert.equal(header.proxied, false)
  })
}

for (const byte of [0x01, 0x02, 0x03, 0x10, 0x13, 0x1f, 0x20, 0x23, 0x30, 0x33, 0x40, 0x41, 0x42, 0xf1, 0xff]) {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`
  test(`v2 rejects family/transport byte ${hex}`, () => {
    assertRejects(v2Raw(0x21, byte, zeros(216)), 'PROXY_ERR_V2_FAMILY')
  })
  test(`v2 rejects family/transport byte ${hex} with LOCAL too`, () => {
    assertRejects(v2Raw(0x20, byte, zeros(216)), 'PROXY_ERR_V2_FAMILY')
  })
}

test('v2 family/transport byte: all 256 values, only the 7 valid ones pass', () => {
  const allowed = new Set(familyBytes.map(r => r.byte))
  for (let byte = 0; byte < 256; byte++) {
    const input = v2Raw(0x21, byte, zeros(216))
    if (allowed.has(byte)) {
      assert.equal(parseHeader(input).status, 'complete', `0x${byte.toString(16)}`)
    } else {
      assertRejects(input, 'PROXY_ERR_V2_FAMILY')
    }
  }
})

// Byte 13 (spec 2.2): version nibble must be 0x2; command nibble 0x0 LOCAL or 0x1 PROXY.
for (const byte of [0x01, 0x11, 0x10, 0x31, 0x00, 0xf1, 0x41]) {
  test(`v2 rejects version nibble in ver/cmd 0x${byte.toString(16).padStart(2, '0')}`, () => {
    assertRejects(v2Raw(byte, 0x11, zeros(12)), 'PROXY_ERR_V2_VERSION')
  })
}
for (const byte of [0x22, 0x23, 0x2e, 0x2f]) {
  test(`v2 rejects command nibble in ver/cmd 0x${byte.toString(16)}`, () => {
    assertRejects(v2Raw(byte, 0x11, zeros(12)), 'PROXY_ERR_V2_COMMAND')
  })
}

test('v2 checks each fixed byte as soon as it arrives', () => {
  assertRejects(v2Raw(0x11, 0x11).subarray(0, 13), 'PROXY_ERR_V2_VERSION')
  assertRejects(v2Raw(0x2f, 0x11).subarray(0, 13), 'PROXY_ERR_V2_COMMAND')
  assertRejects(v2Raw(0x21, 0x13).subarray(0, 14), 'PROXY_ERR_V2_FAMILY')
  // The length cap is enforced from the 16-byte prefix, before the body arrives.
  assertRejects(v2Raw(0x21, 0x11, Buffer.alloc(0), 65535), 'PROXY_ERR_V2_TOO_LONG')
})

for (let i = 0; i < 12; i++) {
  test(`v2 signature byte ${i} changed: not a PROXY header`, () => {
    const input = encodeV2({ source: SRC4, destination: DST4 })
    input[i] = (input[i] ?? 0) ^ 0x40
    assert.deepEqual(parseHeader(input), { status: 'absent' })
  })
}

const invalid: ReadonlyArray<{ name: string, input: Buffer, code: ProxyErrorCode, limits?: ParseLimits }> = [
  { name: 'PROXY INET with len 0', input: encodeV2({ addressBlock: zeros(0) }), code: 'PROXY_ERR_V2_ADDRESS_LENGTH' },
  { name: 'PROXY INET with len 11', input: encodeV2({ addressBlock: zeros(11) }), code: 'PROXY_ERR_V2_ADDRESS_LENGTH' },
  {
    name: 'PROXY INET6 with len 12',
    input: encodeV2({ family: 'INET6', addressBlock: zeros(12) }),
    code: 'PROXY_ERR_V2_ADDRESS_LENGTH'
  },
  {
    name: 'PROXY INET6 with len 35',
    input: encodeV2({ family: 'INET6', addressBlock: zeros(35) }),
    code: 'PROXY_ERR_V2_ADDRESS_LENGTH'
  },
  {
    name: 'PROXY UNIX with len 215',
    input: encodeV2({ family: 'UNIX', addressBlock: zeros(215) }),
    code: 'PROXY_ERR_V2_ADDRESS_LENGTH'
  },
  {
    name: 'PROXY INET DGRAM with len 11',
    input: encodeV2({ transport: 'DGRAM', addressBlock: zeros(11) }),
    code: 'PROXY_ERR_V2_ADDRESS_LENGTH'
  },
  {
    name: `len ${DEFAULT_MAX_V2_LENGTH + 1}, above the default cap`,
    input: encodeV2({ noopPadding: DEFAULT_MAX_V2_LENGTH - 12 - 3 + 1 }),
    code: 'PROXY_ERR_V2_TOO_LONG'
  },
  {
    name: 'len 301, above a cap of 300',
    input: encodeV2({ noopPadding: 300 - 12 - 3 + 1 }),
    code: 'PROXY_ERR_V2_TOO_LONG',
    limits: { maxV2Length: 300 }
  },
  {
    name: 'LOCAL with len above the cap',
    input: v2Raw(0x20, 0x00, zeros(301)),
    code: 'PROXY_ERR_V2_TOO_LONG',
    limits: { maxV2Length: 300 }
  }
]

for (const row of invalid) {
  test(`v2 rejects ${row.name}`, () => {
    assertRejects(row.input, row.code, row.limits)
  })
}

const sample = (options: EncodeV2Options): Buffer => encodeV2({ source: SRC4, destination: DST4, ...options })

test('v2 waits for every prefix of a header, up to 16 + len - 1 bytes', () => {
  for (const header of [sample({}), sample({ tlvs: SOME_TLVS, crc32c: true, noopPadding: 5 }), v2Raw(0x20, 0x00)]) {
    for (let k = 0; k < header.length; k++) {
      assertIncomplete(parseHeader(header.subarray(0, k)), k, header.length, `prefix ${k} of ${header.length}`)
    }
  }
})

test('v2 does not parse the address block before all of len has arrived', () => {
  // len says 12 + a 4-byte TLV; the address block is there, the TLV is not.
  const header = sample({ tlvs: [{ type: 0xe5, value: 'x' }] })
  assert.deepEqual(parseHeader(header.subarray(0, 16 + 12)),
    { status: 'incomplete', needed: header.length, capacity: header.length })
})

test('v2 says what it needs: the next byte of the fixed prefix, then all of 16 + len', () => {
  const header = sample({ tlvs: [{ type: 0xe5, value: 'xyz' }] })
  for (let k = 1; k < 16; k++) {
    assert.deepEqual(parseHeader(header.subarray(0, k)), { status: 'incomplete', needed: k + 1, capacity: 16 },
      `prefix ${k}`)
  }
  for (let k = 16; k < header.length; k++) {
    assert.deepEqual(parseHeader(header.subarray(0, k)),
      { status: 'incomplete', needed: header.length, capacity: header.length }, `prefix ${k}`)
  }
})
