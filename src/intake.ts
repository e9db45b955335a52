import net from 'node:net'
import type { Duplex } from 'node:stream'
import type { AddressMatcher } from './trust.js'
import { peerOf, type SocketEndpoint } from './conn-details.js'
import type { HeaderEvent, RejectedEvent } from './events.js'
import { PREFIX } from './errors.js'
import { describeStart, misconfigurationHint, refusalMessage } from './hints.js'
import type { ListenerName, ListenerSettings, Logger, ResolvedOptions } from './options.js'
import { ProxyProtocolError, type ProxyErrorCode } from './protocol/errors.js'
import type { ProxyHeader } from './protocol/header.js'
import { HeaderRead, type ReadFailure, type ReadVerdict } from './reader.js'
import type { Stats } from './stats.js'
import { PEERLESS, verdictFor, type Verdict } from './trust.js'
import type { Collapser } from './log-collapse.js'
import { callUser, logText } from './user-code.js'

/** What the intake of one plugin instance works with. */
export interface IntakeContext {
  readonly settings: ResolvedOptions
  readonly trusted: Readonly<Record<ListenerName, AddressMatcher>>
  readonly stats: Stats
  readonly logger: Logger | undefined
  /** Collapses repeated refusal lines (probes, at debug, are not collapsed). */
  readonly logs: Collapser
  /** Emits `'header'` (only called when someone listens). */
  readonly onHeader: ((event: HeaderEvent) => void) | undefined
  /** Emits `'rejected'` (only called when someone listens). */
  readonly onRejected: ((err: ReadFailure, event: RejectedEvent) => void) | undefined
}

/** Called for a connection to keep, with its header (if any) and its peer (when it was read). */
export type Proceed = (socket: Duplex, header: ProxyHeader | undefined, peer: SocketEndpoint | undefined) => void

/** Bytes Node has read from a socket (0 for a stream that does not count them). */
export function bytesReadOf (socket: unknown): number {
  return socket instanceof net.Socket ? socket.bytesRead : 0
}

/**
 * One new raw socket: trust decides, the reader collects the header, and the
 * connection is handed over (`proceed`) or refused and reported here.
 */
export function intake (ctx: IntakeContext, socket: Duplex, listener: ListenerName, proceed: Proceed): void {
  const settings = ctx.settings[listener]
  const started = performance.now()
  // The peer is read now, whatever the verdict: connDetails needs it anyway
  // (one getpeername either way, at most one per connection), and a refusal
  // reported later would find it gone once the peer has reset. (A system call
  // is dear: bench/README.md section 2, "the same + one `getpeername`".)
  const peer = peerOf(socket)
  let verdict: Verdict
  // Reset before Node could read its peer address (HAProxy resets its
  // health-check connections that fast): nothing to trust, but what it sent
  // can still say it was a health check.
  let peerless = false
  if (settings.trustedProxies === undefined || settings.mode === 'off') {
    verdict = verdictFor(settings, true)
  } else if (peer.address === '' && socket instanceof net.Socket) {
    peerless = true
    verdict = PEERLESS
  } else {
    verdict = verdictFor(settings, ctx.trusted[listener](peer.address))
  }
  if (verdict.verb === 'IGNORE') {
    ctx.stats.direct(listener)
    proceed(socket, undefined, peer)
    return
  }
  // Refused at accept: nothing has been read (Node's count is 0).
  if (verdict.verb === 'REFUSE') {
    const message = refusalMessage.untrusted(peer.address, listener)
    refuse(ctx, socket, listener, peer, 'PROXY_ERR_UNTRUSTED', message, bytesReadOf(socket))
    return
  }
  // Only a read whose header will be believed holds one of the maxPending
  // places. A REJECT read (PROXY off with hints, or a peer outside
  // trustedProxies in optional mode) only looks at the first bytes, and a
  // silent peer is handed over at the timeout as aedes would keep it: were
  // those counted, anyone could fill the places with idle sockets and lock
  // the listener's clients, or its load balancer, out.
  const counted = verdict.verb !== 'REJECT'
  if (counted && ctx.stats.pending(listener) >= settings.maxPending) {
    const message = refusalMessage.tooManyPending(settings.maxPending, listener)
    refuse(ctx, socket, listener, peer, 'PROXY_ERR_TOO_MANY_PENDING', message, bytesReadOf(socket))
    return
  }
  // The listener's settings carry the reader's bounds; the verdict goes to it as it is.
  new IntakeRead(ctx, socket, listener, settings, verdict, proceed, peer, peerless, started, counted).start()
}

/** The read of one connection's header, and what the intake does with it. */
class IntakeRead extends HeaderRead {
  readonly #ctx: IntakeContext
  readonly #listener: ListenerName
  readonly #proceed: Proceed
  readonly #peerless: boolean
  /** When the intake began (the 'header' event's readTime counts from it). */
  readonly #started: number
  readonly #peer: SocketEndpoint
  /** Counted in the listener's pending connections (see `intake`) until the header is in. */
  #pending: boolean

