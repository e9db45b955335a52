// What can stop the ready-to-run broker before it serves, each said in one
// line that names the variable (or flag), the value and what is accepted.
import { timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { listenerEnvName, listenerTrustedEnvName, OptionsError, type ListenerName } from 'aedes-proxy-protocol'
import { forwardHeadersEnvName, readNumber } from './env.js'

/** A start-up failure: its message is the one line the operator reads. */
export class StartupError extends Error {}

type Env = Readonly<Record<string, string | undefined>>

/** A variable's value, trimmed; undefined when unset or empty. */
export function value (env: Env, name: string): string | undefined {
  const raw = env[name]
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim()
}

/** What the command line asks for: the broker takes `--help` and `--version` only. */
export function parseArgs (argv: readonly string[]): 'help' | 'version' | 'run' {
  const arg = argv[0]
  if (arg === undefined) return 'run'
  if (argv.length === 1 && (arg === '--help' || arg === '-h')) return 'help'
  if (argv.length === 1 && (arg === '--version' || arg === '-v')) return 'version'
  const bad = argv.find(a => !['--help', '-h', '--version', '-v'].includes(a)) ?? argv[1] ?? arg
  throw new StartupError(`unknown ${bad.startsWith('-') ? 'flag' : 'argument'} ${JSON.stringify(bad)}: ` +
    'the broker takes --help or --version, and is configured from the environment (see --help)')
}

/** `aedes-proxy-protocol-broker 0.1.0 (aedes-proxy-protocol 0.1.0, aedes 1.2.0, Node v20…)`. */
export function version (): string {
  const require = createRequire(import.meta.url)
  const versionIn = (file: string | URL): string =>
    (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
  const own = versionIn(new URL('../package.json', import.meta.url))
  const of = (name: string): string => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version
    } catch {
      try {
        return versionIn(require.resolve(name).replace(/(node_modules\/[^/]+)\/.*$/, '$1/package.json'))
      } catch { return 'unknown' }
    }
  }
  return `aedes-proxy-protocol-broker ${own} ` +
    `(aedes-proxy-protocol ${of('aedes-proxy-protocol')}, aedes ${of('aedes')}, Node ${process.version})`
}

/** A numeric variable within its range (ranges.ts); unset, `fallback`. @throws OptionsError naming it and its range. */
export function numberOr (env: Env, name: string, fallback: number): number {
  return readNumber(env, name) ?? fallback
}

/**
 * The kernel's cap on every listen backlog (net.core.somaxconn), when it is
 * smaller than `backlog`; undefined when it is not, or cannot be read (not Linux).
 */
export function backlogCap (backlog: number, path = '/proc/sys/net/core/somaxconn'): number | undefined {
  let cap: number
  try { cap = Number(readFileSync(path, 'utf8').trim()) } catch { return undefined }
  return Number.isInteger(cap) && cap < backlog ? cap : undefined
}

/** An IP address to listen on. */
export function bindAddress (env: Env, name: string, fallback: string): string {
  const text = value(env, name) ?? fallback
  if (net.isIP(text) === 0) {
    throw new StartupError(`${name}=${JSON.stringify(text)} is not an IP address: ` +
      'use 0.0.0.0 (every IPv4 interface), :: (every interface) or one of this host\'s addresses')
  }
  return text
}

/**
 * The variable an option came from, for a plugin option error. Listener
 * options read from the global variable when the listener's own is unset.
 */
function variableOf (env: Env, path: string): string | undefined {
  const listener = /^listeners\.(tcp|ssl|ws|wss)\.(\w+)$/.exec(path)
  const name = listener?.[1] as ListenerName | undefined
  const key = listener?.[2] ?? path.replace(/\[\d+\]$/, '')
  // The listener's own variable when it is set, else the global one.
  const own = (variable: (listener: ListenerName) => string, global: string): string =>
    name !== undefined && value(env, variable(name)) !== undefined ? variable(name) : global
  switch (key) {
    case 'proxyEnabled': return own(listenerEnvName, 'MQTT_PROXY_PROTOCOL_ENABLED')
    case 'trustedProxies': return own(listenerTrustedEnvName, 'MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES')
    case 'headerTimeout': return 'MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT'
    case 'maxPending': return 'MQTT_PROXY_PROTOCOL_MAX_PENDING'
    case 'sslCnAsUsername': return 'MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME'
    case 'forwardedHeaders':
      return name === undefined ? undefined : forwardHeadersEnvName(name)
    case 'sysInterval': return 'MQTT_PROXY_PROTOCOL_SYS_INTERVAL'
    case 'allow': return 'MQTT_IP_ALLOW_LIST'
    case 'deny': return 'MQTT_IP_DENY_LIST'
    case 'rateLimit.perSecond': return 'MQTT_IP_RATE_LIMIT'
    case 'rateLimit.burst': return 'MQTT_IP_RATE_BURST'
    case 'rateLimit.ipv4Prefix': return 'MQTT_IP_RATE_LIMIT_IPV4_PREFIX'
    case 'rateLimit.ipv6Prefix': return 'MQTT_IP_RATE_LIMIT_IPV6_PREFIX'
    default: return undefined
  }
}

