import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { OptionsError } from '../src/errors.js'
import { proxyProtocol } from '../src/plugin.js'
import { resolveOptions, LISTENER_NAMES } from '../src/options.js'

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
