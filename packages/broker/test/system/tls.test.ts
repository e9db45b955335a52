// Client certificates on the ready-to-run broker's ssl and wss listeners, end
// to end: the built broker with PROXY required from 127.0.0.1, a real HAProxy
// in mode tcp with send-proxy-v2 in front of each listener, and MQTT.js
// clients with a certificate from the broker's CA, with none, and with one
// from another CA. Everything on 127.0.0.1; the programs are stopped by PID.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createPrivateKey } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import mqtt, { MqttClient, type IClientOptions } from 'mqtt'
import { otherCaCerts, testCerts } from '../../../../test/helpers/certs.js'
import { freePort, startTestHaproxy } from '../../../../test/helpers/programs.js'
import { spawnProgram, type Spawned } from '../../../../test/helpers/spawn.js'
import { StartupError } from '../../src/startup.js'
import { clientAuth, tlsOptions, type ClientAuth } from '../../src/tls.js'

const root = fileURLToPath(new URL('../../../..', import.meta.url))
const LISTENERS = ['ssl', 'wss'] as const
type TlsListener = typeof LISTENERS[number]

/** The built broker with the ssl and wss listeners asking for client certificates, PROXY required from 127.0.0.1. */
function startBroker (t: TestContext, mode: ClientAuth): Spawned {
  const certs = testCerts()
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    LISTENER_TCP_ENABLED: 'false',
    LISTENER_WS_ENABLED: 'false',
    MQTT_PROXY_PROTOCOL_ENABLED: 'true',
    MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: '127.0.0.1',
    ADMIN_BIND_ADDRESS: '127.0.0.1',
    ADMIN_BIND_PORT: '0'
  }
  for (const l of LISTENERS) {
    const p = `LISTENER_${l.toUpperCase()}`
    Object.assign(env, {
      [`${p}_ENABLED`]: 'true',
      [`${p}_BIND_ADDRESS`]: '127.0.0.1',
      [`${p}_BIND_PORT`]: '0',
      [`${p}_PEM_CERT`]: certs.serverCertPath,
      [`${p}_PEM_KEY`]: certs.serverKeyPath,
      [`${p}_PEM_CA_CERT`]: certs.caPath,
      [`${p}_CLIENT_AUTH_TYPE`]: mode
    })
  }
  return spawnProgram(process.execPath, ['packages/broker/dist/broker.js'], { cwd: root, env, label: `broker (${mode})`, t })
}

/** The port announced on the line `<what> on 127.0.0.1:<port>` (plain or inside a JSON log line). */
async function announced (broker: Spawned, what: string): Promise<number> {
  const pattern = new RegExp(`${what} on 127\\.0\\.0\\.1:(\\d+)`)
  return Number(pattern.exec(await broker.waitFor(pattern, 15_000))?.[1])
}

type Identity = 'good' | 'none' | 'other CA'

interface Attempt {
  readonly clientId: string
  readonly connected: boolean
  /** the client's own source port, as the OS chose it */
  readonly localPort: number | undefined
  readonly error: Error | undefined
}

/**
 * One MQTT.js client through HAProxy's front `port` to the listener, with
 * the given certificate; resolves on CONNACK or on the connection closing
 * first, never on a timer.
 */
async function attempt (t: TestContext, listener: TlsListener, port: number, identity: Identity): Promise<Attempt> {
  const certs = testCerts()
  const clientId = `${listener}-${identity.replace(' ', '-')}-${Math.random().toString(16).slice(2, 8)}`
  const key = identity === 'good' ? { cert: certs.clientCert, key: certs.clientKey } : identity === 'other CA' ? { cert: otherCaCerts().clientCert, key: otherCaCerts().clientKey } : {}
  const tlsBits = { ca: certs.ca, servername: 'localhost', ...key }
  // A timeout would be a failure of its own, not a refusal: see the error check below.
  const base: IClientOptions = { clientId, reconnectPeriod: 0, connectTimeout: 30_000 }
  let socket: net.Socket | undefined
  let client: MqttClient
  if (listener === 'ssl') {
    client = new MqttClient(() => {
      socket = net.connect({ port, host: '127.0.0.1' })
      return tls.connect({ socket, ...tlsBits })
    }, base)
  } else {
    const createConnection = (opts: tls.ConnectionOptions): net.Socket => {
      // As ws's own tlsConnect does: the HTTP request's `path` is not a unix socket.
      socket = tls.connect({ ...opts, path: undefined } as tls.ConnectionOptions)
      return socket
    }
    client = mqtt.connect(`wss://127.0.0.1:${port}/`, { ...base, wsOptions: { ...tlsBits, createConnection: createConnection as unknown as typeof net.createConnection } })
  }
  t.after(() => { client.end(true) })
  let error: Error | undefined
  const connected = await new Promise<boolean>(resolve => {
    client.once('connect', () => { resolve(true) })
    client.on('error', err => { error ??= err })
    client.once('close', () => { resolve(false) })
  })
  const localPort = socket?.localPort
  if (connected) await new Promise<void>(resolve => client.end(false, {}, () => { resolve() }))
  return { clientId, connected, localPort, error }
}

