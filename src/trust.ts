import net from 'node:net'
import type { ListenerSettings } from './options.js'
import { unmappedIPv4 } from './protocol/address.js'

// Who may send a header: the verdict per listener mode and peer, and the
// address matcher that says whether a peer is on trustedProxies (the IP
// policy's allow and deny lists use the same matcher).

/**
 * What a listener does with a new connection, before reading a byte: the
 * policies of go-proxyproto, named as the verbs they are.
 *
 * - `REQUIRE`: the connection must start with a header; it is parsed.
 * - `USE`: a header is parsed when one comes; a connection without one is
 *   handed over as it is.
 * - `REJECT`: the connection is handed over without a header, and one that
 *   starts with a header anyway is refused with `code`, unparsed.
 * - `IGNORE`: handed over without reading anything.
 * - `REFUSE`: closed before reading (a peer outside trustedProxies on a
 *   listener that requires a header).
 */
export type Verdict =
  | { readonly verb: 'REQUIRE' }
  | { readonly verb: 'USE' }
  | { readonly verb: 'REJECT', readonly code: 'PROXY_ERR_UNEXPECTED_HEADER' | 'PROXY_ERR_UNTRUSTED' }
  | { readonly verb: 'IGNORE' }
  | { readonly verb: 'REFUSE' }

const REQUIRE: Verdict = { verb: 'REQUIRE' }
const USE: Verdict = { verb: 'USE' }
const REJECT_UNTRUSTED: Verdict = { verb: 'REJECT', code: 'PROXY_ERR_UNTRUSTED' }
const REJECT_UNEXPECTED: Verdict = { verb: 'REJECT', code: 'PROXY_ERR_UNEXPECTED_HEADER' }
const IGNORE: Verdict = { verb: 'IGNORE' }
const REFUSE: Verdict = { verb: 'REFUSE' }

/**
 * Who may send a header (spec 2 and 5: configured, never guessed; headers
 * only from known sources), per listener mode and peer:
 *
 * | mode     | trusted peer | other peer                         |
 * | -------- | ------------ | ---------------------------------- |
 * | required | REQUIRE      | REFUSE                             |
 * | optional | USE          | REJECT (PROXY_ERR_UNTRUSTED)       |
 * | off      | REJECT (PROXY_ERR_UNEXPECTED_HEADER) with hints, else IGNORE |
 */
export function verdictFor (settings: ListenerSettings, trusted: boolean): Verdict {
  switch (settings.mode) {
    case 'required':
      return trusted ? REQUIRE : REFUSE
    case 'optional':
      return trusted ? USE : REJECT_UNTRUSTED
    case 'off':
      return settings.hints ? REJECT_UNEXPECTED : IGNORE
  }
}

/**
 * A peer whose address was gone before it could be checked (reset at once,
 * as HAProxy's health checks are): its bytes are read as on a listener that
 * requires a header, only to tell a health check (LOCAL, or nothing) from
 * anything else, never to believe an address.
 */
export const PEERLESS: Verdict = REQUIRE

// ------------------------------------------------------------------ the address matcher

/** Whether an address is on a list of addresses and CIDR ranges. */
export type AddressMatcher = (address: string) => boolean

/** Matches every address: an unset trusted list, where any peer may send a header. */
export const MATCH_ANY: AddressMatcher = () => true

/**
 * A matcher for a list of IPv4/IPv6 addresses and CIDR ranges (already
 * validated), built on `node:net`'s BlockList. An address that Node reports
 * as IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack listener sees)
 * matches an IPv4 entry, and the reverse (LavinMQ issue 2070 is this bug).
 * Shared by the trusted-proxy list and the IP policy's allow and deny lists.
 */
export function addressMatcher (entries: readonly string[]): AddressMatcher {
  const list = new net.BlockList()
  for (const entry of entries) {
    const slash = entry.indexOf('/')
    const address = slash < 0 ? entry : entry.slice(0, slash)
    const type = net.isIPv4(address) ? 'ipv4' : 'ipv6'
    if (slash < 0) list.addAddress(address, type)
    else list.addSubnet(address, Number(entry.slice(slash + 1)), type)
  }
  const check = (address: string): boolean => {
    if (net.isIPv4(address)) return list.check(address, 'ipv4') || list.check(`::ffff:${address}`, 'ipv6')
    if (!net.isIPv6(address)) return false
    if (list.check(address, 'ipv6')) return true
    const mapped = unmappedIPv4(address)
    return mapped !== undefined && list.check(mapped, 'ipv4')
  }
  // A check costs a few microseconds (BlockList makes a native SocketAddress
  // for each), on every connection, and the peers asked about are mostly the
  // same few (a trusted list is asked about the load balancers): the answers
  // are kept, up to CACHE_SIZE addresses, then forgotten all at once.
  // Bench: variant pp-rec-v1 (bench/paired.ts: trustedProxies, the README's recommended configuration).
  const known = new Map<string, boolean>()
  return (address: string): boolean => {
    const cached = known.get(address)
    if (cached !== undefined) return cached
    const answer = check(address)
    // Only what can be an address is kept (45 characters: the longest IPv6
    // text, IPv4-mapped); a caller passing other strings gets no cache.
    if (address.length <= 45) {
      if (known.size >= CACHE_SIZE) known.clear()
      known.set(address, answer)
    }
    return answer
  }
}

/** Addresses whose answer a matcher keeps (a few tens of kilobytes at most). */
const CACHE_SIZE = 1024
