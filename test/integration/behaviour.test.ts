// What the plugin does with every kind of connection it must refuse or treat
// specially, on a real broker. Each refusal is checked for its code and for
// the broker staying up for everyone else.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { until } from '../helpers/wait.js'
import { startStack } from '../helpers/stack.js'
import { connectClient, endClient } from '../helpers/client.js'
import { CONNACK_ACCEPTED, connectPacket, rawExchange } from '../helpers/raw.js'
import { encodeV1, encodeV2, TLV } from '../helpers/encode.js'
import { LISTENER_NAMES } from '../../src/options.js'
import { startFront } from '../helpers/front.js'

describe('a client without a header on a listener that requires one', () => {
  for (const listener of LISTENER_NAMES) {
    test(`${listener}: is closed before any hook runs, with PROXY_ERR_NOT_PROXY`, async (t) => {
      const stack = await startStack({ listener, plugin: { proxyEnabled: true } })
      t.after(() => stack.close())
      const rejected = stack.rejected
      await assert.rejects(connectClient({ listener, port: stack.port }))
      await until(() => rejected.length === 1)
      assert.equal(rejected[0]?.err.code, 'PROXY_ERR_NOT_PROXY')
      assert.equal(rejected[0]?.ev.listener, listener)
      assert.equal(rejected[0]?.ev.peer.address, '127.0.0.2')
      assert.equal(rejected[0]?.ev.probe, false)
      assert.equal(stack.seen.length, 0)
    })
  }
})

