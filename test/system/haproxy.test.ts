// A real HAProxy (mode tcp) in front of a real aedes broker with the plugin.
// The MQTT.js client connects to HAProxy from 127.0.0.2; HAProxy connects to
// the broker from 127.0.0.9 (`source` on the server line), so the hooks can
// tell the client's address from the proxy's. Everything is on loopback;
// every HAProxy is stopped by PID in t.after.
import { test, describe, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import tls from 'node:tls'
import mqtt, { type MqttClient } from 'mqtt'
import { startStack, type Stack, type StackOptions } from '../helpers/stack.js'
import { connectClient, connectVia, endClient } from '../helpers/client.js'
import { bmpClientCert, testCerts } from '../helpers/certs.js'
import { freePort, haproxyStats, startTestHaproxy as haproxy, until } from '../helpers/programs.js'
import { LISTENER_NAMES, type ListenerName } from '../../src/options.js'
import type { ConnDetails } from '../../src/conn-details.js'
import type { HeaderEvent, RejectedEvent } from '../../src/events.js'
import type { ProxyProtocolError } from '../../src/protocol/errors.js'

const PROXY_SOURCE = '127.0.0.9'
const CLIENT_ADDRESS = '127.0.0.2'

async function stack (t: TestContext, options: StackOptions): Promise<Stack> {
  const s = await startStack(options)
  t.after(() => s.close())
  return s
}

function proxyOn (listener: ListenerName): StackOptions {
  return { listener, plugin: { listeners: { [listener]: { proxyEnabled: true } } } }
}

function authenticateDetails (s: Stack, clientId: string): ConnDetails {
  const found = s.seen.find(x => x.hook === 'authenticate' && x.clientId === clientId)
  assert.ok(found, `authenticate ran for ${clientId}`)
  assert.ok(found.details, `authenticate saw connDetails for ${clientId}`)
  return found.details
}

async function roundTrip (subscriber: MqttClient, publisher: MqttClient, topic: string, payload: string): Promise<void> {
  await subscriber.subscribeAsync(topic, { qos: 1 })
  const received = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 5 s`)), 5000)
    subscriber.on('message', (t, message) => {
      if (t === topic) { clearTimeout(timer); resolve(message.toString('utf8')) }
    })
  })
  await publisher.publishAsync(topic, payload, { qos: 1 })
  assert.equal(await received, payload)
}

function collect (s: Stack): { headers: HeaderEvent[], rejected: Array<{ err: ProxyProtocolError, ev: RejectedEvent }> } {
  const headers: HeaderEvent[] = []
  const rejected: Array<{ err: ProxyProtocolError, ev: RejectedEvent }> = []
  s.proxy.on('header', ev => headers.push(ev))
  s.proxy.on('rejected', (err, ev) => rejected.push({ err, ev }))
  return { headers, rejected }
}

describe('HAProxy send-proxy / send-proxy-v2 to the tcp listener', () => {
  for (const [option, version] of [['send-proxy', 1], ['send-proxy-v2', 2]] as const) {
    test(`${option}: hooks see the client's address and port; publish/subscribe works`, async (t) => {
      const s = await stack(t, proxyOn('tcp'))
      const fe = await freePort()
      const hap = await haproxy(t, {
        frontend: [`bind 127.0.0.1:${fe}`],
        server: `server s1 127.0.0.1:${s.port} ${option} source ${PROXY_SOURCE}`
      })
      if (hap === undefined) return
      const sub = await connectVia(t, 'tcp', fe)
      const pub = await connectVia(t, 'tcp', fe)
      assert.notEqual(sub.localPort, pub.localPort)
      for (const c of [sub, pub]) {
        const d = authenticateDetails(s, c.client.options.clientId as string)
        assert.equal(d.ipAddress, CLIENT_ADDRESS)
        assert.equal(d.port, c.localPort)
        assert.equal(d.ipFamily, 4)
        assert.equal(d.isProxy, version)
        assert.equal(d.serverIpAddress, '127.0.0.1')
        assert.equal(d.serverPort, fe)
        assert.equal(d.peer.address, PROXY_SOURCE)
        assert.notEqual(d.peer.port, c.localPort)
        assert.equal(d.listener, 'tcp')
        assert.equal(d.isTls, false)
        assert.equal(d.proxy?.proxied, true)
        assert.equal(d.proxy?.command, 'PROXY')
      }
      await roundTrip(sub.client, pub.client, `haproxy/${option}`, `hello via ${option}`)
      await endClient(pub.client)
      await endClient(sub.client)
    })
  }
})

