// MQTT 5 clients through a real HAProxy (PROXY v1 and v2, mode tcp, so TLS
// and WebSocket go end to end to the broker) on each of the four listeners,
// against each aedes version. aedes 2 serves them: preConnect, authenticate
// and the sessions list see the client's own address and port, and a client
// the IP policy denies hears 0x8A (Banned) on every kind of stream. aedes
// 0.51 and 1.x speak no MQTT 5: they answer CONNACK 1 after preConnect (which
// sees the real address) and before authenticate. Clients: MQTT.js with
// `protocolVersion: 5` on all four listeners; mosquitto_pub/mosquitto_sub
// `-V mqttv5` on tcp and ssl only (Debian's mosquitto-clients 2.0.11 have no
// WebSocket transport: `-L` takes mqtt:// and mqtts:// only). Everything on
// loopback: clients from 127.0.0.2 (the denied one from 127.0.0.3, mosquitto_sub
// from 127.0.0.4), HAProxy to the broker from 127.0.0.9. Every HAProxy and
// client process is stopped in t.after.
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { stackBehindHaproxy, type Stack } from '../helpers/stack.js'
import { connectClient, connectVia, endClient, roundTrip } from '../helpers/client.js'
import { outcome } from '../helpers/plain-broker.js'
import { requireProgram, until } from '../helpers/programs.js'
import { spawnProgram } from '../helpers/spawn.js'
import { testCerts } from '../helpers/certs.js'
import { AEDES_VERSIONS, installedAedes, type AedesVersion } from '../helpers/aedes-versions.js'
import { LISTENER_NAMES, type ListenerName } from '../../src/options.js'

const PROXY_SOURCE = '127.0.0.9'
const CLIENT_ADDRESS = '127.0.0.2'
const DENIED_ADDRESS = '127.0.0.3'
const SUB_ADDRESS = '127.0.0.4'

/** A broker of `aedes` denying 127.0.0.3, behind a HAProxy speaking PROXY `header` to its `listener`. */
async function behindHaproxy (t: TestContext, aedes: AedesVersion, listener: ListenerName, header: 1 | 2
): Promise<{ s: Stack, fe: number } | undefined> {
  return await stackBehindHaproxy(t, aedes, listener, header, PROXY_SOURCE, { ipPolicy: { deny: [DENIED_ADDRESS] } })
}

/** The real address (one of `addresses`), the proxy and the listener, as each hook saw them. */
function assertSeen (s: Stack, listener: ListenerName, header: 1 | 2, addresses: string | readonly string[],
  port?: number): void {
  assert.ok(s.seen.length > 0, 'the hooks ran')
  for (const seen of s.seen) {
    const d = seen.details
    assert.ok(d, `${seen.hook} saw connDetails`)
    assert.ok([addresses].flat().includes(d.ipAddress), `${seen.hook} saw ${d.ipAddress}`)
    if (port !== undefined) assert.equal(d.port, port)
    assert.equal(d.isProxy, header)
    assert.equal(d.peer.address, PROXY_SOURCE)
    assert.equal(d.listener, listener)
  }
}