  constructor (ctx: IntakeContext, socket: Duplex, listener: ListenerName, settings: ListenerSettings,
    verdict: ReadVerdict, proceed: Proceed, peer: SocketEndpoint, peerless: boolean, started: number,
    counted: boolean) {
    super(socket, settings, verdict)
    this.#started = started
    this.#ctx = ctx
    this.#listener = listener
    this.#proceed = proceed
    this.#peer = peer
    this.#peerless = peerless
    this.#pending = counted
    if (counted) ctx.stats.startPending(listener)
  }

  // A connection stops pending once its header is complete, even while the
  // reader still looks at the first bytes after it: an idle client behind
  // the proxy must not hold one of the maxPending places.
  protected override headerComplete (): void {
    this.#done()
  }

  #done (): void {
    if (!this.#pending) return
    this.#pending = false
    this.#ctx.stats.endPending(this.#listener)
  }

  protected finish (err: ReadFailure | null, header?: ProxyHeader, ended?: boolean): void {
    this.#done()
    const ctx = this.#ctx
    const listener = this.#listener
    const socket = this.socket
    if (err !== null) {
      report(ctx, err, listener, this.#peer) // the socket is destroyed after this returns
      return
    }
    if (this.#peerless && header?.proxied !== false) {
      // An address that cannot be checked against trustedProxies is never
      // believed; the socket is gone anyway. A header and nothing after it
      // is a proxy's health check (HAProxy's v1 checks are reset that
      // fast): a probe, not a refusal.
      // (A peerless socket is a net.Socket, and one that sent a header has read bytes.)
      refuse(ctx, socket, listener, this.#peer, 'PROXY_ERR_CLOSED', refusalMessage.peerless(), bytesReadOf(socket),
        ended === true)
      return
    }
    if (header === undefined) {
      ctx.stats.direct(listener)
    } else {
      ctx.stats.accepted(listener, header)
      const onHeader = ctx.onHeader
      if (onHeader !== undefined) {
        const readTime = performance.now() - this.#started
        const peer = this.#peer
        callUser(() => { onHeader({ listener, peer, header, readTime }) })
      }
    }
    // A health check (LOCAL, or a header and nothing after it) is counted
    // and done: there is nothing to hand over.
    if (ended === true || this.#peerless) {
      if (!socket.destroyed) socket.destroy()
      return
    }
    this.#proceed(socket, header, this.#peer)
  }
}

/** Closes a connection without reading from it, and reports why. */
export function refuse (ctx: IntakeContext, socket: Duplex, listener: ListenerName, peer: SocketEndpoint,
  code: ProxyErrorCode, message: string, bytesReceived: number, probe = false): void {
  socket.on('error', () => {})
  socket.destroy()
  report(ctx, Object.assign(new ProxyProtocolError(code, message), { bytesReceived }), listener, peer, probe)
}

/** The one place a refusal is counted, logged and emitted. */
function report (ctx: IntakeContext, err: ReadFailure, listener: ListenerName, peer: SocketEndpoint,
  healthCheck = false): void {
  const probe = healthCheck ||
    (err.bytesReceived === 0 && (err.code === 'PROXY_ERR_TIMEOUT' || err.code === 'PROXY_ERR_CLOSED'))
  // A probe is a health check, not a refusal: counted apart.
  ctx.stats.refused(listener, err.code, probe)
  const start = err.head === undefined ? undefined : describeStart(err.head)
  const clientId = start?.clientId
  const hint = misconfigurationHint(err.code, listener, start?.started)
  const event: RejectedEvent = {
    listener,
    peer,
    probe,
    ...(hint !== undefined ? { hint } : {}),
    ...(clientId !== undefined ? { clientId } : {})
  }
  const logger = ctx.logger
  if (logger !== undefined) {
    // The line is the package's already: its reason without the message prefix.
    const reason = err.message.startsWith(PREFIX) ? err.message.slice(PREFIX.length) : err.message
    // The field names are the package's log vocabulary (docs/api.md, "Log fields").
    // A probe is a health check, not a refusal: no refusedBy on its line.
    const record = {
      event: probe ? 'probe' : 'refused',
      ...(probe ? {} : { refusedBy: 'proxy' }),
      listener,
      peer,
      code: err.code,
      ...(clientId !== undefined ? { clientId: logText(clientId) } : {})
    }
    if (probe) {
      const what = err.bytesReceived === 0
        ? 'empty connection closed'
        : 'a header and nothing after it, reset before its address could be read'
      callUser(() => { logger.debug(record, `PROXY protocol: ${what} (load-balancer probe)`) })
    } else {
      // The same refusal on the same listener: one line a minute, then how many more.
      // The hint (what to change) is a field of its own, not repeated in the message.
      const code = err.code
      ctx.logs.say(logger, hint !== undefined ? 'error' : 'warn', `${code}|${listener}`, () => hint !== undefined
        ? [{ ...record, reason, hint },
            `PROXY protocol misconfiguration on the ${listener} listener: ${reason} (the hint says what to change)`]
        : [{ ...record, reason }, `PROXY protocol: connection refused: ${reason}`],
      n => [{ event: 'refused', refusedBy: 'proxy', listener, code, repeated: n },
        `PROXY protocol: ${n} more ${code} refusals on the ${listener} listener in the last minute, ` +
        'not logged one by one'])
    }
  }
  const onRejected = ctx.onRejected
  if (onRejected !== undefined) callUser(() => { onRejected(err, event) })
}
