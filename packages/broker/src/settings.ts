// The broker's settings: the environment read into one config before
// anything is built. A mistake is a StartupError (or the plugins'
// OptionsError) naming the variable; what is allowed but unwise is a
// start-up warning.
import { LISTENER_NAMES, type ListenerName, type ProxyProtocolOptions } from 'aedes-proxy-protocol'
import { pino, type Logger } from 'pino'
import { openTrustLists, operatorOptionsFromEnv, optionsFromEnv, readBoolean } from './env.js'
import { backlogCap, bindAddress, isLoopback, numberOr, StartupError, value } from './startup.js'
import { LISTENER_DEFAULTS, LOG_LEVELS, unknownVariables } from './variables.js'

type Env = Readonly<Record<string, string | undefined>>

/** A user name and its password, both set (or neither: undefined). */
export interface Credentials { readonly user: string, readonly password: string }

/** An enabled MQTT listener: its name, its variables' prefix (`LISTENER_TCP`) and where it binds. */
export interface ListenerPlan {
  readonly name: ListenerName
  readonly prefix: string
  readonly host: string
  readonly port: number
}

/** The admin endpoint's variables: a port only when ADMIN_BIND_PORT is set. */
export interface AdminSettings {
  readonly port: number | undefined
  readonly host: string
  readonly token: string | undefined
}

export interface Settings {
  /** The PROXY plugin's options, its logger left to the caller. */
  readonly options: ProxyProtocolOptions
  readonly operator: ReturnType<typeof operatorOptionsFromEnv>
  /** MQTT_AUTH_USERNAME and MQTT_AUTH_PASSWORD: without them every login is accepted. */
  readonly auth: Credentials | undefined
  /** The $SYS admin: the client list under $SYS carries addresses, only for clients logged in with these. */
  readonly sysAdmin: Credentials | undefined
  readonly brokerId: string | undefined
  readonly drainTimeout: number
  readonly backlog: number
  readonly admin: AdminSettings
  /** The enabled listeners, at least one. */
  readonly plan: readonly ListenerPlan[]
}

/**
 * The logger of every printed line, at LOG_LEVEL, each line through `hide`
 * (a Redis error quoting a secret in any plugin's line shows `***`).
 */
export function createLogger (env: Env, hide: (text: string) => string): Logger {
  const level = value(env, 'LOG_LEVEL') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new StartupError(`LOG_LEVEL=${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`)
  }
  // Written synchronously: the last lines before process.exit are neither lost nor reordered.
  const stdout = pino.destination({ dest: 1, sync: true })
  return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, {
    write: (line: string) => stdout.write(hide(line))
  })
}

/** The environment read, checked and warned about, in the order the broker has always read it. */
export function readSettings (env: Env, logger: Logger): Settings {
  for (const { name, suggestion } of unknownVariables(env)) {
    const hint = suggestion !== undefined ? `: did you mean ${suggestion}?` : ' (see --help)'
    logger.warn({ event: 'startup', variable: name, ...(suggestion !== undefined ? { suggestion } : {}) },
      `${name} is not a variable of this broker and is ignored${hint}`)
  }
  for (const { variable, message } of openTrustLists(env)) logger.warn({ event: 'startup', variable }, message)
  const options = optionsFromEnv(env)
  const operator = operatorOptionsFromEnv(env)
  const auth = credentials(env, 'MQTT_AUTH_USERNAME', 'MQTT_AUTH_PASSWORD')
  const sysAdmin = credentials(env, 'MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME', 'MQTT_PROXY_PROTOCOL_SYS_ADMIN_PASSWORD')
  const brokerId = value(env, 'TB_SERVICE_ID')
  if (brokerId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(brokerId)) {
    throw new StartupError(`TB_SERVICE_ID=${JSON.stringify(brokerId)} is not a broker id: ` +
      'use 1 to 64 letters, digits, dots, dashes or underscores (it is a $SYS topic level)')
  }
  const drainTimeout = numberOr(env, 'MQTT_DRAIN_TIMEOUT', 10_000)
  const backlog = numberOr(env, 'MQTT_LISTEN_BACKLOG', 4096)
  const cap = backlogCap(backlog)
  if (cap !== undefined) {
    logger.warn({ event: 'startup', variable: 'MQTT_LISTEN_BACKLOG', backlog, somaxconn: cap },
      `MQTT_LISTEN_BACKLOG=${backlog} is cut to ${cap} by the kernel's net.core.somaxconn: ` +
      `a reconnect storm through a PROXY sender can lose clients; raise it (sysctl -w net.core.somaxconn=${backlog})`)
  }
  const admin = adminSettings(env)
  return { options, operator, auth, sysAdmin, brokerId, drainTimeout, backlog, admin, plan: listenerPlan(env) }
}

/** Two variables set together or not at all. */
function credentials (env: Env, userVariable: string, passwordVariable: string): Credentials | undefined {
  const user = value(env, userVariable)
  const password = value(env, passwordVariable)
  if ((user === undefined) !== (password === undefined)) {
    throw new StartupError(`set both ${userVariable} and ${passwordVariable}, or neither ` +
      `(${user === undefined ? userVariable : passwordVariable} is missing)`)
  }
  return user === undefined || password === undefined ? undefined : { user, password }
}

/** ADMIN_BIND_PORT, ADMIN_BIND_ADDRESS and ADMIN_TOKEN: off loopback, only with a token. */
function adminSettings (env: Env): AdminSettings {
  const port = value(env, 'ADMIN_BIND_PORT') === undefined ? undefined : numberOr(env, 'ADMIN_BIND_PORT', 0)
  const host = bindAddress(env, 'ADMIN_BIND_ADDRESS', '127.0.0.1')
  const token = value(env, 'ADMIN_TOKEN')
  if (port !== undefined && token === undefined && !isLoopback(host)) {
    throw new StartupError(`ADMIN_BIND_ADDRESS=${JSON.stringify(host)} is not a loopback address: set ADMIN_TOKEN, ` +
      'so that the admin endpoint refuses requests without it, or bind it to 127.0.0.1')
  }
  return { port, host, token }
}

/** The enabled listeners, each where LISTENER_<NAME>_BIND_ADDRESS and _BIND_PORT say. */
function listenerPlan (env: Env): ListenerPlan[] {
  const plan = LISTENER_NAMES.map(name => {
    const prefix = `LISTENER_${name.toUpperCase()}`
    return {
      name,
      prefix,
      enabled: readBoolean(env, `${prefix}_ENABLED`) ?? LISTENER_DEFAULTS[name].enabled,
      host: bindAddress(env, `${prefix}_BIND_ADDRESS`, '0.0.0.0'),
      port: numberOr(env, `${prefix}_BIND_PORT`, LISTENER_DEFAULTS[name].port)
    }
  }).filter(l => l.enabled)
  if (plan.length === 0) {
    throw new StartupError('no listener is enabled: set LISTENER_TCP_ENABLED=true ' +
      '(or LISTENER_SSL_ENABLED, LISTENER_WS_ENABLED, LISTENER_WSS_ENABLED)')
  }
  return plan
}
