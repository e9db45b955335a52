import { z } from 'zod'
import { OptionsError, parseOptions, type OptionsIssue } from './errors.js'
import { DEFAULT_MAX_V2_LENGTH } from './protocol/v2.js'

/** The four kinds of MQTT listener, named as TBMQ names them. */
export const LISTENER_NAMES = ['tcp', 'ssl', 'ws', 'wss'] as const
/** `tcp` (plain MQTT), `ssl` (MQTT over TLS), `ws` (WebSocket), `wss` (WebSocket over TLS). */
export type ListenerName = typeof LISTENER_NAMES[number]

/** TBMQ's variable for a listener's PROXY switch: `MQTT_TCP_PROXY_PROTOCOL_ENABLED` and its siblings. */
export function listenerEnvName (listener: ListenerName): string {
  return `MQTT_${listener.toUpperCase()}_PROXY_PROTOCOL_ENABLED`
}
/** A listener's trusted-proxy list, in TBMQ's naming style: `MQTT_TCP_PROXY_PROTOCOL_TRUSTED_PROXIES` and siblings. */
export function listenerTrustedEnvName (listener: ListenerName): string {
  return `MQTT_${listener.toUpperCase()}_PROXY_PROTOCOL_TRUSTED_PROXIES`
}

/** Spec 2: a header timeout should be "at least 3 seconds to cover a TCP retransmit". */
export const DEFAULT_HEADER_TIMEOUT = 5_000
/**
 * Connections one listener lets wait for their header at once. A real proxy
 * sends its header in the first segment, so its connections wait for one
 * event-loop turn; only stalled or hostile peers pile up. 1000 of them hold
 * about 5 MiB on a 2-core broker.
 */
export const DEFAULT_MAX_PENDING = 1000
/** The smallest v2 cap that still holds a UNIX address block (spec 2.2: 216 bytes). */
const MIN_V2_LENGTH = 216

/**
 * The longest delay setTimeout and setInterval honour (2^31-1 ms, about 24.8
 * days): Node runs a longer one after 1 ms, with a TimeoutOverflowWarning.
 * Every option that becomes a timer is at most this.
 */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * A number option from `min` to `max` (whole unless `integer` is false),
 * each bound's error saying the bound and `unit`. Every numeric option has
 * both bounds, what the code can honour: a test walks the schemas for them.
 */
export function numberIn (min: number, max: number, unit = '', integer = true): z.ZodNumber {
  const u = unit === '' ? '' : ` (${unit})`
  return (integer ? z.int() : z.number())
    .min(min, { error: `must be at least ${min}${u}` })
    .max(max, { error: `must be at most ${max}${u}` })
}

/** An object with these methods (a store, a client), told by their presence; `error` says what it must be. */
export function withMethods<T> (methods: readonly string[], error: string): z.ZodCustom<T> {
  const has = (v: unknown, m: string): boolean => typeof (v as Record<string, unknown> | null)?.[m] === 'function'
  return z.custom<T>(v => methods.every(m => has(v, m)), { error })
}

const headerTimeout = numberIn(1, 600_000, 'milliseconds')
const maxPending = numberIn(1, 1_000_000)
const maxV2Length = z.int().min(MIN_V2_LENGTH, { error: `must be at least ${MIN_V2_LENGTH} (a UNIX address block)` })
  .max(65_535, { error: 'must be at most 65535 (the v2 length field is 16 bits)' })

/** An IPv4 or IPv6 address, or a CIDR range of either. */
export const AddressRange = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()],
  { error: 'must be an IPv4 or IPv6 address or CIDR range, like 10.0.0.0/8 or fd00::/8' })
/** True when `text` is an IPv4 or IPv6 address or CIDR range, as the plugins' address lists accept them. */
export function isAddressRange (text: string): boolean {
  return AddressRange.safeParse(text).success
}
const TrustedProxies = z.array(AddressRange).min(1, {
  error: 'must list at least one proxy address or range (leave trustedProxies unset to accept headers from any peer)'
})
const ProxyEnabled = z.union([z.boolean(), z.literal('optional')], { error: "must be true, false or 'optional'" })

