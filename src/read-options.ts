import type { ProxyProtocolError } from './protocol/errors.js'
import type { ProxyHeader } from './protocol/header.js'

// What reader.ts is told and what it answers.

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
   * on too, to the broker's own connect timeout, and so is one that sent only
   * the start of a signature where `present` is not `parse` (no header would
   * be believed there).
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

/**
 * Called once: with an error (the socket is already destroyed), or with the
 * header, or with `undefined` when the connection has none and that is
 * allowed. `ended` is true when a complete header arrived and the peer then
 * closed without sending a byte after it (a proxy's health check): the
 * socket is destroyed and there is nothing to hand over.
 */
export type ReadCallback = (err: ReadFailure | null, header?: ProxyHeader, ended?: boolean) => void
