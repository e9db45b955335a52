// The socket reader: one complete header across any number of data events,
// every byte after it put back, cleanup exactly once.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough, type Duplex } from 'node:stream'
import { parseHeader } from '../src/protocol/parse.js'
import { HeaderRead, type ReadFailure, type ReadOptions, type ReadVerdict } from '../src/reader.js'
import type { ProxyHeader } from '../src/protocol/header.js'
import {
  AWS_NLB_HEALTH_CHECK_ENCODED, AWS_NLB_VPCE_CAPTURE, HAPROXY_TLV_VECTOR, HAPROXY_TLV_VECTOR_HEADER_LENGTH,
  HAPROXY_V1_UNKNOWN_SHORT, MQTT_CONNECT, SPEC_V1_TCP6_MAX, V1_UNKNOWN_LONG
} from './helpers/fixtures.js'
import { encodeV1, encodeV2 } from './helpers/encode.js'

const OPTIONS = { headerTimeout: 5000, maxV2Length: 4096 }
const REQUIRE: ReadVerdict = { verb: 'REQUIRE' }

type ReadCallback = (err: ReadFailure | null, header?: ProxyHeader, ended?: boolean) => void

/** The reader, its outcome given to a callback. */
class CallbackRead extends HeaderRead {
  readonly #callback: ReadCallback
  constructor (socket: Duplex, options: ReadOptions, verdict: ReadVerdict, callback: ReadCallback) {
    super(socket, options, verdict)
    this.#callback = callback
  }

  protected finish (err: ReadFailure | null, header?: ProxyHeader, ended?: boolean): void {
    this.#callback(err, header, ended)
  }
}

function readHeader (socket: Duplex, options: ReadOptions, verdict: ReadVerdict, callback: ReadCallback): void {
  new CallbackRead(socket, options, verdict, callback).start()
}

function read (stream: PassThrough, options = OPTIONS): Promise<{ err: ReadFailure | null, header?: ProxyHeader | undefined, calls: number }> {
  return new Promise(resolve => {
    let calls = 0
    readHeader(stream, options, REQUIRE, (err, header) => {
      calls++
      // report on the next turn so a second (wrong) callback would be counted
      setImmediate(() => resolve({ err, header, calls }))
    })
  })
}

function drain (stream: PassThrough): Buffer {
  const chunks: Buffer[] = []
  let chunk: Buffer | null
  while ((chunk = stream.read() as Buffer | null) !== null) chunks.push(chunk)
  return Buffer.concat(chunks)
}

const headers: Array<{ name: string, header: Buffer }> = [
  { name: 'v1 TCP4', header: encodeV1({ family: 'TCP4', source: { address: '203.0.113.7', port: 50000 }, destination: { address: '198.51.100.1', port: 1883 } }) },
  { name: 'v1 TCP6 at the 104-byte maximum', header: SPEC_V1_TCP6_MAX },
  { name: 'v1 UNKNOWN short', header: HAPROXY_V1_UNKNOWN_SHORT },
  { name: 'v1 UNKNOWN long', header: V1_UNKNOWN_LONG },
  { name: 'v2 HAProxy TLV vector', header: HAPROXY_TLV_VECTOR.subarray(0, HAPROXY_TLV_VECTOR_HEADER_LENGTH) },
  { name: 'v2 AWS NLB VPC endpoint capture', header: AWS_NLB_VPCE_CAPTURE },
  { name: 'v2 AWS NLB health check (LOCAL)', header: AWS_NLB_HEALTH_CHECK_ENCODED },
  { name: 'v2 INET6', header: encodeV2({ family: 'INET6', source: { address: '2001:db8::7', port: 1 }, destination: { address: '2001:db8::1', port: 1883 } }) }
]

describe('every valid header split at every byte offset', () => {
  for (const { name, header } of headers) {
    test(name, async () => {
      const expected = parseHeader(Buffer.concat([header, MQTT_CONNECT]))
      assert.equal(expected.status, 'complete')
      const whole = Buffer.concat([header, MQTT_CONNECT])
      for (let k = 1; k < whole.length; k++) {
        const stream = new PassThrough()
        const result = read(stream)
        stream.write(whole.subarray(0, k))
        await new Promise(resolve => setImmediate(resolve))
        stream.write(whole.subarray(k))
        const { err, header: got, calls } = await result
        assert.equal(err, null, `split at ${k}`)
        assert.equal(calls, 1)
        assert.deepEqual(got, expected.status === 'complete' ? expected.header : undefined, `split at ${k}`)
        assert.deepEqual(drain(stream), MQTT_CONNECT, `bytes after the header, split at ${k}`)
        for (const event of ['data', 'end', 'close', 'error'] as const) {
          assert.equal(stream.listenerCount(event), 0, `no ${event} listener left behind`)
        }
      }
    })
  }
  test('one byte per data event', async () => {
    const whole = Buffer.concat([HAPROXY_TLV_VECTOR.subarray(0, HAPROXY_TLV_VECTOR_HEADER_LENGTH), MQTT_CONNECT])
    const stream = new PassThrough()
    const result = read(stream)
    for (const byte of whole) {
      stream.write(Buffer.of(byte))
      await new Promise(resolve => setImmediate(resolve))
    }
    const { err, header } = await result
    assert.equal(err, null)
    assert.equal(header?.proxied, true)
    assert.deepEqual(drain(stream), MQTT_CONNECT)
  })
})

