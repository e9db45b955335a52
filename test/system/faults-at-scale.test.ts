// Faults at scale: thousands of aborted connections (silence, half headers,
// resets) on each listener leave no timer, pending read or listener behind,
// and the broker serves a connected client throughout. The system tier: it
// takes about half a minute.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { until } from '../helpers/wait.js'
import { settledHeap } from '../helpers/memory.js'
import { startStack } from '../helpers/stack.js'
import { startFront } from '../helpers/front.js'
import { connectClient, endClient, roundTrip } from '../helpers/client.js'
import { encodeV2 } from '../helpers/encode.js'
import type { ListenerName } from '../../src/options.js'

describe('faults at scale', () => {
  for (const [listener, total] of [['tcp', 10_000], ['ssl', 3000], ['ws', 3000]] as Array<[ListenerName, number]>) {
    test(`${listener}: ${total.toLocaleString('en')} aborted connections (silence, half headers, resets) leave no timer, pending read or listener behind`, async (t) => {
      const stack = await startStack({ listener, plugin: { proxyEnabled: true, headerTimeout: 2000 } })
      t.after(() => stack.close())
      const front = await startFront({ target: stack.port, header: 'v2' })
      t.after(() => front.close())
      const keeper = await connectClient({ listener, port: front.port })
      t.after(() => endClient(keeper))
      const timersBefore = process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
      const heapBefore = await settledHeap()
      const kinds = [Buffer.alloc(0), Buffer.from('PROXY TCP4 1.2.'), encodeV2().subarray(0, 20)]
      let accepted = 0
      const count = (): void => { accepted++ }
      stack.server.on('connection', count)
      const listenersBefore = stack.server.listenerCount('connection')
      const batch = 100
      for (let i = 0; i < total; i += batch) {
        await Promise.all(Array.from({ length: batch }, async (_, j) => {
          const socket = net.connect({ port: stack.port, host: '127.0.0.1', localAddress: '127.0.0.9' })
          socket.on('error', () => {})
          await once(socket, 'connect')
          const bytes = kinds[(i + j) % kinds.length] as Buffer
          if (bytes.length > 0) socket.write(bytes)
          await new Promise(resolve => setImmediate(resolve))
          if ((i + j) % 2 === 0) socket.resetAndDestroy()
          else socket.destroy()
        }))
      }
      await until(() => stack.proxy.stats()[listener].pending === 0, 10_000)
      const stats = stack.proxy.stats()[listener]
      const refused = Object.values(stats.rejected).reduce((a, b) => a + (b ?? 0), 0)
      // A connection reset before the kernel hands it to Node is never seen
      // at all; every one that was seen must have been refused, or counted
      // as a probe when it sent nothing (a health check is no refusal).
      assert.ok(accepted >= total * 0.99, `${accepted} of ${total} connections reached the server`)
      assert.equal(refused + stats.probes, accepted, 'every aborted connection was counted as refused or as a probe')
      assert.equal((stats.rejected.PROXY_ERR_CLOSED ?? 0) + stats.probes, accepted)
      assert.ok(stats.probes > 0 && stats.probes < accepted, `probes ${stats.probes} of ${accepted}`)
      await roundTrip(keeper, 'keep/scale')
      // The stack keeps every 'rejected' event (an Error with its stack
      // each): that is the test's memory, not the plugin's.
      assert.equal(stack.rejected.length, accepted)
      stack.rejected.length = 0
      // give closed sockets a moment to be released, then compare
      await new Promise(resolve => setTimeout(resolve, 100))
      const timersAfter = process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
      assert.ok(timersAfter <= timersBefore + 2, `timers before ${timersBefore}, after ${timersAfter}`)
      assert.equal(stack.server.listenerCount('connection'), listenersBefore)
      const grown = (await settledHeap()) - heapBefore
      assert.ok(grown < 8 * 1024 * 1024, `heap grew ${grown} bytes over ${total} aborted connections`)
    })
  }
})
