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

/** How many of the least recently used keys a new key may look at for a bucket that is full again. */
const PROBES = 8

/**
 * Buckets of the overflow: a new key that finds no bucket full again takes
 * from the one its group hashes to (32 KiB, a Float64Array).
 */
const OVERFLOW_SLOTS = 4096

/** Options of the in-memory store. */
export interface MemoryRateLimitStoreOptions {
  /**
   * The clock, in milliseconds. The default, `performance.now()`, never
   * steps: a wall clock set back an hour would leave every budget spent for
   * that hour.
   */
  readonly now?: (() => number) | undefined
  /** Bound on the keys kept. @defaultValue MAX_BUCKETS */
  readonly maxBuckets?: number | undefined
  /**
   * The group a key shares its overflow budget with, when the table is full
   * (the IP policy: the key's /24 or /48). @defaultValue the key itself
   */
  readonly groupOf?: ((key: string) => string) | undefined
}

/**
 * A token bucket per key, in this process. Each bucket is one number, the
 * time at which it is full again (GCRA's "theoretical arrival time", the
 * same limit as a token bucket): at or before now it is full; an attempt
 * is let in while it is at most `burst` periods ahead, and moves it one
 * period on.
 *
 * At the bound, a new key may only take the place of a bucket that is full
 * again: such a bucket carries nothing a fresh one would not, so dropping
 * it gives no one a budget back. The map is in last-use order; a new key
 * looks at the least recently used keys, at most {@link PROBES} of them,
 * and a key not full yet is moved to the end, so the next new key looks at
 * others (a table only refuses a place while nearly all its keys were used
 * within their last period: a flood that keeps that up pays the rate of
 * every key it holds). When none of them is full again, the new key takes
 * from an overflow bucket shared by its group ({@link OVERFLOW_SLOTS} of
 * them, by a hash of the group): a flood of new networks from one /48
 * spends one of them, not every newcomer's. A key served from the overflow
 * is not remembered: it gets a bucket of its own once one can be dropped,
 * having taken no more than its overflow bucket let it.
 *
 * Memory: the keys (117 bytes each with the longest, MAX_BUCKETS) and the
 * overflow's 32 KiB.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #full = new Map<string, number>()
  readonly #now: () => number
  readonly #maxBuckets: number
  readonly #groupOf: (key: string) => string
  /** The overflow buckets' times full again. */
  readonly #overflow = new Float64Array(OVERFLOW_SLOTS).fill(-Infinity)

  constructor (options: MemoryRateLimitStoreOptions = {}) {
    this.#now = options.now ?? (() => performance.now())
    this.#maxBuckets = options.maxBuckets ?? MAX_BUCKETS
    this.#groupOf = options.groupOf ?? (key => key)
  }

  consume (key: string, limit: RateLimit): boolean {
    const now = this.#now()
    const period = 1000 / limit.perSecond
    // Slack for the sums of a period, which floating point may put a hair
    // past the burst: a billionth of the window, or of the clock's reading.
    const window = limit.burst * period + Math.max(limit.burst * period, Math.abs(now) * 1e-6) * 1e-9
    const known = this.#full.get(key)
    if (known === undefined && this.#full.size >= this.#maxBuckets && !this.#dropOneFull(now)) {
      const slot = slotOf(this.#groupOf(key))
      const next = Math.max(this.#overflow[slot] as number, now) + period
      if (next - now > window) return false
      this.#overflow[slot] = next
      return true
    }
    const from = known ?? now
    if (known !== undefined) this.#full.delete(key) // re-inserted below: the map stays in last-use order
    const next = Math.max(from, now) + period
    const allowed = next - now <= window
    this.#full.set(key, allowed ? next : from)
    return allowed
  }

  /**
   * Drops one of the least recently used keys whose bucket is full again;
   * the ones not full yet are moved to the end. @returns whether one was dropped.
   */
  #dropOneFull (now: number): boolean {
    const looked: Array<[string, number]> = []
    let dropped = false
    for (const entry of this.#full) {
      if (entry[1] <= now) {
        this.#full.delete(entry[0])
        dropped = true
        break
      }
      looked.push(entry)
      if (looked.length === PROBES) break
    }
    for (const [key, full] of looked) {
      this.#full.delete(key)
      this.#full.set(key, full)
    }
    return dropped
  }
}

/** FNV-1a of a key's UTF-16 units, to an overflow slot. */
function slotOf (group: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < group.length; i++) h = Math.imul(h ^ group.charCodeAt(i), 0x01000193)
  return (h >>> 0) % OVERFLOW_SLOTS
}
