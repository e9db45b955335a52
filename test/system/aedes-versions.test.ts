// The compatibility matrix: aedes 0.51 (CommonJS, `aedes()`), 1.x and 2.0
// beta (ESM, `await Aedes.createBroker()`), installed side by side as npm
// aliases (test/helpers/aedes-versions.ts). For each: a real HAProxy sends
// PROXY v1 and v2 to each of the four listeners, and preConnect,
// authenticate and the sessions list see the client's own address and port;
// the operator plugins (IP policy, unauthorized clients) refuse and record
// by the real address. Everything on loopback: clients from 127.0.0.2 and
// 127.0.0.3, HAProxy to the broker from 127.0.0.9. Each HAProxy is stopped in
// t.after. The rest of the suite runs against one version at a time with
// AEDES_VERSION=0.51|1|2 (default 1). The README's compatibility table is
// checked against the versions this file runs.
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { stackBehindHaproxy, type Stack, type StackOptions } from '../helpers/stack.js'
import { connectClient, connectVia, endClient, roundTrip } from '../helpers/client.js'
import { outcome } from '../helpers/plain-broker.js'
import { AEDES_VERSIONS, installedAedes, type AedesVersion } from '../helpers/aedes-versions.js'
import { LISTENER_NAMES, type ListenerName } from '../../src/options.js'

const PROXY_SOURCE = '127.0.0.9'
const CLIENT_ADDRESS = '127.0.0.2'
const DENIED_ADDRESS = '127.0.0.3'

/** A broker of `aedes` with the plugins, behind a HAProxy speaking PROXY `header` to its `listener`. */
async function behindHaproxy (t: TestContext, aedes: AedesVersion, listener: ListenerName, header: 1 | 2,
  extra: Partial<StackOptions> = {}): Promise<{ s: Stack, fe: number } | undefined> {
  return await stackBehindHaproxy(t, aedes, listener, header, PROXY_SOURCE, extra)
}

for (const aedes of AEDES_VERSIONS) {
  const how = aedes === '0.51' ? "CommonJS, require('aedes')()" : 'ESM, Aedes.createBroker()'
  describe(`aedes ${installedAedes(aedes)} (${how})`, () => {
    for (const listener of LISTENER_NAMES) {
      for (const header of [1, 2] as const) {
        test(`${listener} behind HAProxy PROXY v${header}: preConnect, authenticate and the sessions see the client`,
          async (t) => {
            const up = await behindHaproxy(t, aedes, listener, header)
            if (up === undefined) return
            const { s, fe } = up
            const c = await connectVia(t, listener, fe)
            assert.deepEqual(s.seen.map(x => x.hook), ['preConnect', 'authenticate'])
            for (const seen of s.seen) {
              const d = seen.details
              assert.ok(d, `${seen.hook} saw connDetails`)
              assert.equal(d.ipAddress, CLIENT_ADDRESS)
              assert.equal(d.port, c.localPort)
              assert.equal(d.isProxy, header)
              assert.equal(d.peer.address, PROXY_SOURCE)
              assert.equal(d.listener, listener)
              assert.equal(d.isTls, listener === 'ssl' || listener === 'wss')
              assert.equal(d.isWebsocket, listener === 'ws' || listener === 'wss')
            }
            const sessions = await s.sessions.list()
            assert.deepEqual(sessions.map(x => [x.clientId, x.ipAddress, x.port, x.isProxy]),
              [[c.client.options.clientId, CLIENT_ADDRESS, c.localPort, header]])
            await roundTrip(c.client, `matrix/${listener}`)
            await endClient(c.client)
          })
      }
    }

    test('the IP policy refuses a denied address with CONNACK 5, the unauthorized list records it and a bad password ' +
      'by their real addresses, and an allowed client still gets through', async (t) => {
      const up = await behindHaproxy(t, aedes, 'tcp', 2, {
        ipPolicy: { deny: [DENIED_ADDRESS] },
        authenticate: (_client, username) => username !== 'wrong'
      })
      if (up === undefined) return
      const { s, fe } = up
      const tcp = { listener: 'tcp', port: fe } as const
      const denied = await outcome(connectClient({ ...tcp, localAddress: DENIED_ADDRESS, clientId: 'denied' }))
      const badPassword = await outcome(connectClient({ ...tcp, clientId: 'bad', username: 'wrong' }))
      assert.deepEqual([denied, badPassword], [5, 5])
      // The list hears of each refusal before the client gets its CONNACK.
      const entries = await s.unauthorized.list()
      assert.deepEqual(entries.map(e => [e.clientId, e.ipAddress, e.refusedBy]).sort(),
        [['bad', CLIENT_ADDRESS, 'authentication'], ['denied', DENIED_ADDRESS, 'ip-policy']])
      const ok = await connectClient({ listener: 'tcp', port: fe, clientId: 'allowed' })
      t.after(() => { ok.end(true) })
      assert.deepEqual((await s.sessions.list()).map(x => [x.clientId, x.ipAddress]), [['allowed', CLIENT_ADDRESS]])
      await roundTrip(ok, 'matrix/allowed')
      await endClient(ok)
    })
  })
}

test('the README\'s compatibility table lists, as tested, exactly the aedes versions this file runs', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const lines = readme.split('\n')
  const head = lines.findIndex(l => /^\| aedes \|.*\| tested with \|/.test(l))
  assert.ok(head !== -1, 'the README has a table with an aedes and a tested-with column')
  const column = (lines[head] ?? '').split('|').map(c => c.trim()).indexOf('tested with')
  const rows = lines.slice(head + 2).filter((l, i, all) => all.slice(0, i + 1).every(r => r.startsWith('|')))
  assert.deepEqual(rows.map(r => r.split('|').map(c => c.trim())[column]), AEDES_VERSIONS.map(v => installedAedes(v)))
})
