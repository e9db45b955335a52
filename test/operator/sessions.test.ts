import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { sessions } from '../../src/operator/sessions.js'
import { connectClient, endClient } from '../helpers/client.js'
import { startPlainBroker } from '../helpers/plain-broker.js'
import { until } from '../helpers/wait.js'

describe('sessions, installed alone on a plain aedes broker', () => {
  test('lists connected clients with their socket address, publishes them under $SYS, and drops them on disconnect', async (t) => {
    let list: ReturnType<typeof sessions> | undefined
    const plain = await startPlainBroker({}, broker => { list = broker.use(sessions({ sysInterval: 1000 })) })
    t.after(() => plain.close())
    assert.ok(list !== undefined)
    const client = await connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.6', clientId: 'plain-watcher' })
    t.after(() => endClient(client))
    const now = await list.list()
    assert.deepEqual(now.map(s => [s.clientId, s.ipAddress, s.ipFamily, s.tls, s.isProxy, s.proxied]), [['plain-watcher', '127.0.0.6', 4, false, 0, false]])
    let published: string | undefined
    client.on('message', (topic, payload) => { if (topic.endsWith('/proxy-protocol/clients')) published = payload.toString() })
    await client.subscribeAsync('$SYS/+/proxy-protocol/clients')
    await until(() => published !== undefined, 5000, '$SYS clients')
    assert.deepEqual((JSON.parse(published ?? '[]') as Array<{ clientId: string, ipAddress: string }>).map(s => [s.clientId, s.ipAddress]), [['plain-watcher', '127.0.0.6']])
    await endClient(client)
    await until(async () => (await list?.list())?.length === 0, 5000, 'the session is dropped')
  })
  test('options in plain words', () => {
    assert.throws(() => sessions({ sysInterval: 500 }), /sysInterval: must be at least 1000 \(milliseconds\) \(got 500\)/)
    assert.throws(() => sessions({ interval: 1000 } as never), /interval: is not an option/)
  })
})
