// Type tests, checked by `tsc` in `npm test` (this file is compiled, not run).
// It imports the package by name, so it checks the published declarations in
// dist/, augmentation included.
import type { Client } from 'aedes'
import { proxyProtocol, withPlugins, type ConnDetails, type ProxyHeader, type ProxyProtocolOptions } from 'aedes-proxy-protocol'
import { Aedes } from 'aedes'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T extends true> (): T | undefined { return undefined }

// The augmentation: client.connDetails is the plugin's type, optional.
declare const client: Client
expectType<Equal<typeof client.connDetails, ConnDetails | null | undefined>>()

// The header narrows on `proxied`: addresses exist only on a proxied header.
declare const header: ProxyHeader
if (header.proxied) {
  const port: number = header.source.port
  void port
} else {
  // @ts-expect-error a header that is not proxied has no source address
  const port: number = header.source.port
  void port
}

// Options: the input type users write.
const ok: ProxyProtocolOptions = { proxyEnabled: true, listeners: { tcp: { proxyEnabled: false }, ssl: {} } }
void ok
// @ts-expect-error proxyEnabled is a boolean
proxyProtocol({ proxyEnabled: 'yes' })
// @ts-expect-error there is no listener called mqtts
proxyProtocol({ listeners: { mqtts: {} } })

// broker.use returns the plugin, typed.
export async function useIt (): Promise<void> {
  const broker = withPlugins(await Aedes.createBroker())
  const proxy = broker.use(proxyProtocol({ proxyEnabled: true }))
  proxy.on('rejected', (err, event) => {
    const code: `PROXY_ERR_${string}` = err.code
    const probe: boolean = event.probe
    void code; void probe
  })
  // @ts-expect-error there is no such event
  proxy.on('nonsense', () => {})
}
