import type { ListenerSettings } from './options.js'

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
