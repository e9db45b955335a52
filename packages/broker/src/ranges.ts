// The range of every numeric variable of the broker: what the code can
// honour (a timer within setTimeout's 2^31-1 ms, a rate Redis can store,
// a port). readNumber reads a numeric variable only through its range here,
// so a new one cannot go without; a test checks every bound of every entry.

/** A numeric variable's bounds, and what its number counts. */
export interface Range { readonly min: number, readonly max: number, readonly integer: boolean, readonly unit: string }

/** The longest delay setTimeout honours; Node runs a longer one after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647
const PORT: Range = { min: 0, max: 65_535, integer: true, unit: 'a port number' }

export const RANGES: Readonly<Record<string, Range>> = {
  MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT: { min: 1, max: 600_000, integer: true, unit: 'milliseconds' },
  MQTT_PROXY_PROTOCOL_MAX_PENDING: { min: 1, max: 1_000_000, integer: true, unit: 'connections' },
  MQTT_PROXY_PROTOCOL_SYS_INTERVAL: { min: 1000, max: MAX_TIMER_MS, integer: true, unit: 'milliseconds' },
  // The shared limiter's window, ceil(burst / rate) seconds, stays a whole number Redis stores (ipPolicy's bounds).
  MQTT_IP_RATE_LIMIT: { min: 0.000001, max: 1_000_000, integer: false, unit: 'connection attempts per second' },
  MQTT_IP_RATE_BURST: { min: 1, max: 1_000_000, integer: true, unit: 'connection attempts' },
  // ipPolicy's prefix bounds: shorter ones would put a whole ISP in one budget.
  MQTT_IP_RATE_LIMIT_IPV4_PREFIX: { min: 16, max: 32, integer: true, unit: 'bits of a prefix' },
  MQTT_IP_RATE_LIMIT_IPV6_PREFIX: { min: 32, max: 128, integer: true, unit: 'bits of a prefix' },
  MQTT_LISTEN_BACKLOG: { min: 1, max: 65_535, integer: true, unit: 'connections waiting to be accepted' },
  REDIS_PING_INTERVAL: { min: 100, max: 600_000, integer: true, unit: 'milliseconds' },
  MQTT_DRAIN_TIMEOUT: { min: 0, max: 3_600_000, integer: true, unit: 'milliseconds' },
  ADMIN_BIND_PORT: PORT,
  LISTENER_TCP_BIND_PORT: PORT,
  LISTENER_SSL_BIND_PORT: PORT,
  LISTENER_WS_BIND_PORT: PORT,
  LISTENER_WSS_BIND_PORT: PORT
}
