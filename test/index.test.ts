// The public contract. It imports the package by name, so it checks the
// published declarations and code in dist/, augmentation included: the type
// tests below are checked by `tsc` in `npm test`, the runtime test is run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Client } from 'aedes'
import * as pkg from 'aedes-proxy-protocol'
import {
  proxyProtocol, withPlugins, type ConnDetails, type ProxyHeader, type ProxyProtocolOptions, type UnauthorizedAttempt,
  type UnauthorizedClient, type UnauthorizedClientsEvents
} from 'aedes-proxy-protocol'
import { Aedes } from 'aedes'
import { PP2_TYPE_SSL } from '../src/protocol/tlv.js'
import { PP2_TYPE_AWS } from '../src/protocol/tlvparse/cloud.js'

test('the package exports the plugin factories, the shared stores, withPlugins, the errors, the PP2_* constants, ' +
  'parseHeader, the listener names and their TBMQ variables, isAddressRange, logText and oncePerMinute, nothing else', () => {
  const names = Object.keys(pkg).sort()
  const constants = names.filter(n => n.startsWith('PP2_'))
  assert.deepEqual(names.filter(n => !n.startsWith('PP2_')), [
    'LISTENER_NAMES', 'OptionsError', 'PROXY_ERROR_CODES', 'ProxyProtocolError', 'UsageError',
    'ipPolicy', 'isAddressRange', 'listenerEnvName', 'listenerTrustedEnvName', 'logText', 'oncePerMinute', 'parseHeader',
    'proxyProtocol', 'rateLimiterStore', 'redisSessionStore', 'redisUnauthorizedStore',
    'sessions', 'unauthorizedClients', 'withPlugins'
  ])
  assert.ok(constants.length >= 20, `${constants.length} PP2_* constants`)
  assert.equal(pkg.PP2_TYPE_AWS, PP2_TYPE_AWS)
  assert.equal(pkg.PP2_TYPE_SSL, PP2_TYPE_SSL)
})

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T extends true> (): T | undefined { return undefined }

// The augmentation: client.connDetails is the plugin's type, optional.
export declare const client: Client
expectType<Equal<typeof client.connDetails, ConnDetails | null | undefined>>()

// The header narrows on `proxied`: addresses exist only on a proxied header.
export function narrow (header: ProxyHeader): void {
  if (header.proxied) {
    const port: number = header.source.port
    void port
  } else {
    // @ts-expect-error a header that is not proxied has no source address
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- @ts-expect-error's error has no type
    const port: number = header.source.port
    void port
  }
}

// Options: the input type users write.
const ok: ProxyProtocolOptions = { proxyEnabled: true, listeners: { tcp: { proxyEnabled: false }, ssl: {} } }
void ok
export function typos (): void {
  // @ts-expect-error proxyEnabled is a boolean
  proxyProtocol({ proxyEnabled: 'yes' })
  // @ts-expect-error there is no listener called mqtts
  proxyProtocol({ listeners: { mqtts: {} } })
}

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

// The unauthorized-clients plugin: 'refused' for every refused login (its
// attempt), 'unauthorized' for each stored entry.
expectType<Equal<UnauthorizedClientsEvents['refused'], [attempt: UnauthorizedAttempt]>>()
expectType<Equal<UnauthorizedClientsEvents['unauthorized'], [entry: UnauthorizedClient]>>()
export function unauthorizedEvents (list: ReturnType<typeof pkg.unauthorizedClients>): void {
  list.on('refused', attempt => {
    const reason: string = attempt.reason
    // @ts-expect-error an attempt is not an entry: it has no count
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- @ts-expect-error's error has no type
    const attempts: number = attempt.attempts
    void reason; void attempts
  })
}

// The shared stores take an ioredis client as it is typed, and a
// rate-limiter-flexible limiter.
export async function sharedStores (): Promise<void> {
  const { Redis } = await import('ioredis')
  const { RateLimiterRedis } = await import('rate-limiter-flexible')
  const redis = new Redis({ lazyConnect: true })
  pkg.redisUnauthorizedStore({ client: redis })
  pkg.redisSessionStore({ client: redis, node: 'node1' })
  pkg.rateLimiterStore(limit => new RateLimiterRedis({ storeClient: redis, points: limit.burst, duration: 1 }))
}
