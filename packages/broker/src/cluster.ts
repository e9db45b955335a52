// The ready-to-run broker as a cluster member: REDIS_URL switches the
// message bus to mqemitter-redis, the persistence to aedes-persistence-redis
// and the operator plugins to their shared stores, all on that Redis.
// Without it nothing here runs and everything stays in memory.
import { randomUUID } from 'node:crypto'
import aedesPersistenceRedis from 'aedes-persistence-redis'
import { Redis } from 'ioredis'
import mqemitterRedis from 'mqemitter-redis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { rateLimiterStore, redisSessionStore, redisUnauthorizedStore } from 'aedes-proxy-protocol'
import type { Logger, RateLimitStore, SessionStore, UnauthorizedStore } from 'aedes-proxy-protocol'
import { numberOr, StartupError, value } from './startup.js'

type Env = Readonly<Record<string, string | undefined>>

/** Milliseconds Redis gets to answer at start-up before the broker gives up. */
export const REDIS_STARTUP_TIMEOUT = 10_000

/** REDIS_PING_INTERVAL's default: a Redis that stops answering is reported down within twice this. */
export const REDIS_PING_INTERVAL = 5000

/** What the broker passes on: aedes' options and the plugins' stores. */
export interface ClusterMember {
  readonly node: string
  /** For `Aedes.createBroker`: the node's id, mqemitter-redis and aedes-persistence-redis (aedes types both as any). */
  readonly aedes: { readonly id: string, readonly mq: object, readonly persistence: object }
  readonly unauthorized: { store: UnauthorizedStore }
  readonly sessions: { store: SessionStore }
  readonly ipPolicy: { store: RateLimitStore }
  /**
   * The broker is closing: takes this node's clients off the list, and exits
   * after 5 s if closing waits on a Redis that is gone.
   */
  readonly closing: () => void
  /**
   * Calls `fn` when a node announces a client that logged in there, before
   * aedes closes this node's connection with that id (its handler is
   * registered after this one, when the broker is created).
   */
  readonly onLogin: (fn: (node: string, clientId: string) => void) => void
}

// ioredis takes every query parameter of the URL as an option (`?password=`,
// `?sentinelPassword=`, ...): any whose name says it holds a secret is hidden.
const SECRET = /pass|secret|token|auth|key|cred/i

/**
 * Text that may hold a password but cannot be read as a URL with a host:
 * shown only when nothing in it could be a secret.
 */
function unreadable (raw: string): string {
  return /@/.test(raw) || SECRET.test(raw) ? '(not shown: it may hold a password)' : raw
}

/**
 * REDIS_URL fit for a log line or an error: the password of its user info
 * and every secret query parameter shown as `***`. Text that is not a URL
 * with a host (`redis:user:pw@host` parses, but as a path) is shown only
 * when nothing in it could be a secret.
 */
export function redactedUrl (raw: string): string {
  let url: URL
  try { url = new URL(raw) } catch { return unreadable(raw) }
  if (url.host === '' || !raw.includes('//')) return unreadable(raw)
  if (url.password !== '') url.password = '***'
  for (const key of new Set(url.searchParams.keys())) if (SECRET.test(key)) url.searchParams.set(key, '***')
  return url.href.replace(/\/$/, '')
}

/** The shortest secret looked for in printed text. */
const MIN_SECRET = 4

/** The secrets in a REDIS_URL, as written and decoded as ioredis uses them, longest first. */
function secretsOf (raw: string): string[] {
  let url: URL
  try { url = new URL(raw) } catch { return [] }
  const decoded = (s: string): string => { try { return decodeURIComponent(s) } catch { return s } }
  const secretParams = [...url.searchParams].filter(([key]) => SECRET.test(key)).map(([, v]) => v)
  const found = [url.password, decoded(url.password), ...secretParams]
  // As a JSON string quotes them too (a log line, the admin endpoint's body).
  // A secret of one to three characters is not looked for: replacing every `1` or `ab` in a
  // log line would break the line (its JSON) and hide nothing such a password protects.
  const all = found.filter(s => s.length >= MIN_SECRET).flatMap(s => [s, JSON.stringify(s).slice(1, -1)])
  return [...new Set(all)].sort((a, b) => b.length - a.length)
}

/**
 * The one redaction of everything the broker prints (log lines, start-up
 * errors, the admin endpoint's answers): REDIS_URL as {@link redactedUrl}
 * shows it and each of its secrets as `***`, wherever a Redis or ioredis
 * error quotes them. Without REDIS_URL, the text unchanged.
 */
