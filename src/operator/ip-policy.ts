import type { AedesBroker } from '../aedes-shape.js'
import { z } from 'zod'
import { authChain, type GateRefusal, type MaybePromise } from '../auth-chain.js'
import { addressMatcher, type AddressMatcher } from '../trust.js'
import { parseOptions } from '../errors.js'
import { AddressRange, numberIn, withMethods } from '../options.js'
import { installOnce, type AedesPlugin } from '../use.js'
import { formatIPv4, formatIPv6, isMappedIPv4, parseIPv4, parseIPv6 } from '../protocol/address.js'
import { REASON_CODE } from '../v5-refusal.js'
import { clientIp } from './client-address.js'
import { MAX_BUCKETS, MemoryRateLimitStore, type RateLimit, type RateLimitStore } from './rate-limit.js'

/** Allow and deny lists and a connection rate per client network, on the real client address. */
export interface IpPolicyOptions {
  /** Only these addresses and CIDR ranges may connect (unset: everyone not denied). */
  allow?: string[] | undefined
  /** These addresses and CIDR ranges may not connect; checked before `allow`. */
  deny?: string[] | undefined
  /** A token bucket per client network: an IPv4 address, an IPv6 /64 (one customer's, whatever address it takes). */
  rateLimit?: {
    /** Connection attempts per second, refilled continuously. */
    perSecond: number
    /** Attempts allowed at once. @defaultValue `ceil(perSecond)` */
    burst?: number | undefined
    /** IPv4 addresses sharing a budget: the network's prefix length, 16 to 32. @defaultValue 32 (one per address) */
    ipv4Prefix?: number | undefined
    /** IPv6 addresses sharing a budget: the network's prefix length, 32 to 128. @defaultValue 64 */
    ipv6Prefix?: number | undefined
  } | undefined
  /** Where the budgets are kept. @defaultValue in this process, at most 100,000 networks */
  store?: RateLimitStore | undefined
}

/** Why a client address was refused. */
export type IpRefusal = 'ip-denied' | 'ip-not-allowed' | 'rate-limited'

/** A prefix length from `min` to `max` bits, with one message for every way to miss. */
function prefixLength (min: number, max: number): z.ZodInt {
  const error = `must be a whole number from ${min} to ${max}`
  return z.int({ error }).min(min, { error }).max(max, { error })
}

/**
 * Bounds of a rate limit. At least one attempt in about 11.6 days: the
 * shared limiter's window, ceil(burst / perSecond) seconds (docs/load-balancers.md, "Scaling out"), stays a
 * whole number Redis can store (at most 10^12 s); at most a million attempts
 * a second, and at once (a period of a microsecond, which the in-memory
 * store's monotonic clock resolves).
 */
export const MIN_PER_SECOND = 0.000001
export const MAX_RATE = 1_000_000

export const Schema = z.strictObject({
  allow: z.array(AddressRange).optional(),
  deny: z.array(AddressRange).optional(),
  rateLimit: z.strictObject({
    perSecond: numberIn(MIN_PER_SECOND, MAX_RATE, 'attempts per second', false),
    burst: numberIn(1, MAX_RATE).optional(),
    ipv4Prefix: prefixLength(16, 32).optional(),
    ipv6Prefix: prefixLength(32, 128).optional()
  }).optional(),
  store: withMethods<RateLimitStore>(['consume'], 'must be a rate-limit store with a consume(key, limit) method')
    .optional()
})

/**
 * The IP policy plugin: before the broker's `authenticate`, the real client
 * address (`client.connDetails.ipAddress`, or the socket's peer on a broker
 * without the PROXY plugin) is checked against the deny and allow lists and
 * its rate limit. A refused client gets CONNACK return code 5, "not
 * authorized" (an MQTT 5 client on aedes 2: 0x8A "Banned" from the lists,
 * 0x9F "Connection rate exceeded" from the rate limit, 0x88 "Server
 * unavailable" when the store cannot answer), and the unauthorized-clients
 * list (when installed) records why. With a rate limit, each call of
 * `check()` counts as one attempt.
 */
export class IpPolicy implements AedesPlugin<IpPolicy> {
  readonly #deny: AddressMatcher | undefined
  readonly #allow: AddressMatcher | undefined
  readonly #limit: RateLimit | undefined
  readonly #ipv4Prefix: number
  readonly #ipv6Prefix: number
  readonly #store: RateLimitStore

