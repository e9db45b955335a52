// Trust and modes: no forged header is ever believed, no headerless client
// gets a CONNACK where a header is required, on every listener kind.
import { test, describe } from 'node:test'
import mqttPacket from 'mqtt-packet'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { spawnSync } from 'node:child_process'
import { until } from '../helpers/wait.js'
import { startStack } from '../helpers/stack.js'
import { startFront, v2HeaderFor } from '../helpers/front.js'
import { connectClient, endClient } from '../helpers/client.js'
import { CONNACK_ACCEPTED, connectPacket, rawExchange } from '../helpers/raw.js'
import { encodeV1, encodeV2, sslTlv } from '../helpers/encode.js'
import { LISTENER_NAMES, type ProxyProtocolOptions } from '../../src/options.js'
import { OptionsError } from '../../src/errors.js'
import { proxyProtocol } from '../../src/plugin.js'

const TRUSTED = '127.0.0.9'
const UNTRUSTED = '127.0.0.8'

/** What HAProxy send-proxy writes for a client at `source`:40000 that dialled 198.51.100.1:1883. */
const v1From = (source: string): Buffer =>
  encodeV1({
    family: 'TCP4', source: { address: source, port: 40000 }, destination: { address: '198.51.100.1', port: 1883 }
  })

/** A front that announces a forged client address, 203.0.113.66:6666. */
function forged (c: net.Socket): Buffer {
  void c
  return encodeV2({
    source: { address: '203.0.113.66', port: 6666 }, destination: { address: '198.51.100.1', port: 1883 }
  })
}

describe('required mode with trustedProxies', () => {
  for (const listener of LISTENER_NAMES) {
    test(`${listener}: a forged header from an untrusted peer is refused before it is read; ` +
      'the trusted proxy works', async (t) => {
      const stack = await startStack({ listener, plugin: { proxyEnabled: true, trustedProxies: [`${TRUSTED}/32`] } })
      t.after(() => stack.close())
      const rejected = stack.rejected
      const bad = await startFront({ target: stack.port, header: forged, upstreamAddress: UNTRUSTED })
      t.after(() => bad.close())
      await assert.rejects(connectClient({ listener, port: bad.port }))
      await until(() => rejected.length === 1)
      assert.equal(rejected[0]?.err.code, 'PROXY_ERR_UNTRUSTED')
      assert.equal(rejected[0]?.ev.peer.address, UNTRUSTED)
      assert.equal(stack.seen.length, 0, 'no hook ran for the forged client')
      assert.equal(stack.proxy.stats()[listener].rejected.PROXY_ERR_UNTRUSTED, 1)

      const good = await startFront({ target: stack.port, header: 'v2', upstreamAddress: TRUSTED })
      t.after(() => good.close())
      const client = await connectClient({ listener, port: good.port, localAddress: '127.0.0.2' })
      await endClient(client)
      assert.equal(stack.seen.find(s => s.hook === 'authenticate')?.details?.ipAddress, '127.0.0.2')
    })
  }

  test('an IPv4 entry matches a dual-stack peer that Node reports as ::ffff:a.b.c.d', async (t) => {
    const stack = await startStack({
      listener: 'tcp', host: '::ffff:127.0.0.1', plugin: { proxyEnabled: true, trustedProxies: ['127.0.0.9'] }
    })
    t.after(() => stack.close())
    const rejected = stack.rejected
    const ok = await rawExchange(stack.port, [Buffer.concat([v1From('198.51.100.20'), connectPacket()])],
      { localAddress: TRUSTED, expectBytes: 4, waitMs: 5000 })
    assert.deepEqual(ok.received.subarray(0, 4), CONNACK_ACCEPTED)
    const d = stack.seen.find(s => s.hook === 'authenticate')?.details
    assert.equal(d?.peer.address, '::ffff:127.0.0.9')
    assert.equal(d?.ipAddress, '198.51.100.20')
    const refused = await rawExchange(stack.port, [Buffer.concat([v1From('198.51.100.21'), connectPacket()])],
      { localAddress: UNTRUSTED })
    assert.equal(refused.closed, true)
    assert.equal(refused.received.length, 0)
    await until(() => rejected.length === 1)
    assert.equal(rejected[0]?.err.code, 'PROXY_ERR_UNTRUSTED')
  })

  // The client runs in a child process while spawnSync blocks this event
  // loop: it connects, writes and resets before the server accepts, so the
  // accepted socket has no peer address to check (as with HAProxy's checks).
  const resetBeforeAccept = (port: number, bytes: Buffer): void => {
    const script = `const s = require('net').connect(${port}, '127.0.0.1', () => { ` +
      `s.write(Buffer.from('${bytes.toString('hex')}', 'hex'), () => { s.resetAndDestroy() }) }); ` +
      "s.on('close', () => process.exit(0))"
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 })
    assert.equal(r.status, 0, r.stderr)
  }
  test('reset before its peer address is read: a header and nothing after it is a health check (a probe); ' +
    'with a CONNECT after it, a refusal; neither believed', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, trustedProxies: ['127.0.0.1'] } })
    t.after(() => stack.close())
    const v1 = v1From('198.51.100.20')
    resetBeforeAccept(stack.port, v1)
    await until(() => stack.rejected.length === 1)
    assert.equal(stack.rejected[0]?.ev.probe, true)
    assert.equal(stack.rejected[0]?.err.code, 'PROXY_ERR_CLOSED')
    assert.deepEqual(stack.proxy.stats().tcp.rejected, {})
    assert.equal(stack.proxy.stats().tcp.probes, 1)
    resetBeforeAccept(stack.port, Buffer.concat([v1, connectPacket()]))
    await until(() => stack.rejected.length === 2)
    assert.equal(stack.rejected[1]?.ev.probe, false)
    assert.deepEqual(stack.proxy.stats().tcp.rejected, { PROXY_ERR_CLOSED: 1 })
    assert.equal(stack.seen.length, 0, 'no hook ran: nothing was believed or handed over')
  })
})

