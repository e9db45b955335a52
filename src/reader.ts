import type { Duplex } from 'node:stream'
import { ProxyProtocolError } from './protocol/errors.js'
import type { ProxyHeader } from './protocol/header.js'
import { parseHeader } from './protocol/parse.js'

/** Bounds on one pending connection, and what a header's absence or presence means. */
export interface ReadOptions {
  /** Milliseconds until an incomplete header fails with `PROXY_ERR_TIMEOUT`. */
  readonly headerTimeout: number
  /** Largest v2 `len` accepted. */
  readonly maxV2Length: number
  /**
   * What to do when the first bytes are not a PROXY signature: `fail` with
   * `PROXY_ERR_NOT_PROXY` (a listener that requires the header), or `pass`
   * the connection on untouched, without a header (optional mode, and a
   * listener with PROXY off that only watches for misconfiguration).
   * With `pass`, a connection that sends nothing before the timeout is passed
   * on too, to the broker's own connect timeout.
   * @defaultValue 'fail'
   */
  readonly absent?: 'fail' | 'pass'
  /**
   * What to do when the first bytes are a PROXY signature: `parse` the header,
   * or refuse the connection with this code without believing a word of it
   * (a header where PROXY is off, or from a peer that may not send one).
   * @defaultValue 'parse'
   */
  readonly present?: 'parse' | 'PROXY_ERR_UNEXPECTED_HEADER' | 'PROXY_ERR_UNTRUSTED'
}

/** Spec 2.1 / 2.2: a v1 signature is `PROXY ` (6 bytes), a v2 one 12 bytes. */
const V1_SIGNATURE_LENGTH = 6
const V2_SIGNATURE_LENGTH = 12

/** Why a read failed, beyond the error code: how much the peer had sent. */
export interface ReadFailure extends ProxyProtocolError {
  /** Bytes received before the failure; 0 for an empty probe (connect, then nothing). */
  readonly bytesReceived: number
  /**
   * For `PROXY_ERR_NOT_PROXY`: a copy of the first bytes received (at most
   * 512), to say what the connection was instead (MQTT, TLS, HTTP).
   */
  readonly head?: Buffer
}

/** How much of a connection that is not PROXY is kept to explain it. */
const HEAD_LENGTH = 512

/**
 * Called once: with an error (the socket is already destroyed), or with the
 * header, or with `undefined` when the connection has none and that is allowed.
 */
export type ReadCallback = (err: ReadFailure | null, header?: ProxyHeader) => void

function failure (err: ProxyProtocolError, bytesReceived: number, head: Buffer | undefined): ReadFailure {
  return Object.assign(err, head === undefined ? { bytesReceived } : { bytesReceived, head })
}

/**
 * Reads one PROXY header from the start of `socket`, across any number of
 * `data` events, and hands the socket back paused with every byte after the
 * header put back (`unshift`), so the next consumer (aedes, Node's TLS or
 * HTTP server) reads the stream exactly as the client sent it.
 *
 * The callback runs once, synchronously from the socket event that decided
 * it: with the header, or with a `ProxyProtocolError`, after which the
 * socket is destroyed. Bounded by the header timeout and the size caps (107 bytes
 * for v1, `16 + maxV2Length` for v2, enforced by the parser).
 */
