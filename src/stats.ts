import type { ListenerName } from './options.js'
import type { ProxyErrorCode } from './protocol/errors.js'
import type { ProxyHeader } from './protocol/header.js'

/** Counters of one listener, from `proxy.stats()`. */
export interface ListenerStats {
  /** Headers accepted, by version, that announced a client address. */
  readonly proxied: { readonly v1: number, readonly v2: number }
  /** Headers accepted whose addresses are not used (v2 LOCAL, v1 UNKNOWN, UNSPEC). */
  readonly local: number
  /** Connections handed over without a header (PROXY off, or optional mode). */
  readonly direct: number
  /** Refused connections, by error code; probes are not among them. */
  readonly rejected: Readonly<Partial<Record<ProxyErrorCode, number>>>
  /**
   * Load-balancer health checks, counted here and not in `rejected`:
   * connections that sent nothing at all before closing or timing out, and
   * headers with nothing after them reset before their peer could be read.
   */
  readonly probes: number
  /** Connections waiting for their first bytes or a complete header right now. */
  readonly pending: number
}

interface Counters {
  proxied: { v1: number, v2: number }
  local: number
  direct: number
  rejected: Partial<Record<ProxyErrorCode, number>>
  probes: number
  pending: number
}

function empty (): Counters {
  return { proxied: { v1: 0, v2: 0 }, local: 0, direct: 0, rejected: {}, probes: 0, pending: 0 }
}

/** The counters of one plugin instance, per listener. */
export class Stats {
  readonly #counters: Record<ListenerName, Counters> = { tcp: empty(), ssl: empty(), ws: empty(), wss: empty() }

  /** A connection handed over without a header. */
  direct (listener: ListenerName): void {
    this.#counters[listener].direct++
  }

  /** A header accepted. */
  accepted (listener: ListenerName, header: ProxyHeader): void {
    const c = this.#counters[listener]
    if (!header.proxied) c.local++
    else if (header.version === 1) c.proxied.v1++
    else c.proxied.v2++
  }

  /** A connection refused; a probe (a health check that sent nothing) is counted apart. */
  refused (listener: ListenerName, code: ProxyErrorCode, probe: boolean): void {
    const c = this.#counters[listener]
    if (probe) c.probes++
    else c.rejected[code] = (c.rejected[code] ?? 0) + 1
  }

  pending (listener: ListenerName): number {
    return this.#counters[listener].pending
  }

  /** One more connection waits for its header (the caller calls `endPending` once, when it waits no more). */
  startPending (listener: ListenerName): void {
    this.#counters[listener].pending++
  }

  /** A connection counted by `startPending` waits for its header no more. */
  endPending (listener: ListenerName): void {
    this.#counters[listener].pending--
  }

  /** A snapshot. */
  snapshot (): Readonly<Record<ListenerName, ListenerStats>> {
    return structuredClone(this.#counters)
  }
}
