import { z } from 'zod'
import { OptionsError, parseOptions } from '../errors.js'
import { LoggerSchema, MAX_TIMER_MS, numberIn, type Logger } from '../options.js'
import type { RateLimit, RateLimitStore } from './rate-limit.js'
import { DEFAULT_REDIS_TIMEOUT, withTimeout } from './redis-client.js'
import { storeFailed } from './store-failure.js'

/**
 * What the store needs of a limiter: rate-limiter-flexible's `consume`
 * (`RateLimiterRedis`, `RateLimiterCluster`, `RateLimiterMemcache`, ... all
 * have it). It resolves while the key has points left, rejects with a
 * `RateLimiterRes` (not an `Error`) once they are spent, and with an `Error`
 * when its store fails.
 */
export interface RateLimiterLike {
  consume (key: string, points?: number): Promise<unknown>
}

/** Options of the rate-limiter adapter. */
export interface RateLimiterStoreOptions {
  /**
   * What a client gets when the limiter cannot answer (its Redis is gone,
   * or late past `timeout`): `'refuse'` fails closed (CONNACK 5, reason
   * `policy unavailable: ...`, as the IP policy does when any store throws);
   * `'allow'` fails open (the attempt is let through, and logged).
   * @defaultValue 'refuse'
   */
  whenUnavailable?: 'refuse' | 'allow' | undefined
  /** Milliseconds to wait for the limiter. @defaultValue 1000 */
  timeout?: number | undefined
  /** A pino-compatible logger: an attempt let through unlimited is logged at error level. @defaultValue none */
  logger?: Logger | undefined
}

export const Schema = z.strictObject({
  whenUnavailable: z.enum(['refuse', 'allow']).optional(),
  timeout: numberIn(1, MAX_TIMER_MS, 'milliseconds').optional(),
  logger: LoggerSchema.optional()
})

const isLimiter = (v: unknown): v is RateLimiterLike =>
  typeof (v as { consume?: unknown } | null)?.consume === 'function'

/** Makes the limiter of one rate (a rate-limiter-flexible limiter with `points` and `duration` from it). */
export type MakeLimiter = (limit: RateLimit) => RateLimiterLike

/**
 * An IP-policy store backed by a limiter of rate-limiter-flexible (or any
 * with its `consume`), so that brokers sharing the limiter's Redis share one
 * budget per client network (the IP policy's key, `2001:db8:1:2::/64`).
 * `limiter` is the limiter, or a function that makes one from the IP
 * policy's `rateLimit` (called once per rate).
 */
export class RateLimiterStore implements RateLimitStore {
  readonly #make: MakeLimiter
  readonly #limiters = new Map<string, RateLimiterLike>()
  readonly #open: boolean
  readonly #timeout: number
  readonly #logger: Logger | undefined

  /** @throws OptionsError naming every bad key, or a limiter without `consume`. */
  constructor (limiter: RateLimiterLike | MakeLimiter, options: RateLimiterStoreOptions = {}) {
    const o = parseOptions(Schema, options, 'rateLimiterStore() options')
    if (typeof limiter === 'function') this.#make = limiter
    else if (isLimiter(limiter)) this.#make = () => limiter
    else {
      const message = 'must be a limiter with a consume(key) method (rate-limiter-flexible), ' +
        'or a function (rateLimit) => limiter'
      throw OptionsError.of('rateLimiterStore() limiter', [{ path: 'limiter', message }])
    }
    this.#open = o.whenUnavailable === 'allow'
    this.#timeout = o.timeout ?? DEFAULT_REDIS_TIMEOUT
    this.#logger = o.logger
  }

  async consume (key: string, limit: RateLimit): Promise<boolean> {
    const rate = `${limit.perSecond}/${limit.burst}`
    let limiter = this.#limiters.get(rate)
    if (limiter === undefined) {
      limiter = this.#make(limit)
      if (!isLimiter(limiter)) {
        throw new TypeError('rateLimiterStore(): the function returned no limiter with a consume(key) method')
      }
      this.#limiters.set(rate, limiter)
    }
    try {
      const consumed = Promise.resolve().then(async () => await limiter.consume(key, 1))
      await withTimeout(consumed, this.#timeout, 'the rate limit')
      return true
    } catch (err) {
      if (!(err instanceof Error)) return false // a RateLimiterRes: the budget is spent
      if (!this.#open) throw err // the IP policy refuses: fail closed
      storeFailed('rate limit: let through unlimited', this.#logger, err)
      return true
    }
  }
}

/**
 * Creates the adapter: `ipPolicy({ rateLimit, store: rateLimiterStore(limit =>
 * new RateLimiterRedis({ storeClient: redis, points: limit.burst, duration: ... })) })`.
 * @throws OptionsError naming every bad key.
 */
export function rateLimiterStore (limiter: RateLimiterLike | MakeLimiter,
  options: RateLimiterStoreOptions = {}): RateLimiterStore {
  return new RateLimiterStore(limiter, options)
}
