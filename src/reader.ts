import type { Duplex } from 'node:stream'
import { ProxyProtocolError } from './protocol/errors.js'
import type { ProxyHeader } from './protocol/header.js'
import { parseHeader } from './protocol/parse.js'

/** Bounds on one pending connection. */
export interface ReadOptions {
  /** Milliseconds until an incomplete header fails with `PROXY_ERR_TIMEOUT`. */
  readonly headerTimeout: number
  /** Largest v2 `len` accepted. */
  readonly maxV2Length: number
}

/** Why a read failed, beyond the error code: how much the peer had sent. */
export interface ReadFailure extends ProxyProtocolError {
  /** Bytes received before the failure; 0 for an empty probe (connect, then nothing). */
  readonly bytesReceived: number
}

export type ReadCallback = (err: ReadFailure | null, header?: ProxyHeader) => void

function failure (err: ProxyProtocolError, bytesReceived: number): ReadFailure {
  return Object.assign(err, { bytesReceived })
}

/**
 * Reads one PROXY header from the start of `socket`, across any number of
 * `data` events, and hands the socket back paused with every byte after the
 * header put back (`unshift`), so the next consumer (aedes, Node's TLS or
 * HTTP server) reads the stream exactly as the client sent it.
 *
 * The callback runs once, synchronously from the socket event that decided
 * it: with the header, or with a `ProxyProtocolError` after the socket has
 * been destroyed. Bounded by the header timeout and the size caps (107 bytes
 * for v1, `16 + maxV2Length` for v2, enforced by the parser).
 */
export function readHeader (socket: Duplex, options: ReadOptions, callback: ReadCallback): void {
  let buffered: Buffer | undefined
  let received = 0
  let settled = false

  const timer = setTimeout(() => {
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

  function fail (err: ProxyProtocolError): void {
    if (!settle()) return
    buffered = undefined
    // A late 'error' from the destroyed socket must not go unhandled.
    socket.on('error', ignore)
    socket.destroy()
    callback(failure(err, received))
  }

  function succeed (header: ProxyHeader, rest: Buffer): void {
    if (!settle()) return
    socket.pause()
    if (rest.length > 0) socket.unshift(rest)
    buffered = undefined
    callback(null, header)
  }

  function onData (chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
    received += bytes.length
    // Most headers arrive whole in the first chunk: parse that in place.
    const data = buffered === undefined ? bytes : Buffer.concat([buffered, bytes])
    let result
    try {
      result = parseHeader(data, options)
    } catch (err) {
      fail(err instanceof ProxyProtocolError ? err : new ProxyProtocolError('PROXY_ERR_NOT_PROXY', String(err)))
      return
    }
    switch (result.status) {
      case 'complete':
        succeed(result.header, data.subarray(result.length))
        return
      case 'absent':
        fail(new ProxyProtocolError('PROXY_ERR_NOT_PROXY', `connection does not start with a PROXY header (first byte 0x${(data[0] as number).toString(16).padStart(2, '0')})`))
        return
      case 'incomplete':
        // The parser's caps bound `data`: it throws before 107 (v1) or
        // 16 + maxV2Length (v2) bytes without a complete header.
        buffered = data
    }
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
}

function ignore (): void {}
