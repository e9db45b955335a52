// Fuzzes the header parser: random bytes, valid headers with random
// mutations, truncations and splices. Every input must give `incomplete`,
// `absent`, `complete` (with a length inside the input) or a
// ProxyProtocolError with a documented code; anything else, or an input
// whose parse takes longer than 50 ms every time (6 tries), is a failure.
//
//   npm run fuzz                 # 1,000,000 inputs
//   npm run fuzz -- 5000000 42   # count and seed
import { pathToFileURL } from 'node:url'
import { PROXY_ERROR_CODES, ProxyProtocolError } from '../src/protocol/errors.js'
import { parseHeader } from '../src/protocol/parse.js'
import { encodeV1, encodeV2, sslTlv, TLV } from '../support/encode.js'
import {
  AWS_NLB_HEALTH_CHECK_CAPTURE, AWS_NLB_VPCE_CAPTURE, HAPROXY_TLV_VECTOR, NGINX_MIXED_FAMILY_V1, V1_UNKNOWN_LONG
} from '../support/fixtures.js'

export interface FuzzReport {
  readonly inputs: number
  readonly outcomes: Record<string, number>
  readonly failures: Array<{ input: string, problem: string }>
  readonly slowestMs: number
  readonly seconds: number
}

const CODES = new Set<string>(PROXY_ERROR_CODES)

/** xorshift32: fast, seeded, good enough to pick bytes. */
function rng (seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9
  return () => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x
  }
}

const SEEDS: Buffer[] = [
  HAPROXY_TLV_VECTOR,
  AWS_NLB_VPCE_CAPTURE,
  AWS_NLB_HEALTH_CHECK_CAPTURE,
  NGINX_MIXED_FAMILY_V1,
  V1_UNKNOWN_LONG,
  encodeV1({
    family: 'TCP4',
    source: { address: '203.0.113.7', port: 50000 },
    destination: { address: '198.51.100.1', port: 1883 }
  }),
  encodeV1({
    family: 'TCP6',
    source: { address: '2001:db8::7', port: 1 },
    destination: { address: '::ffff:192.0.2.1', port: 1883 }
  }),
  encodeV1({ family: 'UNKNOWN' }),
  encodeV2({
    family: 'INET6',
    source: { address: '2001:db8::7', port: 1 },
    destination: { address: '2001:db8::1', port: 8883 },
    crc32c: true,
    tlvs: [
      { type: TLV.ALPN, value: 'mqtt' },
      { type: TLV.AUTHORITY, value: 'broker.example' },
      { type: TLV.UNIQUE_ID, value: 'abc' },
      sslTlv(7, 0, [
        { type: 0x21, value: 'TLSv1.3' }, { type: 0x22, value: 'cn' }, { type: 0x28, value: Buffer.alloc(40, 1) }
      ]),
      { type: TLV.AWS, value: Buffer.from('\x01vpce-1', 'latin1') }
    ],
    noopPadding: 8
  }),
  encodeV2({ family: 'UNIX', transport: 'STREAM' }),
  // TLV counts around the bound of 128, and string TLVs in the encodings
  // real senders use and hostile ones try (issue 9)
  encodeV2({ tlvs: Array.from({ length: 127 }, () => ({ type: 0xe5, value: '' })) }),
  encodeV2({ tlvs: Array.from({ length: 129 }, () => ({ type: TLV.NOOP, value: '' })) }),
  encodeV2({
    tlvs: [
      sslTlv(7, 0, [{ type: 0x22, value: Buffer.from('client-1', 'utf16le').swap16() }]),
      { type: TLV.AUTHORITY, value: Buffer.from('Gerät', 'latin1') }
    ]
  }),
  encodeV2({
    tlvs: [
      sslTlv(7, 0, [{ type: 0x22, value: 'admin\u202e\u200bnimda' }]),
      { type: TLV.AUTHORITY, value: 'p\u0430ypal.example\ufeff' }
    ]
  }),
  encodeV2({ tlvs: [{ type: TLV.AUTHORITY, value: 'a.example\r\nX: 1' }, { type: TLV.NETNS, value: 'ns\u0000' }] }),
  encodeV2({ command: 'LOCAL', family: 'UNSPEC', transport: 'UNSPEC' })
]

