// Every variable the ready-to-run broker reads, its default and its help,
// and what it says about a variable it does not know.
import { LISTENER_NAMES, listenerEnvName, listenerTrustedEnvName, type ListenerName } from 'aedes-proxy-protocol'

/** pino's levels. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

export interface Variable { readonly name: string, readonly default: string, readonly help: string }

export const LISTENER_DEFAULTS: Record<ListenerName, { enabled: boolean, port: number, what: string }> = {
  tcp: { enabled: true, port: 1883, what: 'MQTT over TCP' },
  ssl: { enabled: false, port: 8883, what: 'MQTT over TLS' },
  ws: { enabled: true, port: 8084, what: 'MQTT over WebSocket' },
  wss: { enabled: false, port: 8085, what: 'MQTT over secure WebSocket' }
}

/** A variable, its default ('' for none) and its help. */
function variable (name: string, fallback: string, help: string): Variable {
  return { name, default: fallback, help }
}

export const VARIABLES: Variable[] = [
  variable('MQTT_PROXY_PROTOCOL_ENABLED', 'false',
    'require a PROXY v1/v2 header on every listener (true/false, or optional)'),
  ...LISTENER_NAMES.map(l => variable(listenerEnvName(l), '(inherit)',
    `override for the ${l} listener; empty inherits the global value`)),
  variable('MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES', '(any peer)',
    'comma-separated addresses/CIDRs allowed to send a header'),
  ...LISTENER_NAMES.map(l => variable(listenerTrustedEnvName(l), '(inherit)',
    `trusted proxies for the ${l} listener; replaces the global list`)),
  variable('MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT', '5000', 'milliseconds to wait for a complete PROXY header'),
  variable('MQTT_PROXY_PROTOCOL_MAX_PENDING', '1000',
    'connections per listener that may wait for their PROXY header at once'),
  variable('MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME', 'false',
    'use the CN of a client certificate the proxy verified as the username'),
  variable('MQTT_PROXY_PROTOCOL_SYS_INTERVAL', '(off)', 'publish the PROXY counters under $SYS every this many ms'),
  variable('MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME', '(none)',
    'with _PASSWORD: the login that may read the client list (with addresses) under $SYS; ' +
    'unset, the list is not published'),
  variable('MQTT_PROXY_PROTOCOL_SYS_ADMIN_PASSWORD', '(none)',
    'the password of MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME'),
  variable('MQTT_WS_FORWARD_HEADERS_ENABLED', 'false',
    'ws without PROXY: client address from a trusted proxy\'s header: ' +
    'true or x-forwarded-for (walked from the right past trusted proxies), x-real-ip'),
  variable('MQTT_WSS_FORWARD_HEADERS_ENABLED', 'false', 'the same for wss'),
  variable('MQTT_IP_ALLOW_LIST', '(everyone)', 'comma-separated client addresses/CIDRs that may connect'),
  variable('MQTT_IP_DENY_LIST', '(nobody)', 'comma-separated client addresses/CIDRs that may not connect'),
  variable('MQTT_IP_RATE_LIMIT', '(off)',
    'connection attempts per second per client network (an IPv4 address, an IPv6 /64)'),
  variable('MQTT_IP_RATE_BURST', '(the rate)', 'connection attempts at once per client network'),
  variable('MQTT_IP_RATE_LIMIT_IPV4_PREFIX', '32',
    'IPv4 addresses in one rate-limit network: its prefix length, 16 to 32 (32: one per address)'),
  variable('MQTT_IP_RATE_LIMIT_IPV6_PREFIX', '64',
    'IPv6 addresses in one rate-limit network: its prefix length, 32 to 128 (64: one per customer of an ISP)'),
  variable('MQTT_AUTH_USERNAME', '(none)', 'when set with MQTT_AUTH_PASSWORD, clients must log in with them'),
  variable('MQTT_AUTH_PASSWORD', '(none)', 'the password for MQTT_AUTH_USERNAME'),
  variable('ADMIN_BIND_ADDRESS', '127.0.0.1', 'address of the admin HTTP endpoint'),
  variable('ADMIN_BIND_PORT', '(off)',
    'port of the admin HTTP endpoint: GET /health, /ready, /metrics, /clients, /unauthorized, /stats; ' +
    'DELETE /unauthorized (all) or /unauthorized?clientId=<id> (one)'),
  variable('ADMIN_TOKEN', '(none)',
    'bearer token every admin request must carry; required to bind the admin endpoint to a non-loopback address'),
  variable('TB_SERVICE_ID', '(random)', 'the broker id (TBMQ\'s name): fixed $SYS topics, one id per cluster node'),
  variable('REDIS_URL', '(none: all in memory)',
    'redis://host:port: a cluster member, with messages, sessions, retained messages, ' +
    'the session list, the unauthorized list and the rate limit in that Redis (TB_SERVICE_ID names the node)'),
  variable('REDIS_PING_INTERVAL', '5000',
    'with REDIS_URL: ms between PINGs to Redis; one unanswered for as long logs Redis down ' +
    '(a Redis that hangs closes nothing), so within twice this'),
  variable('MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE', 'refuse',
    'with REDIS_URL: what a client gets while Redis cannot answer the rate limit, refuse (CONNACK 5) or allow'),
  variable('MQTT_LISTEN_BACKLOG', '4096',
    'connections the kernel holds for every MQTT listener until the broker accepts them ' +
    '(a reconnect storm; capped by net.core.somaxconn)'),
  variable('MQTT_DRAIN_TIMEOUT', '10000',
    'ms the connected clients get to leave after SIGTERM/SIGINT (not ready meanwhile)'),
  variable('LOG_LEVEL', 'info', `one of ${LOG_LEVELS.join(', ')}`),
  ...LISTENER_NAMES.flatMap(l => {
    const d = LISTENER_DEFAULTS[l]
    const p = `LISTENER_${l.toUpperCase()}`
    const vars: Variable[] = [
      variable(`${p}_ENABLED`, String(d.enabled), `serve ${d.what}`),
      variable(`${p}_BIND_ADDRESS`, '0.0.0.0', 'address to listen on'),
      variable(`${p}_BIND_PORT`, String(d.port), 'port to listen on')
    ]
    if (l === 'ssl' || l === 'wss') {
      vars.push(
        variable(`${p}_PEM_CERT`, '', 'server certificate (PEM file), required when enabled'),
        variable(`${p}_PEM_KEY`, '', 'server private key (PEM file), required when enabled'),
        variable(`${p}_PEM_KEY_PASSWORD`, '', 'password of the private key, if it has one'),
        variable(`${p}_PEM_CA_CERT`, '', 'CA certificate(s) (PEM file) that client certificates must chain to'),
        variable(`${p}_CLIENT_AUTH_TYPE`, '(request with a CA file, else none)',
          'client certificates: none, request (asked for and verified, not required) ' +
          'or require (a client without a valid one is refused as the TLS handshake ends)')
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
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution)
    }
    previous = row
  }
  return previous[b.length] ?? 0
}

/**
 * What Kubernetes sets for a Service (a Service named `mqtt` gives
 * MQTT_SERVICE_HOST, MQTT_PORT_1883_TCP, ...): not ours.
 */
const KUBERNETES_SERVICE =
  /^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$/
/**
 * Kubernetes' `<SERVICE>_PORT=tcp://10.0.0.1:1883`: recognised by its value,
 * so a mistyped `LISTENER_TCP_PORT=1883` is still warned about.
 */
const KUBERNETES_PORT = /^[A-Z0-9_]+_PORT$/
const KUBERNETES_PORT_VALUE = /^(tcp|udp|sctp):\/\//

/**
 * Variables under the broker's prefixes that it does not read, each with the
 * known one it is closest to when that is close enough to be a typo.
 */
export function unknownVariables (
  env: Readonly<Record<string, string | undefined>>
): Array<{ name: string, suggestion?: string }> {
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
    const suggestion = best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 6)) ? best : undefined
    out.push(suggestion !== undefined ? { name, suggestion } : { name })
  }
  return out
}