/**
 * An option error from a plugin, said in the environment's words: the first
 * problem, on the variable it came from (the same problem on four listeners
 * read from one global variable is one problem).
 */
export function fromOptionsError (err: OptionsError, env: Env): StartupError {
  const issue = err.issues[0]
  if (issue === undefined) return new StartupError(err.message.replace(/^aedes-proxy-protocol: /, ''))
  // An error raised while reading a variable already names it.
  if (/^[A-Z][A-Z0-9_]+$/.test(issue.path)) return new StartupError(err.message.replace(/^aedes-proxy-protocol: /, ''))
  const variable = variableOf(env, issue.path)
  const key = issue.path.split('.').pop() ?? issue.path
  const message = issue.message
    .replace(/^on the /, `${key} on the `)
    .replace(/ \(got [^)]*\)$/, '')
    .replace(/needs trustedProxies/, 'needs MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES (or the listener\'s own list)')
  if (variable === undefined) return new StartupError(`${issue.path}: ${message}`)
  return new StartupError(`${variable}=${JSON.stringify(env[variable] ?? '')}: ${message}`)
}

/**
 * Binds every server in turn, each with its `backlog` (Node's default 511
 * when it has none). When one cannot be bound, those bound before
 * it are closed (and their close awaited) before the error is thrown, so a
 * failed start leaves no port behind.
 * @throws StartupError naming the variables of the one that failed.
 */
export async function bindAll (
  servers: ReadonlyArray<{ server: net.Server, prefix: string, host: string, port: number, backlog?: number }>
): Promise<void> {
  const bound: net.Server[] = []
  for (const s of servers) {
    try {
      await new Promise<void>((resolve, reject) => {
        s.server.once('error', reject)
        const backlog = s.backlog !== undefined ? { backlog: s.backlog } : {}
        s.server.listen({ port: s.port, host: s.host, ...backlog }, () => { s.server.off('error', reject); resolve() })
      })
    } catch (err) {
      await Promise.all(bound.map(async b => { await new Promise<void>(resolve => { b.close(() => { resolve() }) }) }))
      throw fromBindError(err as NodeJS.ErrnoException, s.prefix, s.host, s.port)
    }
    bound.push(s.server)
  }
}

/** A listen() that failed, on the variables that chose the address and port. */
export function fromBindError (err: NodeJS.ErrnoException, prefix: string, host: string,
  portNumber: number): StartupError {
  const port = `${prefix}_BIND_PORT=${portNumber}`
  const address = `${prefix}_BIND_ADDRESS=${JSON.stringify(host)}`
  if (err.code === 'EADDRINUSE') return new StartupError(`${port}: the port is already in use on ${host}`)
  if (err.code === 'EACCES') {
    return new StartupError(`${port}: not allowed to bind it on ${host} (ports below 1024 need privileges)`)
  }
  if (err.code === 'EADDRNOTAVAIL') return new StartupError(`${address}: not an address of this host`)
  return new StartupError(`${address} ${port}: cannot listen (${err.code ?? err.message})`)
}

/** Whether an Authorization header carries the bearer token, compared in constant time. */
export function bearerMatches (header: string | undefined, token: string): boolean {
  // The scheme is case-insensitive (RFC 9110); the token is compared in constant time.
  const match = /^bearer +(.*)$/i.exec(header ?? '')
  const given = Buffer.from(match?.[1] ?? '')
  const wanted = Buffer.from(token)
  return match !== null && given.length === wanted.length && timingSafeEqual(given, wanted)
}

/** Whether an HTTP Host header names this host's loopback (or is absent, as in an HTTP/1.0 health check). */
export function loopbackHost (host: string | undefined): boolean {
  if (host === undefined || host === '') return true
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '')
  return name.toLowerCase() === 'localhost' || isLoopback(name)
}

/**
 * Whether an address is only reachable from this host. An IP address only:
 * `127.attacker.example` is a name anyone's DNS can point anywhere.
 */
export function isLoopback (host: string): boolean {
  const ip = host.toLowerCase()
  // An IPv4-mapped address is its IPv4 one.
  const v4 = net.isIPv6(ip) && ip.startsWith('::ffff:') ? ip.slice(7) : ip
  return net.isIPv4(v4) ? v4.startsWith('127.') : ip === '::1'
}

export { OptionsError }
