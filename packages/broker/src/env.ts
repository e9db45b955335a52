// The ready-to-run broker's environment, with TBMQ's variable names: the
// PROXY plugin's options and the operator plugins', read and checked here so
// that a bad value names its variable.
import net from 'node:net'
import {
  isAddressRange, LISTENER_NAMES, listenerEnvName, listenerTrustedEnvName, OptionsError,
  type ForwardedHeader, type IpPolicyOptions, type ListenerName, type ProxyProtocolOptions
} from 'aedes-proxy-protocol'
import { RANGES } from './ranges.js'

/** A WebSocket listener's forwarded-headers variable: `MQTT_WS_FORWARD_HEADERS_ENABLED`, `MQTT_WSS_…`. */
export function forwardHeadersEnvName (listener: ListenerName): string {
  return `MQTT_${listener.toUpperCase()}_FORWARD_HEADERS_ENABLED`
}

/** TBMQ's variable names (thingsboard-mqtt-broker.yml, `listener.*.proxy_enabled`). */
export const ENV_GLOBAL = 'MQTT_PROXY_PROTOCOL_ENABLED'
/** The global trusted-proxy list, in TBMQ's naming style (comma-separated addresses and CIDRs). */
export const ENV_TRUSTED = 'MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES'

type Env = Readonly<Record<string, string | undefined>>

function invalid (name: string, raw: string, accepted: string): never {
  const message = `${JSON.stringify(raw)} ${accepted}`
  throw new OptionsError(`${name}=${message}`, [{ path: name, message }])
}

// Spring's StringToBooleanConverter, which reads TBMQ's settings: trimmed,
// case-insensitive, and an empty value means "not set".
const TRUE = new Set(['true', 'on', 'yes', '1'])
const FALSE = new Set(['false', 'off', 'no', '0'])

/**
 * Reads a boolean variable as TBMQ's Spring configuration does.
 * @returns undefined when unset or empty.
 * @throws OptionsError naming the variable and the accepted spellings.
 */
export function readBoolean (env: Env, name: string): boolean | undefined {
  const raw = env[name]
  if (raw === undefined) return undefined
  const value = raw.trim().toLowerCase()
  if (value === '') return undefined
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  return invalid(name, raw,
    'is not a boolean: use true/false, on/off, yes/no or 1/0, or leave it empty for the default')
}

/**
 * A TBMQ boolean that also takes some words of this package's own.
 * @returns undefined when unset or empty.
 * @throws OptionsError naming the variable and what it `accepts`.
 */
function readBooleanOr<W extends string> (env: Env, name: string, words: readonly W[],
  accepts: string): boolean | W | undefined {
  const value = env[name]?.trim().toLowerCase()
  const word = words.find(w => w === value)
  if (word !== undefined) return word
  try {
    return readBoolean(env, name)
  } catch {
    return invalid(name, env[name] ?? '', accepts)
  }
}

/** A PROXY switch: a TBMQ boolean, or `optional` (this package's mixed mode). */
function readEnabled (env: Env, name: string): boolean | 'optional' | undefined {
  // A listener's switch inherits the global one; the global one has a default.
  const unset = /^MQTT_(TCP|SSL|WS|WSS)_/.test(name)
    ? 'to inherit MQTT_PROXY_PROTOCOL_ENABLED'
    : 'for the default (false)'
  return readBooleanOr(env, name, ['optional'],
    `is not a boolean: use true/false, on/off, yes/no or 1/0, optional, or leave it empty ${unset}`)
}

/**
 * A forwarded-headers switch: a TBMQ boolean (true is X-Forwarded-For), or
 * the header to read, `x-forwarded-for` or `x-real-ip` (this package's).
 */
function readForwarded (env: Env, name: string): boolean | ForwardedHeader | undefined {
  return readBooleanOr(env, name, ['x-forwarded-for', 'x-real-ip'], 'is not a boolean or a header: use true/false ' +
    '(true reads X-Forwarded-For), x-forwarded-for or x-real-ip, or leave it empty for the default (false)')
}

/**
 * A numeric variable, within its range (ranges.ts).
 * @returns undefined when unset or empty.
 * @throws OptionsError naming the variable and its range.
 */
