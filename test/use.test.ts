import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { Aedes } from 'aedes'
import { proxyProtocol } from '../src/plugin.js'
import { ipPolicy } from '../src/operator/ip-policy.js'
import { sessions } from '../src/operator/sessions.js'
import { unauthorizedClients } from '../src/operator/unauthorized.js'
import { withPlugins, type AedesPlugin } from '../src/use.js'

/** A UsageError whose message matches `pattern`. */
const usage = (pattern: RegExp) => (err: unknown): boolean =>
  err instanceof TypeError && (err as { code?: string }).code === 'PROXY_ERR_USAGE' && pattern.test(err.message)

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
  test('withPlugins() and use() given the wrong thing are coded errors', async () => {
    const broker = withPlugins(await Aedes.createBroker())
    try {
      assert.throws(() => withPlugins(null as never), usage(/^aedes-proxy-protocol: withPlugins\(\) needs an aedes broker, got null$/))
      assert.throws(() => broker.use({} as never), usage(/broker\.use\(\) needs a plugin with an install\(broker\) method, such as proxyProtocol\(\), got an object/))
    } finally {
      await new Promise<void>(resolve => broker.close(() => { resolve() }))
    }
  })
  test('one plugin instance cannot serve two brokers, and the broker that refused it stays free for one of its own', async () => {
    const a = withPlugins(await Aedes.createBroker())
    const b = withPlugins(await Aedes.createBroker())
    try {
      const plugin = proxyProtocol()
      a.use(plugin)
      assert.throws(() => b.use(plugin), /another broker/)
      assert.doesNotThrow(() => b.use(proxyProtocol()))
    } finally {
      await new Promise<void>(resolve => a.close(() => resolve()))
      await new Promise<void>(resolve => b.close(() => resolve()))
    }
  })
  test('each plugin is installed once per broker: a second of its kind is a coded error naming it', async () => {
    const broker = withPlugins(await Aedes.createBroker())
    try {
      const kinds: Array<{ make: () => AedesPlugin<unknown>, says: RegExp }> = [
        { make: () => proxyProtocol(), says: /already installed on this broker/ },
        { make: () => ipPolicy(), says: /an IP policy is already installed on this broker/ },
        { make: () => unauthorizedClients(), says: /an unauthorized-clients list is already installed on this broker/ },
        { make: () => sessions(), says: /a session list is already installed on this broker/ }
      ]
      for (const kind of kinds) broker.use(kind.make())
      for (const kind of kinds) assert.throws(() => broker.use(kind.make()), usage(kind.says))
    } finally {
      await new Promise<void>(resolve => broker.close(() => { resolve() }))
    }
  })
})