export function readHeader (socket: Duplex, options: ReadOptions, callback: ReadCallback): void {
  let buffered: Buffer | undefined
  let received = 0
  let settled = false

  const passAbsent = options.absent === 'pass'
  const present = options.present ?? 'parse'
  const timer = setTimeout(() => {
    // Nothing at all arrived and a header is optional: let the broker's own
    // connect timeout deal with a slow client.
    if (passAbsent && received === 0) {
      succeed(undefined, EMPTY)
      return
    }
    fail(new ProxyProtocolError('PROXY_ERR_TIMEOUT',
      received === 0
        ? `no bytes within ${options.headerTimeout} ms`
        : `header incomplete after ${options.headerTimeout} ms (${received} bytes received)`))
  }, options.headerTimeout)
  timer.unref()

  function settle (): boolean {
    if (settled) return false
    settled = true
    clearTimeout(timer)
    socket.off('data', onData)
    socket.off('end', onEnd)
    socket.off('close', onClose)
    socket.off('error', onError)
    return true
  }

  function fail (err: ProxyProtocolError, data?: Buffer): void {
    if (!settle()) return
    buffered = undefined
    pending = []
    // A late 'error' from the destroyed socket must not go unhandled.
    socket.on('error', ignore)
    try {
      // Before destroying: the callback may still ask the socket who its peer is.
      callback(failure(err, received, data === undefined ? undefined : Buffer.from(data.subarray(0, HEAD_LENGTH))))
    } finally {
      socket.destroy()
    }
  }

  function succeed (header: ProxyHeader | undefined, rest: Buffer): void {
    if (!settle()) return
    socket.pause()
    if (rest.length > 0) socket.unshift(rest)
    buffered = undefined
    callback(null, header)
  }

  // Chunks of a header that did not come whole, and how many bytes the
  // header needs at least before parsing again is worth it (known once a v2
  // length field has arrived): a header trickled byte by byte is copied
  // once, not once per byte.
  let pending: Buffer[] = []
  let needed = 0

  function onData (chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
    received += bytes.length
    if (buffered !== undefined && received < needed) {
      pending.push(bytes)
      return
    }
    // Most headers arrive whole in the first chunk: parse that in place.
    const data = buffered === undefined ? bytes : Buffer.concat([buffered, ...pending, bytes])
    pending = []
    let result
    try {
      result = parseHeader(data, options)
    } catch (err) {
      if (present !== 'parse') {
        // A signature followed by nonsense is still an attempt at a header.
        fail(new ProxyProtocolError(present, unexpectedMessage(present)))
        return
      }
      fail(err instanceof ProxyProtocolError ? err : new ProxyProtocolError('PROXY_ERR_NOT_PROXY', String(err)))
      return
    }
    if (result.status === 'absent') {
      if (passAbsent) succeed(undefined, data)
      else fail(new ProxyProtocolError('PROXY_ERR_NOT_PROXY', `connection does not start with a PROXY header but with ${describeFirstBytes(data)}`), data)
      return
    }
    if (present !== 'parse') {
      // Decide on the signature alone: never parse what will not be believed.
      const signature = data[0] === 0x50 ? V1_SIGNATURE_LENGTH : V2_SIGNATURE_LENGTH
      if (result.status === 'complete' || data.length >= signature) {
        fail(new ProxyProtocolError(present, unexpectedMessage(present)))
        return
      }
    } else if (result.status === 'complete') {
      succeed(result.header, data.subarray(result.length))
      return
    }
    // The parser's caps bound `data`: it throws before 107 (v1) or
    // 16 + maxV2Length (v2) bytes without a complete header.
    buffered = data
    if (data[0] === 0x0d && data.length >= 16) needed = 16 + (((data[14] as number) << 8) | (data[15] as number))
  }

  function onEnd (): void {
    fail(new ProxyProtocolError('PROXY_ERR_CLOSED', received === 0
      ? 'connection closed before sending anything'
      : `connection closed after ${received} bytes, before a complete header`))
  }

  function onClose (): void { onEnd() }

  function onError (err: Error): void {
    const code = (err as NodeJS.ErrnoException).code ?? err.message
    fail(new ProxyProtocolError('PROXY_ERR_CLOSED', `connection failed (${code}) after ${received} bytes, before a complete header`))
  }

  socket.on('data', onData)
  socket.on('end', onEnd)
  socket.on('close', onClose)
  socket.on('error', onError)
  // A 'data' listener does not start a stream that was paused on purpose
  // (net.createServer({ pauseOnConnect: true })): start it.
  socket.resume()
}

function ignore (): void {}

const EMPTY = Buffer.alloc(0)

function unexpectedMessage (code: 'PROXY_ERR_UNEXPECTED_HEADER' | 'PROXY_ERR_UNTRUSTED'): string {
  return code === 'PROXY_ERR_UNTRUSTED'
    ? 'a PROXY header from a peer that is not in trustedProxies'
    : 'a PROXY header arrived on a listener where PROXY protocol is off'
}

/** What the first bytes of a connection look like, for a misconfiguration hint. */
export function describeFirstBytes (data: Uint8Array): string {
  const first = data[0] as number
  if (first === 0x10) return 'an MQTT CONNECT packet (0x10)'
  if (first === 0x16) return 'a TLS handshake (0x16)'
  const text = Buffer.from(data.subarray(0, 8)).toString('latin1')
  if (/^(GET|POST|PUT|HEAD|OPTIONS|DELETE|PATCH|CONNECT|TRACE) /.test(text)) return `an HTTP request ("${text.split(' ')[0] as string}")`
  return `byte 0x${first.toString(16).padStart(2, '0')}`
}