describe('HAProxy mode tcp passthrough (send-proxy-v2) to every listener kind', () => {
  for (const listener of LISTENER_NAMES) {
    test(`${listener}: the client's real address and port reach the hooks`, async (t) => {
      const s = await stack(t, proxyOn(listener))
      const fe = await freePort()
      const hap = await haproxy(t, {
        frontend: [`bind 127.0.0.1:${fe}`],
        server: `server s1 127.0.0.1:${s.port} send-proxy-v2 source ${PROXY_SOURCE}`
      })
      if (hap === undefined) return
      const c = await connectVia(t, listener, fe)
      // One client only: aedes runs preConnect before it assigns client.id.
      assert.deepEqual(s.seen.map(x => x.hook), ['preConnect', 'authenticate'])
      assert.equal(s.seen[1]?.clientId, c.client.options.clientId)
      for (const seen of s.seen) {
        const d = seen.details
        assert.ok(d, `${seen.hook} saw connDetails`)
        assert.equal(d.ipAddress, CLIENT_ADDRESS)
        assert.equal(d.port, c.localPort)
        assert.equal(d.isProxy, 2)
        assert.equal(d.serverPort, fe)
        assert.equal(d.peer.address, PROXY_SOURCE)
        assert.equal(d.listener, listener)
        assert.equal(d.isTls, listener === 'ssl' || listener === 'wss')
        assert.equal(d.isWebsocket, listener === 'ws' || listener === 'wss')
      }
      await endClient(c.client)
    })
  }
})

for (const trusted of [undefined, [PROXY_SOURCE]]) {
  test(`HAProxy health checks with check-send-proxy${trusted === undefined ? '' : ', trustedProxies set'}: LOCAL headers, no refusals, server UP`, async (t) => {
    const s = await stack(t, trusted === undefined ? proxyOn('tcp') : { listener: 'tcp', plugin: { proxyEnabled: true, trustedProxies: trusted } })
    const events = collect(s)
    const fe = await freePort()
    const hap = await haproxy(t, {
      frontend: [`bind 127.0.0.1:${fe}`],
      server: `server s1 127.0.0.1:${s.port} check send-proxy-v2 check-send-proxy inter 200ms source ${PROXY_SOURCE}`
    })
    if (hap === undefined) return
    const local = (): HeaderEvent[] => events.headers.filter(h => h.header.command === 'LOCAL')
    // A check reset before Node read its peer address can only be judged a
    // probe when a trusted list is set (there is no address to check).
    const probes = (): number => events.rejected.filter(r => r.ev.probe).length
    await until(() => local().length + (trusted === undefined ? 0 : probes()) >= 5, 5000, 'five health checks')
    for (const h of local()) {
      assert.equal(h.listener, 'tcp')
      assert.equal(h.header.version, 2)
      assert.equal(h.header.proxied, false)
      // HAProxy resets a check connection right after the header, often before
      // Node's accept callback runs; getpeername then fails (ENOTCONN) and Node
      // reports no remote address at all, even to a plain net.Server.
      assert.ok(h.peer.address === PROXY_SOURCE || h.peer.address === '', `check peer ${h.peer.address}`)
    }
    assert.deepEqual(events.rejected.filter(r => !r.ev.probe).map(r => `${r.err.code}: ${r.err.message}`), [])
    // Issue 9: with or without a trusted list, a check is `local` (its LOCAL
    // header was read) or a `probe`, never a refusal on the dashboard.
    const stats = s.proxy.stats().tcp
    assert.deepEqual(stats.rejected, {}, 'no health check is counted as a refusal')
    assert.ok(stats.local >= 1, `checks counted as local: ${stats.local} (probes ${stats.probes})`)
    assert.equal(s.seen.length, 0, 'health checks never reach the MQTT hooks')
    const row = (await haproxyStats(hap.statsSocket)).find(r => r.pxname === 'be' && r.svname === 's1')
    assert.ok(row, 'show stat lists be/s1')
    assert.equal(row.status, 'UP')
    assert.match(row.check_status ?? '', /^L4OK/)
    assert.equal(row.chkfail, '0')
    // The broker still serves real clients through the same HAProxy.
    const c = await connectVia(t, 'tcp', fe)
    assert.equal(authenticateDetails(s, c.client.options.clientId as string).ipAddress, CLIENT_ADDRESS)
    await endClient(c.client)
  })
}