export function fuzz (count: number, seed = 1): FuzzReport {
  const next = rng(seed)
  const outcomes: Record<string, number> = {}
  const failures: Array<{ input: string, problem: string }> = []
  let slowestMs = 0
  const started = process.hrtime.bigint()
  for (let n = 0; n < count; n++) {
    const input = makeInput(next)
    const t0 = process.hrtime.bigint()
    let outcome: string
    let cut = -1
    try {
      const result = parseHeader(input, { maxV2Length: 4096 })
      outcome = result.status
      if (result.status === 'complete' && (result.length < 15 || result.length > input.length)) {
        const problem = `length ${result.length} outside the input (${input.length})`
        failures.push({ input: input.toString('hex'), problem })
      }
      if (result.status === 'complete' && n % 8 === 0) {
        // Drip: the reader parses what has arrived so far, so every strict
        // prefix of a complete header must be `incomplete`, never a verdict.
        cut = next() % result.length
        const early = parseHeader(input.subarray(0, cut), { maxV2Length: 4096 })
        if (early.status !== 'incomplete') {
          failures.push({ input: input.toString('hex'), problem: `prefix of ${cut} bytes gave ${early.status}` })
        }
        // Reading the decoded values must not throw either.
        void result.header.tlvs.raw.length
        void result.header.tlvs.ssl?.tlvs.length
      }
    } catch (err) {
      if (err instanceof ProxyProtocolError && CODES.has(err.code)) {
        outcome = err.code
      } else {
        outcome = 'UNCODED'
        failures.push({ input: input.toString('hex'), problem: String(err) })
      }
    }
    let ms = Number(process.hrtime.bigint() - t0) / 1e6
    // One slow parse on a shared machine is as likely a GC pause or a
    // descheduled process as a slow input: it counts only if the input is
    // slow every time (a parse that is slow by its input is slow again).
    if (ms > 50) ms = Math.min(ms, ...Array.from({ length: 5 }, () => timeParse(input, cut)))
    if (ms > slowestMs) slowestMs = ms
    if (ms > 50) {
      const problem = `parse took ${ms.toFixed(1)} ms at the fastest of 6 tries`
      failures.push({ input: input.toString('hex'), problem })
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
    if (failures.length > 20) break
  }
  return { inputs: count, outcomes, failures, slowestMs, seconds: Number(process.hrtime.bigint() - started) / 1e9 }
}

/**
 * Milliseconds the loop's work on `input` takes again, whatever its outcome:
 * the parse and, with a `cut`, the prefix's and the TLVs' read.
 */
function timeParse (input: Buffer, cut: number): number {
  const t0 = process.hrtime.bigint()
  try {
    const result = parseHeader(input, { maxV2Length: 4096 })
    if (result.status === 'complete' && cut >= 0) {
      parseHeader(input.subarray(0, cut), { maxV2Length: 4096 })
      void result.header.tlvs.raw.length
      void result.header.tlvs.ssl?.tlvs.length
    }
  } catch {}
  return Number(process.hrtime.bigint() - t0) / 1e6
}

function makeInput (next: () => number): Buffer {
  const kind = next() % 4
  if (kind === 0) {
    // random bytes, first byte biased towards the two signatures
    const length = next() % 300
    const out = Buffer.allocUnsafe(length)
    for (let i = 0; i < length; i++) out[i] = next() & 0xff
    if (length > 0 && next() % 2 === 0) out[0] = next() % 2 === 0 ? 0x0d : 0x50
    return out
  }
  const seed = SEEDS[next() % SEEDS.length] as Buffer
  const out = Buffer.from(seed)
  if (kind === 1) {
    // flip, set or zero a few bytes
    const edits = 1 + (next() % 4)
    for (let e = 0; e < edits && out.length > 0; e++) {
      const at = next() % out.length
      const how = next() % 3
      out[at] = how === 0 ? out[at] as number ^ (1 << (next() % 8)) : how === 1 ? next() & 0xff : 0
    }
    return out
  }
  if (kind === 2) {
    // truncate, or append junk
    return next() % 2 === 0
      ? out.subarray(0, next() % (out.length + 1))
      : Buffer.concat([out, Buffer.alloc(next() % 64, next() & 0xff)])
  }
  // splice two seeds
  const other = SEEDS[next() % SEEDS.length] as Buffer
  const cut = next() % (out.length + 1)
  return Buffer.concat([out.subarray(0, cut), other.subarray(next() % (other.length + 1))])
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const count = Number(process.argv[2] ?? 1_000_000)
  const seed = Number(process.argv[3] ?? Date.now() % 0xffffffff)
  const report = fuzz(count, seed)
  console.log(`fuzzed ${report.inputs.toLocaleString('en')} inputs (seed ${seed}) in ${report.seconds.toFixed(1)} s; ` +
    `slowest parse ${report.slowestMs.toFixed(2)} ms`)
  for (const [outcome, n] of Object.entries(report.outcomes).sort((a, b) => b[1] - a[1])) {
    console.log(`  ${outcome.padEnd(28)} ${n}`)
  }
  if (report.failures.length > 0) {
    console.log('FAILURES:')
    for (const f of report.failures) console.log(`  ${f.problem}: ${f.input}`)
    process.exit(1)
  }
}
