import type { Duplex } from 'node:stream'
import { refusalMessage } from './hints.js'
import { ProxyProtocolError } from './protocol/errors.js'
import type { ParseResult, ProxyHeader } from './protocol/header.js'
import { parseHeader, signatureAt } from './protocol/parse.js'
import { V2_SIGNATURE } from './protocol/v2.js'
import { ownCopy } from './protocol/own-buffer.js'
import type { Verdict } from './trust.js'

/** Bounds on one pending connection (a listener's settings carry them). */
export interface ReadOptions {
  /** Milliseconds until an incomplete header fails with `PROXY_ERR_TIMEOUT`. */
  readonly headerTimeout: number
  /** Largest v2 `len` accepted. */
  readonly maxV2Length: number
}

/**
 * The trust verdicts that read (trust.ts): `REQUIRE` a header (its absence is
 * `PROXY_ERR_NOT_PROXY`); `USE` one when it comes, and hand a connection
 * without one over untouched; `REJECT` one with the verdict's code, unparsed,
 * and hand a connection without one over. Where a header is not required, a
 * connection that sends nothing before the timeout is handed over too (to the
 * broker's own connect timeout), and so is one that sent only the start of a
 * signature where no header would be believed (`REJECT`).
 */
export type ReadVerdict = Extract<Verdict, { readonly verb: 'REQUIRE' | 'USE' | 'REJECT' }>

/** Why a read failed, beyond the error code: how much the peer had sent. */
export interface ReadFailure extends ProxyProtocolError {
  /**
   * Bytes received from the peer before the failure; 0 for an empty probe
   * (connect, then nothing). A connection refused before it was read (an
   * untrusted peer where a header is required, too many pending, a server
   * not attached) has Node's count of the bytes read on its socket: 0 when
   * it is refused at accept.
   */
  readonly bytesReceived: number
  /**
   * For `PROXY_ERR_NOT_PROXY`: a copy of the first bytes received (at most
   * 512), to say what the connection was instead (MQTT, TLS, HTTP).
   */
  readonly head?: Buffer
}

/** How much of a connection that is not PROXY is kept to explain it. */
const HEAD_LENGTH = 512

function failure (err: ProxyProtocolError, bytesReceived: number, head: Buffer | undefined): ReadFailure {
  return Object.assign(err, head === undefined ? { bytesReceived } : { bytesReceived, head })
}

/**
 * The read of each socket while it runs (see the listeners below). Kept
 * beside the socket, not on it: a property added to a socket gives it a
 * shape of its own, and everything aedes does with it for the life of the
 * connection would then see two kinds of socket instead of one (bench/README.md
 * section 4, "keeps its state in a WeakMap, not on the socket", variant plugin).
 */
const READS = new WeakMap<Duplex, HeaderRead>()

/**
 * Reads one PROXY header from the start of a socket, across any number of
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
 * `finish` runs once, synchronously from the socket event that decided it:
 * with the header, or with a `ProxyProtocolError`, after which the socket is
 * destroyed. Bounded by the header timeout and the size caps (107 bytes for
 * v1, `16 + maxV2Length` for v2, enforced by the parser).
 *
 * One object per connection and nothing else: the socket listeners and the
 * timer callback are module-level functions that find the read by its
 * socket (a connection is the hot path; no closure is created for it).
 * (bench/README.md section 2, "a reader of module functions".) Subclasses
 * say what to do with the result (`finish`) and when the header is complete
 * (`headerComplete`): the intake (intake.ts) is the one in the package.
 */
export abstract class HeaderRead {
  readonly socket: Duplex
  readonly options: ReadOptions
  readonly verdict: ReadVerdict
  // A header that did not come whole: its bytes so far.
  #acc: Buffer | undefined = undefined
  #filled = 0
  // What the parser last said it needs before another look is worth it.
  #needed = 0
  #received = 0
  #settled = false
  // Set once a complete header has been parsed: the bytes after it, until
  // they show whether they start a second header.
  #parsed: ProxyHeader | undefined = undefined
  #complete = false
  #after: Buffer = EMPTY
  #timer: NodeJS.Timeout | undefined = undefined

  constructor (socket: Duplex, options: ReadOptions, verdict: ReadVerdict) {
    this.socket = socket
    this.options = options
    this.verdict = verdict
  }

  /**
   * Called once: with an error (the socket is destroyed once it returns), or
   * with the header, or with `undefined` when the connection has none and
   * that is allowed. `ended` is true when a complete header arrived and the
   * peer then closed without sending a byte after it (a proxy's health
   * check): the socket is destroyed and there is nothing to hand over.
   */
  protected abstract finish (err: ReadFailure | null, header?: ProxyHeader, ended?: boolean): void

