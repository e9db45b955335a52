// Every rejection reason, checked for its event, its counter, and that the
// broker served a connected client meanwhile (faults at scale: test/system/faults-at-scale.test.ts).
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once, type EventEmitter } from 'node:events'
import { until } from '../helpers/wait.js'
import { startStack } from '../helpers/stack.js'
import { startFront } from '../helpers/front.js'
import { connectClient, endClient, roundTrip } from '../helpers/client.js'
import { connectPacket } from '../helpers/raw.js'
import { encodeV2, TLV } from '../helpers/encode.js'
import type { ProxyErrorCode } from '../../src/protocol/errors.js'

/** Opens a raw connection from `from`, sends `bytes`, then either waits to be closed or does `then`. */
async function attack (port: number, from: string, bytes: Buffer, then: 'wait' | 'reset' = 'wait'): Promise<void> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from })
  socket.on('error', () => {})
  await once(socket, 'connect')
  if (bytes.length > 0) socket.write(bytes)
  if (then === 'reset') {
    await new Promise(resolve => setTimeout(resolve, 50))
    socket.resetAndDestroy()
    return
  }
  await once(socket, 'close')
}

const CRC_BAD = (() => { const h = encodeV2({ crc32c: true }); h.writeUInt8(h.readUInt8(h.length - 1) ^ 1, h.length - 1); return h })()

const reasons: Array<{ reason: string, code: ProxyErrorCode, bytes: Buffer, from?: string, then?: 'wait' | 'reset' }> = [
  { reason: 'untrusted peer', code: 'PROXY_ERR_UNTRUSTED', bytes: encodeV2(), from: '127.0.0.8' },
  { reason: 'missing header', code: 'PROXY_ERR_NOT_PROXY', bytes: connectPacket() },
  { reason: 'malformed header', code: 'PROXY_ERR_V1_SYNTAX', bytes: Buffer.from('PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n') },
  { reason: 'timeout (half a header)', code: 'PROXY_ERR_TIMEOUT', bytes: Buffer.from('PROXY TCP4 ') },
  { reason: 'too large', code: 'PROXY_ERR_V2_TOO_LONG', bytes: encodeV2({ tlvs: [{ type: 0xe7, value: Buffer.alloc(5000) }] }) },
  { reason: 'CRC mismatch', code: 'PROXY_ERR_CRC32C', bytes: CRC_BAD },
  { reason: 'bad TLV (overrun)', code: 'PROXY_ERR_TLV', bytes: Buffer.concat([encodeV2().subarray(0, 14), Buffer.of(0, 16), encodeV2().subarray(16), Buffer.of(0x05, 0, 9, 1)]) },
  { reason: 'bad TLV value (AUTHORITY of 256 bytes)', code: 'PROXY_ERR_TLV_VALUE', bytes: encodeV2({ tlvs: [{ type: TLV.AUTHORITY, value: 'a'.repeat(256) }] }) },
  { reason: 'peer reset mid-header', code: 'PROXY_ERR_CLOSED', bytes: Buffer.from('PROXY TCP6 2001:db8::'), then: 'reset' }
]

describe('every rejection reason: its event, its counter, and the broker keeps serving', () => {
  for (const row of reasons) {
    test(row.reason, async (t) => {
      const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, trustedProxies: ['127.0.0.9', '127.0.0.1'], headerTimeout: 300 } })
      t.after(() => stack.close())
      const events = stack.rejected
      const brokerErrors: string[] = []
      stack.broker.on('clientError', (_c, err) => brokerErrors.push(`clientError: ${err.message}`))
      stack.broker.on('connectionError', (_c, err) => brokerErrors.push(`connectionError: ${err.message}`))
      ;(stack.broker as EventEmitter).on('error', (err: Error) => brokerErrors.push(`error: ${err.message}`))
      const front = await startFront({ target: stack.port, header: 'v2' })
      t.after(() => front.close())
      const keeper = await connectClient({ listener: 'tcp', port: front.port })
      t.after(() => endClient(keeper))
      await attack(stack.port, row.from ?? '127.0.0.9', row.bytes, row.then)
      await until(() => events.length === 1)
      assert.equal(events[0]?.err.code, row.code)
      assert.equal(events[0]?.err.name, 'ProxyProtocolError')
      assert.equal(events[0]?.ev.listener, 'tcp')
      assert.equal(events[0]?.ev.peer.address, row.from ?? '127.0.0.9')
      assert.equal(events[0]?.ev.probe, false)
      assert.equal(stack.proxy.stats().tcp.rejected[row.code], 1)
      await roundTrip(keeper, `keep/${row.code}`)
      assert.equal(stack.seen.filter(s => s.hook === 'authenticate').length, 1, 'only the keeper reached a hook')
      assert.deepEqual(brokerErrors, [], 'no refusal reaches the broker\'s error events')
    })
  }
})