export function readNumber (env: Env, name: string): number | undefined {
  const range = RANGES[name]
  if (range === undefined) throw new TypeError(`${name} has no range in ranges.ts`)
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return undefined
  const text = raw.trim()
  const value = Number(text)
  const shape = range.integer ? /^\d+$/ : /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i
  if (!shape.test(text) || !(value >= range.min && value <= range.max)) {
    const kind = range.integer ? 'a whole number' : 'a number'
    return invalid(name, raw, `is not ${kind} from ${range.min} to ${range.max} (${range.unit})`)
  }
  return value
}

/** A comma- or space-separated list of addresses and CIDR ranges. */
export function readList (env: Env, name: string): string[] | undefined {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return undefined
  const entries = raw.split(/[\s,]+/).filter(e => e !== '')
  if (entries.length === 0) invalid(name, raw, 'lists no address: give addresses or CIDR ranges, or leave it empty')
  const bad = entries.find(e => !isAddressRange(e))
  if (bad !== undefined) {
    invalid(name, raw,
      `has "${bad}", which is not an IPv4 or IPv6 address or CIDR range (example: 10.0.0.0/8,fd00::/8)`)
  }
  return entries
}

/**
 * What an entry of a trusted list trusts when it covers a whole family:
 * `every peer` (::/0), `every IPv4 peer` (0.0.0.0/0, or an IPv6 range that
 * holds ::ffff:0:0/96, as IPv4 peers match as ::ffff:a.b.c.d); else undefined.
 */
export function trustsEvery (entry: string): string | undefined {
  const [address = '', bits] = entry.split('/')
  if (bits === undefined) return undefined
  const prefix = Number(bits)
  if (net.isIPv4(address)) return prefix === 0 ? 'every IPv4 peer' : undefined
  if (prefix === 0) return 'every peer'
  const range = new net.BlockList()
  range.addSubnet(address, prefix, 'ipv6')
  return prefix <= 96 && range.check('::ffff:0:0', 'ipv6') ? 'every IPv4 peer' : undefined
}

/**
 * A start-up warning for each trusted-list variable with an entry that
 * trusts every peer of a family: a header from anyone who reaches the port
 * is believed, as without a list.
 */
export function openTrustLists (env: Env): Array<{ variable: string, message: string }> {
  const out: Array<{ variable: string, message: string }> = []
  for (const variable of [ENV_TRUSTED, ...LISTENER_NAMES.map(listenerTrustedEnvName)]) {
    for (const entry of readList(env, variable) ?? []) {
      const every = trustsEvery(entry)
      if (every !== undefined) {
        const message = `${variable} holds ${entry}, which trusts ${every}: ` +
          'anyone who reaches the port can claim any client address; list your load balancers instead'
        out.push({ variable, message })
        break
      }
    }
  }
  return out
}

/**
 * Builds plugin options from environment variables with TBMQ's names:
 * `MQTT_PROXY_PROTOCOL_ENABLED` (global, default false) and
 * `MQTT_{TCP,SSL,WS,WSS}_PROXY_PROTOCOL_ENABLED` (empty or unset inherits),
 * which also accept `optional`; and the trusted-proxy lists
 * `MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES` and
 * `MQTT_{TCP,SSL,WS,WSS}_PROXY_PROTOCOL_TRUSTED_PROXIES`; TBMQ 2.4's
 * `MQTT_{WS,WSS}_FORWARD_HEADERS_ENABLED`; and this package's
 * `MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT`, `MQTT_PROXY_PROTOCOL_MAX_PENDING` and
 * `MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME`. Values are checked by
 * `proxyProtocol()` as options are (a fractional timeout fails there).
 *
 * @throws OptionsError naming the variable and the values it accepts.
 */
