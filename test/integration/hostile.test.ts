// Hostile and odd peers: header injection behind the proxy, stalled peers
// beyond maxPending, user listeners that throw, memory per pending peer.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { until } from '../helpers/wait.js'
import { settledMemory } from '../helpers/memory.js'
import { startStack } from '../helpers/stack.js'
import { startFront } from '../helpers/front.js'
import { connectClient, endClient } from '../helpers/client.js'
import { CONNACK_ACCEPTED, connectPacket, rawExchange } from '../helpers/raw.js'
import { encodeV1, encodeV2 } from '../helpers/encode.js'

const PROXY_HEADER = encodeV2({ source: { address: '203.0.113.7', port: 40000 }, destination: { address: '198.51.100.1', port: 1883 } })
const INJECTED_V1 = encodeV1({ family: 'TCP4', source: { address: '6.6.6.6', port: 6666 }, destination: { address: '198.51.100.1', port: 1883 } })
const INJECTED_V2 = encodeV2({ source: { address: '6.6.6.6', port: 6666 }, destination: { address: '198.51.100.1', port: 1883 } })

describe('a client behind the proxy that sends its own PROXY header', () => {
  const cases: Array<{ name: string, chunks: Buffer[] }> = [
    { name: 'v1 line in the same segment as the proxy\'s header', chunks: [Buffer.concat([PROXY_HEADER, INJECTED_V1, connectPacket()])] },
    { name: 'v1 line in a later segment', chunks: [PROXY_HEADER, Buffer.concat([INJECTED_V1, connectPacket()])] },
    { name: 'v1 line one byte at a time', chunks: [PROXY_HEADER, ...[...INJECTED_V1].map(b => Buffer.of(b))] },
    { name: 'v2 header in a later segment', chunks: [PROXY_HEADER, Buffer.concat([INJECTED_V2, connectPacket()])] }
  ]
  for (const c of cases) {
    test(`${c.name}: refused at once with PROXY_ERR_INJECTED_HEADER, never handed to aedes`, async (t) => {
      const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, trustedProxies: ['127.0.0.9'] } })
      t.after(() => stack.close())
      const started = Date.now()
      const socket = net.connect({ port: stack.port, host: '127.0.0.1', localAddress: '127.0.0.9' })
      socket.setNoDelay(true)
      socket.on('error', () => {})
      await once(socket, 'connect')
      const closed = once(socket, 'close')
      for (const chunk of c.chunks) {
        if (socket.destroyed) break
        socket.write(chunk)
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      await closed
      assert.ok(Date.now() - started < 2000, 'closed at once, not at a connect timeout')
      await until(() => stack.rejected.length === 1)
      assert.equal(stack.rejected[0]?.err.code, 'PROXY_ERR_INJECTED_HEADER')
      assert.equal(stack.rejected[0]?.ev.probe, false)
      assert.equal(stack.proxy.stats().tcp.rejected.PROXY_ERR_INJECTED_HEADER, 1)
      assert.equal(stack.seen.length, 0, 'no hook saw the spoofed client')
    })
  }
  test('a client whose first bytes merely start like a signature is served', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
    t.after(() => stack.close())
    // MQTT CONNECT arrives in a later segment: the header waits for it, then hands over.
    const result = await rawExchange(stack.port, [PROXY_HEADER, connectPacket('late-connect')], { expectBytes: 4 })
    assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
    assert.equal(stack.seen[0]?.details?.ipAddress, '203.0.113.7')
  })
  test('a header and then a close (a health check) is counted, not refused', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
    t.after(() => stack.close())
    const socket = net.connect({ port: stack.port, host: '127.0.0.1', localAddress: '127.0.0.9' })
    socket.on('error', () => {})
    await once(socket, 'connect')
    const closed = once(socket, 'close')
    socket.end(encodeV2({ command: 'LOCAL' }))
    await closed
    await until(() => stack.proxy.stats().tcp.local === 1)
    assert.deepEqual(stack.proxy.stats().tcp.rejected, {})
    assert.equal(stack.rejected.length, 0)
  })
})