describe('optional mode', () => {
  test('needs trustedProxies: the schema refuses it alone, naming the setting', () => {
    assert.throws(() => proxyProtocol({ proxyEnabled: 'optional' }), (err: unknown) => {
      assert.ok(err instanceof OptionsError)
      assert.equal(err.issues[0]?.path, 'proxyEnabled')
      assert.match(err.message, /trustedProxies/)
      return true
    })
    // One global setting wrong for every listener is one problem, naming them.
    const wsOnly: ProxyProtocolOptions = {
      proxyEnabled: 'optional', listeners: { ws: { trustedProxies: ['10.0.0.1'] } }
    }
    assert.throws(() => proxyProtocol(wsOnly), (err: unknown) => {
      assert.ok(err instanceof OptionsError)
      assert.deepEqual(err.issues.map(i => `${i.path}: ${i.message}`), [
        "proxyEnabled: 'optional' on the tcp, ssl and wss listeners needs trustedProxies, " +
        'so that only known proxies can announce a client address'
      ])
      return true
    })
    assert.throws(() => proxyProtocol({ listeners: { ws: { proxyEnabled: 'optional' } } }), (err: unknown) => {
      assert.ok(err instanceof OptionsError)
      assert.equal(err.issues[0]?.path, 'listeners.ws.proxyEnabled')
      return true
    })
  })
  for (const listener of LISTENER_NAMES) {
    test(`${listener}: trusted proxy's header is used, direct clients connect, ` +
      'an untrusted peer\'s header is refused', async (t) => {
      const stack = await startStack({ listener, plugin: { proxyEnabled: 'optional', trustedProxies: [TRUSTED] } })
      t.after(() => stack.close())
      const rejected = stack.rejected
      // 1. through the trusted proxy, with a header
      const proxied: number[] = []
      const header = (c: net.Socket): Buffer => { proxied.push(c.remotePort as number); return v2HeaderFor(c) }
      const good = await startFront({
        target: stack.port, header, upstreamAddress: TRUSTED, delivery: 'with-first-chunk'
      })
      t.after(() => good.close())
      const a = await connectClient({ listener, port: good.port, localAddress: '127.0.0.2', clientId: 'via-proxy' })
      await endClient(a)
      // 2. directly, no header
      const b = await connectClient({ listener, port: stack.port, localAddress: '127.0.0.3', clientId: 'direct' })
      await endClient(b)
      // 3. the trusted proxy without a header (a direct connection from it)
      const plain = await startFront({ target: stack.port, header: 'none', upstreamAddress: TRUSTED })
      t.after(() => plain.close())
      const c = await connectClient({
        listener, port: plain.port, localAddress: '127.0.0.4', clientId: 'proxy-no-header'
      })
      await endClient(c)
      // 4. an untrusted peer with a forged header
      const bad = await startFront({ target: stack.port, header: forged, upstreamAddress: UNTRUSTED })
      t.after(() => bad.close())
      await assert.rejects(connectClient({ listener, port: bad.port, clientId: 'forger' }))
      await until(() => rejected.length === 1)

      const auth = (id: string): typeof stack.seen[number]['details'] =>
        stack.seen.find(s => s.hook === 'authenticate' && s.clientId === id)?.details
      assert.equal(auth('via-proxy')?.ipAddress, '127.0.0.2')
      assert.equal(auth('via-proxy')?.port, proxied[0])
      assert.equal(auth('via-proxy')?.isProxy, 2)
      assert.equal(auth('direct')?.ipAddress, '127.0.0.3')
      assert.equal(auth('direct')?.isProxy, 0)
      assert.equal(auth('proxy-no-header')?.ipAddress, TRUSTED)
      assert.equal(auth('proxy-no-header')?.isProxy, 0)
      assert.equal(auth('forger'), undefined)
      assert.equal(stack.seen.some(s => s.details?.ipAddress === '203.0.113.66'), false,
        'the forged address never reached a hook')
      assert.equal(rejected[0]?.err.code, 'PROXY_ERR_UNTRUSTED')
      const stats = stack.proxy.stats()[listener]
      assert.equal(stats.proxied.v2, 1)
      assert.equal(stats.direct, 2)
      assert.equal(stats.rejected.PROXY_ERR_UNTRUSTED, 1)
    })
  }
})

