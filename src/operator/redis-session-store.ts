import { z } from 'zod'
import { parseOptions } from '../errors.js'
import { LoggerSchema, MAX_TIMER_MS, numberIn, type Logger } from '../options.js'
import {
  DEFAULT_REDIS_TIMEOUT, keyOf, RedisClientSchema, run, send, withTimeout, type RedisClient
} from './redis-client.js'
import type { Session, SessionStore } from './sessions.js'
import { storeFailed } from './store-failure.js'
import { bounded } from './unauthorized-store.js'

/** Options of the shared session list. */
export interface RedisSessionStoreOptions {
  /** An ioredis client (or anything with its `eval`). */
  client: RedisClient
  /** This broker's name in the list: its aedes id (`broker.id`), one per node. */
  node: string
  /**
   * Where the list lives: `{<prefix>}:node:<node>` per node, `{<prefix>}:nodes`.
   * @defaultValue `'aedes-proxy-protocol:sessions'`
   */
  prefix?: string | undefined
  /**
   * Milliseconds a node's clients stay listed after its last heartbeat (a
   * node that dies, or loses Redis, drops out of the list this long after);
   * the heartbeat runs every third of it.
   * @defaultValue 15000
   */
  ttl?: number | undefined
  /**
   * Milliseconds to wait for Redis before an operation counts as failed; a
   * heartbeat's rewrite waits this long for each script (1,000 clients) after
   * the one before. @defaultValue 1000
   */
  timeout?: number | undefined
  /** A pino-compatible logger: a failed heartbeat is logged at error level. @defaultValue none */
  logger?: Logger | undefined
}

export const Schema = z.strictObject({
  client: RedisClientSchema,
  node: z.string().min(1, { error: 'must name this broker (its aedes id)' }),
  prefix: z.string().min(1).optional(),
  ttl: numberIn(1000, MAX_TIMER_MS, 'milliseconds').optional(),
  timeout: numberIn(1, MAX_TIMER_MS, 'milliseconds').optional(),
  logger: LoggerSchema.optional()
})

