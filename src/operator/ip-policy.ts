import type { Aedes } from 'aedes'
import { z } from 'zod'
import { authChain, type GateRefusal, type MaybePromise } from '../auth-chain.js'
import { addressMatcher, type AddressMatcher } from '../cidr.js'
import { parseOptions, UsageError } from '../errors.js'
import { AddressRange, numberIn } from '../options.js'
import type { AedesPlugin } from '../use.js'
import { canonicalAddress, unmappedIPv4 } from '../protocol/address.js'
import { clientIp } from './client-address.js'
import { MAX_BUCKETS, MemoryRateLimitStore, type RateLimit, type RateLimitStore } from './rate-limit.js'

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
  /** Where the budgets are kept. @defaultValue in this process, at most 100,000 addresses */
  store?: RateLimitStore | undefined
}

/** Why a client address was refused. */
export type IpRefusal = 'ip-denied' | 'ip-not-allowed' | 'rate-limited'

/**
 * Bounds of a rate limit. At least one attempt in about 11.6 days: the
 * shared limiter's window, ceil(burst / perSecond) seconds (README), stays a
 * whole number Redis can store (at most 10^12 s); at most a million attempts
 * a second, and at once, so a budget stays exact in a double.
 */
export const MIN_PER_SECOND = 0.000001
export const MAX_RATE = 1_000_000

export const Schema = z.strictObject({
  allow: z.array(AddressRange).optional(),
  deny: z.array(AddressRange).optional(),
  rateLimit: z.strictObject({
    perSecond: numberIn(MIN_PER_SECOND, MAX_RATE, 'attempts per second', false),
    burst: numberIn(1, MAX_RATE).optional()
  }).optional(),
  store: z.custom<RateLimitStore>(v => typeof (v as { consume?: unknown } | null)?.consume === 'function',
    { error: 'must be a rate-limit store with a consume(key, limit) method' }).optional()
})

const INSTALLED = Symbol.for('aedes-proxy-protocol.ip-policy')

/**
 * The IP policy plugin: before the broker's `authenticate`, the real client
 * address (`client.connDetails.ipAddress`, or the socket's peer on a broker
 * without the PROXY plugin) is checked against the deny and allow lists and
 * its rate limit. A refused client gets CONNACK return code 5, "not
 * authorized", and the unauthorized-clients list (when installed) records
 * why. With a rate limit, each call of `check()` counts as one attempt.
 */
export class IpPolicy implements AedesPlugin<IpPolicy> {
  readonly #deny: AddressMatcher | undefined
  readonly #allow: AddressMatcher | undefined
  readonly #limit: RateLimit | undefined
  readonly #store: RateLimitStore

  /**
   * @param now - the clock of the default store (tests)
   * @param maxBuckets - the bound of the default store (tests)
   * @throws OptionsError naming every bad key.
   */
  constructor (options: IpPolicyOptions = {}, now: () => number = Date.now, maxBuckets = MAX_BUCKETS) {
    const o = parseOptions(Schema, options, 'ipPolicy() options')
    this.#deny = o.deny === undefined ? undefined : addressMatcher(o.deny)
    this.#allow = o.allow === undefined ? undefined : addressMatcher(o.allow)
    this.#limit = o.rateLimit === undefined ? undefined : { perSecond: o.rateLimit.perSecond, burst: o.rateLimit.burst ?? Math.ceil(o.rateLimit.perSecond) }
    this.#store = o.store ?? new MemoryRateLimitStore(now, maxBuckets)
  }

  /**
   * @returns why the address is refused, or undefined when it may connect;
   *   a promise only when the store answers later.
   */
  check (address: string): MaybePromise<IpRefusal | undefined> {
    if (this.#deny?.(address) === true) return 'ip-denied'
    if (this.#allow !== undefined && !this.#allow(address)) return 'ip-not-allowed'
    if (this.#limit === undefined) return undefined
    const taken = this.#store.consume(bucketOf(address), this.#limit)
    return typeof taken === 'boolean'
      ? (taken ? undefined : 'rate-limited')
      : taken.then(ok => ok ? undefined : 'rate-limited')
  }

  /** Called by `broker.use()`. @throws UsageError when an IP policy is already installed on the broker. */
  install (broker: Aedes): this {
    const b = broker as Aedes & { [INSTALLED]?: true }
    if (b[INSTALLED] === true) throw new UsageError('an IP policy is already installed on this broker')
    Object.defineProperty(broker, INSTALLED, { value: true })
    // A client with no address at all (a stream that is not a socket) is
    // checked as '': no deny entry matches it, and an allow list refuses it.
    const refusal = (reason: IpRefusal | undefined): GateRefusal | undefined =>
      reason === undefined ? undefined : { refusedBy: reason === 'rate-limited' ? 'rate-limit' : 'ip-policy', reason }
    authChain(broker).gate(client => {
      const reason = this.check(clientIp(client))
      return typeof reason === 'object' ? reason.then(refusal) : refusal(reason)
    }, 'rate-limit') // only the rate limit's store can fail to answer
    return this
  }
}

/**
 * The rate-limit bucket of an address: one per client however it is written
 * (`::FFFF:10.1.2.3` from a dual-stack listener is `10.1.2.3`, as the lists
 * see it; `2001:DB8:0::1` is `2001:db8::1`), so no spelling of an address
 * gets a budget of its own. Text that is no address is its own bucket.
 */
function bucketOf (address: string): string {
  const canonical = canonicalAddress(address)
  if (canonical === undefined) return address
  return (canonical.family === 6 ? unmappedIPv4(canonical.address) : undefined) ?? canonical.address
}

/**
 * Creates the IP policy plugin: `broker.use(ipPolicy({ deny: ['203.0.113.0/24'] }))`.
 * @throws OptionsError naming every bad key.
 */
export function ipPolicy (options: IpPolicyOptions = {}): IpPolicy {
  return new IpPolicy(options)
}