interface ConnectLine {
  listener?: string
  ipAddress?: string
  port?: number
  isProxy?: number
  peer?: { address: string, port: number }
  tls?: string | false
  cn?: string
}

async function connectLine (broker: Spawned, clientId: string): Promise<ConnectLine> {
  return JSON.parse(await broker.waitFor(l => l.includes('"event":"connect"') && l.includes(`"${clientId}"`), 15_000)) as ConnectLine
}

/** The broker, an HAProxy in front of each TLS listener, and the admin port. */
async function setUp (t: TestContext, mode: ClientAuth): Promise<{ broker: Spawned, fronts: Record<TlsListener, number>, admin: number } | undefined> {
  const broker = startBroker(t, mode)
  const ports = { ssl: await announced(broker, 'ssl listener'), wss: await announced(broker, 'wss listener') }
  const admin = await announced(broker, 'admin endpoint')
  const fronts = { ssl: 0, wss: 0 }
  for (const l of LISTENERS) {
    fronts[l] = await freePort()
    const hap = await startTestHaproxy(t, { frontend: [`bind 127.0.0.1:${fronts[l]}`], server: `server s1 127.0.0.1:${ports[l]} send-proxy-v2` })
    if (hap === undefined) return undefined
  }
  return { broker, fronts, admin }
}

/** The plugin's counters: every attempt's header was read and none refused, so what refused a client was TLS. */
async function assertHeadersAccepted (admin: number, expected: Record<TlsListener, number>): Promise<void> {
  const stats = await (await fetch(`http://127.0.0.1:${admin}/stats`)).json() as Record<TlsListener, { proxied: { v2: number }, rejected: Record<string, number> }>
  for (const l of LISTENERS) {
    assert.equal(stats[l].proxied.v2, expected[l], `${l}: one v2 header per attempt`)
    assert.deepEqual(stats[l].rejected, {}, `${l}: nothing refused by the plugin`)
  }
}

function assertRealAddress (line: ConnectLine, listener: TlsListener, a: Attempt): void {
  assert.equal(line.listener, listener)
  assert.equal(line.ipAddress, '127.0.0.1')
  assert.equal(line.port, a.localPort, 'the client\'s own port, from the header')
  assert.equal(line.isProxy, 2)
  assert.equal(line.peer?.address, '127.0.0.1', 'HAProxy is the peer')
  assert.notEqual(line.peer?.port, a.localPort, 'HAProxy\'s own connection is not the client\'s')
  assert.equal(line.tls, 'broker')
}

for (const listener of LISTENERS) {
  test(`${listener}, CLIENT_AUTH_TYPE=require behind HAProxy: a certificate from the CA connects and is seen; none, or one from another CA, is refused when the handshake ends`, async (t) => {
    const s = await setUp(t, 'require')
    if (s === undefined) return
    const refused: Attempt[] = []
    for (const identity of ['none', 'other CA'] as const) {
      const a = await attempt(t, listener, s.fronts[listener], identity)
      assert.equal(a.connected, false, `${identity}: no CONNACK`)
      assert.notEqual(a.error?.message, 'connack timeout', `${identity}: closed, not timed out`)
      refused.push(a)
    }
    const good = await attempt(t, listener, s.fronts[listener], 'good')
    assert.equal(good.connected, true, `the CA's client connects: ${String(good.error)}`)
    const line = await connectLine(s.broker, good.clientId)
    assertRealAddress(line, listener, good)
    assert.equal(line.cn, 'client-1', 'the verified certificate\'s CN')
    for (const a of refused) assert.equal(s.broker.lines.some(l => l.includes(`"${a.clientId}"`)), false, `${a.clientId} never reached MQTT`)
    await assertHeadersAccepted(s.admin, { ssl: listener === 'ssl' ? 3 : 0, wss: listener === 'wss' ? 3 : 0 })
  })

  test(`${listener}, CLIENT_AUTH_TYPE=request behind HAProxy: everyone connects; only the CA's certificate counts as verified`, async (t) => {
    const s = await setUp(t, 'request')
    if (s === undefined) return
    for (const identity of ['good', 'none', 'other CA'] as const) {
      const a = await attempt(t, listener, s.fronts[listener], identity)
      assert.equal(a.connected, true, `${identity}: connects: ${String(a.error)}`)
      const line = await connectLine(s.broker, a.clientId)
      assertRealAddress(line, listener, a)
      assert.equal(line.cn, identity === 'good' ? 'client-1' : undefined, `${identity}: a CN only for a verified certificate`)
    }
    await assertHeadersAccepted(s.admin, { ssl: listener === 'ssl' ? 3 : 0, wss: listener === 'wss' ? 3 : 0 })
  })
}

