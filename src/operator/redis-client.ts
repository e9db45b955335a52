// What the shared stores need of a Redis client, and nothing more: the
// library depends on no Redis package, the user passes the ioredis instance
// aedes-persistence-redis and mqemitter-redis already use.

import { withMethods } from '../options.js'

/**
 * The one command the Redis stores send: `EVAL`, as ioredis types it
 * (`new Redis(url)` is one; with node-redis, wrap `client.eval(script, {
 * keys, arguments })`). Every operation is one script over the keys it
 * names, so it is atomic, and, as all of a store's keys share one hash tag,
 * it also runs on Redis Cluster.
 */
export interface RedisClient {
  eval (script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  /**
   * ioredis' connection state: a store's heartbeat sends nothing but on a
   * `'ready'` connection, so that none piles up in ioredis' offline queue
   * while Redis is away (a client without it is taken as ready).
   */
  readonly status?: string
  /** ioredis' events: the heartbeat held back while Redis was away runs on `'ready'`. */
  once?: (event: 'ready', listener: () => void) => unknown
}

/** The stores' `client` option. */
export const RedisClientSchema =
  withMethods<RedisClient>(['eval'], 'must be a Redis client with an eval method (an ioredis instance)')

/** Milliseconds a store waits for Redis before it counts the operation as failed. */
export const DEFAULT_REDIS_TIMEOUT = 1000

/**
 * `promise`, or a rejection once `ms` pass: a Redis that is gone (ioredis
 * queues commands while it reconnects) must not hold a login or an admin
 * request for longer than that.
 */
export async function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`redis did not answer ${what} within ${ms} ms`)) }, ms)
    timer.unref()
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Sends `script` over `keys` with `args`: the client's own promise, which
 * settles when Redis answers (or the client gives the command up), however
 * long that takes; a client that throws gives a rejected promise. The client
 * has the command when this returns (ioredis has written it out), so that a
 * timeout started then times Redis, not the client's work on the command: a
 * rewrite's 100 scripts of 1,000 sessions take a loaded machine a second.
 */
export async function send (client: RedisClient, script: string, keys: readonly string[],
  args: ReadonlyArray<string | number> = []): Promise<unknown> {
  return await client.eval(script, keys.length, ...keys, ...args)
}

/** Runs `script` over `keys` with `args`, bounded by `timeout`. */
export async function run (client: RedisClient, timeout: number, what: string, script: string, keys: readonly string[],
  args: ReadonlyArray<string | number> = []): Promise<unknown> {
  return await withTimeout(send(client, script, keys, args), timeout, what)
}

/**
 * The key `name` under `prefix`, in the hash tag `{prefix}` so that all of
 * one store's keys live in one Redis Cluster slot (a script may touch them
 * together).
 */
export function keyOf (prefix: string, name: string): string {
  return `{${prefix}}:${name}`
}