describe('HAProxy with an IPv6 frontend on ::1', () => {
  for (const [option, version] of [['send-proxy', 1], ['send-proxy-v2', 2]] as const) {
    test(`${option}: ipAddress ::1, ipFamily 6`, async (t) => {
      const s = await stack(t, proxyOn('tcp'))
      const fe = await freePort('::1')
      const hap = await haproxy(t, {
        frontend: [`bind [::1]:${fe}`],
        server: `server s1 127.0.0.1:${s.port} ${option} source ${PROXY_SOURCE}`
      })
      if (hap === undefined) return
      const c = await connectVia(t, 'tcp', fe, { host: '::1', localAddress: '::1' })
      const d = authenticateDetails(s, c.client.options.clientId as string)
      assert.equal(d.ipAddress, '::1')
      assert.equal(d.ipFamily, 6)
      assert.equal(d.port, c.localPort)
      assert.equal(d.serverIpAddress, '::1')
      assert.equal(d.serverPort, fe)
      assert.equal(d.isProxy, version)
      assert.equal(d.proxy?.family, 'INET6')
      assert.equal(d.peer.address, PROXY_SOURCE)
      await endClient(c.client)
    })
  }
})

test('TLS terminated at HAProxy with a client certificate, send-proxy-v2-ssl-cn: the SSL TLV', async (t) => {
  const certs = testCerts()
  const s = await stack(t, proxyOn('tcp'))
  const fe = await freePort()
  const hap = await haproxy(t, {
    frontend: [`bind 127.0.0.1:${fe} ssl crt ${certs.serverPemPath} ca-file ${certs.caPath} verify required`],
    server: `server s1 127.0.0.1:${s.port} send-proxy-v2-ssl-cn source ${PROXY_SOURCE}`
  })
  if (hap === undefined) return
  const c = await connectVia(t, 'ssl', fe, { clientCert: true })
  const d = authenticateDetails(s, c.client.options.clientId as string)
  assert.equal(d.ipAddress, CLIENT_ADDRESS)
  assert.equal(d.port, c.localPort)
  assert.equal(d.isProxy, 2)
  assert.equal(d.isTls, false, 'the broker itself did not terminate TLS')
  assert.equal(d.listener, 'tcp')
  const ssl = d.proxy?.tlvs.ssl
  assert.ok(ssl, 'SSL TLV decoded')
  assert.equal(ssl.clientSsl, true)
  assert.equal(ssl.certConn, true)
  assert.equal(ssl.verify, 0)
  assert.equal(ssl.verified, true)
  assert.equal(ssl.cn, 'client-1')
  assert.match(ssl.version ?? '', /^TLSv1\.[23]$/)
  assert.equal(ssl.version, (c.client.stream as tls.TLSSocket).getProtocol())
  await endClient(c.client)
})

// Issue 22: a CN that some PKIs issue as a BMPString reaches the plugin as
// its UTF-16BE bytes (HAProxy copies the ASN.1 string as it is). In a
// non-Latin script those bytes hold no NUL but 0x03-0x06, and 0x0A in 上:
// not text, so the client is let in, the CN is left raw, and with
// sslCnAsUsername authenticate gets no username (never the MQTT one).
describe('HAProxy send-proxy-v2-ssl-cn, a verified client whose CN is a BMPString', () => {
  for (const cn of ['Термометр', 'Θερμόμετρο', 'مقياس', 'מדחום', '上海']) {
    test(`CN ${cn}: connected, ssl.cn absent, the UTF-16BE bytes in ssl.tlvs, no username`, async (t) => {
      const certs = testCerts()
      const s = await stack(t, { listener: 'tcp', plugin: { proxyEnabled: true, trustedProxies: [PROXY_SOURCE], sslCnAsUsername: true } })
      const fe = await freePort()
      const hap = await haproxy(t, {
        frontend: [`bind 127.0.0.1:${fe} ssl crt ${certs.serverPemPath} ca-file ${certs.caPath} verify required`],
        server: `server s1 127.0.0.1:${s.port} send-proxy-v2-ssl-cn source ${PROXY_SOURCE}`
      })
      if (hap === undefined) return
      const client = await connectClient({ listener: 'ssl', port: fe, localAddress: CLIENT_ADDRESS, clientCert: bmpClientCert(cn), username: 'mqtt-user' })
      t.after(() => { client.end(true) })
      const clientId = client.options.clientId as string
      const seen = s.seen.find(x => x.hook === 'authenticate' && x.clientId === clientId)
      assert.ok(seen !== undefined, 'authenticate ran')
      assert.equal(seen.username, undefined)
      const ssl = seen.details?.proxy?.tlvs.ssl
      assert.ok(ssl, 'SSL TLV decoded')
      assert.equal(ssl.verified, true)
      assert.equal(ssl.cn, undefined)
      assert.equal(ssl.tlvs.find(x => x.type === 0x22)?.value.toString('hex'), Buffer.from(cn, 'utf16le').swap16().toString('hex'))
      assert.deepEqual(s.rejected, [])
      await endClient(client)
    })
  }
})

