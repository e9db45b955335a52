import { trustCheck, type TrustCheck } from './policy.js'

/** Allow and deny lists and a per-address connection rate, on the real client address. */
export interface IpPolicyOptions {
  /** Only these addresses and CIDR ranges may connect (unset: everyone not denied). */
  allow?: string[] | undefined
  /** These addresses and CIDR ranges may not connect; checked before `allow`. */
  deny?: string[] | undefined
  /** A token bucket per client address. */
  rateLimit?: {
    /** Connection attempts per second, refilled continuously. */
    perSecond: number
    /** Attempts allowed at once. @defaultValue `ceil(perSecond)` */
    burst?: number | undefined
  } | undefined
}

/** Why a client address was refused. */
export type IpRefusal = 'ip-denied' | 'ip-not-allowed' | 'rate-limited'

interface Bucket { tokens: number, at: number }

/**
 * Bound on the addresses tracked by the rate limiter (memory under a flood
 * of sources): about 150 bytes each, so about 15 MB at the bound.
 */
export const MAX_BUCKETS = 100_000

/**
 * Decides, from the real client address, whether a connection may go on to
 * authentication.
 */
export class IpPolicy {
  readonly #deny: TrustCheck | undefined
  readonly #allow: TrustCheck | undefined
  readonly #rate: number
  readonly #burst: number
  readonly #buckets = new Map<string, Bucket>()
  readonly #now: () => number
  readonly #maxBuckets: number

  constructor (options: IpPolicyOptions, now: () => number = Date.now, maxBuckets = MAX_BUCKETS) {
    this.#maxBuckets = maxBuckets
    this.#deny = options.deny === undefined ? undefined : trustCheck(options.deny)
    this.#allow = options.allow === undefined ? undefined : trustCheck(options.allow)
    this.#rate = options.rateLimit?.perSecond ?? 0
    this.#burst = options.rateLimit?.burst ?? Math.ceil(this.#rate)
    this.#now = now
  }

  /** @returns why the address is refused, or undefined when it may connect. */
  check (address: string): IpRefusal | undefined {
    if (this.#deny?.(address) === true) return 'ip-denied'
    if (this.#allow !== undefined && !this.#allow(address)) return 'ip-not-allowed'
    if (this.#rate > 0 && !this.#take(address)) return 'rate-limited'
    return undefined
  }

  #take (address: string): boolean {
    const now = this.#now()
    let bucket = this.#buckets.get(address)
    if (bucket === undefined) {
      // The map is in last-use order: the first address is the least recently
      // used one, and dropping it is O(1), whatever the map holds.
      if (this.#buckets.size >= this.#maxBuckets) this.#evictOldest()
      bucket = { tokens: this.#burst, at: now }
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate)
      bucket.at = now
      this.#buckets.delete(address) // re-inserted below: the map stays in last-use order
    }
    this.#buckets.set(address, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Forgets the least recently used address (a forgotten one starts again with a full bucket). */
  #evictOldest (): void {
    const oldest = this.#buckets.keys().next()
    if (oldest.done !== true) this.#buckets.delete(oldest.value)
  }
}
