import net from 'node:net'
import type { ListenerSettings } from './options.js'

/** Decides whether a peer is one of the trusted proxies. */
export type TrustCheck = (address: string) => boolean

const TRUST_ANYONE: TrustCheck = () => true

/**
 * Builds a matcher for a `trustedProxies` list with `node:net`'s BlockList.
 * A peer that Node reports as IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a
 * dual-stack listener sees) matches an IPv4 entry, and the reverse (LavinMQ
 * issue 2070 is this bug).
 */
export function trustCheck (trustedProxies: readonly string[] | undefined): TrustCheck {
  if (trustedProxies === undefined) return TRUST_ANYONE
  const list = new net.BlockList()
  for (const entry of trustedProxies) {
    const slash = entry.indexOf('/')
    const address = slash < 0 ? entry : entry.slice(0, slash)
    const type = net.isIPv4(address) ? 'ipv4' : 'ipv6'
    if (slash < 0) list.addAddress(address, type)
    else list.addSubnet(address, Number(entry.slice(slash + 1)), type)
  }
  return (peer: string): boolean => {
    if (net.isIPv4(peer)) return list.check(peer, 'ipv4') || list.check(`::ffff:${peer}`, 'ipv6')
    if (!net.isIPv6(peer)) return false
    if (list.check(peer, 'ipv6')) return true
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(peer)
    return mapped !== null && list.check(mapped[1] as string, 'ipv4')
  }
}

/** What to do with a new connection on a listener, before reading anything. */
export type Admission =
  /** hand the connection over without reading */
  | { readonly action: 'pass' }
  /** close it now: a peer outside trustedProxies on a listener that requires a header */
  | { readonly action: 'refuse' }
  /** read the first bytes, with these rules */
  | { readonly action: 'read', readonly absent: 'fail' | 'pass', readonly present: 'parse' | 'PROXY_ERR_UNEXPECTED_HEADER' | 'PROXY_ERR_UNTRUSTED' }

/**
 * The policy (spec 2 and 5: configured, never guessed; headers only from
 * known sources), per listener mode and peer:
 *
 * | mode     | trusted peer                       | other peer                              |
 * | -------- | ---------------------------------- | --------------------------------------- |
 * | required | header required                    | refused before reading                  |
 * | optional | header used if present             | direct only; a header is refused        |
 * | off      | direct; a header is refused (hint) | direct; a header is refused (hint)      |
 */
export function admit (settings: ListenerSettings, trusted: boolean): Admission {
  switch (settings.mode) {
    case 'required':
      return trusted ? READ_REQUIRED : REFUSE
    case 'optional':
      return trusted ? READ_OPTIONAL : READ_UNTRUSTED
    case 'off':
      return settings.hints ? READ_OFF : PASS
  }
}

const PASS: Admission = { action: 'pass' }
const REFUSE: Admission = { action: 'refuse' }
const READ_REQUIRED: Admission = { action: 'read', absent: 'fail', present: 'parse' }
const READ_OPTIONAL: Admission = { action: 'read', absent: 'pass', present: 'parse' }
const READ_UNTRUSTED: Admission = { action: 'read', absent: 'pass', present: 'PROXY_ERR_UNTRUSTED' }
const READ_OFF: Admission = { action: 'read', absent: 'pass', present: 'PROXY_ERR_UNEXPECTED_HEADER' }
/**
 * A peer whose address was gone before it could be checked (reset at once,
 * as HAProxy's health checks are): its bytes are read only to tell a health
 * check (LOCAL, or nothing) from anything else, never to believe an address.
 */
export const READ_PEERLESS: Admission = READ_REQUIRED