/** Opens `n` connections from the trusted proxy's address, each sending `bytes` and then nothing. */
async function openStalled (t: { after: (fn: () => void) => void }, port: number, n: number, bytes: Buffer | string): Promise<net.Socket[]> {
  const sockets: net.Socket[] = []
  t.after(() => { for (const s of sockets) s.destroy() })
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.9' })
    s.on('error', () => {})
    await once(s, 'connect')
    s.write(bytes)
    sockets.push(s)
  }
  return sockets
}

describe('maxPending', () => {
  test('beyond maxPending stalled peers, the next is refused at once with a code and a counter; the broker keeps serving', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, maxPending: 5, headerTimeout: 1500 } })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v2' })
    t.after(() => front.close())
    await openStalled(t, stack.port, 5, 'PROXY TCP4 ')
    await until(() => stack.proxy.stats().tcp.pending === 5)
    const started = Date.now()
    const extra = await rawExchange(stack.port, [encodeV2(), connectPacket()], { waitMs: 3000 })
    assert.equal(extra.closed, true)
    assert.ok(Date.now() - started < 1000, 'refused at once')
    await until(() => stack.rejected.some(r => r.err.code === 'PROXY_ERR_TOO_MANY_PENDING'))
    assert.equal(stack.proxy.stats().tcp.rejected.PROXY_ERR_TOO_MANY_PENDING, 1)
    assert.equal(stack.proxy.stats().tcp.pending, 5, 'the refused one was never pending')
    // Once the stalled ones time out, connections are read again.
    await until(() => stack.proxy.stats().tcp.pending === 0, 5000)
    const client = await connectClient({ listener: 'tcp', port: front.port })
    await endClient(client)
  })
  test('a header followed by nothing yet does not hold a place: idle clients behind the proxy cannot fill maxPending', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, maxPending: 2 } })
    t.after(() => stack.close())
    await openStalled(t, stack.port, 3, PROXY_HEADER)
    await until(() => stack.proxy.stats().tcp.proxied.v2 === 0 && stack.proxy.stats().tcp.pending === 0)
    const result = await rawExchange(stack.port, [Buffer.concat([PROXY_HEADER, connectPacket('served')])], { expectBytes: 4 })
    assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
    assert.deepEqual(stack.proxy.stats().tcp.rejected, {})
  })
  // Only a header that will be believed holds a place: on a listener that
  // reads no header (PROXY off, whose first bytes are only looked at for a
  // misplaced one) and for a peer outside trustedProxies in optional mode,
  // anyone could otherwise fill maxPending with idle sockets and lock the
  // listener's real clients (or its load balancer) out.
  test('PROXY off: idle sockets hold no place, and a plain MQTT client is served beyond maxPending of them', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: false, maxPending: 3 } })
    t.after(() => stack.close())
    await openStalled(t, stack.port, 5, Buffer.alloc(0))
    const result = await rawExchange(stack.port, [connectPacket('plain')], { expectBytes: 4 })
    assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
    assert.deepEqual(stack.proxy.stats().tcp.rejected, {})
    assert.equal(stack.proxy.stats().tcp.pending, 0)
  })
  test('optional: untrusted idle sockets hold no place, and the trusted load balancer is served beyond maxPending of them', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: 'optional', trustedProxies: ['127.0.0.2'], maxPending: 3 } })
    t.after(() => stack.close())
    await openStalled(t, stack.port, 5, Buffer.alloc(0)) // from 127.0.0.9, not trusted
    const result = await rawExchange(stack.port, [Buffer.concat([PROXY_HEADER, connectPacket('behind-lb')])], { localAddress: '127.0.0.2', expectBytes: 4 })
    assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
    assert.deepEqual(stack.proxy.stats().tcp.rejected, {})
    assert.equal(stack.seen.find(s => s.clientId === 'behind-lb')?.details?.ipAddress, '203.0.113.7')
  })
  test('PROXY off: a client whose first bytes start like a signature and then stall is handed over at the timeout, not refused', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: false, headerTimeout: 300 } })
    t.after(() => stack.close())
    const [stalled] = await openStalled(t, stack.port, 1, 'PRO')
    await until(() => stack.proxy.stats().tcp.direct === 1, 3000)
    assert.equal(stalled?.destroyed, false, 'still open: aedes has it now, with its own connect timeout')
    assert.deepEqual(stack.proxy.stats().tcp.rejected, {})
    assert.equal(stack.proxy.stats().tcp.pending, 0)
  })
  test('the default is 1000 and it is per listener', async () => {
    const { resolveOptions } = await import('../../src/options.js')
    const r = resolveOptions({ proxyEnabled: true, listeners: { ws: { maxPending: 10 } } })
    assert.equal(r.tcp.maxPending, 1000)
    assert.equal(r.ws.maxPending, 10)
  })
})

