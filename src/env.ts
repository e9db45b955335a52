import { LISTENER_NAMES, OptionsError, type ListenerName, type ProxyProtocolOptions } from './options.js'

/** TBMQ's variable names (thingsboard-mqtt-broker.yml, `listener.*.proxy_enabled`). */
export const ENV_GLOBAL = 'MQTT_PROXY_PROTOCOL_ENABLED'
/** `MQTT_TCP_PROXY_PROTOCOL_ENABLED` and its ssl, ws and wss siblings. */
export function listenerEnvName (listener: ListenerName): string {
  return `MQTT_${listener.toUpperCase()}_PROXY_PROTOCOL_ENABLED`
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
export function readBoolean (env: Readonly<Record<string, string | undefined>>, name: string): boolean | undefined {
  const raw = env[name]
  if (raw === undefined) return undefined
  const value = raw.trim().toLowerCase()
  if (value === '') return undefined
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  const message = `${name}=${JSON.stringify(raw)} is not a boolean: use true/false, on/off, yes/no or 1/0, or leave it empty to inherit`
  throw new OptionsError(`aedes-proxy-protocol: ${message}`, [{ path: name, message }])
}

/**
 * Builds plugin options from environment variables with TBMQ's names:
 * `MQTT_PROXY_PROTOCOL_ENABLED` (global, default false) and
 * `MQTT_{TCP,SSL,WS,WSS}_PROXY_PROTOCOL_ENABLED` (empty or unset inherits).
 *
 * @throws OptionsError naming the variable and the values it accepts.
 */
export function optionsFromEnv (env: Readonly<Record<string, string | undefined>> = process.env): ProxyProtocolOptions {
  const options: ProxyProtocolOptions = {}
  const global = readBoolean(env, ENV_GLOBAL)
  if (global !== undefined) options.proxyEnabled = global
  const listeners: NonNullable<ProxyProtocolOptions['listeners']> = {}
  for (const name of LISTENER_NAMES) {
    const value = readBoolean(env, listenerEnvName(name))
    if (value !== undefined) listeners[name] = { proxyEnabled: value }
  }
  if (Object.keys(listeners).length > 0) options.listeners = listeners
  return options
}