describe('failures end the stream once, with a code and the byte count', () => {
  test('bytes that are not a header: PROXY_ERR_NOT_PROXY at the first byte', async () => {
    const stream = new PassThrough()
    const result = read(stream)
    stream.write(MQTT_CONNECT)
    const { err, calls } = await result
    assert.equal(err?.code, 'PROXY_ERR_NOT_PROXY')
    assert.equal(err?.bytesReceived, MQTT_CONNECT.length)
    assert.equal(calls, 1)
    assert.equal(stream.destroyed, true)
  })
  test('a malformed header fails as soon as it is malformed, without waiting for more', async () => {
    const stream = new PassThrough()
    const result = read(stream)
    stream.write(Buffer.from('PROXY TCP4 1.2.3.4\n'))
    const { err } = await result
    assert.equal(err?.code, 'PROXY_ERR_V1_CRLF')
  })
  test('the v2 cap is applied from the length field, before the bytes arrive', async () => {
    const stream = new PassThrough()
    const result = read(stream, { headerTimeout: 5000, maxV2Length: 300 })
    stream.write(encodeV2({ tlvs: [{ type: 0xe5, value: Buffer.alloc(400) }] }).subarray(0, 16))
    const { err } = await result
    assert.equal(err?.code, 'PROXY_ERR_V2_TOO_LONG')
  })
  test('half a header then end: PROXY_ERR_CLOSED', async () => {
    const stream = new PassThrough()
    const result = read(stream)
    stream.end(Buffer.from('PROXY TCP4 '))
    const { err, calls } = await result
    assert.equal(err?.code, 'PROXY_ERR_CLOSED')
    assert.equal(err?.bytesReceived, 11)
    assert.equal(calls, 1)
  })
  test('a stream error mid-header: PROXY_ERR_CLOSED, and no unhandled error afterwards', async () => {
    const stream = new PassThrough()
    const result = read(stream)
    stream.write(Buffer.from('PROXY '))
    await new Promise(resolve => setImmediate(resolve))
    stream.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))
    const { err, calls } = await result
    assert.equal(err?.code, 'PROXY_ERR_CLOSED')
    assert.match(err?.message ?? '', /ECONNRESET/)
    assert.equal(calls, 1)
  })
  test('timeout: PROXY_ERR_TIMEOUT with the bytes received so far', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const stream = new PassThrough()
    const seen: { failure?: ReadFailure | null } = {}
    readHeader(stream, { headerTimeout: 3000, maxV2Length: 4096 }, REQUIRE, err => { seen.failure = err })
    stream.write(Buffer.from('PROXY TCP4'))
    await new Promise(resolve => setImmediate(resolve))
    t.mock.timers.tick(2999)
    assert.equal(seen.failure, undefined)
    t.mock.timers.tick(1)
    const failure = seen.failure as ReadFailure | null | undefined // reassigned by the callback
    assert.equal(failure?.code, 'PROXY_ERR_TIMEOUT')
    assert.equal(failure?.bytesReceived, 10)
    assert.equal(stream.destroyed, true)
  })
  test('after success the timer is cleared: no late timeout', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const stream = new PassThrough()
    const calls: Array<ReadFailure | null> = []
    readHeader(stream, { headerTimeout: 3000, maxV2Length: 4096 }, REQUIRE, err => { calls.push(err) })
    stream.write(HAPROXY_V1_UNKNOWN_SHORT)
    await new Promise(resolve => setImmediate(resolve))
    t.mock.timers.tick(10_000)
    assert.deepEqual(calls, [null])
    assert.equal(stream.destroyed, false)
  })
})

describe('a header where it may not come (REJECT) is refused on its signature, however it is cut', () => {
  const cases = [
    { name: 'v1', bytes: encodeV1({ family: 'TCP4', source: { address: '192.0.2.1', port: 5000 }, destination: { address: '192.0.2.2', port: 1883 } }) },
    { name: 'v2', bytes: encodeV2({ source: { address: '192.0.2.1', port: 5000 }, destination: { address: '192.0.2.2', port: 1883 } }) }
  ]
  for (const { name, bytes } of cases) {
    for (const present of ['PROXY_ERR_UNEXPECTED_HEADER', 'PROXY_ERR_UNTRUSTED'] as const) {
      test(`${name}, ${present}: split at every offset, the connection is refused and nothing is handed over`, () => {
        for (let k = 1; k < bytes.length; k++) {
          const socket = new PassThrough()
          let outcome: string | undefined
          readHeader(socket, { headerTimeout: 1000, maxV2Length: 4096 }, { verb: 'REJECT', code: present }, (err, header) => {
            outcome = err === null ? `handed over (${header === undefined ? 'no header' : 'a header'})` : err.code
          })
          socket.write(bytes.subarray(0, k))
          socket.write(bytes.subarray(k))
          assert.equal(outcome, present, `split at ${k}`)
        }
      })
    }
  }
  test('first bytes that only look like a signature for a while are handed over whole', () => {
    for (const text of ['PUT / HTTP/1.1\r\n\r\n', 'POST /mqtt HTTP/1.1\r\n\r\n', 'PATCH / HTTP/1.1\r\n\r\n']) {
      const bytes = Buffer.from(text)
      for (let k = 1; k < bytes.length; k++) {
        const socket = new PassThrough()
        let outcome: string | undefined
        const verdict: ReadVerdict = { verb: 'REJECT', code: 'PROXY_ERR_UNEXPECTED_HEADER' }
        readHeader(socket, { headerTimeout: 1000, maxV2Length: 4096 }, verdict, (err) => {
          outcome = err === null ? 'handed over' : err.code
        })
        socket.write(bytes.subarray(0, k))
        socket.write(bytes.subarray(k))
        assert.equal(outcome, 'handed over', `${text.split(' ')[0] ?? ''} split at ${k}`)
        assert.deepEqual(socket.read(), bytes, 'every byte, in order')
      }
    }
  })
})
