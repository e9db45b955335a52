import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Aedes, type AedesPublishPacket, type Client } from 'aedes'
import { wrapHook } from '../src/auth-chain.js'

test('a wrapped hook stays around what the user assigns later: only the inner function is replaced', async (t) => {
  const broker = await Aedes.createBroker()
  t.after(() => new Promise<void>(resolve => { broker.close(() => { resolve() }) }))
  const seen: string[] = []
  wrapHook(broker, 'authorizeForward', (inner, client, packet) => {
    seen.push(`wrapper ${packet.topic}`)
    return packet.topic === 'hidden' ? null : inner.call(broker, client, packet)
  })
  const client = { id: 'c' } as unknown as Client
  const packet = (topic: string): AedesPublishPacket =>
    ({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, brokerId: broker.id, brokerCounter: 1 })
  assert.equal(broker.authorizeForward(client, packet('hidden')), null)
  assert.equal(broker.authorizeForward(client, packet('seen'))?.topic, 'seen', "aedes' own function inside")
  broker.authorizeForward = (_client, p) => { seen.push(`user ${p.topic}`); return p }
  assert.equal(broker.authorizeForward(client, packet('hidden')), null, 'the wrapper is still first')
  assert.equal(broker.authorizeForward(client, packet('other'))?.topic, 'other')
  assert.deepEqual(seen, ['wrapper hidden', 'wrapper seen', 'wrapper hidden', 'wrapper other', 'user other'])
})
