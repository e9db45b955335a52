import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { OptionsError } from '../src/errors.js'
import { proxyProtocol } from '../src/plugin.js'
import type { z } from 'zod'
import { resolveOptions, isAddressRange, LISTENER_NAMES, MAX_TIMER_MS, OptionsSchema } from '../src/options.js'
import { ipPolicy, Schema as IpPolicySchema } from '../src/operator/ip-policy.js'
import { rateLimiterStore, Schema as RateLimiterStoreSchema } from '../src/operator/rate-limiter-store.js'
import { redisSessionStore, Schema as RedisSessionStoreSchema } from '../src/operator/redis-session-store.js'
import { redisUnauthorizedStore, Schema as RedisUnauthorizedStoreSchema } from '../src/operator/redis-unauthorized-store.js'
import { sessions, Schema as SessionsSchema } from '../src/operator/sessions.js'
import { unauthorizedClients, Schema as UnauthorizedSchema } from '../src/operator/unauthorized.js'

describe('resolveOptions', () => {
  test('defaults: PROXY off everywhere, 5 s timeout, 4096-byte v2 cap', () => {
    const r = resolveOptions({})
    for (const name of LISTENER_NAMES) {
      assert.deepEqual(r[name], { mode: 'off', proxyEnabled: false, trustedProxies: undefined, headerTimeout: 5000, maxV2Length: 4096, maxPending: 1000, sslCnAsUsername: false, hints: true, forwardedHeaders: false })
    }
  })
  test('unset listener settings inherit the global ones; set ones take precedence', () => {
    const r = resolveOptions({ proxyEnabled: true, headerTimeout: 3000, listeners: { tcp: { proxyEnabled: false }, ws: { headerTimeout: 1000 } } })
    assert.equal(r.tcp.proxyEnabled, false)
    assert.equal(r.ssl.proxyEnabled, true)
    assert.equal(r.ws.proxyEnabled, true)
    assert.equal(r.ws.headerTimeout, 1000)
    assert.equal(r.wss.headerTimeout, 3000)
  })
  test('forwardedHeaders: true is X-Forwarded-For; X-Real-IP only when named; anything else is an error', () => {
    const r = resolveOptions({ trustedProxies: ['127.0.0.9'], listeners: { ws: { forwardedHeaders: true }, wss: { forwardedHeaders: 'x-real-ip' } } })
    assert.equal(r.ws.forwardedHeaders, 'x-forwarded-for')
    assert.equal(r.wss.forwardedHeaders, 'x-real-ip')
    assert.throws(() => resolveOptions({ trustedProxies: ['127.0.0.9'], listeners: { ws: { forwardedHeaders: 'X-Real-IP' } } }),
      (err: unknown) => err instanceof OptionsError && err.issues[0]?.path === 'listeners.ws.forwardedHeaders' && /'x-real-ip'/.test(err.issues[0].message))
  })
  test('global off, one listener on', () => {
    const r = resolveOptions({ listeners: { ssl: { proxyEnabled: true } } })
    assert.deepEqual(LISTENER_NAMES.map(n => r[n].proxyEnabled), [false, true, false, false])
  })
  const bad = [
    { name: 'unknown top-level key (typo)', input: { proxyEnable: true }, path: 'proxyEnable' },
    { name: 'unknown listener', input: { listeners: { mqtts: {} } }, path: 'listeners.mqtts' },
    { name: 'unknown listener key', input: { listeners: { tcp: { enabled: true } } }, path: 'listeners.tcp.enabled' },
    { name: 'string instead of boolean', input: { proxyEnabled: 'true' }, path: 'proxyEnabled' },
    { name: 'zero timeout', input: { headerTimeout: 0 }, path: 'headerTimeout' },
    { name: 'fractional timeout', input: { headerTimeout: 1.5 }, path: 'headerTimeout' },
    { name: 'v2 cap below a UNIX address block', input: { maxV2Length: 100 }, path: 'maxV2Length' },
    { name: 'v2 cap above 16 bits', input: { maxV2Length: 70000 }, path: 'maxV2Length' },
    { name: 'listener timeout not a number', input: { listeners: { ws: { headerTimeout: '5s' } } }, path: 'listeners.ws.headerTimeout' }
  ]
  for (const row of bad) {
    test(`rejects ${row.name} with an OptionsError naming the key`, () => {
      assert.throws(() => resolveOptions(row.input), (err: unknown) => {
        assert.ok(err instanceof OptionsError)
        assert.equal(err.code, 'PROXY_ERR_OPTIONS')
        assert.ok(err.issues.some(i => i.path === row.path), `issues: ${JSON.stringify(err.issues)}`)
        return true
      })
    })
  }
  test('proxyProtocol() validates synchronously, before anything listens', () => {
    assert.throws(() => proxyProtocol({ trustedProxy: ['10.0.0.1'] } as never), OptionsError)
  })
})

describe('trustedProxies in code', () => {
  test('trustedProxies in code: addresses and CIDRs of both families; anything else is refused', () => {
    assert.doesNotThrow(() => resolveOptions({ trustedProxies: ['10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'] }))
    assert.throws(() => resolveOptions({ trustedProxies: [] }), OptionsError)
    assert.throws(() => resolveOptions({ trustedProxies: ['10.0.0.0/33'] }), OptionsError)
    assert.throws(() => resolveOptions({ trustedProxies: ['localhost'] }), OptionsError)
  })
})

