import type { Duplex } from 'node:stream'
import { refusalMessage } from './hints.js'
import { ProxyProtocolError } from './protocol/errors.js'
import type { ParseResult, ProxyHeader } from './protocol/header.js'
import type { ReadCallback, ReadFailure, ReadOptions } from './read-options.js'
import { parseHeader, signatureAt } from './protocol/parse.js'
import { V2_SIGNATURE } from './protocol/v2.js'

export type { ReadCallback, ReadFailure, ReadOptions } from './read-options.js'

/** How much of a connection that is not PROXY is kept to explain it. */
const HEAD_LENGTH = 512

function failure (err: ProxyProtocolError, bytesReceived: number, head: Buffer | undefined): ReadFailure {
  return Object.assign(err, head === undefined ? { bytesReceived } : { bytesReceived, head })
}

/**
 * Reads one PROXY header from the start of `socket`, across any number of
 * `data` events, and hands the socket back paused with every byte after the
 * header put back (`unshift`), so the next consumer (aedes, Node's TLS or
 * HTTP server) reads the stream exactly as the client sent it. A header cut
 * into pieces is held in one buffer of its own size (see `wait`).
 *
 * After a header, the first bytes of the stream are looked at before it is
 * handed over: a second PROXY signature there is a client behind the proxy
 * trying to announce an address of its own, refused with
 * `PROXY_ERR_INJECTED_HEADER`.
 *
 * The callback runs once, synchronously from the socket event that decided
 * it: with the header, or with a `ProxyProtocolError`, after which the
 * socket is destroyed. Bounded by the header timeout and the size caps (107 bytes
 * for v1, `16 + maxV2Length` for v2, enforced by the parser).
 */