describe('user listeners that throw', () => {
  async function withUncaught (run: (errors: unknown[]) => Promise<void>): Promise<void> {
    const saved = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    const errors: unknown[] = []
    process.on('uncaughtException', err => { errors.push(err) })
    try {
      await run(errors)
    } finally {
      process.removeAllListeners('uncaughtException')
      for (const l of saved) process.on('uncaughtException', l)
    }
  }
  test('a throwing \'header\' listener: the client is still served, and the error is rethrown', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
    t.after(() => stack.close())
    stack.proxy.on('header', () => { throw new Error('listener bug') })
    await withUncaught(async errors => {
      const result = await rawExchange(stack.port, [Buffer.concat([PROXY_HEADER, connectPacket('after-throw')])], { expectBytes: 4 })
      assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
      await until(() => errors.length === 1)
      assert.match(String(errors[0]), /listener bug/)
    })
    assert.equal(stack.proxy.stats().tcp.pending, 0)
  })
  test('a throwing \'rejected\' listener and logger: the connection is closed, and the errors are rethrown', async (t) => {
    const logger = { debug () {}, info () {}, warn () { throw new Error('logger bug') }, error () { throw new Error('logger bug') } }
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, logger } })
    t.after(() => stack.close())
    stack.proxy.on('rejected', () => { throw new Error('rejected bug') })
    await withUncaught(async errors => {
      const result = await rawExchange(stack.port, [Buffer.from('PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n')], { waitMs: 3000 })
      assert.equal(result.closed, true)
      await until(() => errors.length === 2)
      assert.deepEqual(errors.map(e => (e as Error).message).sort(), ['logger bug', 'rejected bug'])
    })
  })
  test('a throwing \'unauthorized\' listener: the client still gets its CONNACK refusal', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true }, authenticate: () => false })
    t.after(() => stack.close())
    stack.unauthorized.on('unauthorized', () => { throw new Error('unauthorized bug') })
    await withUncaught(async errors => {
      const result = await rawExchange(stack.port, [Buffer.concat([PROXY_HEADER, connectPacket('bad-login')])], { expectBytes: 4, waitMs: 3000 })
      assert.equal(result.received[0], 0x20, 'a CONNACK came')
      assert.notEqual(result.received[3], 0, 'refused')
      await until(() => errors.length === 1)
      assert.match(String(errors[0]), /unauthorized bug/)
    })
  })
})

describe('memory per pending peer', () => {
  test('peers trickling a 4 KiB v2 header one byte per segment hold about the header\'s size each', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, headerTimeout: 60_000 } })
    t.after(() => stack.close())
    const header = encodeV2({ tlvs: [{ type: 0xe7, value: Buffer.alloc(4096 - 12 - 3 - 16, 0x61) }] })
    assert.equal(header.length, 4096)
    const peers = 60
    const sockets: net.Socket[] = []
    t.after(() => { for (const s of sockets) s.destroy() })
    const accepted: net.Socket[] = [] // the broker's ends
    stack.server.on('connection', (s: net.Socket) => { accepted.push(s) })
    for (let i = 0; i < peers; i++) {
      const s = net.connect({ port: stack.port, host: '127.0.0.1', localAddress: '127.0.0.9' })
      s.setNoDelay(true)
      s.on('error', () => {})
      await once(s, 'connect')
      sockets.push(s)
    }
    await until(() => stack.proxy.stats().tcp.pending === peers)
    // Idle sockets first, so what is measured is what the bytes cost.
    const before = await settledMemory()
    const upTo = header.length - 1 // never complete: all stay pending
    for (let at = 0; at < upTo; at += 1) {
      for (const s of sockets) s.write(header.subarray(at, at + 1))
      // let the broker read each byte as its own chunk
      await new Promise(resolve => setImmediate(resolve))
    }
    // Measured once the broker has read every byte sent, rather than some time after.
    await until(() => accepted.length === peers && accepted.every(s => s.bytesRead === upTo), 20_000, 'every byte read')
    const grown = (await settledMemory()) - before
    assert.equal(stack.proxy.stats().tcp.pending, peers)
    const perPeer = grown / peers
    // Measured: about 5.4 KiB, of which a bare socket that received the
    // same bytes is 2.4 KiB (both ends are in this process); before the fix
    // ~790 KiB. Heap readings on a shared machine move by a few KiB a peer,
    // so the bound leaves room for that and still catches a copy per chunk.
    assert.ok(perPeer < 3 * header.length + 4096, `a pending peer holds ${Math.round(perPeer)} bytes for a ${header.length}-byte header`)
  })
})

