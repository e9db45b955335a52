// End to end, per listener kind: a real aedes broker with the plugin, a small
// PROXY-speaking front, and a real MQTT.js client bound to 127.0.0.2. Inside
// preConnect and authenticate the broker must see the client's own address
// and source port, not the front's (127.0.0.9).
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { startStack } from '../helpers/stack.js'
import { startFront, v1HeaderFor as frontV1, v2HeaderFor as frontV2, type Delivery } from '../helpers/front.js'
import { connectClient, endClient } from '../helpers/client.js'
import { LISTENER_NAMES } from '../../src/options.js'

const versions = ['v1', 'v2'] as const
const deliveries: Delivery[] = ['alone', 'with-first-chunk', 'trickle']

for (const listener of LISTENER_NAMES) {
  describe(`${listener} listener with PROXY on`, () => {
    for (const version of versions) {
      for (const delivery of deliveries) {
        test(`${version} header, ${delivery}: hooks see the client's address and port`, async (t) => {
          const stack = await startStack({ listener, plugin: { listeners: { [listener]: { proxyEnabled: true } } } })
          t.after(() => stack.close())
          const accepted: Array<{ address: string, port: number }> = []
          const front = await startFront({
            target: stack.port,
            delivery,
            header: (c: net.Socket) => {
              accepted.push({ address: c.remoteAddress as string, port: c.remotePort as number })
              return version === 'v1' ? frontV1(c) : frontV2(c)
            }
          })
          t.after(() => front.close())
          const client = await connectClient({ listener, port: front.port, localAddress: '127.0.0.2' })
          await endClient(client)
          assert.equal(accepted.length, 1)
          const hooks = stack.seen.map(s => s.hook)
          assert.deepEqual(hooks, ['preConnect', 'authenticate'])
          for (const s of stack.seen) {
            const d = s.details
            assert.ok(d, `${s.hook} saw connDetails`)
            assert.equal(d.ipAddress, '127.0.0.2')
            assert.equal(d.port, accepted[0]?.port)
            assert.equal(d.ipFamily, 4)
            assert.equal(d.serverIpAddress, '127.0.0.1')
            assert.equal(d.serverPort, front.port)
            assert.equal(d.isProxy, version === 'v1' ? 1 : 2)
            assert.equal(d.listener, listener)
            assert.equal(d.isTls, listener === 'ssl' || listener === 'wss')
            assert.equal(d.isWebsocket, listener === 'ws' || listener === 'wss')
            assert.equal(d.peer.address, '127.0.0.9')
            assert.equal(d.proxy?.proxied, true)
          }
        })
      }
    }
  })
}