export function readHeader (socket: Duplex, options: ReadOptions, callback: ReadCallback): void {
  // A header that did not come whole: its bytes so far.
  let acc: Buffer | undefined
  let filled = 0
  // What the parser last said it needs before another look is worth it.
  let needed = 0
  let received = 0
  let settled = false
  // Set once a complete header has been parsed: the bytes after it, until
  // they show whether they start a second header.
  let parsed: ProxyHeader | undefined
  let complete = false
  let after: Buffer = EMPTY

  const passAbsent = options.absent === 'pass'
  const present = options.present ?? 'parse'
  const timer = setTimeout(() => {
    // The header came and nothing after it yet: hand over, and the broker's
    // own connect timeout deals with a slow client.
    if (parsed !== undefined) {
      succeed(parsed, after)
      return
    }
    // Nothing at all arrived and a header is optional: the same.
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
    acc = undefined
    return true
  }

  function fail (err: ProxyProtocolError, data?: Uint8Array): void {
    if (!settle()) return
    after = EMPTY
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
    after = EMPTY
    socket.pause()
    // The bytes after a header are a view of the chunk that carried it: a
    // copy, so a consumer that keeps them does not keep the header's bytes.
    if (rest.length > 0) socket.unshift(rest.buffer.byteLength > rest.length + 256 ? Buffer.from(rest) : rest)
    callback(null, header)
  }

  /** The header came, and the peer left before sending anything after it. */
  function ended (header: ProxyHeader): void {
    if (!settle()) return
    after = EMPTY
    socket.on('error', ignore)
    try {
      callback(null, header, true)
    } finally {
      socket.destroy()
    }
  }

  /** Looks at the bytes after a complete header: hand over, refuse, or wait. */
  function guard (header: ProxyHeader, rest: Buffer): void {
    const second = signatureAt(rest)
    if (second === 'none') {
      succeed(header, rest)
    } else if (second === 'signature') {
      fail(new ProxyProtocolError('PROXY_ERR_INJECTED_HEADER',
        'a second PROXY header followed the proxy\'s: a client behind the proxy tried to announce its own address'))
    } else {
      if (!complete) options.onHeaderComplete?.()
      complete = true
      parsed = header
      // At most 11 bytes: a longer prefix is a signature or is not one.
      after = rest.length === 0 ? EMPTY : Buffer.from(rest)
    }
  }

  /**
   * Decides on `data` (the bytes so far; `more` follow it in the same chunk).
   * @returns true when the read is over.
   */
  function decide (data: Buffer, more: Buffer): boolean {
    if (present !== 'parse') {
      // Decide on the signature alone: never parse what will not be believed.
      const signature = signatureAt(data)
      if (signature === 'none') return absent(data, more)
      if (signature === 'partial') return wait(data.length + 1, V2_SIGNATURE.length, data)
      fail(new ProxyProtocolError(present, refusalMessage.unexpected(present)))
      return true
    }
    let result: ParseResult
    try {
      result = parseHeader(data, options)
    } catch (err) {
      // A parser bug is never reported as the peer's or the operator's fault.
      fail(err instanceof ProxyProtocolError ? err : new ProxyProtocolError('PROXY_ERR_INTERNAL', `the parser failed unexpectedly: ${String(err)}`))
      return true
    }
    if (result.status === 'absent') return absent(data, more)
    if (result.status === 'complete') {
      const rest = data.subarray(result.length)
      guard(result.header, rest.length === 0 ? more : more.length === 0 ? rest : Buffer.concat([rest, more]))
      return true
    }
    return wait(result.needed, result.capacity, data)
  }

  /** No header: hand the bytes over, or refuse where one is required. */
  function absent (data: Buffer, more: Buffer): true {
    const all = more.length === 0 ? data : Buffer.concat([data, more])
    if (passAbsent) succeed(undefined, all)
    else fail(new ProxyProtocolError('PROXY_ERR_NOT_PROXY', `connection does not start with a PROXY header (first byte 0x${(all[0] as number).toString(16).padStart(2, '0')})`), all)
    return true
  }

  /**
   * More bytes are needed: `needed` in all before another look, in a buffer
   * of `capacity` (what the parser says this header takes: 107 bytes for
   * v1, 16 for a v2 prefix, 16 + len once its length field is in), so a
   * pending peer holds no more than its header however the bytes are cut.
   */
  function wait (need: number, capacity: number, data: Buffer): false {
    needed = need
    if (acc === undefined || acc.length < capacity) {
      const grown = Buffer.allocUnsafe(capacity)
      filled = data.copy(grown, 0)
      acc = grown
    }
    return false
  }

  function onData (chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
    received += bytes.length
    if (parsed !== undefined) {
      // The header is in: only the first bytes after it are still looked at.
      const header = parsed
      parsed = undefined
      guard(header, after.length === 0 ? bytes : Buffer.concat([after, bytes]))
      return
    }
    // Most headers arrive whole in the first chunk: parse that in place.
    if (acc === undefined) {
      decide(bytes, EMPTY)
      return
    }
    let offset = 0
    while (offset < bytes.length) {
      const a: Buffer = acc
      const n = bytes.copy(a, filled, offset, Math.min(bytes.length, offset + a.length - filled))
      if (n === 0) {
        // The parser asked for more than the room it gave: a bug, never the peer's fault.
        fail(new ProxyProtocolError('PROXY_ERR_INTERNAL', `the parser needs ${needed} bytes but gave room for ${a.length}`))
        return
      }
      filled += n
      offset += n
      if (filled < needed) continue
      if (decide(a.subarray(0, filled), bytes.subarray(offset))) return
    }
  }

  function onEnd (): void {
    if (parsed !== undefined) {
      ended(parsed)
      return
    }
    fail(new ProxyProtocolError('PROXY_ERR_CLOSED', received === 0
      ? 'connection closed before sending anything'
      : `connection closed after ${received} bytes, before a complete header`))
  }

  function onClose (): void { onEnd() }

  function onError (err: Error): void {
    if (parsed !== undefined) {
      ended(parsed)
      return
    }
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
