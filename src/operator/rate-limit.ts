import type { MaybePromise } from '../auth-chain.js'

/** A rate: attempts per second, refilled continuously, and how many may come at once. */
export interface RateLimit {
  readonly perSecond: number
  readonly burst: number
}

/**
 * Where the IP policy keeps its per-address budgets. The default keeps them
 * in this process; a shared one (Redis) gives brokers behind one load
 * balancer one budget per client address.
 */
export interface RateLimitStore {
  /** Takes one attempt from `key`'s budget. @returns false when the budget is spent. */
  consume (key: string, limit: RateLimit): MaybePromise<boolean>
}

interface Bucket { tokens: number, at: number }

/**
 * Bound on the addresses tracked in memory (under a flood of sources):
 * about 150 bytes each, so about 15 MB at the bound.
 */
export const MAX_BUCKETS = 100_000

/** A token bucket per key, in this process, least recently used dropped at the bound. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #buckets = new Map<string, Bucket>()
  readonly #now: () => number
  readonly #maxBuckets: number

  constructor (now: () => number = Date.now, maxBuckets = MAX_BUCKETS) {
    this.#now = now
    this.#maxBuckets = maxBuckets
  }

  consume (key: string, limit: RateLimit): boolean {
    const now = this.#now()
    let bucket = this.#buckets.get(key)
    if (bucket === undefined) {
      // The map is in last-use order: the first key is the least recently
      // used one, and dropping it is O(1), whatever the map holds.
      if (this.#buckets.size >= this.#maxBuckets) this.#evictOldest()
      bucket = { tokens: limit.burst, at: now }
    } else {
      bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond)
      bucket.at = now
      this.#buckets.delete(key) // re-inserted below: the map stays in last-use order
    }
    this.#buckets.set(key, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Forgets the least recently used key (a forgotten one starts again with a full bucket). */
  #evictOldest (): void {
    const oldest = this.#buckets.keys().next()
    if (oldest.done !== true) this.#buckets.delete(oldest.value)
  }
}