for (const aedes of AEDES_VERSIONS) {
  const speaks = aedes === '2'
  describe(`aedes ${installedAedes(aedes)}: MQTT 5 clients through HAProxy`, () => {
    for (const listener of LISTENER_NAMES) {
      for (const header of [1, 2] as const) {
        test(`${listener}, PROXY v${header}, MQTT.js protocolVersion 5: ` + (speaks
          ? 'the hooks and the sessions see the client; a denied one hears 0x8A'
          : 'CONNACK 1 after preConnect saw the client, before authenticate'), async (t) => {
          const up = await behindHaproxy(t, aedes, listener, header)
          if (up === undefined) return
          const { s, fe } = up
          const to = { listener, port: fe } as const
          if (!speaks) {
            assert.equal(await outcome(connectClient({ ...to, protocolVersion: 5 })), 1)
            assert.deepEqual(s.seen.map(x => x.hook), ['preConnect'])
            assertSeen(s, listener, header, CLIENT_ADDRESS)
            return
          }
          const c = await connectVia(t, listener, fe, { protocolVersion: 5 })
          assert.equal(c.client.options.protocolVersion, 5)
          assert.deepEqual(s.seen.map(x => x.hook), ['preConnect', 'authenticate'])
          assertSeen(s, listener, header, CLIENT_ADDRESS, c.localPort)
          assert.deepEqual((await s.sessions.list()).map(x => [x.clientId, x.ipAddress, x.port, x.isProxy]),
            [[c.client.options.clientId, CLIENT_ADDRESS, c.localPort, header]])
          await roundTrip(c.client, `mqtt5/${listener}`)
          const denied = await outcome(connectClient({ ...to, localAddress: DENIED_ADDRESS, protocolVersion: 5 }))
          assert.equal(denied, 0x8a)
          assert.deepEqual((await s.unauthorized.list()).map(e => [e.ipAddress, e.reason]),
            [[DENIED_ADDRESS, 'ip-denied']])
          await roundTrip(c.client, `mqtt5/${listener}/after`)
          await endClient(c.client)
        })
      }
    }

    for (const listener of ['tcp', 'ssl'] as const) {
      for (const header of [1, 2] as const) {
        test(`${listener}, PROXY v${header}, mosquitto_sub and mosquitto_pub -V mqttv5: ` + (speaks
          ? 'the message arrives, the hooks see each client, a denied one is told it is banned'
          : 'refused after preConnect saw the client'), async (t) => {
          const sub = requireProgram(t, 'mosquitto_sub', 'mosquitto-clients')
          const pub = requireProgram(t, 'mosquitto_pub', 'mosquitto-clients')
          if (sub === undefined || pub === undefined) return
          const up = await behindHaproxy(t, aedes, listener, header)
          if (up === undefined) return
          const { s, fe } = up
          const tlsArgs = listener === 'ssl' ? ['--cafile', testCerts().caPath] : []
          const common = ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(fe), ...tlsArgs]
          const topic = `mqtt5/mosquitto/${listener}/${header}`
          const publish = async (from: string, id: string): Promise<{ code: number | null, stderr: string }> =>
            await spawnProgram(pub, [...common, '-A', from, '-i', id, '-t', topic, '-q', '1', '-m', 'hello v5'],
              { t }).done
          if (!speaks) {
            // mosquitto_pub reads CONNACK 1 as MQTT 5's 0x84 and exits with it.
            const refused = await publish(CLIENT_ADDRESS, 'mosq-pub')
            assert.equal(refused.code, 0x84, refused.stderr)
            assert.match(refused.stderr, /Connection error: Unsupported Protocol Version/)
            assert.deepEqual(s.seen.map(x => x.hook), ['preConnect'])
            assertSeen(s, listener, header, CLIENT_ADDRESS)
            return
          }
          const subscribed = new Set<string>()
          s.broker.on('subscribe', (_subs, client) => { if (client !== null) subscribed.add(client.id) })
          const subscriber = spawnProgram(sub, [...common, '-A', SUB_ADDRESS, '-i', 'mosq-sub', '-t', topic, '-q', '1',
            '-C', '1', '-W', '10'], { t })
          await until(() => subscribed.has('mosq-sub'), 5000, 'mosquitto_sub subscribed')
          assert.deepEqual((await s.sessions.list()).map(x => [x.clientId, x.ipAddress, x.isProxy]),
            [['mosq-sub', SUB_ADDRESS, header]])
          const published = await publish(CLIENT_ADDRESS, 'mosq-pub')
          assert.equal(published.code, 0, `mosquitto_pub: ${published.stderr}`)
          const received = await subscriber.done
          assert.equal(received.code, 0, `mosquitto_sub: ${received.stderr}`)
          assert.equal(received.stdout.trim(), 'hello v5')
          const byClient = new Map(s.seen.filter(x => x.hook === 'authenticate').map(x => [x.clientId, x.details]))
          assert.equal(byClient.get('mosq-sub')?.ipAddress, SUB_ADDRESS)
          assert.equal(byClient.get('mosq-pub')?.ipAddress, CLIENT_ADDRESS)
          assertSeen(s, listener, header, [SUB_ADDRESS, CLIENT_ADDRESS])
          const banned = await publish(DENIED_ADDRESS, 'mosq-denied')
          assert.equal(banned.code, 0x8a, banned.stderr) // mosquitto_pub exits with the reason code
          assert.match(banned.stderr, /Connection error: Banned/)
        })
      }
    }
  })
}
