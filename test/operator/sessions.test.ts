import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { sessions } from '../../src/operator/sessions.js'
import { connectClient, endClient } from '../helpers/client.js'
import { startPlainBroker } from '../helpers/plain-broker.js'
import { until } from '../helpers/wait.js'

// The $SYS publication runs on setInterval (sysInterval at least 1000 ms): the
// tests move a mock clock on by one interval at a time instead of waiting for it.
describe('sessions, installed alone on a plain aedes broker', () => {
  test('lists connected clients with their socket address, publishes them under $SYS to the clients allowed only, and drops them on disconnect', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] })
    let list: ReturnType<typeof sessions> | undefined
    const plain = await startPlainBroker({}, broker => { list = broker.use(sessions({ sysInterval: 1000, sysClients: client => client.id === 'plain-admin' })) })
    t.after(() => plain.close())
    assert.ok(list !== undefined)
    const client = await connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.6', clientId: 'plain-watcher' })
    t.after(() => endClient(client))
    const admin = await connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.7', clientId: 'plain-admin' })
    t.after(() => endClient(admin))
    const now = await list.list()
    assert.deepEqual(now.map(s => [s.clientId, s.ipAddress, s.ipFamily, s.tls, s.isProxy, s.proxied]), [['plain-watcher', '127.0.0.6', 4, false, 0, false], ['plain-admin', '127.0.0.7', 4, false, 0, false]])
    const seenByWatcher: string[] = []
    client.on('message', topic => { seenByWatcher.push(topic) })
    await client.subscribeAsync('$SYS/#')
    let published: string | undefined
    admin.on('message', (topic, payload) => { if (topic.endsWith('/proxy-protocol/clients')) published = payload.toString() })
    await admin.subscribeAsync('$SYS/+/proxy-protocol/clients')
    t.mock.timers.tick(1000)
    await until(() => published !== undefined, 5000, '$SYS clients for the admin')
    assert.deepEqual((JSON.parse(published ?? '[]') as Array<{ clientId: string, ipAddress: string }>).map(s => [s.clientId, s.ipAddress]), [['plain-watcher', '127.0.0.6'], ['plain-admin', '127.0.0.7']])
    // One more round of publication: the ordinary client, subscribed to all of $SYS, never gets the list.
    published = undefined
    t.mock.timers.tick(1000)
    await until(() => published !== undefined, 5000, 'the next publication')
    assert.deepEqual(seenByWatcher.filter(topic => topic.endsWith('/proxy-protocol/clients')), [])
    await endClient(client)
    await until(async () => (await list?.list())?.length === 1, 5000, 'the session is dropped')
  })
  test('without sysClients the client list is not published at all', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] })
    const plain = await startPlainBroker({}, broker => { broker.use(sessions({ sysInterval: 1000 })) })
    t.after(() => plain.close())
    const client = await connectClient({ listener: 'tcp', port: plain.port, localAddress: '127.0.0.6', clientId: 'curious' })
    t.after(() => endClient(client))
    const topics: string[] = []
    client.on('message', topic => { topics.push(topic) })
    await client.subscribeAsync('$SYS/#')
    // Two rounds of publication, each followed by a message of the test's own on $SYS: what a
    // round published reaches the client before it.
    const marks = ['$SYS/test/after-round-1', '$SYS/test/after-round-2']
    for (const mark of marks) {
      t.mock.timers.tick(1000)
      await new Promise(resolve => setImmediate(resolve)) // a round's list() settles
      plain.broker.publish({ cmd: 'publish', topic: mark, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, () => {})
      await until(() => topics.includes(mark), 5000, mark)
    }
    assert.deepEqual(topics.filter(topic => topic.includes('proxy-protocol')), [])
  })
  test('options in plain words', () => {
    assert.throws(() => sessions({ sysInterval: 500 }), /sysInterval: must be at least 1000 \(milliseconds\) \(got 500\)/)
    assert.throws(() => sessions({ interval: 1000 } as never), /interval: is not an option/)
  })
})