const modes: Array<{ name: string, env: Record<string, string>, mode: ClientAuth }> = [
  { name: 'nothing set: none, as before', env: {}, mode: 'none' },
  { name: 'a CA file alone: request (TBMQ\'s default)', env: { LISTENER_SSL_PEM_CA_CERT: 'ca.crt' }, mode: 'request' },
  { name: 'require', env: { LISTENER_SSL_CLIENT_AUTH_TYPE: 'require' }, mode: 'require' },
  { name: 'in any case, trimmed', env: { LISTENER_SSL_CLIENT_AUTH_TYPE: ' Request ' }, mode: 'request' },
  { name: 'TBMQ\'s CLIENT_AUTH_REQUIRED', env: { LISTENER_SSL_CLIENT_AUTH_TYPE: 'CLIENT_AUTH_REQUIRED' }, mode: 'require' },
  { name: 'TBMQ\'s CLIENT_AUTH_REQUESTED', env: { LISTENER_SSL_CLIENT_AUTH_TYPE: 'CLIENT_AUTH_REQUESTED' }, mode: 'request' },
  { name: 'TBMQ\'s CLIENT_AUTH_NONE', env: { LISTENER_SSL_CLIENT_AUTH_TYPE: 'client_auth_none' }, mode: 'none' },
  { name: 'an empty value: the default', env: { LISTENER_SSL_CLIENT_AUTH_TYPE: '' }, mode: 'none' }
]
for (const row of modes) {
  test(`LISTENER_SSL_CLIENT_AUTH_TYPE, ${row.name}`, () => {
    assert.equal(clientAuth(row.env, 'ssl'), row.mode)
  })
}

test('LISTENER_SSL_CLIENT_AUTH_TYPE: a name an object has of its own (constructor, __proto__) is no mode', () => {
  for (const text of ['constructor', '__proto__', 'toString']) {
    assert.throws(() => clientAuth({ LISTENER_SSL_CLIENT_AUTH_TYPE: text }, 'ssl'), StartupError)
  }
})

test('tlsOptions: no CA, no client certificate asked for; request and require ask, with the CA, and only require rejects', () => {
  const certs = testCerts()
  const base = { LISTENER_WSS_PEM_CERT: certs.serverCertPath, LISTENER_WSS_PEM_KEY: certs.serverKeyPath }
  const none = tlsOptions(base, 'wss')
  assert.equal(none.requestCert, undefined)
  assert.equal(none.ca, undefined)
  for (const [mode, reject] of [['request', false], ['require', true]] as const) {
    const options = tlsOptions({ ...base, LISTENER_WSS_PEM_CA_CERT: certs.caPath, LISTENER_WSS_CLIENT_AUTH_TYPE: mode }, 'wss')
    assert.equal(options.requestCert, true)
    assert.equal(options.rejectUnauthorized, reject)
    assert.deepEqual(options.ca, certs.ca)
  }
  // The ssl listener's variables are not the wss listener's.
  assert.equal(tlsOptions({ ...base, LISTENER_SSL_CLIENT_AUTH_TYPE: 'require' }, 'wss').requestCert, undefined)
})

test('tlsOptions: an encrypted key with its password (PKCS#8 and traditional PEM) makes a context; another\'s key still ' +
  'says so', () => {
  const certs = testCerts()
  const encrypt = (key: Buffer, type: 'pkcs1' | 'pkcs8', name: string): string => {
    const path = join(certs.dir, name)
    writeFileSync(path, createPrivateKey(key).export({ format: 'pem', type, cipher: 'aes-256-cbc', passphrase: 'right' }))
    return path
  }
  for (const type of ['pkcs1', 'pkcs8'] as const) {
    const env = {
      LISTENER_SSL_PEM_CERT: certs.serverCertPath,
      LISTENER_SSL_PEM_KEY: encrypt(certs.serverKey, type, `server-${type}.key`),
      LISTENER_SSL_PEM_KEY_PASSWORD: 'right'
    }
    const options = tlsOptions(env, 'ssl')
    assert.equal(options.passphrase, 'right')
    tls.createSecureContext(options)
    const other = { ...env, LISTENER_SSL_PEM_KEY: encrypt(certs.clientKey, type, `client-${type}.key`) }
    assert.throws(() => tlsOptions(other, 'ssl'), (err: Error) => err instanceof StartupError &&
      /^LISTENER_SSL_PEM_KEY="[^"]+client-pkcs\d\.key" is not the key of LISTENER_SSL_PEM_CERT=/.test(err.message))
  }
})
