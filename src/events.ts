import type { SocketEndpoint } from './conn-details.js'
import type { ListenerName } from './options.js'
import type { ProxyHeader } from './protocol/header.js'
import type { ReadFailure } from './reader.js'

/** Facts about a connection the plugin accepted or refused. */
export interface ConnectionEvent {
  readonly listener: ListenerName
  /** The immediate TCP peer (the proxy, or whoever connected). */
  readonly peer: SocketEndpoint
}

/** Emitted as `'header'` for every header accepted. */
export interface HeaderEvent extends ConnectionEvent {
  readonly header: ProxyHeader
  /** Milliseconds from the connection's arrival until its header was read. */
  readonly readTime: number
}

/** Emitted as `'rejected'` for every connection refused. */
export interface RejectedEvent extends ConnectionEvent {
  /**
   * A load balancer's health check rather than a broken client: the peer
   * sent nothing at all before closing or timing out, or sent a header and
   * nothing after it and reset before its address could be read (HAProxy's
   * v1 checks). Counted in `probes`, not in `rejected`.
   */
  readonly probe: boolean
  /** What is probably misconfigured, and which setting to change. */
  readonly hint?: string
  /** For a direct MQTT client on a listener that requires a header: its client id. */
  readonly clientId?: string
}

/** The events of the PROXY plugin, for `proxy.on(...)`. */
export interface ProxyProtocolEvents {
  header: [event: HeaderEvent]
  /**
   * `error` is a ProxyProtocolError that also says how many bytes the peer
   * sent (and, for PROXY_ERR_NOT_PROXY, its first bytes).
   */
  rejected: [error: ReadFailure, event: RejectedEvent]
}