describe('headers whose addresses must not be used', () => {
  const rows = [
    { name: 'v2 LOCAL (HAProxy health check)', header: encodeV2({ command: 'LOCAL', family: 'UNSPEC', transport: 'UNSPEC' }), version: 2 },
    { name: 'v2 LOCAL with AF_INET, CRC32C and NOOP (AWS NLB health check)', header: encodeV2({ command: 'LOCAL', family: 'INET', source: { address: '0.0.0.0', port: 0 }, destination: { address: '0.0.0.0', port: 0 }, crc32c: true, noopPadding: 62 }), version: 2 },
    { name: 'v1 UNKNOWN, short form', header: encodeV1({ family: 'UNKNOWN' }), version: 1 },
    { name: 'v1 UNKNOWN, long form with addresses', header: encodeV1({ family: 'UNKNOWN', rest: '203.0.113.7 198.51.100.1 1234 1883' }), version: 1 },
    { name: 'v2 PROXY with AF_UNSPEC', header: encodeV2({ command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC' }), version: 2 }
  ] as const
  for (const row of rows) {
    test(`${row.name}: the broker sees the socket's own address`, async (t) => {
      const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
      t.after(() => stack.close())
      const result = await rawExchange(stack.port, [Buffer.concat([row.header, connectPacket()])], { localAddress: '127.0.0.7', waitMs: 5000, expectBytes: 4 })
      assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
      const d = stack.seen.find(s => s.hook === 'authenticate')?.details
      assert.ok(d)
      assert.equal(d.ipAddress, '127.0.0.7')
      assert.equal(d.peer.address, '127.0.0.7')
      assert.equal(d.port, d.peer.port)
      assert.equal(d.isProxy, row.version)
      assert.equal(d.proxy?.proxied, false)
    })
  }
})

test('v2 header with TLVs and CONNECT in one segment: no TLV byte reaches the MQTT parser', async (t) => {
  const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
  t.after(() => stack.close())
  const header = encodeV2({
    source: { address: '203.0.113.7', port: 50123 },
    destination: { address: '198.51.100.1', port: 1883 },
    crc32c: true,
    tlvs: [{ type: TLV.AWS, value: Buffer.concat([Buffer.of(0x01), Buffer.from('vpce-08d2bf15fac5001c9')]) }, { type: TLV.AUTHORITY, value: 'mqtt.example.com' }],
    noopPadding: 36
  })
  const result = await rawExchange(stack.port, [Buffer.concat([header, connectPacket()])], { waitMs: 5000, expectBytes: 4 })
  assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
  const d = stack.seen.find(s => s.hook === 'preConnect')?.details
  assert.equal(d?.ipAddress, '203.0.113.7')
  assert.equal(d?.port, 50123)
  assert.equal(d?.serverIpAddress, '198.51.100.1')
  assert.equal(d?.proxy?.tlvs.awsVpceId, 'vpce-08d2bf15fac5001c9')
  assert.equal(d?.proxy?.tlvs.authority, 'mqtt.example.com')
  assert.equal(typeof d?.proxy?.tlvs.crc32c, 'number')
})

test('IPv6 client announced in a v2 header is reported canonical (RFC 5952)', async (t) => {
  const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
  t.after(() => stack.close())
  const header = encodeV2({ family: 'INET6', source: { address: '2001:db8:0:0:1:0:0:1', port: 4000 }, destination: { address: '2001:db8::2', port: 1883 } })
  const result = await rawExchange(stack.port, [header, connectPacket()], { waitMs: 5000, expectBytes: 4 })
  assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
  const d = stack.seen.find(s => s.hook === 'authenticate')?.details
  assert.equal(d?.ipAddress, '2001:db8::1:0:0:1')
  assert.equal(d?.ipFamily, 6)
})

describe('malformed headers are refused with their code; the broker keeps serving', () => {
  const rows = [
    { name: 'v1 port with a leading zero', bytes: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 080 1883\r\n'), code: 'PROXY_ERR_V1_PORT' },
    { name: 'v1 LF without CR', bytes: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 80 1883\n'), code: 'PROXY_ERR_V1_CRLF' },
    { name: 'v1 line over 107 bytes', bytes: Buffer.from(`PROXY UNKNOWN ${'x'.repeat(120)}\r\n`), code: 'PROXY_ERR_V1_TOO_LONG' },
    { name: 'v1 mixed family (nginx TCP6 with an IPv4 destination)', bytes: Buffer.from('PROXY TCP6 2001:db8::1 192.0.2.1 4000 1883\r\n'), code: 'PROXY_ERR_V1_ADDRESS' },
    { name: 'v2 version 1', bytes: Buffer.concat([encodeV2().subarray(0, 12), Buffer.of(0x11, 0x11, 0, 12), Buffer.alloc(12)]), code: 'PROXY_ERR_V2_VERSION' },
    { name: 'v2 length over the cap', bytes: Buffer.concat([encodeV2().subarray(0, 12), Buffer.of(0x21, 0x11, 0xff, 0xff)]), code: 'PROXY_ERR_V2_TOO_LONG' },
    { name: 'v2 TLV overrunning the header', bytes: Buffer.concat([encodeV2().subarray(0, 12), Buffer.of(0x21, 0x11, 0, 15), Buffer.alloc(12), Buffer.of(0x05, 0, 9)]), code: 'PROXY_ERR_TLV' },
    { name: 'v2 bad CRC32C', bytes: (() => { const h = encodeV2({ crc32c: true }); h.writeUInt8(h.readUInt8(h.length - 1) ^ 0xff, h.length - 1); return h })(), code: 'PROXY_ERR_CRC32C' },
    { name: 'TLS ClientHello where a header is required', bytes: Buffer.of(0x16, 0x03, 0x01, 0x00, 0x05), code: 'PROXY_ERR_NOT_PROXY' },
    { name: 'HTTP request where a header is required', bytes: Buffer.from('GET / HTTP/1.1\r\n\r\n'), code: 'PROXY_ERR_NOT_PROXY' }
  ] as const
  test('each one', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
    t.after(() => stack.close())
    const rejected = stack.rejected
    // A client that stays connected through all of it, via a front.
    const front = await startFront({ target: stack.port, header: 'v2' })
    t.after(() => front.close())
    const keeper = await connectClient({ listener: 'tcp', port: front.port })
    t.after(() => endClient(keeper))
    for (const row of rows) {
      const before = rejected.length
      const result = await rawExchange(stack.port, [row.bytes, connectPacket()])
      assert.equal(result.closed, true, `${row.name}: closed`)
      assert.equal(result.received.length, 0, `${row.name}: nothing sent back`)
      await until(() => rejected.length === before + 1)
      assert.equal(rejected[before]?.err.code, row.code, row.name)
      // the broker still serves the connected client
      const got = new Promise<[string, Buffer]>(resolve => keeper.once('message', (topic, payload) => resolve([topic, payload])))
      await keeper.subscribeAsync(`t/${before}`)
      await keeper.publishAsync(`t/${before}`, row.name)
      const [topic, payload] = await got
      assert.equal(topic, `t/${before}`)
      assert.equal(payload.toString(), row.name)
    }
    assert.equal(stack.seen.filter(s => s.hook === 'authenticate').length, 1)
  })
})

describe('the header timeout', () => {
  test('half a header then silence: PROXY_ERR_TIMEOUT, not a probe', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, headerTimeout: 200 } })
    t.after(() => stack.close())
    const rejected = stack.rejected
    const result = await rawExchange(stack.port, [Buffer.from('PROXY TCP4 1.2.')], { waitMs: 3000 })
    assert.equal(result.closed, true)
    await until(() => rejected.length === 1)
    assert.equal(rejected[0]?.err.code, 'PROXY_ERR_TIMEOUT')
    assert.equal(rejected[0]?.ev.probe, false)
  })
  test('a connection that sends nothing is closed quietly as a probe', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, headerTimeout: 200 } })
    t.after(() => stack.close())
    const rejected = stack.rejected
    const result = await rawExchange(stack.port, [], { waitMs: 3000 })
    assert.equal(result.closed, true)
    await until(() => rejected.length === 1)
    assert.equal(rejected[0]?.err.code, 'PROXY_ERR_TIMEOUT')
    assert.equal(rejected[0]?.ev.probe, true)
  })
  test('a connection closed before sending anything is a probe too', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
    t.after(() => stack.close())
    const rejected = stack.rejected
    const socket = net.connect({ port: stack.port, host: '127.0.0.1' })
    await once(socket, 'connect')
    socket.end()
    await until(() => rejected.length === 1)
    assert.equal(rejected[0]?.err.code, 'PROXY_ERR_CLOSED')
    assert.equal(rejected[0]?.ev.probe, true)
  })
})