describe('memory per connected client', () => {
  async function connectRaw (port: number, header: Buffer, id: string): Promise<net.Socket> {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.9' })
    s.on('error', () => {})
    await once(s, 'connect')
    const connack = once(s, 'data')
    s.write(Buffer.concat([header, connectPacket(id)]))
    const [data] = await connack as [Buffer]
    assert.deepEqual(data.subarray(0, 4), CONNACK_ACCEPTED)
    return s
  }
  test("a header of more than 128 TLVs is refused; one of 128 TLVs in 4 KiB keeps about the header's size per client", async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
    t.after(() => stack.close())
    const tooMany = encodeV2({ tlvs: Array.from({ length: 129 }, () => ({ type: 0xe5, value: '' })) })
    const refused = await rawExchange(stack.port, [Buffer.concat([tooMany, connectPacket()])], { waitMs: 3000 })
    assert.equal(refused.closed, true)
    await until(() => stack.rejected.length === 1)
    assert.equal(stack.rejected[0]?.err.code, 'PROXY_ERR_TLV')

    // 300 clients a step: with 100 the reading moved by ±3 KiB a client
    // between runs (6.3 to 11.8 KiB), close enough to the bound to fail now
    // and then; with 300 it stays within about ±0.4 KiB.
    const n = 300
    const v1 = encodeV1({ family: 'TCP4', source: { address: '203.0.113.7', port: 40000 }, destination: { address: '198.51.100.1', port: 1883 } })
    // 128 TLVs of 16 bytes, padded to a 4096-byte header with one more
    const tlvs = Array.from({ length: 127 }, (_, i) => ({ type: 0xe0 + (i % 16), value: Buffer.alloc(13, i) }))
    const used = 16 + 12 + 127 * 16
    tlvs.push({ type: 0xe5, value: Buffer.alloc(4096 - used - 3, 0x61) })
    const heavy = encodeV2({ source: { address: '203.0.113.8', port: 40000 }, destination: { address: '198.51.100.1', port: 1883 }, tlvs })
    assert.equal(heavy.length, 4096)
    const sockets: net.Socket[] = []
    t.after(() => { for (const s of sockets) s.destroy() })
    // warm the broker up first: its first clients cost more than the next ones
    for (let i = 0; i < n; i++) sockets.push(await connectRaw(stack.port, v1, `warm-${i}`))
    const m0 = await settledMemory()
    for (let i = 0; i < n; i++) sockets.push(await connectRaw(stack.port, v1, `light-${i}`))
    const m1 = await settledMemory()
    for (let i = 0; i < n; i++) sockets.push(await connectRaw(stack.port, heavy, `heavy-${i}`))
    const m2 = await settledMemory()
    const light = (m1 - m0) / n
    const extra = (m2 - m1) / n - light
    // Measured with 300 clients: 4.1 to 5.5 KiB, mostly the TLVs' own copy
    // (the stack's sessions plugin reads them). It was 7.8 to 8.5 KiB while that
    // copy came from Buffer's shared 8 KiB pool: each client's copy kept a
    // whole pool slab alive; 21 to 31 KiB before the first fix.
    assert.ok(extra < 1.5 * heavy.length + 1024, `a client with a 4096-byte header of 128 TLVs keeps ${Math.round(extra)} bytes more than a v1 client (${Math.round(light)})`)
  })
})
