import { z } from 'zod'
import { parseOptions } from '../errors.js'
import { MAX_TIMER_MS, numberIn } from '../options.js'
import { DEFAULT_REDIS_TIMEOUT, keyOf, RedisClientSchema, run, type RedisClient } from './redis-client.js'
import {
  bounded, boundedAttempt, MAX_UNAUTHORIZED_AGE, MAX_UNAUTHORIZED_ENTRIES,
  type UnauthorizedAttempt, type UnauthorizedClient, type UnauthorizedStore
} from './unauthorized-store.js'

/** Options of the shared unauthorized-clients list. */
export interface RedisUnauthorizedStoreOptions {
  /** An ioredis client (or anything with its `eval`). */
  client: RedisClient
  /**
   * Where the list lives: `{<prefix>}:entries`, `:attempts`, `:times`.
   * @defaultValue `'aedes-proxy-protocol:unauthorized'`
   */
  prefix?: string | undefined
  /** Entries kept, for the whole cluster. @defaultValue 1000 */
  maxEntries?: number | undefined
  /** Milliseconds an entry is kept after its latest attempt. @defaultValue 86400000 (a day) */
  maxAge?: number | undefined
  /** Milliseconds to wait for Redis before an operation counts as failed. @defaultValue 1000 */
  timeout?: number | undefined
}

export const Schema = z.strictObject({
  client: RedisClientSchema,
  prefix: z.string().min(1).optional(),
  maxEntries: numberIn(1, MAX_UNAUTHORIZED_ENTRIES).optional(),
  maxAge: numberIn(1, MAX_UNAUTHORIZED_AGE, 'milliseconds').optional(),
  timeout: numberIn(1, MAX_TIMER_MS, 'milliseconds').optional()
})

// KEYS: entries (hash: id -> JSON without attempts), attempts (hash: id ->
// count), times (sorted set: id by its latest attempt). Each script first
// forgets what is older than maxAge, as the memory store does on every call.
const DROP = `
local function drop (ids)
  for _, id in ipairs(ids) do
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
  end
end
local function expire (now, maxAge)
  drop(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - maxAge)))
end
`

// ARGV: id, entry JSON, now, maxAge, maxEntries -> the attempts so far.
const RECORD = `${DROP}
local now = tonumber(ARGV[3])
expire(now, tonumber(ARGV[4]))
local attempts = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], now, ARGV[1])
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[5])
if over > 0 then drop(redis.call('ZRANGE', KEYS[3], 0, over - 1)) end
return attempts
`

// ARGV: now, maxAge -> entry JSON, attempts, entry JSON, attempts ... newest first.
const LIST = `${DROP}
expire(tonumber(ARGV[1]), tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[3], 0, -1)) do
  out[#out + 1] = redis.call('HGET', KEYS[1], id) or '{}'
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or '1'
end
return out
`

// ARGV: ids to remove (none: everything) -> how many went.
const CLEAR = `${DROP}
if #ARGV == 0 then
  local n = redis.call('ZCARD', KEYS[3])
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return n
end
local n = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[3], id) == 1 then n = n + 1 end
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return n
`

/**
 * The unauthorized-clients list in Redis: one list for every broker that
 * shares the prefix, bounded in size and age as the memory store is, each
 * entry with the `node` (broker id) that saw it. Each operation is one
 * atomic script, bounded by `timeout`; a Redis that fails or is late makes
 * it reject, which the plugin logs (the entry is lost, never the broker).
 */
export class RedisUnauthorizedStore implements UnauthorizedStore {
  readonly #client: RedisClient
  readonly #keys: string[]
  readonly #maxEntries: number
  readonly #maxAge: number
  readonly #timeout: number
  readonly #now: () => number

  /**
   * @param now - the clock of `time` and of the age bound (tests)
   * @throws OptionsError naming every bad key.
   */
  constructor (options: RedisUnauthorizedStoreOptions, now: () => number = Date.now) {
    const o = parseOptions(Schema, options, 'redisUnauthorizedStore() options')
    const prefix = o.prefix ?? 'aedes-proxy-protocol:unauthorized'
    this.#client = o.client
    this.#keys = ['entries', 'attempts', 'times'].map(name => keyOf(prefix, name))
    this.#maxEntries = o.maxEntries ?? 1000
    this.#maxAge = o.maxAge ?? 86_400_000
    this.#timeout = o.timeout ?? DEFAULT_REDIS_TIMEOUT
    this.#now = now
  }

  async record (attempt: UnauthorizedAttempt): Promise<UnauthorizedClient> {
    const time = this.#now()
    const stored = { ...boundedAttempt(attempt), time }
    const attempts = Number(await run(this.#client, this.#timeout, 'recording a failed login', RECORD, this.#keys,
      [stored.clientId, JSON.stringify(stored), time, this.#maxAge, this.#maxEntries]))
    return { ...stored, attempts }
  }

  async list (): Promise<UnauthorizedClient[]> {
    const flat = await run(this.#client, this.#timeout, 'listing the unauthorized clients', LIST, this.#keys,
      [this.#now(), this.#maxAge]) as string[]
    const out: UnauthorizedClient[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ ...(JSON.parse(flat[i] as string) as UnauthorizedClient), attempts: Number(flat[i + 1]) })
    }
    return out
  }

  async clear (clientId?: string): Promise<number> {
    // An id longer than the list keeps is stored cut; either form finds it.
    const ids = clientId === undefined ? [] : [...new Set([clientId, bounded(clientId)])]
    return Number(await run(this.#client, this.#timeout, 'clearing the unauthorized clients', CLEAR, this.#keys, ids))
  }
}

/**
 * Creates the shared unauthorized-clients list:
 * `unauthorizedClients({ store: redisUnauthorizedStore({ client: new Redis(url) }) })`.
 * @throws OptionsError naming every bad key.
 */
export function redisUnauthorizedStore (options: RedisUnauthorizedStoreOptions): RedisUnauthorizedStore {
  return new RedisUnauthorizedStore(options)
}
