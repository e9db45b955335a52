import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { Aedes } from 'aedes'
import { OptionsError, optionsFromEnv, proxyProtocol, resolveOptions, withPlugins, LISTENER_NAMES, listenerEnvName } from '../../src/index.js'

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
  test('global off, one listener on', () => {
    const r = resolveOptions({ listeners: { ssl: { proxyEnabled: true } } })
    assert.deepEqual(LISTENER_NAMES.map(n => r[n].proxyEnabled), [false, true, false, false])
  })
  const bad = [
    { name: 'unknown top-level key (typo)', input: { proxyEnable: true }, path: '(options)' },
    { name: 'unknown listener', input: { listeners: { mqtts: {} } }, path: 'listeners' },
    { name: 'unknown listener key', input: { listeners: { tcp: { enabled: true } } }, path: 'listeners.tcp' },
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
  test('nothing set: all off', () => {
    const r = resolveOptions(optionsFromEnv({}))
    assert.deepEqual(LISTENER_NAMES.map(n => r[n].proxyEnabled), [false, false, false, false])
  })
  const spellings = [
    ['true', true], ['TRUE', true], [' yes ', true], ['on', true], ['1', true],
    ['false', false], ['False', false], ['no', false], ['OFF', false], ['0', false]
  ] as const
  for (const [text, value] of spellings) {
    test(`accepts ${JSON.stringify(text)} as ${value}, as Spring does`, () => {
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
    { env: { MQTT_WS_FORWARD_HEADERS_ENABLED: 'optional' }, name: 'MQTT_WS_FORWARD_HEADERS_ENABLED' }
  ]
  for (const row of badEnv) {
    test(`${JSON.stringify(row.env)} fails naming ${row.name}`, () => {
      assert.throws(() => optionsFromEnv(row.env), (err: unknown) => err instanceof OptionsError && err.issues[0]?.path === row.name)
    })
  }
  test('trustedProxies in code: addresses and CIDRs of both families; anything else is refused', () => {
    assert.doesNotThrow(() => resolveOptions({ trustedProxies: ['10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'] }))
    assert.throws(() => resolveOptions({ trustedProxies: [] }), OptionsError)
    assert.throws(() => resolveOptions({ trustedProxies: ['10.0.0.0/33'] }), OptionsError)
    assert.throws(() => resolveOptions({ trustedProxies: ['localhost'] }), OptionsError)
  })
})

describe('withPlugins / broker.use', () => {
  test('gives an existing broker a use() that installs the plugin and returns it', async () => {
    const broker = await Aedes.createBroker()
    try {
      const original = broker.handle
      const pluggable = withPlugins(broker)
      assert.equal(pluggable, broker)
      const proxy = pluggable.use(proxyProtocol({ proxyEnabled: true }))
      assert.equal(proxy.listener('tcp').proxyEnabled, true)
      assert.notEqual(broker.handle, original, 'broker.handle is wrapped')
      assert.equal(Object.keys(broker).includes('use'), false, 'use is not enumerable')
      assert.throws(() => pluggable.use(proxyProtocol()), /already installed/)
    } finally {
      await new Promise<void>(resolve => broker.close(() => resolve()))
    }
  })
  test('one plugin instance cannot serve two brokers', async () => {
    const a = withPlugins(await Aedes.createBroker())
    const b = withPlugins(await Aedes.createBroker())
    try {
      const plugin = proxyProtocol()
      a.use(plugin)
      assert.throws(() => b.use(plugin), /another broker/)
    } finally {
      await new Promise<void>(resolve => a.close(() => resolve()))
      await new Promise<void>(resolve => b.close(() => resolve()))
    }
  })
})