export function redaction (env: Env): (text: string) => string {
  const raw = value(env, 'REDIS_URL')
  if (raw === undefined) return text => text
  const shown = redactedUrl(raw)
  const secrets = secretsOf(raw)
  return text => secrets.reduce((t, secret) => t.replaceAll(secret, '***'), text.replaceAll(raw, shown))
}

/** The URL in REDIS_URL, checked. @throws StartupError naming the variable. */
export function redisUrl (env: Env): URL | undefined {
  const raw = value(env, 'REDIS_URL')
  if (raw === undefined) return undefined
  let url: URL | undefined
  try { url = new URL(raw) } catch {}
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw new StartupError(`REDIS_URL=${JSON.stringify(redactedUrl(raw))} is not a Redis URL: ` +
      'use redis://host:port (or redis://user:password@host:port/db, rediss:// for TLS)')
  }
  return url
}

/** MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE: refuse (the default) or allow. */
export function whenUnavailable (env: Env): 'refuse' | 'allow' {
  const raw = value(env, 'MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE')
  if (raw === undefined) return 'refuse'
  const v = raw.trim().toLowerCase()
  if (v === 'refuse' || v === 'allow') return v
  throw new StartupError(`MQTT_IP_RATE_LIMIT_WHEN_UNAVAILABLE=${JSON.stringify(raw)} is not refuse or allow ` +
    '(what a client gets while Redis cannot answer the rate limit)')
}

/**
 * Joins the cluster on REDIS_URL, or returns undefined without it. Waits
 * until Redis answers (at most {@link REDIS_STARTUP_TIMEOUT} ms), then
 * reports each loss and return of Redis as one log line
 * (`event: 'redis'`, `state: 'down'` with the reason, then `'up'`): a
 * connection that closes, or a PING every REDIS_PING_INTERVAL ms that has
 * no answer within as long (a Redis that hangs, which closes nothing).
 * @throws StartupError when REDIS_URL is not a Redis URL or Redis does not answer.
 */
export async function joinCluster (env: Env, logger: Logger,
  brokerId: string | undefined): Promise<ClusterMember | undefined> {
  const url = redisUrl(env)
  if (url === undefined) return undefined
  const failOpen = whenUnavailable(env)
  const pingInterval = numberOr(env, 'REDIS_PING_INTERVAL', REDIS_PING_INTERVAL)
  // The URL as lines show it. A Redis or ioredis message that quotes a secret
  // is redacted where everything is printed (broker.ts: redaction()).
  const where = redactedUrl(url.href)
  const node = brokerId ?? randomUUID()
  if (brokerId === undefined) {
    logger.warn({ event: 'startup', variable: 'TB_SERVICE_ID' },
      `REDIS_URL without TB_SERVICE_ID: this node is ${node}, a new name at every start; ` +
      'set TB_SERVICE_ID to one name per node')
  }
  const health = new RedisHealth(logger, where, node)
  const [sub, pub, data, stores] = await connect(url, where, health)
  const mq = mqemitterRedis({ subConn: sub, pubConn: pub })
  // mqemitter-redis reports its connections' errors here: without a listener one would end the process.
  const mqState = (mq as unknown as { state: NodeJS.EventEmitter }).state
  mqState.on('error', (err: Error) => { health.lastError = err.message })
  const onLogin = loginsOn(mq)
  const pinger = pingEvery(stores, pingInterval, health)
  const sessionStore = redisSessionStore({ client: stores, node, logger })
  logger.info({ event: 'startup', redis: where, node },
    `cluster member ${node}: messages, sessions, retained messages, ` +
    `the session list, the unauthorized list and the rate limit in Redis at ${where}`)
  return {
    node,
    aedes: { id: node, mq, persistence: aedesPersistenceRedis({ conn: data }) },
    unauthorized: { store: redisUnauthorizedStore({ client: stores }) },
    sessions: { store: sessionStore },
    ipPolicy: {
      // A fixed window of `burst` attempts per ceil(burst / rate) seconds:
      // rate-limiter-flexible counts whole seconds, and so the average rate
      // never exceeds MQTT_IP_RATE_LIMIT and no more than the burst come at once.
      store: rateLimiterStore(limit => new RateLimiterRedis({
        storeClient: stores,
        keyPrefix: 'aedes-proxy-protocol:rate',
        points: limit.burst,
        duration: Math.max(1, Math.ceil(limit.burst / limit.perSecond)),
        rejectIfRedisNotReady: true
      }), { whenUnavailable: failOpen, logger })
    },
    onLogin,
    closing: () => {
      health.leaving = true
      clearInterval(pinger)
      setTimeout(() => process.exit(0), 5000).unref()
      sessionStore.close().catch(() => {})
    }
  }
}

