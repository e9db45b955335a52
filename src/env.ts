import { LISTENER_NAMES, OptionsError, isTrustedProxyEntry, type ListenerName, type ProxyProtocolOptions } from './options.js'

/** TBMQ's variable names (thingsboard-mqtt-broker.yml, `listener.*.proxy_enabled`). */
export const ENV_GLOBAL = 'MQTT_PROXY_PROTOCOL_ENABLED'
/** `MQTT_TCP_PROXY_PROTOCOL_ENABLED` and its ssl, ws and wss siblings. */
export function listenerEnvName (listener: ListenerName): string {
  return `MQTT_${listener.toUpperCase()}_PROXY_PROTOCOL_ENABLED`
}
/** The global trusted-proxy list, in TBMQ's naming style (comma-separated addresses and CIDRs). */
export const ENV_TRUSTED = 'MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES'
/** `MQTT_TCP_PROXY_PROTOCOL_TRUSTED_PROXIES` and its ssl, ws and wss siblings. */
export function listenerTrustedEnvName (listener: ListenerName): string {
  return `MQTT_${listener.toUpperCase()}_PROXY_PROTOCOL_TRUSTED_PROXIES`
}

type Env = Readonly<Record<string, string | undefined>>

function invalid (name: string, raw: string, accepted: string): never {
  const message = `${name}=${JSON.stringify(raw)} ${accepted}`
  throw new OptionsError(`aedes-proxy-protocol: ${message}`, [{ path: name, message }])
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
  return invalid(name, raw, 'is not a boolean: use true/false, on/off, yes/no or 1/0, or leave it empty to inherit')
}

/** A PROXY switch: a TBMQ boolean, or `optional` (this package's mixed mode). */
function readEnabled (env: Env, name: string): boolean | 'optional' | undefined {
  const raw = env[name]
  if (raw !== undefined && raw.trim().toLowerCase() === 'optional') return 'optional'
  if (raw === undefined || raw.trim() === '') return undefined
  const value = raw.trim().toLowerCase()
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  return invalid(name, raw, 'is not a boolean: use true/false, on/off, yes/no or 1/0, optional, or leave it empty to inherit')
}

/** A comma- or space-separated list of addresses and CIDR ranges. */
function readList (env: Env, name: string): string[] | undefined {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return undefined
  const entries = raw.split(/[\s,]+/).filter(e => e !== '')
  const bad = entries.find(e => !isTrustedProxyEntry(e))
  if (bad !== undefined) invalid(name, raw, `has "${bad}", which is not an IPv4 or IPv6 address or CIDR range (example: 10.0.0.0/8,fd00::/8)`)
  return entries
}

/**
 * Builds plugin options from environment variables with TBMQ's names:
 * `MQTT_PROXY_PROTOCOL_ENABLED` (global, default false) and
 * `MQTT_{TCP,SSL,WS,WSS}_PROXY_PROTOCOL_ENABLED` (empty or unset inherits),
 * which also accept `optional`; and the trusted-proxy lists
 * `MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES` and
 * `MQTT_{TCP,SSL,WS,WSS}_PROXY_PROTOCOL_TRUSTED_PROXIES`.
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
  if (Object.keys(listeners).length > 0) options.listeners = listeners
  return options
}
