import net from 'node:net'
import { unmappedIPv4 } from './protocol/address.js'

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