// KEYS: this node's hash (connection key -> session JSON), the nodes
// (sorted set: node by its latest heartbeat, on its own clock).
// ARGV: ttl, now, node, field, JSON -> 0 when the hash was gone (Redis lost it).
const PUT = `
local had = redis.call('EXISTS', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return had
`
// The heartbeat: 0 when this node's hash is gone (expired, Redis restarted).
const TOUCH = `
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return redis.call('PEXPIRE', KEYS[1], ARGV[1])
`
/** Sessions per script of a rewrite: a call's arguments stay bounded (V8 cannot spread ~125,000 into one call). */
export const REWRITE_BATCH = 1000
// The rewrite of this node's hash, in batches: each fills a hash of its
// own, the last checks it holds every session and renames it over the
// node's hash, so the list changes at once, as one script did.
// KEYS: this node's hash, the nodes, the hash being built.
// ARGV: ttl, now, node, first ('1': start afresh), total ('-1': more to come), field, JSON ...
const REWRITE = `
if ARGV[4] == '1' then redis.call('DEL', KEYS[3]) end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
local total = tonumber(ARGV[5])
if total < 0 then return redis.call('PEXPIRE', KEYS[3], ARGV[1]) end
if redis.call('HLEN', KEYS[3]) ~= total then redis.call('DEL', KEYS[3]) return 0 end
if total == 0 then redis.call('DEL', KEYS[1]) else redis.call('RENAME', KEYS[3], KEYS[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
`
const REMOVE = 'return redis.call("HDEL", KEYS[1], ARGV[1])'
const CLOSE = 'redis.call("DEL", KEYS[1]) redis.call("ZREM", KEYS[2], ARGV[1]) return 1'
// KEYS: the nodes. ARGV: the oldest heartbeat kept -> the node names.
const NODES = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`
// KEYS: the nodes' hashes -> every session JSON.
const VALUES = `
local out = {}
for _, key in ipairs(KEYS) do
  for _, v in ipairs(redis.call('HVALS', key)) do out[#out + 1] = v end
end
return out
`

/**
 * The session list in Redis: every broker that shares the prefix lists its
 * clients under its `node`, and `list()` returns all of them. A node's
 * entries live in one hash whose TTL its heartbeat refreshes: a client that
 * disconnects goes at once, a node that dies (or loses Redis) within `ttl`.
 * The store keeps its own node's sessions here too (bounded by the broker's
 * connections), so a heartbeat after a lost write or a Redis restart puts
 * the node's list back as it is (in batches of {@link REWRITE_BATCH}, made
 * visible at once, so any number of clients fits), and the first heartbeat,
 * at once when the store is made, replaces whatever a crashed predecessor
 * of the same name left. A heartbeat sends nothing while the client is not
 * connected (ioredis' `status` is not `'ready'`; it runs on `'ready'`) or
 * while Redis has not answered the previous one, so an outage costs one
 * heartbeat's commands, not one per beat. Call `close()` when the broker
 * closes.
 */
export class RedisSessionStore implements SessionStore {
  readonly #client: RedisClient
  readonly #node: string
  readonly #prefix: string
  readonly #key: string
  readonly #nodes: string
  readonly #building: string
  readonly #ttl: number
  readonly #timeout: number
  readonly #logger: Logger | undefined
  readonly #local = new Map<string, string>()
  readonly #timer: NodeJS.Timeout
  /**
   * The hash in Redis may not be this process's: a write was lost, or
   * nothing has been written yet (a node restarted under its name after a
   * crash finds its predecessor's clients there, kept alive by heartbeats
   * that only refresh the TTL). The next heartbeat rewrites it; a write
   * meanwhile adds its own entry only, so that a write costs the same with
   * any number of clients, even while Redis is away.
   */
  #dirty = true
  /** A heartbeat running, or its commands not all answered yet (Redis hung): the next one skips. */
  #beating = false
  /** A heartbeat waits for the client's `'ready'`. */
  #waiting = false
  /** A heartbeat has been sent: one that waits for the client's first connection is no failure. */
  #started = false
  #closed = false

  /** @throws OptionsError naming every bad key. */
  constructor (options: RedisSessionStoreOptions) {
    const o = parseOptions(Schema, options, 'redisSessionStore() options')
    this.#client = o.client
    this.#node = o.node
    this.#prefix = o.prefix ?? 'aedes-proxy-protocol:sessions'
    this.#key = keyOf(this.#prefix, `node:${o.node}`)
    this.#nodes = keyOf(this.#prefix, 'nodes')
    this.#building = keyOf(this.#prefix, `rewrite:${o.node}`)
    this.#ttl = o.ttl ?? 15_000
    this.#timeout = o.timeout ?? DEFAULT_REDIS_TIMEOUT
    this.#logger = o.logger
    this.#timer = setInterval(() => { void this.#beat() }, Math.floor(this.#ttl / 3))
    this.#timer.unref()
    void this.#beat()
  }

  async add (key: string, session: Session): Promise<void> {
    // Bounded as the unauthorized list's fields are: MQTT allows 65535-byte ids.
    const json = JSON.stringify({ ...session, clientId: bounded(session.clientId), node: session.node ?? this.#node })
    this.#local.set(key, json)
    try {
      // The hash gone (Redis restarted) while this node had others: it is this node's to rewrite.
      const put = await run(this.#client, this.#timeout, 'adding a client', PUT, [this.#key, this.#nodes],
        [this.#ttl, Date.now(), this.#node, key, json])
      if (Number(put) === 0 && this.#local.size > 1) this.#dirty = true
    } catch (err) {
      this.#dirty = true
      throw err
    }
  }

  async remove (key: string): Promise<void> {
    if (!this.#local.delete(key)) return
    try {
      await run(this.#client, this.#timeout, 'removing a client', REMOVE, [this.#key], [key])
    } catch (err) {
      this.#dirty = true
      throw err
    }
  }

  /** Every node's clients, oldest connection first. */
  async list (): Promise<Session[]> {
    const nodes = await run(this.#client, this.#timeout, 'listing the nodes', NODES, [this.#nodes],
      [Date.now() - 3 * this.#ttl]) as string[]
    if (nodes.length === 0) return []
    const values = await run(this.#client, this.#timeout, 'listing the clients', VALUES,
      nodes.map(n => keyOf(this.#prefix, `node:${n}`))) as string[]
    return values.map(v => JSON.parse(v) as Session).sort((a, b) => a.connectedAt - b.connectedAt)
  }

  /** Stops the heartbeat and takes this node's clients off the list. */
  async close (): Promise<void> {
    clearInterval(this.#timer)
    this.#closed = true
    this.#local.clear()
    await run(this.#client, this.#timeout, 'closing', CLOSE, [this.#key, this.#nodes], [this.#node])
  }

  /**
   * Replaces this node's hash with its sessions here, in batches of
   * {@link REWRITE_BATCH}. Each batch has `timeout` from the answer to the
   * one before (the first from when the client has them all), so any number
   * of them fits; what is sent goes in `sent`.
   */
  async #rewrite (sent: Array<Promise<unknown>>): Promise<void> {
    this.#dirty = false
    const entries = [...this.#local]
    const keys = [this.#key, this.#nodes, this.#building]
    // Every batch is sent now, in order, before any later write of this
    // store: on one connection Redis runs them in that order.
    const batches = []
    for (let at = 0; at === 0 || at < entries.length; at += REWRITE_BATCH) {
      const last = at + REWRITE_BATCH >= entries.length
      const fields = entries.slice(at, at + REWRITE_BATCH).flat()
      const args = [this.#ttl, Date.now(), this.#node, at === 0 ? 1 : 0, last ? entries.length : -1, ...fields]
      batches.push(send(this.#client, REWRITE, keys, args))
    }
    // Handled at once: a later batch may fail while an earlier one is awaited.
    sent.push(Promise.allSettled(batches))
    try {
      let done: unknown
      for (const [i, batch] of batches.entries()) {
        done = await withTimeout(batch, this.#timeout, `the heartbeat (script ${i + 1} of ${batches.length})`)
      }
      if (Number(done) !== 1) throw new Error('the rewrite of this node\'s sessions lost a batch')
    } catch (err) {
      this.#dirty = true
      throw err
    }
  }

  async #beat (): Promise<void> {
    // One heartbeat at a time, until Redis has answered all it sent: a Redis
    // that hangs, or is slower than the interval, gets no second copy.
    if (this.#beating || this.#closed) return
    const status = this.#client.status
    if (status !== undefined && status !== 'ready') {
      // ioredis would queue the commands until it reconnects, one more set per beat.
      this.#whenReady()
      const waits = new Error(`redis is not connected (${status}): the heartbeat waits for it`)
      if (this.#started) storeFailed('sessions: the heartbeat', this.#logger, waits)
      return
    }
    this.#beating = true
    this.#started = true
    const sent: Array<Promise<unknown>> = []
    try {
      // The hash gone (expired, Redis restarted) while this node has clients: it is this node's to rewrite.
      if (!this.#dirty) {
        const touch = send(this.#client, TOUCH, [this.#key, this.#nodes], [this.#ttl, Date.now(), this.#node])
        sent.push(touch)
        if (Number(await withTimeout(touch, this.#timeout, 'the heartbeat')) === 0) this.#dirty = this.#local.size > 0
      }
      if (this.#dirty) await this.#rewrite(sent)
    } catch (err) {
      storeFailed('sessions: the heartbeat', this.#logger, err)
    } finally {
      await Promise.allSettled(sent)
      this.#beating = false
    }
  }

  /** Runs a heartbeat when the client is next ready (once, however many beats found it away). */
  #whenReady (): void {
    if (this.#waiting || this.#client.once === undefined) return
    this.#waiting = true
    this.#client.once('ready', () => {
      this.#waiting = false
      void this.#beat()
    })
  }
}

/**
 * Creates the shared session list:
 * `sessions({ store: redisSessionStore({ client: new Redis(url), node: broker.id }) })`.
 * @throws OptionsError naming every bad key.
 */
export function redisSessionStore (options: RedisSessionStoreOptions): RedisSessionStore {
  return new RedisSessionStore(options)
}