// The ready-to-run broker checks its address-list variables with it.
test('isAddressRange: addresses and CIDR ranges of both families, as the plugins\' lists accept them', () => {
  const ok = ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8', '::ffff:10.0.0.0/104', '2001:db8::/128']
  for (const entry of ok) assert.equal(isAddressRange(entry), true, entry)
  const bad = ['', 'lb.internal', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/08', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.256', '::1/-1',
    'fe80::1%eth0', 'fe80::%eth0/64']
  for (const entry of bad) assert.equal(isAddressRange(entry), false, entry)
  for (const entry of ['10.0.0.0/8', 'fd00::/8', 'lb.internal', '10.0.0.0/33', 'fe80::1%eth0']) {
    let plugin = true
    try { proxyProtocol({ trustedProxies: [entry] }) } catch { plugin = false }
    assert.equal(isAddressRange(entry), plugin, `${entry}: isAddressRange and the plugin's trustedProxies agree`)
  }
})

// Every numeric option of the library has a minimum and a maximum that the
// code can honour (issue 22): found by walking the options' schemas, so a new
// numeric option without both bounds fails here. Each is checked through its
// factory: min and max accepted, min - 1 and max + 1 an OptionsError naming it.
/** A Redis client that answers every script with nothing: enough to build a store. */
const redis = { eval: async () => await Promise.resolve(null) }
const limiter = { consume: async () => await Promise.resolve({}) }

const factories: ReadonlyArray<{ name: string, schema: z.ZodType, make: (options: Record<string, unknown>) => unknown, base?: Record<string, unknown> }> = [
  { name: 'proxyProtocol', schema: OptionsSchema, make: o => proxyProtocol(o) },
  { name: 'ipPolicy', schema: IpPolicySchema, make: o => ipPolicy(o), base: { rateLimit: { perSecond: 1 } } },
  { name: 'rateLimiterStore', schema: RateLimiterStoreSchema, make: o => rateLimiterStore(limiter, o) },
  { name: 'redisSessionStore', schema: RedisSessionStoreSchema, make: o => redisSessionStore(o as never), base: { client: redis, node: 'n1' } },
  { name: 'redisUnauthorizedStore', schema: RedisUnauthorizedStoreSchema, make: o => redisUnauthorizedStore(o as never), base: { client: redis } },
  { name: 'sessions', schema: SessionsSchema, make: o => sessions(o) },
  { name: 'unauthorizedClients', schema: UnauthorizedSchema, make: o => unauthorizedClients(o) }
]

interface NumberLeaf { readonly path: string[], readonly min: number, readonly max: number, readonly integer: boolean }

/** Every number in `schema`, through objects, optionals and defaults, with its bounds. */
function numbers (schema: z.ZodType, path: string[] = []): NumberLeaf[] {
  const def = (schema as unknown as { _zod: { def: { type: string, innerType?: z.ZodType, shape?: Record<string, z.ZodType> } } })._zod.def
  if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') return numbers(def.innerType as z.ZodType, path)
  if (def.type === 'object') return Object.entries(def.shape ?? {}).flatMap(([key, s]) => numbers(s, [...path, key]))
  if (def.type !== 'number') return []
  const n = schema as unknown as { minValue: number | null, maxValue: number | null, isInt: boolean }
  return [{ path, min: n.minValue ?? -Infinity, max: n.maxValue ?? Infinity, integer: n.isInt }]
}

/** `base` with `value` at `path`, the objects on the way made. */
function withValue (base: Record<string, unknown>, path: string[], value: number): Record<string, unknown> {
  const out = { ...base }
  let at = out
  for (const key of path.slice(0, -1)) {
    const next = { ...(at[key] as Record<string, unknown> | undefined) }
    at[key] = next
    at = next
  }
  at[path.at(-1) as string] = value
  return out
}

async function settle (made: unknown): Promise<void> {
  await (made as { close?: () => Promise<void> } | undefined)?.close?.()
}

for (const f of factories) {
  const leaves = numbers(f.schema)
  test(`${f.name}: every numeric option has a finite minimum and maximum`, () => {
    assert.ok(leaves.length > 0, 'its schema has numeric options')
    for (const leaf of leaves) {
      assert.ok(Number.isFinite(leaf.min) && Number.isFinite(leaf.max), `${leaf.path.join('.')}: ${leaf.min}..${leaf.max}`)
      // Milliseconds become timers: at most what setTimeout honours.
      if (/timeout|interval|ttl/i.test(leaf.path.at(-1) ?? '')) assert.ok(leaf.max <= MAX_TIMER_MS, `${leaf.path.join('.')} at most ${MAX_TIMER_MS}`)
    }
  })
  for (const leaf of leaves) {
    const path = leaf.path.join('.')
    test(`${f.name} ${path}: ${leaf.min} and ${leaf.max} accepted; ${leaf.min - 1} and ${leaf.max + 1} refused naming it`, async () => {
      for (const ok of [leaf.min, leaf.max]) await settle(f.make(withValue(f.base ?? {}, leaf.path, ok)))
      for (const bad of [leaf.min - 1, leaf.max + 1, ...(leaf.integer ? [leaf.min + 0.5] : [])]) {
        assert.throws(() => f.make(withValue(f.base ?? {}, leaf.path, bad)), (err: unknown) => {
          assert.ok(err instanceof OptionsError, String(err))
          assert.equal(err.issues[0]?.path, path, err.message)
          return true
        }, `${path} = ${bad}`)
      }
    })
  }
}