describe('HAProxy proxy-v2-options authority,unique-id,crc32c', () => {
  const uniqueIdFormat = 'unique-id-format %ci:%cp_%fi:%fp_%Ts_%rt:%pid'
  test('TLS-terminated frontend: authority from SNI, unique id, verified CRC32C', async (t) => {
    const certs = testCerts()
    const s = await stack(t, proxyOn('tcp'))
    const fe = await freePort()
    const hap = await haproxy(t, {
      frontend: [`bind 127.0.0.1:${fe} ssl crt ${certs.serverPemPath}`, uniqueIdFormat],
      server: `server s1 127.0.0.1:${s.port} send-proxy-v2 proxy-v2-options authority,unique-id,crc32c source ${PROXY_SOURCE}`
    })
    if (hap === undefined) return
    const c = await connectVia(t, 'ssl', fe) // servername 'localhost'
    const d = authenticateDetails(s, c.client.options.clientId as string)
    assert.equal(d.ipAddress, CLIENT_ADDRESS)
    assert.equal(d.port, c.localPort)
    const tlvs = d.proxy?.tlvs
    assert.ok(tlvs)
    assert.equal(tlvs.authority, 'localhost')
    assert.equal(typeof tlvs.crc32c, 'number')
    assert.ok(tlvs.uniqueId, 'UNIQUE_ID TLV present')
    assert.ok(tlvs.uniqueId.toString('latin1').startsWith(`${CLIENT_ADDRESS}:${c.localPort}_127.0.0.1:${fe}_`), `unique id ${tlvs.uniqueId.toString('latin1')}`)
    await endClient(c.client)
  })

  test('plain frontend: unique id and CRC32C, no authority without SNI', async (t) => {
    const s = await stack(t, proxyOn('tcp'))
    const fe = await freePort()
    const hap = await haproxy(t, {
      frontend: [`bind 127.0.0.1:${fe}`, uniqueIdFormat],
      server: `server s1 127.0.0.1:${s.port} send-proxy-v2 proxy-v2-options authority,unique-id,crc32c source ${PROXY_SOURCE}`
    })
    if (hap === undefined) return
    const c = await connectVia(t, 'tcp', fe)
    const d = authenticateDetails(s, c.client.options.clientId as string)
    const tlvs = d.proxy?.tlvs
    assert.ok(tlvs)
    assert.equal(tlvs.authority, undefined)
    assert.equal(typeof tlvs.crc32c, 'number')
    assert.ok(tlvs.uniqueId?.toString('latin1').startsWith(`${CLIENT_ADDRESS}:${c.localPort}_127.0.0.1:${fe}_`), `unique id ${String(tlvs.uniqueId?.toString('latin1'))}`)
    await endClient(c.client)
  })
})

