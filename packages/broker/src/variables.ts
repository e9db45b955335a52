// Every variable the ready-to-run broker reads, its default and its help,
// and what it says about a variable it does not know.
import { LISTENER_NAMES, type ListenerName } from 'aedes-proxy-protocol'

/** pino's levels. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

export interface Variable { readonly name: string, readonly default: string, readonly help: string }

export const LISTENER_DEFAULTS: Record<ListenerName, { enabled: boolean, port: number, what: string }> = {
  tcp: { enabled: true, port: 1883, what: 'MQTT over TCP' },
  ssl: { enabled: false, port: 8883, what: 'MQTT over TLS' },
  ws: { enabled: true, port: 8084, what: 'MQTT over WebSocket' },
  wss: { enabled: false, port: 8085, what: 'MQTT over secure WebSocket' }
}

export const VARIABLES: Variable[] = [
  { name: 'MQTT_PROXY_PROTOCOL_ENABLED', default: 'false', help: 'require a PROXY v1/v2 header on every listener (true/false, or optional)' },
  ...LISTENER_NAMES.map(l => ({ name: `MQTT_${l.toUpperCase()}_PROXY_PROTOCOL_ENABLED`, default: '(inherit)', help: `override for the ${l} listener; empty inherits the global value` })),
  { name: 'MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES', default: '(any peer)', help: 'comma-separated addresses/CIDRs allowed to send a header' },
  ...LISTENER_NAMES.map(l => ({ name: `MQTT_${l.toUpperCase()}_PROXY_PROTOCOL_TRUSTED_PROXIES`, default: '(inherit)', help: `trusted proxies for the ${l} listener; replaces the global list` })),
  { name: 'MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT', default: '5000', help: 'milliseconds to wait for a complete PROXY header' },
  { name: 'MQTT_PROXY_PROTOCOL_MAX_PENDING', default: '1000', help: 'connections per listener that may wait for their PROXY header at once' },
  { name: 'MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME', default: 'false', help: 'use the CN of a client certificate the proxy verified as the username' },
  { name: 'MQTT_PROXY_PROTOCOL_SYS_INTERVAL', default: '(off)', help: 'publish the PROXY counters under $SYS every this many ms' },
  { name: 'MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME', default: '(none)', help: 'with _PASSWORD: the login that may read the client list (with addresses) under $SYS; unset, the list is not published' },
  { name: 'MQTT_PROXY_PROTOCOL_SYS_ADMIN_PASSWORD', default: '(none)', help: 'the password of MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME' },
  { name: 'MQTT_WS_FORWARD_HEADERS_ENABLED', default: 'false', help: 'ws without PROXY: client address from a trusted proxy\'s header: true or x-forwarded-for (walked from the right past trusted proxies), x-real-ip' },
  { name: 'MQTT_WSS_FORWARD_HEADERS_ENABLED', default: 'false', help: 'the same for wss' },
  { name: 'MQTT_IP_ALLOW_LIST', default: '(everyone)', help: 'comma-separated client addresses/CIDRs that may connect' },
  { name: 'MQTT_IP_DENY_LIST', default: '(nobody)', help: 'comma-separated client addresses/CIDRs that may not connect' },
  { name: 'MQTT_IP_RATE_LIMIT', default: '(off)', help: 'connection attempts per second per client network (an IPv4 address, an IPv6 /64)' },
  { name: 'MQTT_IP_RATE_BURST', default: '(the rate)', help: 'connection attempts at once per client network' },
  { name: 'MQTT_IP_RATE_LIMIT_IPV4_PREFIX', default: '32', help: 'IPv4 addresses in one rate-limit network: its prefix length, 16 to 32 (32: one per address)' },
  { name: 'MQTT_IP_RATE_LIMIT_IPV6_PREFIX', default: '64', help: 'IPv6 addresses in one rate-limit network: its prefix length, 32 to 128 (64: one per customer of an ISP)' },
  { name: 'MQTT_AUTH_USERNAME', default: '(none)', help: 'when set with MQTT_AUTH_PASSWORD, clients must log in with them' },
  { name: 'MQTT_AUTH_PASSWORD', default: '(none)', help: 'the password for MQTT_AUTH_USERNAME' },
  { name: 'ADMIN_BIND_ADDRESS', default: '127.0.0.1', help: 'address of the admin HTTP endpoint' },
  { name: 'ADMIN_BIND_PORT', default: '(off)', help: 'port of the admin HTTP endpoint: GET /health, /ready, /metrics, /clients, /unauthorized, /stats; DELETE /unauthorized (all) or /unauthorized?clientId=<id> (one)' },
  { name: 'ADMIN_TOKEN', default: '(none)', help: 'bearer token every admin request must carry; required to bind the admin endpoint to a non-loopback address' },
  { name: 'TB_SERVICE_ID', default: '(random)', help: 'the broker id (TBMQ\'s name): fixed $SYS topics, one id per cluster node' },
  { name: 'REDIS_URL', default: '(none: all in memory)', help: 'redis://host:port: a cluster member, with messages, sessions, retained messages, the session list, the unauthorized list and the rate limit in that Redis (TB_SERVICE_ID names the node)' },
  { name: 'REDIS_PING_INTERVAL', default: '5000', help: 'with REDIS_URL: ms between PINGs to Redis; one unanswered for as long logs Redis down (a Redis that hangs closes nothing), so within twice this' },
  { name: 'MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE', default: 'refuse', help: 'with REDIS_URL: what a client gets while Redis cannot answer the rate limit, refuse (CONNACK 5) or allow' },
  { name: 'MQTT_LISTEN_BACKLOG', default: '4096', help: 'connections the kernel holds for every MQTT listener until the broker accepts them (a reconnect storm; capped by net.core.somaxconn)' },
  { name: 'MQTT_DRAIN_TIMEOUT', default: '10000', help: 'ms the connected clients get to leave after SIGTERM/SIGINT (not ready meanwhile)' },
  { name: 'LOG_LEVEL', default: 'info', help: `one of ${LOG_LEVELS.join(', ')}` },
  ...LISTENER_NAMES.flatMap(l => {
    const d = LISTENER_DEFAULTS[l]
    const p = `LISTENER_${l.toUpperCase()}`
    const vars: Variable[] = [
      { name: `${p}_ENABLED`, default: String(d.enabled), help: `serve ${d.what}` },
      { name: `${p}_BIND_ADDRESS`, default: '0.0.0.0', help: 'address to listen on' },
      { name: `${p}_BIND_PORT`, default: String(d.port), help: 'port to listen on' }
    ]
    if (l === 'ssl' || l === 'wss') {
      vars.push(
        { name: `${p}_PEM_CERT`, default: '', help: 'server certificate (PEM file), required when enabled' },
        { name: `${p}_PEM_KEY`, default: '', help: 'server private key (PEM file), required when enabled' },
        { name: `${p}_PEM_KEY_PASSWORD`, default: '', help: 'password of the private key, if it has one' },
        { name: `${p}_PEM_CA_CERT`, default: '', help: 'CA certificate(s) (PEM file) that client certificates must chain to' },
        { name: `${p}_CLIENT_AUTH_TYPE`, default: '(request with a CA file, else none)', help: 'client certificates: none, request (asked for and verified, not required) or require (a client without a valid one is refused as the TLS handshake ends)' }
      )
    }
    return vars
  })
]

export function usage (): string {
  const width = Math.max(...VARIABLES.map(v => v.name.length))
  return [
    'aedes-proxy-protocol: an aedes MQTT broker that reads PROXY protocol v1/v2 headers.',
    '',
    'Configured from the environment (TBMQ\'s names and defaults where TBMQ has them):',
    ...VARIABLES.map(v => `  ${v.name.padEnd(width)}  ${v.help}${v.default !== '' ? ` (default ${v.default})` : ''}`),
    '',
    'Booleans: true/false, on/off, yes/no, 1/0. Logs are JSON lines on stdout.',
    'Flags: --help, --version.'
  ].join('\n')
}

/** The prefixes of the variables this broker reads: one under them that it does not know is a typo. */
const PREFIXES = ['MQTT_', 'LISTENER_', 'ADMIN_', 'LOG_', 'TB_']

