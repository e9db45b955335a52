// aedes' own proxy options: `trustProxy`, `trustedProxies` and
// `decodeProtocol` are in aedes' types (1.1.1 on) and every aedes version
// (0.51, 1.x, 2.x) stores them on the broker, but nothing in aedes reads
// them: a broker made with them trusts nobody and decodes nothing. The PROXY
// plugin tells whoever set them, once, when it is installed.
import type { AedesBroker } from './aedes-shape.js'
import type { Logger } from './options.js'

/** The code of the warning (`logger.warn`'s `code`, or the process warning's). */
export const AEDES_OPTIONS_WARNING = 'PROXY_WARN_AEDES_OPTIONS'

/** aedes' proxy options this broker was given a value for (aedes' defaults: false, [], null). */
export function aedesProxyOptions (broker: AedesBroker): string[] {
  const b = broker as AedesBroker & { trustProxy?: unknown, trustedProxies?: unknown, decodeProtocol?: unknown }
  const set: string[] = []
  if (b.trustProxy === true) set.push('trustProxy')
  if (Array.isArray(b.trustedProxies) && b.trustedProxies.length > 0) set.push('trustedProxies')
  if (typeof b.decodeProtocol === 'function') set.push('decodeProtocol')
  return set
}

/**
 * Warns when the broker was made with aedes' proxy options: through the
 * plugin's logger at `warn` when it has one, else as a process warning
 * (printed by Node on stderr), so that no one believes those options protect
 * them.
 */
export function warnAboutAedesProxyOptions (broker: AedesBroker, logger: Logger | undefined): void {
  const set = aedesProxyOptions(broker)
  if (set.length === 0) return
  const names = new Intl.ListFormat('en', { type: 'conjunction' }).format(set)
  const message = `this aedes broker was created with ${names}: aedes' own proxy options are read by nothing ` +
    'in aedes (0.51, 1.x or 2.x), so they neither trust a proxy nor decode a header. This plugin reads the ' +
    'PROXY header instead, from the peers you trust: proxyProtocol({ proxyEnabled, trustedProxies }) ' +
    '(per listener too), and puts the address in client.connDetails; remove them from the broker\'s options.'
  if (logger !== undefined) logger.warn({ code: AEDES_OPTIONS_WARNING, aedesOptions: set }, message)
  else process.emitWarning(message, { type: 'AedesProxyProtocolWarning', code: AEDES_OPTIONS_WARNING })
}