describe('misconfiguration hints', () => {
  test('a header on a listener with PROXY off: one error log line naming MQTT_TCP_PROXY_PROTOCOL_ENABLED, ' +
    'then closed', async (t) => {
    const logs: Array<{ level: string, obj: Record<string, unknown>, msg: string | undefined }> = []
    const logger = {
      debug: (obj: object, msg?: string) => logs.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
      info: (obj: object, msg?: string) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj: object, msg?: string) => logs.push({ level: 'error', obj: obj as Record<string, unknown>, msg })
    }
    const stack = await startStack({ listener: 'tcp', plugin: { logger } })
    t.after(() => stack.close())
    const rejected = stack.rejected
    const front = await startFront({ target: stack.port, header: 'v1' })
    t.after(() => front.close())
    const started = Date.now()
    await assert.rejects(connectClient({ listener: 'tcp', port: front.port }))
    assert.ok(Date.now() - started < 5000, 'fails fast, no hang')
    await until(() => rejected.length === 1)
    assert.equal(rejected[0]?.err.code, 'PROXY_ERR_UNEXPECTED_HEADER')
    assert.match(rejected[0]?.ev.hint ?? '', /MQTT_TCP_PROXY_PROTOCOL_ENABLED=true/)
    assert.equal(logs.length, 1)
    assert.equal(logs[0]?.level, 'error')
    assert.match(String(logs[0]?.obj.hint), /MQTT_TCP_PROXY_PROTOCOL_ENABLED/)
    assert.doesNotMatch(logs[0]?.msg ?? '', /MQTT_TCP_PROXY_PROTOCOL_ENABLED/,
      'the hint is in its field, not repeated in the message')
    assert.equal(stack.seen.length, 0)
    // a direct client is unaffected by the watch
    const client = await connectClient({ listener: 'tcp', port: stack.port, localAddress: '127.0.0.3' })
    await endClient(client)
    assert.equal(stack.seen.find(s => s.hook === 'authenticate')?.details?.ipAddress, '127.0.0.3')
  })
  test('an empty probe is one debug line: event probe, its code and peer, nothing saying it was refused', async (t) => {
    const lines: Array<{ level: string, obj: Record<string, unknown>, msg: string | undefined }> = []
    const at = (level: string) => (obj: object, msg?: string) => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg })
    }
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true, logger } })
    t.after(() => stack.close())
    const accepted = once(stack.server, 'connection') // after the plugin's own listener
    const socket = net.connect({ port: stack.port, host: '127.0.0.1', localAddress: '127.0.0.9' })
    socket.on('error', () => {})
    await once(socket, 'connect')
    await accepted
    socket.end()
    await until(() => stack.proxy.stats().tcp.probes === 1)
    assert.equal(lines.length, 1)
    assert.equal(lines[0]?.level, 'debug')
    assert.equal(lines[0]?.obj.event, 'probe')
    assert.equal(lines[0]?.obj.code, 'PROXY_ERR_CLOSED')
    assert.equal((lines[0]?.obj.peer as { address?: string } | undefined)?.address, '127.0.0.9')
    assert.equal('refusedBy' in (lines[0]?.obj ?? {}), false)
  })
  test('a health check that sends its header and resets at once is refused with its peer, ' +
    'not an empty address', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: {} })
    t.after(() => stack.close())
    const accepted = once(stack.server, 'connection') // after the plugin's own listener
    const socket = net.connect({ port: stack.port, host: '127.0.0.1', localAddress: '127.0.0.9' })
    socket.on('error', () => {})
    await once(socket, 'connect')
    await accepted // the broker has the connection
    // HAProxy's check-send-proxy: the header, then a reset in the same breath.
    socket.write(encodeV2({ command: 'LOCAL' }), () => { socket.resetAndDestroy() })
    await until(() => stack.rejected.length === 1)
    assert.equal(stack.rejected[0]?.err.code, 'PROXY_ERR_UNEXPECTED_HEADER')
    assert.equal(stack.rejected[0]?.ev.peer.address, '127.0.0.9')
  })
  test('the same misconfiguration again and again (a health check every few seconds): one log line, ' +
    'every refusal still counted and emitted', async (t) => {
    const lines: string[] = []
    const log = (obj: object, msg?: string): void => { lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`) }
    const logger = { debug: () => {}, info: log, warn: log, error: log }
    const stack = await startStack({ listener: 'tcp', plugin: { logger } })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v1' })
    t.after(() => front.close())
    for (let i = 0; i < 5; i++) await assert.rejects(connectClient({ listener: 'tcp', port: front.port }))
    await until(() => stack.rejected.length === 5)
    assert.equal(lines.length, 1, lines.join('\n'))
    assert.match(lines[0] ?? '', new RegExp('^PROXY protocol misconfiguration on the tcp listener: ' +
      'a PROXY header arrived on a listener where PROXY protocol is off \\(the hint says what to change\\) \\{'))
    assert.match(lines[0] ?? '',
      /"hint":"the tcp listener received a PROXY protocol header but PROXY protocol is off there/)
    assert.equal(lines[0]?.split('the load balancer sends it').length, 2, 'the hint once, not twice')
    assert.equal(stack.proxy.stats().tcp.rejected.PROXY_ERR_UNEXPECTED_HEADER, 5)
  })
  test('a direct MQTT client where a header is required: the hint names its client id and the setting', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { proxyEnabled: true } })
    t.after(() => stack.close())
    const rejected = stack.rejected
    await assert.rejects(connectClient({ listener: 'tcp', port: stack.port, clientId: 'sensor-42' }))
    await until(() => rejected.length === 1)
    assert.equal(rejected[0]?.err.code, 'PROXY_ERR_NOT_PROXY')
    assert.equal(rejected[0]?.ev.clientId, 'sensor-42')
    assert.match(rejected[0]?.ev.hint ?? '', /client "sensor-42"/)
    assert.match(rejected[0]?.ev.hint ?? '', /MQTT_TCP_PROXY_PROTOCOL_ENABLED=false/)
  })
  for (const [listener, what] of [['ssl', 'a TLS handshake'], ['ws', 'an HTTP request']] as const) {
    test(`${listener}: a direct client where a header is required: ` +
      `the hint says it started with ${what}`, async (t) => {
      const stack = await startStack({ listener, plugin: { proxyEnabled: true } })
      t.after(() => stack.close())
      const rejected = stack.rejected
      await assert.rejects(connectClient({ listener, port: stack.port }))
      await until(() => rejected.length === 1)
      assert.match(rejected[0]?.ev.hint ?? '', new RegExp(what))
      assert.match(rejected[0]?.ev.hint ?? '',
        new RegExp(`MQTT_${listener.toUpperCase()}_PROXY_PROTOCOL_ENABLED=false`))
    })
  }
  test('hints: false leaves a PROXY-off listener untouched (aedes gets the bytes)', async (t) => {
    const stack = await startStack({ listener: 'tcp', plugin: { hints: false } })
    t.after(() => stack.close())
    const rejected = stack.rejected
    const client = await connectClient({ listener: 'tcp', port: stack.port, localAddress: '127.0.0.3' })
    await endClient(client)
    assert.equal(stack.proxy.stats().tcp.direct, 1)
    assert.equal(rejected.length, 0)
  })
})

describe('sslCnAsUsername', () => {
  const header = (verify: number, client: number): Buffer => encodeV2({
    source: { address: '203.0.113.7', port: 50000 },
    destination: { address: '198.51.100.1', port: 8883 },
    tlvs: [sslTlv(client, verify, [{ type: 0x21, value: 'TLSv1.3' }, { type: 0x22, value: 'device-7' }])]
  })
  const rows = [
    {
      name: 'a certificate the proxy verified: the CN is the username',
      verify: 0,
      client: 0x07,
      option: true,
      expected: 'device-7'
    },
    {
      name: 'verification failed: the MQTT username stands', verify: 1, client: 0x07, option: true, expected: undefined
    },
    { name: 'no certificate: the MQTT username stands', verify: 0, client: 0x01, option: true, expected: undefined },
    {
      name: 'certificate bits without PP2_CLIENT_SSL: the MQTT username stands',
      verify: 0,
      client: 0x06,
      option: true,
      expected: undefined
    },
    { name: 'off (the default): the MQTT username stands', verify: 0, client: 0x07, option: false, expected: undefined }
  ]
  test('needs trustedProxies: a forged SSL TLV must not become a forged login', () => {
    assert.throws(() => proxyProtocol({ proxyEnabled: true, sslCnAsUsername: true }), (err: unknown) =>
      err instanceof OptionsError && err.issues.some(i => i.path === 'sslCnAsUsername'))
  })
  for (const row of rows) {
    test(row.name, async (t) => {
      const plugin = { proxyEnabled: true, trustedProxies: [TRUSTED], sslCnAsUsername: row.option }
      const stack = await startStack({ listener: 'tcp', plugin })
      t.after(() => stack.close())
      const result = await rawExchange(stack.port, [Buffer.concat([header(row.verify, row.client), connectPacket()])],
        { expectBytes: 4, waitMs: 5000 })
      assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
      const seen = stack.seen.find(s => s.hook === 'authenticate')
      assert.equal(seen?.username, row.expected)
      assert.equal(seen?.details?.proxy?.tlvs.ssl?.cn, 'device-7')
    })
  }
  // What HAProxy's send-proxy-v2-ssl-cn forwards for a certificate whose CN
  // is a BMPString (UTF-16BE) or a T61String (Latin-1), and CNs that would
  // print as another name: the verified client reaches authenticate with no
  // username (not the MQTT one it chose); the CN's bytes stay in ssl.tlvs.
  const odd: Array<{ name: string, cn: Buffer }> = [
    { name: 'a BMPString CN (UTF-16BE)', cn: Buffer.from('device-7', 'utf16le').swap16() },
    { name: 'a T61String CN (Latin-1)', cn: Buffer.from('Gerät-7', 'latin1') },
    { name: 'a CN with U+202E', cn: Buffer.from('device-\u202e7', 'utf8') },
    { name: 'a CN with U+200B', cn: Buffer.from('device\u200b-7', 'utf8') }
  ]
  for (const row of odd) {
    test(`${row.name}: the client gets no username, never the MQTT one in its place`, async (t) => {
      const plugin = { proxyEnabled: true, trustedProxies: [TRUSTED], sslCnAsUsername: true }
      const stack = await startStack({ listener: 'tcp', plugin })
      t.after(() => stack.close())
      const h = encodeV2({
        source: { address: '203.0.113.7', port: 50000 },
        destination: { address: '198.51.100.1', port: 8883 },
        tlvs: [sslTlv(0x07, 0, [{ type: 0x22, value: row.cn }])]
      })
      const connect = mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'odd-cn',
        keepalive: 0,
        username: 'mqtt-user'
      })
      const result = await rawExchange(stack.port, [Buffer.concat([h, connect])], { expectBytes: 4, waitMs: 5000 })
      assert.deepEqual(result.received.subarray(0, 4), CONNACK_ACCEPTED)
      const seen = stack.seen.find(s => s.hook === 'authenticate')
      assert.ok(seen !== undefined, 'authenticate ran')
      assert.equal(seen.username, undefined, 'a verified CN that is not text names no one')
      assert.equal(seen.details?.proxy?.tlvs.ssl?.cn, undefined)
      assert.equal(seen.details?.proxy?.tlvs.ssl?.verified, true)
      assert.deepEqual(seen?.details?.proxy?.tlvs.ssl?.tlvs.find(x => x.type === 0x22)?.value, row.cn)
      assert.deepEqual(stack.rejected, [])
    })
  }
})