/** Levenshtein distance, for "did you mean". */
function distance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = row
  }
  return previous[b.length] ?? 0
}

/**
 * Variables under the broker's prefixes that it does not read, each with the
 * known one it is closest to when that is close enough to be a typo.
 */
/** What Kubernetes sets for a Service (a Service named `mqtt` gives MQTT_SERVICE_HOST, MQTT_PORT_1883_TCP, ...): not ours. */
const KUBERNETES_SERVICE = /^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$/
/** Kubernetes' `<SERVICE>_PORT=tcp://10.0.0.1:1883`: recognised by its value, so a mistyped `LISTENER_TCP_PORT=1883` is still warned about. */
const KUBERNETES_PORT = /^[A-Z0-9_]+_PORT$/
const KUBERNETES_PORT_VALUE = /^(tcp|udp|sctp):\/\//

export function unknownVariables (env: Readonly<Record<string, string | undefined>>): Array<{ name: string, suggestion?: string }> {
  const known = new Set(VARIABLES.map(v => v.name))
  const out: Array<{ name: string, suggestion?: string }> = []
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || !PREFIXES.some(p => name.startsWith(p)) || KUBERNETES_SERVICE.test(name) ||
      (KUBERNETES_PORT.test(name) && KUBERNETES_PORT_VALUE.test(env[name] ?? ''))) continue
    let best: string | undefined
    let bestDistance = Infinity
    for (const candidate of known) {
      const d = distance(name, candidate)
      if (d < bestDistance) { best = candidate; bestDistance = d }
    }
    out.push(best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 6)) ? { name, suggestion: best } : { name })
  }
  return out
}