  /** A complete header has arrived; only the first bytes after it are still awaited. */
  protected headerComplete (): void {}

  /** Starts reading: listeners on the socket, the header timer, the stream flowing. */
  start (): void {
    const socket = this.socket
    READS.set(socket, this)
    const timer = setTimeout(onTimeout, this.options.headerTimeout, this)
    timer.unref()
    this.#timer = timer
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.on('error', onError)
    // A 'data' listener does not start a stream paused on purpose (pauseOnConnect): start it.
    socket.resume()
  }

  /** @internal the header timer */
  timedOut (): void {
    // The header came and nothing after it yet: hand over, and the broker's
    // own connect timeout deals with a slow client.
    if (this.#parsed !== undefined) {
      this.#succeed(this.#parsed, this.#after)
      return
    }
    // Nothing arrived and a header is optional, or only the start of a signature where none is
    // believed (PROXY off, an untrusted peer): hand over what came, as without a reader.
    const verb = this.verdict.verb
    if (verb !== 'REQUIRE' && (this.#received === 0 || verb === 'REJECT')) {
      this.#succeed(undefined, this.#acc === undefined ? EMPTY : ownCopy(this.#acc.subarray(0, this.#filled)))
      return
    }
    const timeout = this.options.headerTimeout
    this.#fail(new ProxyProtocolError('PROXY_ERR_TIMEOUT',
      this.#received === 0
        ? `no bytes within ${timeout} ms`
        : `header incomplete after ${timeout} ms (${this.#received} bytes received)`))
  }

  #settle (): boolean {
    if (this.#settled) return false
    this.#settled = true
    clearTimeout(this.#timer)
    const socket = this.socket
    READS.delete(socket)
    socket.off('data', onData)
    socket.off('end', onEnd)
    socket.off('close', onEnd)
    socket.off('error', onError)
    this.#acc = undefined
    return true
  }

  #fail (err: ProxyProtocolError, data?: Uint8Array): void {
    if (!this.#settle()) return
    this.#after = EMPTY
    const socket = this.socket
    // A late 'error' from the destroyed socket must not go unhandled.
    socket.on('error', ignore)
    try {
      // Before destroying: the result may still ask the socket who its peer is.
      this.finish(failure(err, this.#received, data === undefined ? undefined : ownCopy(data.subarray(0, HEAD_LENGTH))))
    } finally {
      socket.destroy()
    }
  }

  #succeed (header: ProxyHeader | undefined, rest: Buffer): void {
    if (!this.#settle()) return
    this.#after = EMPTY
    const socket = this.socket
    socket.pause()
    // The bytes after a header are a view of the chunk that carried it: a
    // copy, so a consumer that keeps them does not keep the header's bytes.
    if (rest.length > 0) socket.unshift(rest.buffer.byteLength > rest.length + 256 ? ownCopy(rest) : rest)
    this.finish(null, header)
  }

  /** The header came, and the peer left before sending anything after it. */
  #ended (header: ProxyHeader): void {
    if (!this.#settle()) return
    this.#after = EMPTY
    const socket = this.socket
    socket.on('error', ignore)
    try {
      this.finish(null, header, true)
    } finally {
      socket.destroy()
    }
  }

  /** Looks at the bytes after a complete header: hand over, refuse, or wait. */
  #guard (header: ProxyHeader, rest: Buffer): void {
    const second = signatureAt(rest)
    if (second === 'none') {
      this.#succeed(header, rest)
    } else if (second === 'signature') {
      this.#fail(new ProxyProtocolError('PROXY_ERR_INJECTED_HEADER',
        'a second PROXY header followed the proxy\'s: a client behind the proxy tried to announce its own address'))
    } else {
      if (!this.#complete) this.headerComplete()
      this.#complete = true
      this.#parsed = header
      // At most 11 bytes: a longer prefix is a signature or is not one.
      this.#after = rest.length === 0 ? EMPTY : Buffer.from(rest)
    }
  }

  /**
   * Decides on `data` (the bytes so far; `more` follow it in the same chunk).
   * @returns true when the read is over.
   */
  #decide (data: Buffer, more: Buffer): boolean {
    const verdict = this.verdict
    if (verdict.verb === 'REJECT') {
      // Decide on the signature alone: never parse what will not be believed.
      const signature = signatureAt(data)
      if (signature === 'none') return this.#absent(data, more)
      if (signature === 'partial') return this.#wait(data.length + 1, V2_SIGNATURE.length, data)
      this.#fail(new ProxyProtocolError(verdict.code, refusalMessage.unexpected(verdict.code)))
      return true
    }
    let result: ParseResult
    try {
      result = parseHeader(data, this.options)
    } catch (err) {
      // A parser bug is never reported as the peer's or the operator's fault.
      this.#fail(err instanceof ProxyProtocolError
        ? err
        : new ProxyProtocolError('PROXY_ERR_INTERNAL', `the parser failed unexpectedly: ${String(err)}`))
      return true
    }
    if (result.status === 'absent') return this.#absent(data, more)
    if (result.status === 'complete') {
      const rest = data.subarray(result.length)
      this.#guard(result.header, rest.length === 0 ? more : more.length === 0 ? rest : Buffer.concat([rest, more]))
      return true
    }
    return this.#wait(result.needed, result.capacity, data)
  }

  /** No header: hand the bytes over, or refuse where one is required. */
  #absent (data: Buffer, more: Buffer): true {
    const all = more.length === 0 ? data : Buffer.concat([data, more])
    if (this.verdict.verb !== 'REQUIRE') {
      this.#succeed(undefined, all)
    } else {
      const first = (all[0] as number).toString(16).padStart(2, '0')
      this.#fail(new ProxyProtocolError('PROXY_ERR_NOT_PROXY',
        `connection does not start with a PROXY header (first byte 0x${first})`), all)
    }
    return true
  }

  /**
   * More bytes are needed: `needed` in all before another look, in a buffer
   * of `capacity` (what the parser says this header takes: 107 bytes for
   * v1, 16 for a v2 prefix, 16 + len once its length field is in), so a
   * pending peer holds no more than its header however the bytes are cut
   * (a buffer of its own: see own-buffer.ts).
   */
  #wait (need: number, capacity: number, data: Buffer): false {
    this.#needed = need
    if (this.#acc === undefined || this.#acc.length < capacity) {
      const grown = Buffer.allocUnsafeSlow(capacity)
      this.#filled = data.copy(grown, 0)
      this.#acc = grown
    }
    return false
  }

  /** @internal the socket's `data` */
  data (chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
    this.#received += bytes.length
    if (this.#parsed !== undefined) {
      // The header is in: only the first bytes after it are still looked at.
      const header = this.#parsed
      this.#parsed = undefined
      this.#guard(header, this.#after.length === 0 ? bytes : Buffer.concat([this.#after, bytes]))
      return
    }
    // Most headers arrive whole in the first chunk: parse that in place.
    if (this.#acc === undefined) {
      this.#decide(bytes, EMPTY)
      return
    }
    let offset = 0
    while (offset < bytes.length) {
      const a: Buffer = this.#acc
      const n = bytes.copy(a, this.#filled, offset, Math.min(bytes.length, offset + a.length - this.#filled))
      if (n === 0) {
        // The parser asked for more than the room it gave: a bug, never the peer's fault.
        this.#fail(new ProxyProtocolError('PROXY_ERR_INTERNAL',
          `the parser needs ${this.#needed} bytes but gave room for ${a.length}`))
        return
      }
      this.#filled += n
      offset += n
      if (this.#filled < this.#needed) continue
      if (this.#decide(a.subarray(0, this.#filled), bytes.subarray(offset))) return
    }
  }

  /** @internal the socket's `end` and `close` */
  closed (): void {
    if (this.#parsed !== undefined) {
      this.#ended(this.#parsed)
      return
    }
    this.#fail(new ProxyProtocolError('PROXY_ERR_CLOSED', this.#received === 0
      ? 'connection closed before sending anything'
      : `connection closed after ${this.#received} bytes, before a complete header`))
  }

  /** @internal the socket's `error` */
  failed (err: Error): void {
    if (this.#parsed !== undefined) {
      this.#ended(this.#parsed)
      return
    }
    const code = (err as NodeJS.ErrnoException).code ?? err.message
    this.#fail(new ProxyProtocolError('PROXY_ERR_CLOSED',
      `connection failed (${code}) after ${this.#received} bytes, before a complete header`))
  }
}

function onData (this: Duplex, chunk: Buffer | string): void { READS.get(this)?.data(chunk) }
function onEnd (this: Duplex): void { READS.get(this)?.closed() }
function onError (this: Duplex, err: Error): void { READS.get(this)?.failed(err) }
function onTimeout (read: HeaderRead): void { read.timedOut() }

function ignore (): void {}

const EMPTY = Buffer.alloc(0)