describe('misconfigured HAProxy: fails fast, never hangs', () => {
  test('no send-proxy in front of a listener that requires PROXY: refused with PROXY_ERR_NOT_PROXY', async (t) => {
    const s = await stack(t, proxyOn('tcp'))
    const events = collect(s)
    const fe = await freePort()
    const hap = await haproxy(t, {
      frontend: [`bind 127.0.0.1:${fe}`],
      server: `server s1 127.0.0.1:${s.port} source ${PROXY_SOURCE}`
    })
    if (hap === undefined) return
    const started = Date.now()
    await assert.rejects(connectClient({ listener: 'tcp', port: fe, localAddress: CLIENT_ADDRESS }))
    const elapsed = Date.now() - started
    assert.ok(elapsed < 3000, `connect failed after ${elapsed} ms`)
    await until(() => events.rejected.some(r => r.err.code === 'PROXY_ERR_NOT_PROXY'), 3000, 'a PROXY_ERR_NOT_PROXY rejection')
    const real = events.rejected
    assert.equal(real.length, 1, real.map(r => r.err.code).join(', '))
    assert.equal(real[0]?.err.code, 'PROXY_ERR_NOT_PROXY')
    assert.equal(real[0]?.ev.peer.address, PROXY_SOURCE)
    assert.equal(real[0]?.ev.listener, 'tcp')
    assert.match(real[0]?.ev.hint ?? '', /MQTT_TCP_PROXY_PROTOCOL_ENABLED=false/, 'the misconfiguration message')
    assert.equal(s.seen.length, 0)
  })

  // Without the plugin's check, v1's "PROXY ..." would read to aedes as a
  // PUBREC declaring 82 bytes (0x50 0x52): the line and the CONNECT are fewer,
  // so mqtt-packet would wait and aedes would close only at its connectTimeout
  // (30 s by default). v2's signature starts with 0x0D, a reserved type.
  for (const option of ['send-proxy', 'send-proxy-v2'] as const) {
    test(`${option} in front of a listener with PROXY off: connect fails within seconds`, async (t) => {
      const s = await stack(t, { listener: 'tcp', plugin: {} })
      const events = collect(s)
      const fe = await freePort()
      const hap = await haproxy(t, {
        frontend: [`bind 127.0.0.1:${fe}`],
        server: `server s1 127.0.0.1:${s.port} ${option} source ${PROXY_SOURCE}`
      })
      if (hap === undefined) return
      const started = Date.now()
      // Bounded at 5 s here; stopping HAProxy in t.after ends a client still waiting.
      const connecting = connectClient({ listener: 'tcp', port: fe, localAddress: CLIENT_ADDRESS })
      connecting.then(c => c.end(true), () => {})
      let timer: NodeJS.Timeout | undefined
      const outcome = await Promise.race([
        connecting.then(() => 'connected', () => 'failed'),
        new Promise<string>(resolve => { timer = setTimeout(() => resolve('still waiting'), 5000) })
      ])
      clearTimeout(timer)
      assert.equal(outcome, 'failed', `after ${Date.now() - started} ms the client has ${outcome}`)
      assert.equal(s.seen.length, 0, 'no hook ran for a garbled CONNECT')
      assert.equal(events.headers.length, 0, 'PROXY off: no header is used')
      // The stray header is reported with the misconfiguration message, never accepted.
      await until(() => events.rejected.length === 1, 3000, 'one rejection')
      assert.equal(events.rejected[0]?.err.code, 'PROXY_ERR_UNEXPECTED_HEADER')
      assert.equal(events.rejected[0]?.ev.peer.address, PROXY_SOURCE)
      assert.match(events.rejected[0]?.ev.hint ?? '', /MQTT_TCP_PROXY_PROTOCOL_ENABLED=true/, 'the misconfiguration message')
    })
  }
})

test('HAProxy mode http, option forwardfor, to the ws listener with forwardedHeaders: a client\'s own X-Forwarded-For and X-Real-IP do not choose its address', async (t) => {
  const s = await stack(t, { listener: 'ws', plugin: { trustedProxies: [PROXY_SOURCE], listeners: { ws: { forwardedHeaders: true } } } })
  const fe = await freePort()
  const hap = await haproxy(t, {
    mode: 'http',
    frontend: [`bind 127.0.0.1:${fe}`, 'option forwardfor'],
    server: `server s1 127.0.0.1:${s.port} source ${PROXY_SOURCE}`
  })
  if (hap === undefined) return
  const client = mqtt.connect(`ws://127.0.0.1:${fe}/`, {
    reconnectPeriod: 0,
    wsOptions: { localAddress: CLIENT_ADDRESS, headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Real-IP': '203.0.113.9' } }
  })
  t.after(() => { client.end(true) })
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
  const d = authenticateDetails(s, client.options.clientId as string)
  assert.equal(d.ipAddress, CLIENT_ADDRESS)
  assert.equal(d.forwarded, 'x-forwarded-for')
  assert.equal(d.peer.address, PROXY_SOURCE)
  assert.equal(d.isWebsocket, true)
  await endClient(client)
})