export function optionsFromEnv (env: Env = process.env): ProxyProtocolOptions {
  const options: ProxyProtocolOptions = {}
  const global = readEnabled(env, ENV_GLOBAL)
  if (global !== undefined) options.proxyEnabled = global
  const trusted = readList(env, ENV_TRUSTED)
  if (trusted !== undefined) options.trustedProxies = trusted
  const listeners: NonNullable<ProxyProtocolOptions['listeners']> = {}
  for (const name of LISTENER_NAMES) {
    const value = readEnabled(env, listenerEnvName(name))
    const list = readList(env, listenerTrustedEnvName(name))
    if (value !== undefined || list !== undefined) {
      listeners[name] = {
        ...(value !== undefined ? { proxyEnabled: value } : {}),
        ...(list !== undefined ? { trustedProxies: list } : {})
      }
    }
  }
  for (const name of ['ws', 'wss'] as const) {
    // TBMQ 2.4: MQTT_WS_FORWARD_HEADERS_ENABLED, MQTT_WSS_FORWARD_HEADERS_ENABLED
    const forwarded = readForwarded(env, forwardHeadersEnvName(name))
    if (forwarded !== undefined) listeners[name] = { ...listeners[name], forwardedHeaders: forwarded }
  }
  if (Object.keys(listeners).length > 0) options.listeners = listeners
  const timeout = readNumber(env, 'MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT')
  if (timeout !== undefined) options.headerTimeout = timeout
  const pending = readNumber(env, 'MQTT_PROXY_PROTOCOL_MAX_PENDING')
  if (pending !== undefined) options.maxPending = pending
  const cn = readBoolean(env, 'MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME')
  if (cn !== undefined) options.sslCnAsUsername = cn
  return options
}

/**
 * The operator plugins' settings from the environment: `MQTT_IP_ALLOW_LIST`,
 * `MQTT_IP_DENY_LIST`, `MQTT_IP_RATE_LIMIT`, `MQTT_IP_RATE_BURST`,
 * `MQTT_IP_RATE_LIMIT_IPV4_PREFIX` and `MQTT_IP_RATE_LIMIT_IPV6_PREFIX` (the
 * IP policy, undefined when none is set), and `MQTT_PROXY_PROTOCOL_SYS_INTERVAL`
 * (the sessions plugin's `$SYS` interval).
 *
 * @throws OptionsError naming the variable and the values it accepts.
 */
export function operatorOptionsFromEnv (env: Env = process.env): { ipPolicy?: IpPolicyOptions, sysInterval?: number } {
  const result: { ipPolicy?: IpPolicyOptions, sysInterval?: number } = {}
  const sys = readNumber(env, 'MQTT_PROXY_PROTOCOL_SYS_INTERVAL')
  if (sys !== undefined) result.sysInterval = sys
  const allow = readList(env, 'MQTT_IP_ALLOW_LIST')
  const deny = readList(env, 'MQTT_IP_DENY_LIST')
  const rate = readNumber(env, 'MQTT_IP_RATE_LIMIT')
  const burst = readNumber(env, 'MQTT_IP_RATE_BURST')
  if (burst !== undefined && rate === undefined) {
    invalid('MQTT_IP_RATE_BURST', env.MQTT_IP_RATE_BURST as string,
      'is set without MQTT_IP_RATE_LIMIT, the rate it is the burst of')
  }
  const prefixes: { ipv4Prefix?: number, ipv6Prefix?: number } = {}
  const prefixVariables = [
    ['ipv4Prefix', 'MQTT_IP_RATE_LIMIT_IPV4_PREFIX'],
    ['ipv6Prefix', 'MQTT_IP_RATE_LIMIT_IPV6_PREFIX']
  ] as const
  for (const [key, name] of prefixVariables) {
    const bits = readNumber(env, name)
    if (bits === undefined) continue
    if (rate === undefined) {
      invalid(name, env[name] as string, 'is set without MQTT_IP_RATE_LIMIT, the rate limit it groups addresses for')
    }
    prefixes[key] = bits
  }
  if (allow !== undefined || deny !== undefined || rate !== undefined) {
    result.ipPolicy = {
      ...(allow !== undefined ? { allow } : {}),
      ...(deny !== undefined ? { deny } : {}),
      ...(rate !== undefined
        ? { rateLimit: { perSecond: rate, ...(burst !== undefined ? { burst } : {}), ...prefixes } }
        : {})
    }
  }
  return result
}