/** A pino-compatible logger: only these four methods are used. */
export interface Logger {
  debug (obj: object, msg?: string): void
  info (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
}

export const LoggerSchema = z.custom<Logger>(value => {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return ['debug', 'info', 'warn', 'error'].every(m => typeof v[m] === 'function')
}, { error: 'must be a pino-compatible logger with debug, info, warn and error methods' })

const ListenerSchema = z.strictObject({
  proxyEnabled: ProxyEnabled.optional(),
  trustedProxies: TrustedProxies.optional(),
  headerTimeout: headerTimeout.optional(),
  maxV2Length: maxV2Length.optional(),
  maxPending: maxPending.optional(),
  sslCnAsUsername: z.boolean().optional(),
  hints: z.boolean().optional()
})
const WebSocketListenerSchema = ListenerSchema.extend({
  forwardedHeaders: z.union([z.boolean(), z.literal(['x-forwarded-for', 'x-real-ip'])],
    { error: 'must be true (X-Forwarded-For), \'x-forwarded-for\', \'x-real-ip\' or false' }).optional()
})

/** The plugin's options; every key is checked, unknown keys are errors. */
export const OptionsSchema = z.strictObject({
  proxyEnabled: ProxyEnabled.default(false),
  trustedProxies: TrustedProxies.optional(),
  headerTimeout: headerTimeout.default(DEFAULT_HEADER_TIMEOUT),
  maxV2Length: maxV2Length.default(DEFAULT_MAX_V2_LENGTH),
  maxPending: maxPending.default(DEFAULT_MAX_PENDING),
  sslCnAsUsername: z.boolean().default(false),
  hints: z.boolean().default(true),
  logger: LoggerSchema.optional(),
  listeners: z.strictObject({
    tcp: ListenerSchema.optional(),
    ssl: ListenerSchema.optional(),
    ws: WebSocketListenerSchema.optional(),
    wss: WebSocketListenerSchema.optional()
  }).default({})
})

/**
 * The settings that exist both globally and per listener. Globally, unset
 * means the default; on a listener, unset means the global value.
 */
export interface ListenerOptions {
  /**
   * `true`: every connection must start with a header (TBMQ's `true`).
   * `false`: no header is read. `'optional'`: a header is used when present
   * and clients may also connect directly; allowed only with `trustedProxies`.
   * @defaultValue false
   */
  proxyEnabled?: boolean | 'optional' | undefined
  /**
   * Addresses and CIDR ranges of the proxies allowed to send a header; IPv4
   * entries also match peers that Node reports as `::ffff:a.b.c.d`. A
   * listener's list replaces the global one.
   * @defaultValue unset: any peer may send a header
   */
  trustedProxies?: string[] | undefined
  /**
   * Milliseconds to wait for a complete header before closing the connection.
   * @defaultValue 5000
   */
  headerTimeout?: number | undefined
  /**
   * Largest v2 header length field accepted (bytes after the 16-byte prefix).
   * @defaultValue 4096
   */
  maxV2Length?: number | undefined
  /**
   * Connections that may wait for their header at once on a listener; one
   * more is closed at once with `PROXY_ERR_TOO_MANY_PENDING`.
   * @defaultValue 1000
   */
  maxPending?: number | undefined
  /**
   * When the proxy verified a client certificate (SSL TLV), `authenticate`
   * sees its CN as the username. Needs `trustedProxies`.
   * @defaultValue false
   */
  sslCnAsUsername?: boolean | undefined
  /**
   * Watch listeners where PROXY is off for headers that should not be there,
   * and say which setting to change.
   * @defaultValue true
   */
  hints?: boolean | undefined
}

/** Which forwarded header a ws/wss listener reads (`forwardedHeaders`), when it reads one. */
export type ForwardedHeader = 'x-forwarded-for' | 'x-real-ip'

/** Settings of a WebSocket listener (ws, wss). */
export interface WebSocketListenerOptions extends ListenerOptions {
  /**
   * Where PROXY is off on this listener, take the client address from a
   * header the proxy sets, port 0, when the peer is in `trustedProxies`
   * (TBMQ's `MQTT_WS_FORWARD_HEADERS_ENABLED`): `true` or
   * `'x-forwarded-for'` walks `X-Forwarded-For` from the right past the
   * trusted proxies; `'x-real-ip'` reads `X-Real-IP` only. Ignored when
   * PROXY is on for the listener.
   * @defaultValue false
   */
  forwardedHeaders?: boolean | ForwardedHeader | undefined
}

/**
 * What `proxyProtocol()` accepts. Per-listener settings that are left unset
 * inherit the global ones (TBMQ's `listener.{tcp,ssl,ws,wss}.proxy_enabled`).
 */
export interface ProxyProtocolOptions extends ListenerOptions {
  /** A pino-compatible logger. @defaultValue none (silent) */
  logger?: Logger | undefined
  /** Per-listener overrides; an unset field inherits the global value. */
  listeners?: {
    tcp?: ListenerOptions | undefined
    ssl?: ListenerOptions | undefined
    ws?: WebSocketListenerOptions | undefined
    wss?: WebSocketListenerOptions | undefined
  } | undefined
}

/** How a listener treats headers. */
export type ProxyMode = 'off' | 'required' | 'optional'

/** The settings in force on one listener after inheritance. */
export interface ListenerSettings {
  readonly mode: ProxyMode
  /** Whether a header is read at all (`mode` is not `off`). */
  readonly proxyEnabled: boolean
  /** The trusted list in force, or undefined when any peer may send a header. */
  readonly trustedProxies: readonly string[] | undefined
  readonly headerTimeout: number
  readonly maxV2Length: number
  readonly maxPending: number
  readonly sslCnAsUsername: boolean
  readonly hints: boolean
  /** ws and wss: the header the address is taken from (only where PROXY is off), false for none. */
  readonly forwardedHeaders: false | ForwardedHeader
}

/** Options after validation and defaults. */
export interface ResolvedOptions extends Readonly<Record<ListenerName, ListenerSettings>> {
  readonly logger: Logger | undefined
}

// Compile-time check that the hand-written input type and the schema agree,
// so zod's types stay out of the published declarations.
type SchemaInput = z.input<typeof OptionsSchema>
const _inputMatches: (x: ProxyProtocolOptions) => SchemaInput = x => x
const _schemaMatches: (x: SchemaInput) => ProxyProtocolOptions = x => x
void _inputMatches
void _schemaMatches

const GLOBAL_ONLY = new Set(['logger', 'listeners'])

/** An unknown key that is a known one in the wrong place. */
function explainKey (path: readonly string[], key: string): string | undefined {
  if (key === 'trustProxy') {
    return 'aedes-server-factory\'s trustProxy is trustedProxies here: ' +
      'the addresses and CIDR ranges of the proxies that may send a header'
  }
  if (path.length === 0) {
    if ((LISTENER_NAMES as readonly string[]).includes(key)) {
      return `listener settings go under listeners: did you mean \`listeners.${key}\`?`
    }
    if (key === 'forwardedHeaders') {
      return 'forwardedHeaders is a WebSocket listener\'s: did you mean `listeners.ws.forwardedHeaders`?'
    }
    return undefined
  }
  if (path[0] === 'listeners' && path.length === 2) {
    if (key === 'forwardedHeaders') return 'forwardedHeaders exists on the ws and wss listeners only'
    if (GLOBAL_ONLY.has(key)) return `${key} is a global option, not a listener's`
  }
  return undefined
}

/** `the tcp listener`, `the tcp and ws listeners`, `the tcp, ssl, ws and wss listeners`. */
function theListeners (names: readonly ListenerName[]): string {
  if (names.length === 1) return `the ${names[0] as string} listener`
  return `the ${names.slice(0, -1).join(', ')} and ${names[names.length - 1] as string} listeners`
}

/**
 * Validates options and works out each listener's settings.
 * @throws OptionsError naming every bad key.
 */
export function resolveOptions (input: unknown = {}): ResolvedOptions {
  const o = parseOptions(OptionsSchema, input, 'proxyProtocol() options', explainKey)
  // Problems of a listener's settings, by the setting's path: one global
  // setting wrong for four listeners is one issue naming the four.
  const problems = new Map<string, { names: ListenerName[], message: (on: string) => string }>()
  const problem = (path: string, name: ListenerName, message: (on: string) => string): void => {
    const known = problems.get(path)
    if (known === undefined) problems.set(path, { names: [name], message })
    else known.names.push(name)
  }
  const resolve = (name: ListenerName): ListenerSettings => {
    const own: z.output<typeof WebSocketListenerSchema> = o.listeners[name] ?? {}
    const enabled = own.proxyEnabled ?? o.proxyEnabled
    const trustedProxies = own.trustedProxies ?? o.trustedProxies
    const forwardedHeaders = own.forwardedHeaders === true ? 'x-forwarded-for' : own.forwardedHeaders ?? false
    const sslCnAsUsername = own.sslCnAsUsername ?? o.sslCnAsUsername
    if (sslCnAsUsername && enabled !== false && trustedProxies === undefined) {
      // Without a list anyone can send an SSL TLV naming any CN: a forged
      // header would become a forged login.
      problem(own.sslCnAsUsername !== undefined ? `listeners.${name}.sslCnAsUsername` : 'sslCnAsUsername', name,
        on => `on ${on} needs trustedProxies, so that only known proxies can vouch for a certificate`)
    }
    if (forwardedHeaders !== false && trustedProxies === undefined) {
      problem(`listeners.${name}.forwardedHeaders`, name,
        on => `on ${on} needs trustedProxies, so that only known proxies can set X-Forwarded-For`)
    }
    if (enabled === 'optional' && trustedProxies === undefined) {
      // Spec 2 and 5: a receiver must not guess. Optional mode is only safe
      // when the peers allowed to send a header are known.
      problem(own.proxyEnabled !== undefined ? `listeners.${name}.proxyEnabled` : 'proxyEnabled', name,
        on => `'optional' on ${on} needs trustedProxies, so that only known proxies can announce a client address`)
    }
    return Object.freeze({
      mode: enabled === 'optional' ? 'optional' : enabled ? 'required' : 'off',
      proxyEnabled: enabled !== false,
      trustedProxies: trustedProxies === undefined ? undefined : Object.freeze([...trustedProxies]),
      headerTimeout: own.headerTimeout ?? o.headerTimeout,
      maxV2Length: own.maxV2Length ?? o.maxV2Length,
      maxPending: own.maxPending ?? o.maxPending,
      sslCnAsUsername,
      hints: own.hints ?? o.hints,
      forwardedHeaders
    })
  }
  const resolved: ResolvedOptions = {
    tcp: resolve('tcp'),
    ssl: resolve('ssl'),
    ws: resolve('ws'),
    wss: resolve('wss'),
    logger: o.logger
  }
  const issues: OptionsIssue[] = [...problems].map(([path, p]) => ({ path, message: p.message(theListeners(p.names)) }))
  if (issues.length > 0) throw OptionsError.of('proxyProtocol() options', issues)
  return Object.freeze(resolved)
}
