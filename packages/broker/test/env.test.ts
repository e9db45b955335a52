import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { LISTENER_NAMES, listenerEnvName, OptionsError, proxyProtocol, type ProxyProtocolOptions, type ResolvedOptions } from 'aedes-proxy-protocol'
import { operatorOptionsFromEnv, optionsFromEnv } from '../src/env.js'

/** The settings the PROXY plugin works out from these options, as `proxyProtocol()` validates them. */
function resolveOptions (options: ProxyProtocolOptions): ResolvedOptions {
  return proxyProtocol(options).settings
}

describe('optionsFromEnv (TBMQ variable names)', () => {
  test('TBMQ documentation example: global on, tcp off, ssl empty inherits', () => {
    const r = resolveOptions(optionsFromEnv({
      MQTT_PROXY_PROTOCOL_ENABLED: 'true',
      MQTT_TCP_PROXY_PROTOCOL_ENABLED: 'false',
      MQTT_SSL_PROXY_PROTOCOL_ENABLED: ''
    }))
    assert.equal(r.tcp.proxyEnabled, false)
    assert.equal(r.ssl.proxyEnabled, true)
    assert.equal(r.ws.proxyEnabled, true)
    assert.equal(r.wss.proxyEnabled, true)
  })
  test('MQTT_WS_FORWARD_HEADERS_ENABLED: a TBMQ boolean (true reads X-Forwarded-For) or the header to read', () => {
    const read = (value: string): ResolvedOptions['ws']['forwardedHeaders'] =>
      resolveOptions(optionsFromEnv({ MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: '127.0.0.9', MQTT_WS_FORWARD_HEADERS_ENABLED: value })).ws.forwardedHeaders
    assert.deepEqual(['true', 'on', 'false', '', 'x-forwarded-for', ' X-Real-IP '].map(read), ['x-forwarded-for', 'x-forwarded-for', false, false, 'x-forwarded-for', 'x-real-ip'])
    assert.equal(resolveOptions(optionsFromEnv({ MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: '127.0.0.9', MQTT_WSS_FORWARD_HEADERS_ENABLED: 'x-real-ip' })).wss.forwardedHeaders, 'x-real-ip')
  })
  test('nothing set: all off', () => {
    const r = resolveOptions(optionsFromEnv({}))
    assert.deepEqual(LISTENER_NAMES.map(n => r[n].proxyEnabled), [false, false, false, false])
  })
  const spellings = [
    ['true', true], ['TRUE', true], [' yes ', true], ['on', true], ['1', true],
    ['false', false], ['False', false], ['no', false], ['OFF', false], ['0', false]
  ] as const
  for (const [text, value] of spellings) {
    test(`accepts ${JSON.stringify(text)} as ${String(value)}, as Spring does`, () => {
      assert.equal(resolveOptions(optionsFromEnv({ MQTT_WS_PROXY_PROTOCOL_ENABLED: text })).ws.proxyEnabled, value)
    })
  }
  for (const name of ['MQTT_PROXY_PROTOCOL_ENABLED', ...LISTENER_NAMES.map(listenerEnvName)]) {
    test(`a bad ${name} fails naming the variable and the accepted values`, () => {
      assert.throws(() => optionsFromEnv({ [name]: 'maybe' }), (err: unknown) => {
        assert.ok(err instanceof OptionsError)
        assert.match(err.message, new RegExp(name))
        assert.match(err.message, /true\/false/)
        assert.equal(err.issues[0]?.path, name)
        return true
      })
    })
  }
})

describe('optionsFromEnv: optional mode and trusted proxies', () => {
  test('optional with a global trusted list; a listener list replaces it', () => {
    const r = resolveOptions(optionsFromEnv({
      MQTT_PROXY_PROTOCOL_ENABLED: 'optional',
      MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.1',
      MQTT_WS_PROXY_PROTOCOL_TRUSTED_PROXIES: 'fd00::/8',
      MQTT_SSL_PROXY_PROTOCOL_ENABLED: 'true'
    }))
    assert.equal(r.tcp.mode, 'optional')
    assert.deepEqual(r.tcp.trustedProxies, ['10.0.0.0/8', '192.0.2.1'])
    assert.deepEqual(r.ws.trustedProxies, ['fd00::/8'])
    assert.equal(r.ssl.mode, 'required')
  })
  test('optional without a trusted list fails, naming the setting', () => {
    assert.throws(() => resolveOptions(optionsFromEnv({ MQTT_TCP_PROXY_PROTOCOL_ENABLED: 'optional' })), (err: unknown) => {
      assert.ok(err instanceof OptionsError)
      assert.equal(err.issues[0]?.path, 'listeners.tcp.proxyEnabled')
      return true
    })
  })
  test('a bad list entry fails naming the variable and the entry', () => {
    assert.throws(() => optionsFromEnv({ MQTT_SSL_PROXY_PROTOCOL_TRUSTED_PROXIES: '10.0.0.0/8,lb.internal' }), (err: unknown) => {
      assert.ok(err instanceof OptionsError)
      assert.match(err.message, /MQTT_SSL_PROXY_PROTOCOL_TRUSTED_PROXIES/)
      assert.match(err.message, /"lb.internal"/)
      return true
    })
  })
  const badEnv = [
    { env: { MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT: '1.5' }, name: 'MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT' },
    { env: { MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT: '-3' }, name: 'MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT' },
    { env: { MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: ',' }, name: 'MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES' },
    { env: { MQTT_IP_RATE_BURST: '5' }, name: 'MQTT_IP_RATE_BURST' },
    { env: { MQTT_IP_RATE_LIMIT: 'fast' }, name: 'MQTT_IP_RATE_LIMIT' },
    { env: { MQTT_IP_RATE_LIMIT_IPV6_PREFIX: '48' }, name: 'MQTT_IP_RATE_LIMIT_IPV6_PREFIX' },
    { env: { MQTT_IP_RATE_LIMIT: '5', MQTT_IP_RATE_LIMIT_IPV4_PREFIX: '/24' }, name: 'MQTT_IP_RATE_LIMIT_IPV4_PREFIX' },
    { env: { MQTT_WS_FORWARD_HEADERS_ENABLED: 'optional' }, name: 'MQTT_WS_FORWARD_HEADERS_ENABLED' },
    { env: { MQTT_WSS_FORWARD_HEADERS_ENABLED: 'forwarded' }, name: 'MQTT_WSS_FORWARD_HEADERS_ENABLED' }
  ]
  for (const row of badEnv) {
    test(`${JSON.stringify(row.env)} fails naming ${row.name}`, () => {
      assert.throws(() => { optionsFromEnv(row.env); operatorOptionsFromEnv(row.env) }, (err: unknown) => err instanceof OptionsError && err.issues[0]?.path === row.name)
    })
  }
})

test('the rate limit\'s networks: MQTT_IP_RATE_LIMIT_IPV4_PREFIX and _IPV6_PREFIX are ipPolicy\'s ipv4Prefix and ipv6Prefix', () => {
  assert.deepEqual(operatorOptionsFromEnv({ MQTT_IP_RATE_LIMIT: '5', MQTT_IP_RATE_LIMIT_IPV4_PREFIX: '24', MQTT_IP_RATE_LIMIT_IPV6_PREFIX: '48' }).ipPolicy,
    { rateLimit: { perSecond: 5, ipv4Prefix: 24, ipv6Prefix: 48 } })
  assert.deepEqual(operatorOptionsFromEnv({ MQTT_IP_RATE_LIMIT: '5' }).ipPolicy, { rateLimit: { perSecond: 5 } }, 'unset: the defaults, /32 and /64')
})
