import { test } from 'node:test'
import assert from 'node:assert/strict'
import { nearest, OptionsError, PREFIX, show, UsageError } from '../src/errors.js'
import { resolveOptions } from '../src/options.js'
import { ProxyProtocolError } from '../src/protocol/errors.js'

function issues (input: unknown): Array<{ path: string, message: string }> {
  try {
    resolveOptions(input)
  } catch (err) {
    assert.ok(err instanceof OptionsError)
    return err.issues.map(i => ({ path: i.path, message: i.message }))
  }
  return assert.fail('accepted')
}

test('option errors in plain words, each echoing the value given', () => {
  assert.deepEqual(issues({ headerTimeout: 1.5 }), [{ path: 'headerTimeout', message: 'must be a whole number (got 1.5)' }])
  assert.deepEqual(issues({ headerTimeout: '5s' }), [{ path: 'headerTimeout', message: 'must be a number (got "5s")' }])
  assert.deepEqual(issues({ maxV2Length: 100 }), [{ path: 'maxV2Length', message: 'must be at least 216 (a UNIX address block) (got 100)' }])
  assert.deepEqual(issues({ proxyEnabled: 'yes' }), [{ path: 'proxyEnabled', message: "must be true, false or 'optional' (got \"yes\")" }])
  assert.deepEqual(issues({ trustedProxies: ['10.0.0.1', 'lb.internal'] }), [{ path: 'trustedProxies[1]', message: 'must be an IPv4 or IPv6 address or CIDR range, like 10.0.0.0/8 or fd00::/8 (got "lb.internal")' }])
  for (const { message } of [...issues({ headerTimeout: 1.5 }), ...issues({ maxPending: 0 })]) {
    assert.doesNotMatch(message, /expected|received|Invalid input/, 'no zod wording')
  }
})

test('a near-miss key: did you mean', () => {
  assert.deepEqual(issues({ trustedProxy: ['10.0.0.1'] }), [{ path: 'trustedProxy', message: 'is not an option: did you mean `trustedProxies`?' }])
  assert.deepEqual(issues({ listeners: { tcp: { proxyEnable: true } } }), [{ path: 'listeners.tcp.proxyEnable', message: 'is not an option: did you mean `proxyEnabled`?' }])
  assert.deepEqual(issues({ listeners: { mqtts: {} } }).map(i => i.path), ['listeners.mqtts'])
  assert.equal(nearest('HeaderTimeout', ['headerTimeout']), 'headerTimeout')
  assert.equal(nearest('banana', ['headerTimeout', 'hints']), undefined)
})

test('the operator plugins\' names are no options of the PROXY plugin: unknown keys like any other', () => {
  for (const key of ['ipPolicy', 'unauthorizedClients', 'sysInterval']) {
    assert.match(issues({ [key]: 1 })[0]?.message ?? '', /^is not an option \(known here: proxyEnabled, /, key)
  }
})

test('one message prefix for every error the package raises', () => {
  const errors = [
    new ProxyProtocolError('PROXY_ERR_V1_SYNTAX', 'x'),
    new UsageError('x'),
    OptionsError.of('options', [{ path: 'a', message: 'b' }]),
    new OptionsError('MQTT_X="y" is not a boolean', [])
  ]
  for (const err of errors) assert.ok(err.message.startsWith(PREFIX), err.message)
  assert.equal(PREFIX, 'aedes-proxy-protocol: ')
  assert.throws(() => resolveOptions({ headerTimeout: 0 }), (err: unknown) => err instanceof OptionsError && err.message === 'aedes-proxy-protocol: invalid proxyProtocol() options:\n  headerTimeout: must be at least 1 (milliseconds) (got 0)')
})

test('values are shown short', () => {
  assert.equal(show('x'.repeat(100)), JSON.stringify(`${'x'.repeat(60)}…`))
  assert.equal(show(undefined), 'nothing')
  assert.equal(show([1]), 'a list')
})

test('a known key in the wrong place says where it belongs; suggestions come from the keys known at that level', () => {
  assert.deepEqual(issues({ tcp: { proxyEnabled: true } }), [{ path: 'tcp', message: 'is not an option here: listener settings go under listeners: did you mean `listeners.tcp`?' }])
  assert.deepEqual(issues({ listeners: { tcp: { forwardedHeaders: true } } }), [{ path: 'listeners.tcp.forwardedHeaders', message: 'is not an option here: forwardedHeaders exists on the ws and wss listeners only' }])
  assert.deepEqual(issues({ listeners: { ssl: { logger: console } } }), [{ path: 'listeners.ssl.logger', message: 'is not an option here: logger is a global option, not a listener\'s' }])
  assert.match(issues({ trustProxy: true })[0]?.message ?? '', /trustProxy is trustedProxies here/)
  assert.match(issues({ forwardedHeaders: true })[0]?.message ?? '', /did you mean `listeners\.ws\.forwardedHeaders`\?/)
  const [unknown] = issues({ bananas: 1 })
  assert.equal(unknown?.path, 'bananas')
  assert.match(unknown?.message ?? '', /^is not an option \(known here: proxyEnabled, trustedProxies, .*listeners\)$/)
  assert.doesNotMatch(unknown?.message ?? '', /forwardedHeaders/, 'only the keys of this level')
})