describe('listeners with PROXY off', () => {
  for (const listener of LISTENER_NAMES) {
    test(`${listener}: a direct client connects with its socket address (global on, listener overrides off)`, async (t) => {
      const stack = await startStack({ listener, plugin: { proxyEnabled: true, listeners: { [listener]: { proxyEnabled: false } } } })
      t.after(() => stack.close())
      const client = await connectClient({ listener, port: stack.port, localAddress: '127.0.0.3' })
      await endClient(client)
      const d = stack.seen.find(s => s.hook === 'authenticate')?.details
      assert.equal(d?.ipAddress, '127.0.0.3')
      assert.equal(d?.isProxy, 0)
      assert.equal(d?.listener, listener)
      assert.equal(d?.proxy, undefined)
    })
  }
})

describe('TLS at the broker behind a PROXY front', () => {
  test('mTLS: a client certificate is still verified, and the hooks see it', async (t) => {
    const stack = await startStack({ listener: 'ssl', plugin: { proxyEnabled: true }, mtls: true })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v2', delivery: 'with-first-chunk' })
    t.after(() => front.close())
    const client = await connectClient({ listener: 'ssl', port: front.port, clientCert: true })
    await endClient(client)
    const d = stack.seen.find(s => s.hook === 'authenticate')?.details
    assert.equal(d?.ipAddress, '127.0.0.2')
    assert.equal(d?.isTls, true)
    assert.equal(d?.certAuthorized, true)
    assert.equal(d?.cert?.subject.CN, 'client-1')
  })
  test('mTLS: a client without a certificate is refused by TLS', async (t) => {
    const stack = await startStack({ listener: 'ssl', plugin: { proxyEnabled: true }, mtls: true })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v2' })
    t.after(() => front.close())
    await assert.rejects(connectClient({ listener: 'ssl', port: front.port }))
    assert.equal(stack.seen.length, 0)
  })
  test('PROXY on for ssl but the TLS server not attached: PROXY_ERR_NOT_ATTACHED', async (t) => {
    const stack = await startStack({ listener: 'ssl', plugin: { proxyEnabled: true }, attach: false })
    t.after(() => stack.close())
    const rejected = stack.rejected
    await assert.rejects(connectClient({ listener: 'ssl', port: stack.port }))
    await until(() => rejected.length === 1)
    assert.equal(rejected[0]?.err.code, 'PROXY_ERR_NOT_ATTACHED')
    assert.equal(stack.seen.length, 0)
  })
})

describe('a server that pauses sockets on connect', () => {
  for (const proxyEnabled of [true, false]) {
    test(`pauseOnConnect with PROXY ${proxyEnabled ? 'on' : 'off (hints on)'}: the first bytes are still read at once`, async (t) => {
      const { Aedes } = await import('aedes')
      const { proxyProtocol, withPlugins } = await import('../../src/index.js')
      const broker = withPlugins(await Aedes.createBroker())
      broker.use(proxyProtocol({ proxyEnabled, headerTimeout: 4000 }))
      const server = net.createServer({ pauseOnConnect: true }, broker.handle)
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      t.after(async () => {
        await new Promise<void>(resolve => server.close(() => resolve()))
        await new Promise<void>(resolve => broker.close(() => resolve()))
      })
      const port = (server.address() as net.AddressInfo).port
      const header = proxyEnabled ? encodeV1({ family: 'TCP4', source: { address: '203.0.113.7', port: 1 }, destination: { address: '198.51.100.1', port: 1883 } }) : Buffer.alloc(0)
      const started = Date.now()
      const result = await rawExchange(port, [Buffer.concat([header, connectPacket()])], { expectBytes: 4, waitMs: 3000 })
      assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
      // A paused socket nobody resumed would wait for the 4 s header timeout; the margin is for a busy machine.
      assert.ok(Date.now() - started < 3000, `CONNACK after ${Date.now() - started} ms`)
    })
  }
})
