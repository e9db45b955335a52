import type { MaybePromise } from '../auth-chain.js'

/** A rate: attempts per second, refilled continuously, and how many may come at once. */
export interface RateLimit {
  readonly perSecond: number
  readonly burst: number
}

/**
 * Where the IP policy keeps its budgets, one per client network (the key:
 * `10.1.2.3`, or `2001:db8:1:2::/64` with the default IPv6 prefix). The
 * default keeps them in this process; a shared one (Redis) gives brokers
 * behind one load balancer one budget per client network.
 */
export interface RateLimitStore {
  /** Takes one attempt from `key`'s budget. @returns false when the budget is spent. */
  consume (key: string, limit: RateLimit): MaybePromise<boolean>
}

/**
 * Bound on the networks tracked in memory (under a flood of sources):
 * about 117 bytes each with the longest keys the IP policy makes (43
 * characters, `ffff:...:fff0/124`), so under 12 MB at the bound; 86 bytes
 * each for IPv4 addresses (test/operator/ip-policy.test.ts measures it).
 */
export const MAX_BUCKETS = 100_000

/**
 * Slack for the sums of a rate's period (1000 / perSecond ms), which
 * floating point may put a hair past the burst: a microsecond.
 */
const SLACK_MS = 0.001

/**
 * A token bucket per key, in this process. Each bucket is one number, the
 * time at which it is full again (GCRA's "theoretical arrival time", the
 * same limit as a token bucket): at or before now it is full; an attempt
 * is let in while it is at most `burst` periods ahead, and moves it one
 * period on.
 *
 * At the bound, a new key may only take the place of a bucket that is full
 * again: such a bucket carries nothing a fresh one would not, so dropping
 * it gives no one a budget back. The map is in last-use order and its first
 * key, the least recently used, is the one looked at (constant time); when
 * that one is not full yet, every key was used within the last `burst`
 * periods, and the new key takes from one overflow bucket that all such
 * keys share. So a client that spent its budget keeps it spent however
 * many other addresses come (an evicting table hands a flooding client a
 * fresh budget each time it is pushed out), and a flood of new networks
 * gets one budget between them, not one each. A key served from the
 * overflow is not remembered: it gets a bucket of its own once one can be
 * dropped, having taken no more than the shared overflow let it.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #full = new Map<string, number>()
  readonly #now: () => number
  readonly #maxBuckets: number
  /** The overflow bucket's time full again. */
  #overflow = 0

  constructor (now: () => number = Date.now, maxBuckets = MAX_BUCKETS) {
    this.#now = now
    this.#maxBuckets = maxBuckets
  }

  consume (key: string, limit: RateLimit): boolean {
    const now = this.#now()
    const period = 1000 / limit.perSecond
    const known = this.#full.get(key)
    if (known === undefined && this.#full.size >= this.#maxBuckets && !this.#dropOldestIfFull(now)) {
      const next = Math.max(this.#overflow, now) + period
      if (next - now > limit.burst * period + SLACK_MS) return false
      this.#overflow = next
      return true
    }
    const from = known ?? now
    if (known !== undefined) this.#full.delete(key) // re-inserted below: the map stays in last-use order
    const next = Math.max(from, now) + period
    const allowed = next - now <= limit.burst * period + SLACK_MS
    this.#full.set(key, allowed ? next : from)
    return allowed
  }

  /** Drops the least recently used key when its bucket is full again. @returns whether one was dropped. */
  #dropOldestIfFull (now: number): boolean {
    const oldest = this.#full.entries().next()
    if (oldest.done === true || oldest.value[1] > now) return false
    this.#full.delete(oldest.value[0])
    return true
  }
}