  /**
   * @param now - the clock of the default store (tests)
   * @param maxBuckets - the bound of the default store (tests)
   * @throws OptionsError naming every bad key.
   */
  constructor (options: IpPolicyOptions = {}, now: () => number = () => performance.now(), maxBuckets = MAX_BUCKETS) {
    const o = parseOptions(Schema, options, 'ipPolicy() options')
    this.#deny = o.deny === undefined ? undefined : addressMatcher(o.deny)
    this.#allow = o.allow === undefined ? undefined : addressMatcher(o.allow)
    const rate = o.rateLimit
    this.#limit = rate === undefined
      ? undefined
      : { perSecond: rate.perSecond, burst: rate.burst ?? Math.ceil(rate.perSecond) }
    this.#ipv4Prefix = o.rateLimit?.ipv4Prefix ?? 32
    this.#ipv6Prefix = o.rateLimit?.ipv6Prefix ?? 64
    // A key that finds the table full shares an overflow budget with its /24 or /48 (or narrower network).
    const v4 = Math.min(this.#ipv4Prefix, 24)
    const v6 = Math.min(this.#ipv6Prefix, 48)
    const groupOf = (key: string): string => networkOf(key.replace(/\/\d+$/, ''), v4, v6)
    this.#store = o.store ?? new MemoryRateLimitStore({ now, maxBuckets, groupOf })
  }

  /**
   * @returns why the address is refused, or undefined when it may connect;
   *   a promise only when the store answers later.
   */
  check (address: string): MaybePromise<IpRefusal | undefined> {
    if (this.#deny?.(address) === true) return 'ip-denied'
    if (this.#allow !== undefined && !this.#allow(address)) return 'ip-not-allowed'
    if (this.#limit === undefined) return undefined
    const taken = this.#store.consume(networkOf(address, this.#ipv4Prefix, this.#ipv6Prefix), this.#limit)
    return typeof taken === 'boolean'
      ? (taken ? undefined : 'rate-limited')
      : taken.then(ok => ok ? undefined : 'rate-limited')
  }

  /** Called by `broker.use()`. @throws UsageError when an IP policy is already installed on the broker. */
  install (broker: AedesBroker): this {
    installOnce(broker, 'ip-policy', 'an IP policy is already installed on this broker')
    // A client with no address at all (a stream that is not a socket) is
    // checked as '': no deny entry matches it, and an allow list refuses it.
    const refusal = (reason: IpRefusal | undefined): GateRefusal | undefined => reason === undefined
      ? undefined
      : reason === 'rate-limited'
        ? { refusedBy: 'rate-limit', reason, reasonCode: REASON_CODE.connectionRateExceeded }
        : { refusedBy: 'ip-policy', reason, reasonCode: REASON_CODE.banned }
    authChain(broker).gate(client => {
      const reason = this.check(clientIp(client))
      return typeof reason === 'object' ? reason.then(refusal) : refusal(reason)
    }, 'rate-limit') // only the rate limit's store can fail to answer
    return this
  }
}

/**
 * The rate-limit bucket of an address: its network, as canonical text. One
 * host holds a whole IPv6 /64 (what an ISP gives one customer, 2^64
 * addresses), so a budget per IPv6 address never limits it; IPv4 is by
 * address unless `ipv4Prefix` says otherwise. A network whose prefix is the
 * whole address is the address alone (`10.1.2.3`), others are written
 * `2001:db8:1:2::/64`, `10.1.2.0/24`. An address written any way gets the
 * same key (`::FFFF:10.1.2.3` from a dual-stack listener is IPv4
 * `10.1.2.3`, as the lists see it; `2001:DB8:0::1` is `2001:db8::1`). Text
 * that is no address is its own bucket.
 */
function networkOf (zoned: string, ipv4Prefix: number, ipv6Prefix: number): string {
  // A link-local peer comes with its zone (fe80::1%eth0): one host, whichever interface.
  const zone = zoned.indexOf('%')
  const address = zone === -1 ? zoned : zoned.slice(0, zone)
  let bytes = parseIPv4(address)
  let offset = 0
  let bits = ipv4Prefix
  if (bytes === undefined) {
    bytes = parseIPv6(address)
    if (bytes === undefined) return address
    if (isMappedIPv4(bytes)) offset = 12
    else bits = ipv6Prefix
  }
  const width = (bytes.length - offset) * 8
  if (bits < width) {
    const at = offset + (bits >> 3)
    if ((bits & 7) !== 0) bytes[at] = (bytes[at] as number) & (0xff00 >> (bits & 7))
    bytes.fill(0, at + ((bits & 7) !== 0 ? 1 : 0))
  }
  const text = width === 32 ? formatIPv4(bytes, offset) : formatIPv6(bytes, 0)
  // The formatters join table strings: V8 keeps such text as a rope of its
  // pieces, which a store's map would hold whole (176 bytes an entry for an
  // IPv6 key, measured). toLowerCase() of this lower-case text is a flat
  // copy, the same characters in one piece (91 bytes).
  return (bits < width ? `${text}/${bits}` : text).toLowerCase()
}

/**
 * Creates the IP policy plugin: `broker.use(ipPolicy({ deny: ['203.0.113.0/24'] }))`.
 * @throws OptionsError naming every bad key.
 */
export function ipPolicy (options: IpPolicyOptions = {}): IpPolicy {
  return new IpPolicy(options)
}
