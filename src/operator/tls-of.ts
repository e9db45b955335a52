import type { ConnDetails } from '../conn-details.js'

/** Where TLS was: terminated here (`broker`), at the proxy (`proxy`, from the SSL TLV), or nowhere. */
export type TlsAt = 'broker' | 'proxy' | false

export function tlsOf (d: ConnDetails | null | undefined): TlsAt {
  if (d?.isTls === true) return 'broker'
  if (d?.proxy?.tlvs.ssl?.clientSsl === true) return 'proxy'
  return false
}
