import type { TlvSet } from './tlv.js'

/** An IP endpoint as written in a header. IPv6 is canonical (RFC 5952). */
export interface Endpoint {
  readonly address: string
  readonly port: number
}

interface HeaderCommon {
  /** 1 for the text format (spec 2.1), 2 for the binary format (spec 2.2). */
  readonly version: 1 | 2
  /** Decoded TLVs and the raw list; empty for v1 and for v2 LOCAL. */
  readonly tlvs: TlvSet
}

/**
 * A header that announces the real client: v1 TCP4/TCP6, or v2 PROXY over
 * STREAM with an INET or INET6 address block.
 */
export interface ProxiedHeader extends HeaderCommon {
  readonly proxied: true
  readonly command: 'PROXY'
  readonly family: 'INET' | 'INET6'
  readonly transport: 'STREAM'
  /** The real client. */
  readonly source: Endpoint
  /** The address and port the client connected to (at the proxy). */
  readonly destination: Endpoint
}

/**
 * A header whose addresses must not be used: the receiver keeps the socket's
 * own endpoints. That is v2 LOCAL (proxy health checks, spec 2.2: "must use
 * the real connection endpoints"), v1 UNKNOWN (spec 2.1: "as if there were no
 * PROXY protocol header"), and v2 PROXY with AF_UNSPEC, AF_UNIX or DGRAM,
 * which a TCP receiver falls back from to UNSPEC mode (spec 2.2).
 */
export interface UnproxiedHeader extends HeaderCommon {
  readonly proxied: false
  readonly command: 'PROXY' | 'LOCAL'
  readonly family: 'UNSPEC' | 'INET' | 'INET6' | 'UNIX'
  readonly transport: 'UNSPEC' | 'STREAM' | 'DGRAM'
  readonly source?: never
  readonly destination?: never
}

/** A parsed PROXY header. Narrow on `proxied` before reading addresses. */
export type ProxyHeader = ProxiedHeader | UnproxiedHeader

/** Limits applied while parsing. */
export interface ParseLimits {
  /**
   * Largest v2 `len` (bytes after the 16-byte prefix) accepted.
   * @defaultValue 4096
   */
  readonly maxV2Length?: number
}

/** The outcome of looking at the first bytes of a connection. */
export type ParseResult =
  | {
    readonly status: 'incomplete'
    /**
     * The buffer must hold at least this many bytes (from the start of the
     * header) before parsing again can give another answer: the next byte
     * while fixed fields are still being checked one by one, the whole
     * `16 + len` once a v2 length field has arrived.
     */
    readonly needed: number
    /**
     * Bytes worth buffering for this header now: 107 for v1 (spec 2.1), 16
     * for a v2 prefix whose length field has not arrived, `16 + len` after.
     * A reader that sizes its buffer to this holds no more than the header.
     */
    readonly capacity: number
  }
  | { readonly status: 'absent' }
  | { readonly status: 'complete', readonly header: ProxyHeader, readonly length: number }