/**
 * Whether Redis answers, said once when it goes (the first connection that
 * closes, or a PING unanswered) and once when everything is back.
 */
class RedisHealth {
  /** What is down: a connection by its name, or 'ping' for a Redis that does not answer. */
  readonly #down = new Set<string>()
  readonly #logger: Logger
  readonly #where: string
  readonly #node: string
  /** The last error a connection reported: why the close that follows happened. */
  lastError = ''
  /** Set once every connection is ready: before, a close is the start-up error's. */
  started = false
  /** Set once the broker closes: its own connections closing are not Redis lost. */
  leaving = false

  constructor (logger: Logger, where: string, node: string) {
    this.#logger = logger
    this.#where = where
    this.#node = node
  }

  lost (what: string, reason: string): void {
    if (!this.started || this.leaving || this.#down.has(what)) return
    if (this.#down.size === 0) {
      this.#logger.error({ event: 'redis', state: 'down', redis: this.#where, node: this.#node, reason },
        `lost Redis at ${this.#where}: messages between nodes, sessions and shared lists wait for it; ` +
        'clients here stay connected')
    }
    this.#down.add(what)
  }

  back (what: string): void {
    if (!this.#down.delete(what) || this.#down.size > 0) return
    this.#logger.info({ event: 'redis', state: 'up', redis: this.#where, node: this.#node },
      `Redis at ${this.#where} is back`)
  }
}

/**
 * One connection each for the message bus (a subscriber does nothing else),
 * the persistence and the plugins' stores, all ready; ioredis reconnects.
 * @throws StartupError when Redis does not answer within {@link REDIS_STARTUP_TIMEOUT} ms.
 */
async function connect (url: URL, where: string, health: RedisHealth): Promise<[Redis, Redis, Redis, Redis]> {
  const names = ['bus-subscriber', 'bus-publisher', 'persistence', 'stores'] as const
  const conns = names.map(() => new Redis(url.href, { retryStrategy: times => Math.min(times * 200, 2000) }))
  conns.forEach((conn, i) => {
    const name = names[i] as string
    conn.on('error', (err: Error) => { health.lastError = err.message })
    conn.on('close', () => { health.lost(name, health.lastError === '' ? 'connection closed' : health.lastError) })
    conn.on('ready', () => {
      // An error before this one (Redis was away) is not why a later close happens.
      health.lastError = ''
      health.back(name)
    })
  })
  const readyAll = Promise.all(conns.map(async conn => {
    if (conn.status !== 'ready') await new Promise(resolve => conn.once('ready', resolve))
  }))
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>(resolve => { timer = setTimeout(() => { resolve('late') }, REDIS_STARTUP_TIMEOUT) })
  const outcome = await Promise.race([readyAll, late])
  clearTimeout(timer)
  if (outcome === 'late') {
    for (const conn of conns) conn.disconnect()
    const why = health.lastError !== '' ? ` (${health.lastError})` : ''
    throw new StartupError(
      `REDIS_URL=${JSON.stringify(where)}: Redis did not answer within ${REDIS_STARTUP_TIMEOUT} ms${why}`)
  }
  health.started = true
  return conns as [Redis, Redis, Redis, Redis]
}

/**
 * Calls each function given to the returned `onLogin` when a node announces
 * a client that logged in there. Registered before aedes subscribes
 * (Aedes.createBroker, later): mqemitter calls a topic's handlers in the
 * order they came.
 */
function loginsOn (mq: ReturnType<typeof mqemitterRedis>): ClusterMember['onLogin'] {
  const logins: Array<(node: string, clientId: string) => void> = []
  mq.on('$SYS/+/new/clients', (packet, done) => {
    const payload: unknown = (packet as { payload?: unknown }).payload
    const clientId = Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload)
    for (const fn of logins) fn(packet.topic.split('/')[1] ?? '', clientId)
    done()
  })
  return fn => { logins.push(fn) }
}

/**
 * A Redis that hangs (stopped, a network that drops everything) closes no
 * connection: one PING at a time, late after `interval` ms, says so.
 */
function pingEvery (stores: Redis, interval: number, health: RedisHealth): NodeJS.Timeout {
  let pinging = false
  const pinger = setInterval(() => {
    if (pinging || health.leaving) return
    pinging = true
    const late = setTimeout(() => { health.lost('ping', `Redis did not answer PING within ${interval} ms`) }, interval)
    stores.ping().then(() => { health.back('ping') }, () => {}).finally(() => { clearTimeout(late); pinging = false })
  }, interval)
  pinger.unref()
  return pinger
}
