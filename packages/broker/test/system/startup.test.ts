// Every way the ready-to-run broker can fail to start: one line on stderr
// naming the variable (or flag), the value and what is accepted; exit 1;
// nothing bound and nothing announced.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPrivateKey } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testCerts } from '../../../../test/helpers/certs.js'
import { spawnProgram } from '../../../../test/helpers/spawn.js'
import { backlogCap, bearerMatches, bindAll, isLoopback, loopbackHost, numberOr, parseArgs, StartupError } from '../../src/startup.js'
import { trustsEvery } from '../../src/env.js'
import { unknownVariables } from '../../src/variables.js'

const root = fileURLToPath(new URL('../../../..', import.meta.url))

async function freePort (): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address() as net.AddressInfo
  await new Promise<void>(resolve => s.close(() => { resolve() }))
  return port
}

async function isFree (port: number): Promise<boolean> {
  const s = net.createServer()
  return await new Promise(resolve => {
    s.once('error', () => { resolve(false) })
    s.listen(port, '127.0.0.1', () => { s.close(() => { resolve(true) }) })
  })
}

async function start (env: Record<string, string>, args: string[] = []): Promise<{ code: number | null, stdout: string, stderr: string, tcp: number, ws: number }> {
  const tcp = await freePort()
  const ws = await freePort()
  const child = spawnProgram(process.execPath, ['packages/broker/dist/broker.js', ...args], {
    cwd: root,
    label: 'broker',
    env: { PATH: process.env.PATH ?? '', LISTENER_TCP_BIND_ADDRESS: '127.0.0.1', LISTENER_TCP_BIND_PORT: String(tcp), LISTENER_WS_BIND_ADDRESS: '127.0.0.1', LISTENER_WS_BIND_PORT: String(ws), ...env }
  })
  const { code, stdout, stderr } = await child.done
  return { code, stdout, stderr, tcp, ws }
}

const certs = testCerts()
const ssl = { LISTENER_SSL_ENABLED: 'true', LISTENER_SSL_BIND_ADDRESS: '127.0.0.1', LISTENER_SSL_BIND_PORT: '0', LISTENER_SSL_PEM_CERT: certs.serverCertPath, LISTENER_SSL_PEM_KEY: certs.serverKeyPath }
const wss = { LISTENER_WSS_ENABLED: 'true', LISTENER_WSS_BIND_ADDRESS: '127.0.0.1', LISTENER_WSS_BIND_PORT: '0', LISTENER_WSS_PEM_CERT: certs.serverCertPath, LISTENER_WSS_PEM_KEY: certs.serverKeyPath }
const brokenPem = join(certs.dir, 'broken-ca.crt')
writeFileSync(brokenPem, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n')
// The server key, encrypted with the password "right" (PKCS#8 and the traditional PEM form).
const encryptedKey = join(certs.dir, 'server-encrypted.key')
writeFileSync(encryptedKey, createPrivateKey(certs.serverKey).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'right' }))
const encryptedRsaKey = join(certs.dir, 'server-encrypted-rsa.key')
writeFileSync(encryptedRsaKey, createPrivateKey(certs.serverKey).export({ format: 'pem', type: 'pkcs1', cipher: 'aes-256-cbc', passphrase: 'right' }))
// A key whose decryption with the wrong password happens to end in valid CBC
// padding (about one random IV in 256): OpenSSL then reports "DECODER
// routines::unsupported", not "bad decrypt". Searched for (a few hundred
// tries, bounded) so that every run has the case instead of one in 256.
function paddedByChance (type: 'pkcs1' | 'pkcs8', name: string): string {
  const key = createPrivateKey(certs.serverKey)
  for (let i = 0; i < 5000; i++) {
    const pem = key.export({ format: 'pem', type, cipher: 'aes-256-cbc', passphrase: 'right' })
    try {
      createPrivateKey({ key: pem, passphrase: 'wrong' })
    } catch (err) {
      if (!/bad decrypt/i.test((err as Error).message)) {
        const path = join(certs.dir, name)
        writeFileSync(path, pem)
        return path
      }
    }
  }
  throw new Error(`no ${type} key in 5000 whose wrong password decrypts to a valid padding`)
}
const paddedKey = paddedByChance('pkcs8', 'server-encrypted-padded.key')
const paddedRsaKey = paddedByChance('pkcs1', 'server-encrypted-rsa-padded.key')
const failures: Array<{ name: string, env?: Record<string, string>, args?: string[], line: RegExp }> = [
  { name: 'an encrypted key without its password', env: { ...ssl, LISTENER_SSL_PEM_KEY: encryptedKey }, line: /^aedes-proxy-protocol: LISTENER_SSL_PEM_KEY="[^"]+server-encrypted\.key" is encrypted: set LISTENER_SSL_PEM_KEY_PASSWORD to its password$/ },
  { name: 'a wrong key password', env: { ...ssl, LISTENER_SSL_PEM_KEY: encryptedKey, LISTENER_SSL_PEM_KEY_PASSWORD: 'wrong' }, line: /^aedes-proxy-protocol: LISTENER_SSL_PEM_KEY_PASSWORD does not decrypt LISTENER_SSL_PEM_KEY="[^"]+server-encrypted\.key"$/ },
  { name: 'a wrong key password (traditional PEM)', env: { ...wss, LISTENER_WSS_PEM_KEY: encryptedRsaKey, LISTENER_WSS_PEM_KEY_PASSWORD: 'wrong' }, line: /^aedes-proxy-protocol: LISTENER_WSS_PEM_KEY_PASSWORD does not decrypt LISTENER_WSS_PEM_KEY="[^"]+server-encrypted-rsa\.key"$/ },
  {
    name: 'a wrong key password that decrypts to a valid padding',
    env: { ...ssl, LISTENER_SSL_PEM_KEY: paddedKey, LISTENER_SSL_PEM_KEY_PASSWORD: 'wrong' },
    line: /^aedes-proxy-protocol: LISTENER_SSL_PEM_KEY_PASSWORD does not decrypt LISTENER_SSL_PEM_KEY="[^"]+padded\.key"$/
  },
  {
    name: 'a wrong key password that decrypts to a valid padding (traditional PEM)',
    env: { ...wss, LISTENER_WSS_PEM_KEY: paddedRsaKey, LISTENER_WSS_PEM_KEY_PASSWORD: 'wrong' },
    line: /^aedes-proxy-protocol: LISTENER_WSS_PEM_KEY_PASSWORD does not decrypt LISTENER_WSS_PEM_KEY="[^"]+rsa-padded\.key"$/
  },
  { name: 'an unknown flag', args: ['--verbose'], line: /^aedes-proxy-protocol: unknown flag "--verbose": the broker takes --help or --version/ },
  { name: 'a header timeout out of range', env: { MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT: '1000000' }, line: /^aedes-proxy-protocol: MQTT_PROXY_PROTOCOL_HEADER_TIMEOUT="1000000" is not a whole number from 1 to 600000 \(milliseconds\)$/ },
  { name: 'a $SYS interval too short', env: { MQTT_PROXY_PROTOCOL_SYS_INTERVAL: '500' }, line: /^aedes-proxy-protocol: MQTT_PROXY_PROTOCOL_SYS_INTERVAL="500" is not a whole number from 1000 to 2147483647 \(milliseconds\)$/ },
  { name: 'a $SYS interval beyond setTimeout (once 1 ms)', env: { MQTT_PROXY_PROTOCOL_SYS_INTERVAL: '2147483648' }, line: /^aedes-proxy-protocol: MQTT_PROXY_PROTOCOL_SYS_INTERVAL="2147483648" is not a whole number from 1000 to 2147483647 \(milliseconds\)$/ },
  { name: 'a rate Redis cannot store (once every CONNECT refused)', env: { MQTT_IP_RATE_LIMIT: '1e-300' }, line: /^aedes-proxy-protocol: MQTT_IP_RATE_LIMIT="1e-300" is not a number from 0.000001 to 1000000 \(connection attempts per second\)$/ },
  { name: 'an IPv6 rate-limit prefix out of range', env: { MQTT_IP_RATE_LIMIT: '5', MQTT_IP_RATE_LIMIT_IPV6_PREFIX: '8' }, line: /^aedes-proxy-protocol: MQTT_IP_RATE_LIMIT_IPV6_PREFIX="8" is not a whole number from 32 to 128 \(bits of a prefix\)$/ },
  { name: 'forwarded headers without a trusted list', env: { MQTT_WS_FORWARD_HEADERS_ENABLED: 'true' }, line: /^aedes-proxy-protocol: MQTT_WS_FORWARD_HEADERS_ENABLED="true": forwardedHeaders on the ws listener needs MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES/ },
  { name: 'optional without a trusted list (once, not once per listener)', env: { MQTT_PROXY_PROTOCOL_ENABLED: 'optional' }, line: /^aedes-proxy-protocol: MQTT_PROXY_PROTOCOL_ENABLED="optional": 'optional' on the tcp, ssl, ws and wss listeners needs MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES/ },
  { name: 'a bind address that is not an IP', env: { LISTENER_TCP_BIND_ADDRESS: 'not-an-ip' }, line: /^aedes-proxy-protocol: LISTENER_TCP_BIND_ADDRESS="not-an-ip" is not an IP address/ },
  { name: 'a bad boolean', env: { MQTT_TCP_PROXY_PROTOCOL_ENABLED: 'maybe' }, line: /^aedes-proxy-protocol: MQTT_TCP_PROXY_PROTOCOL_ENABLED="maybe" is not a boolean: use true\/false, on\/off, yes\/no or 1\/0, optional, or leave it empty to inherit MQTT_PROXY_PROTOCOL_ENABLED$/ },
  { name: 'a bad global boolean (nothing to inherit: the default)', env: { MQTT_PROXY_PROTOCOL_ENABLED: 'maybe' }, line: /^aedes-proxy-protocol: MQTT_PROXY_PROTOCOL_ENABLED="maybe" is not a boolean: use true\/false, on\/off, yes\/no or 1\/0, optional, or leave it empty for the default \(false\)$/ },
  { name: 'a bad boolean that is not a PROXY switch', env: { MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME: 'maybe' }, line: /^aedes-proxy-protocol: MQTT_PROXY_PROTOCOL_SSL_CN_AS_USERNAME="maybe" is not a boolean: use true\/false, on\/off, yes\/no or 1\/0, or leave it empty for the default$/ },
  { name: 'a listen backlog of 0', env: { MQTT_LISTEN_BACKLOG: '0' }, line: /^aedes-proxy-protocol: MQTT_LISTEN_BACKLOG="0" is not a whole number from 1 to 65535 \(connections waiting to be accepted\)$/ },
  { name: 'a log level pino does not have', env: { LOG_LEVEL: 'verbose' }, line: /^aedes-proxy-protocol: LOG_LEVEL="verbose" is not one of trace, debug, info, warn, error, fatal, silent$/ },
  { name: 'no listener enabled', env: { LISTENER_TCP_ENABLED: 'false', LISTENER_WS_ENABLED: 'false' }, line: /^aedes-proxy-protocol: no listener is enabled: set LISTENER_TCP_ENABLED=true/ },
  { name: 'a TLS listener without its certificate', env: { LISTENER_SSL_ENABLED: 'true', LISTENER_SSL_BIND_ADDRESS: '127.0.0.1', LISTENER_SSL_BIND_PORT: '0' }, line: /^aedes-proxy-protocol: the ssl listener is enabled but LISTENER_SSL_PEM_CERT is not set/ },
  { name: 'a certificate file that cannot be read', env: { LISTENER_WSS_ENABLED: 'true', LISTENER_WSS_BIND_ADDRESS: '127.0.0.1', LISTENER_WSS_BIND_PORT: '0', LISTENER_WSS_PEM_CERT: '/nonexistent/cert.pem', LISTENER_WSS_PEM_KEY: certs.dir + '/server.key' }, line: /^aedes-proxy-protocol: LISTENER_WSS_PEM_CERT="\/nonexistent\/cert\.pem": cannot read it \(ENOENT\)$/ },
  { name: 'a key that is not the certificate\'s', env: { LISTENER_SSL_ENABLED: 'true', LISTENER_SSL_BIND_ADDRESS: '127.0.0.1', LISTENER_SSL_BIND_PORT: '0', LISTENER_SSL_PEM_CERT: certs.dir + '/server.crt', LISTENER_SSL_PEM_KEY: certs.dir + '/client.key' }, line: /^aedes-proxy-protocol: LISTENER_SSL_PEM_KEY="[^"]+client\.key" is not the key of LISTENER_SSL_PEM_CERT=/ },
  { name: 'a client certificate mode it does not know', env: { ...ssl, LISTENER_SSL_CLIENT_AUTH_TYPE: 'maybe' }, line: /^aedes-proxy-protocol: LISTENER_SSL_CLIENT_AUTH_TYPE="maybe" is not a client certificate mode: use none, request or require \(or TBMQ's CLIENT_AUTH_NONE, CLIENT_AUTH_REQUESTED, CLIENT_AUTH_REQUIRED\)$/ },
  { name: 'require without a CA file', env: { ...ssl, LISTENER_SSL_CLIENT_AUTH_TYPE: 'require' }, line: /^aedes-proxy-protocol: LISTENER_SSL_CLIENT_AUTH_TYPE="require" needs LISTENER_SSL_PEM_CA_CERT: set it to the PEM file of the CA that signs the client certificates$/ },
  { name: 'request without a CA file (wss)', env: { ...wss, LISTENER_WSS_CLIENT_AUTH_TYPE: 'CLIENT_AUTH_REQUESTED' }, line: /^aedes-proxy-protocol: LISTENER_WSS_CLIENT_AUTH_TYPE="CLIENT_AUTH_REQUESTED" needs LISTENER_WSS_PEM_CA_CERT/ },
  { name: 'a CA file with none', env: { ...ssl, LISTENER_SSL_PEM_CA_CERT: certs.caPath, LISTENER_SSL_CLIENT_AUTH_TYPE: 'none' }, line: /^aedes-proxy-protocol: LISTENER_SSL_PEM_CA_CERT="[^"]+ca\.crt" is set but LISTENER_SSL_CLIENT_AUTH_TYPE="none" asks for no client certificate: use request or require, or unset LISTENER_SSL_PEM_CA_CERT$/ },
  { name: 'a CA file that cannot be read', env: { ...wss, LISTENER_WSS_PEM_CA_CERT: '/nonexistent/ca.pem' }, line: /^aedes-proxy-protocol: LISTENER_WSS_PEM_CA_CERT="\/nonexistent\/ca\.pem": cannot read it \(ENOENT\)$/ },
  { name: 'a CA file with no certificate in it (a key)', env: { ...ssl, LISTENER_SSL_PEM_CA_CERT: certs.caKeyPath, LISTENER_SSL_CLIENT_AUTH_TYPE: 'require' }, line: /^aedes-proxy-protocol: LISTENER_SSL_PEM_CA_CERT="[^"]+ca\.key": not a PEM CA certificate \(no -----BEGIN CERTIFICATE----- block\)/ },
  { name: 'a CA file whose certificate does not parse', env: { ...ssl, LISTENER_SSL_PEM_CA_CERT: brokenPem, LISTENER_SSL_CLIENT_AUTH_TYPE: 'require' }, line: /^aedes-proxy-protocol: LISTENER_SSL_PEM_CA_CERT="[^"]+broken-ca\.crt": not a PEM CA certificate \(.+\)$/ },
  { name: 'a CA file holding a server certificate, not a CA\'s', env: { ...ssl, LISTENER_SSL_PEM_CA_CERT: certs.serverCertPath }, line: /^aedes-proxy-protocol: LISTENER_SSL_PEM_CA_CERT="[^"]+server\.crt": "CN=localhost" is not a CA certificate \(no basicConstraints CA:TRUE\)/ }
]

for (const row of failures) {
  test(`start-up fails on ${row.name}: one line naming it, exit 1, nothing bound`, async () => {
    const r = await start(row.env ?? {}, row.args ?? [])
    assert.equal(r.code, 1, r.stderr)
    const lines = r.stderr.split('\n').filter(l => l !== '')
    assert.equal(lines.length, 1, `one line: ${r.stderr}`)
    assert.match(lines[0] ?? '', row.line)
    assert.doesNotMatch(r.stdout, /listener on /, 'nothing announced')
    assert.ok(await isFree(r.tcp) && await isFree(r.ws), 'nothing left bound')
  })
}

test('docs/broker.md quotes the line for a bad boolean as the broker prints it', async () => {
  const r = await start({ MQTT_TCP_PROXY_PROTOCOL_ENABLED: 'maybe' })
  const message = r.stderr.trim().replace(/^aedes-proxy-protocol: /, '')
  const doc = readFileSync(join(root, 'docs', 'broker.md'), 'utf8').replace(/\s+/g, ' ')
  assert.ok(doc.includes(`\`${message}\``), `docs/broker.md quotes: ${message}`)
})

test('a port in use: the listener bound before it is closed again, nothing announced', async () => {
  const busy = net.createServer().listen(0, '127.0.0.1')
  await once(busy, 'listening')
  const { port } = busy.address() as net.AddressInfo
  try {
    const r = await start({ LISTENER_WS_BIND_PORT: String(port) })
    assert.equal(r.code, 1)
    assert.equal(r.stderr, `aedes-proxy-protocol: LISTENER_WS_BIND_PORT=${port}: the port is already in use on 127.0.0.1\n`)
    assert.doesNotMatch(r.stdout, /listener on /)
    assert.ok(await isFree(r.tcp), 'the tcp listener bound first is closed')
  } finally {
    await new Promise<void>(resolve => busy.close(() => { resolve() }))
  }
})

test('the tcp port in use: one line naming it, exit 1, nothing announced', async () => {
  const busy = net.createServer().listen(0, '127.0.0.1')
  await once(busy, 'listening')
  const { port } = busy.address() as net.AddressInfo
  try {
    const r = await start({ LISTENER_TCP_BIND_PORT: String(port) })
    assert.equal(r.code, 1)
    assert.equal(r.stderr, `aedes-proxy-protocol: LISTENER_TCP_BIND_PORT=${port}: the port is already in use on 127.0.0.1\n`)
    assert.doesNotMatch(r.stdout, /listener on /)
  } finally {
    await new Promise<void>(resolve => busy.close(() => { resolve() }))
  }
})

test('bindAll: when one server cannot be bound, those bound before it are closed before the error', async () => {
  const busy = net.createServer().listen(0, '127.0.0.1')
  await once(busy, 'listening')
  const { port } = busy.address() as net.AddressInfo
  const first = net.createServer()
  const second = net.createServer()
  try {
    await assert.rejects(bindAll([
      { server: first, prefix: 'LISTENER_TCP', host: '127.0.0.1', port: 0 },
      { server: second, prefix: 'LISTENER_WS', host: '127.0.0.1', port }
    ]), { message: `LISTENER_WS_BIND_PORT=${port}: the port is already in use on 127.0.0.1` })
    assert.equal(first.listening, false, 'the server bound first is closed again')
    assert.equal(second.listening, false)
  } finally {
    first.close()
    await new Promise<void>(resolve => busy.close(() => { resolve() }))
  }
})

test('warnings before anything is bound: a variable it does not know (did you mean), PROXY without a trusted list on every interface', async () => {
  // The ssl listener without a certificate stops it before 0.0.0.0 is ever bound.
  const r = await start({ MQTT_PROXY_PROTOCOL_ENABLE: 'true', MQTT_TCP_PROXY_PROTOCOL_ENABLED: 'true', LISTENER_TCP_BIND_ADDRESS: '0.0.0.0', LISTENER_SSL_ENABLED: 'true', LISTENER_SSL_BIND_ADDRESS: '127.0.0.1' })
  assert.equal(r.code, 1)
  const records = r.stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l) as { level: number, event: string, msg: string, version?: string, variable?: string, suggestion?: string })
  // Every line is a JSON log record; the first says what is starting.
  assert.deepEqual(records.map(w => w.event), ['startup', 'startup', 'startup'])
  assert.match(records[0]?.version ?? '', /^aedes-proxy-protocol-broker \d+\.\d+\.\d+ \(aedes-proxy-protocol /)
  const warnings = records.slice(1)
  assert.deepEqual(warnings.map(w => [w.level, w.variable, w.suggestion]).slice(0, 1), [[40, 'MQTT_PROXY_PROTOCOL_ENABLE', 'MQTT_PROXY_PROTOCOL_ENABLED']])
  assert.equal(warnings.length, 2, r.stdout)
  assert.equal(warnings[1]?.level, 40)
  assert.match(warnings[1]?.msg ?? '', /^PROXY protocol is required on the tcp listener at 0\.0\.0\.0 without a trusted list: anyone who reaches the port can claim any client address; set MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES/)
  assert.match(r.stderr, /LISTENER_SSL_PEM_CERT is not set/)
})

test('a trusted list that covers every address: one warning line per variable, before anything is bound', async () => {
  const r = await start({
    MQTT_PROXY_PROTOCOL_ENABLED: 'true',
    MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: '10.0.0.1,0.0.0.0/0,::/0',
    MQTT_WS_PROXY_PROTOCOL_TRUSTED_PROXIES: '::ffff:0:0/96',
    MQTT_SSL_PROXY_PROTOCOL_TRUSTED_PROXIES: '10.0.0.0/8,fd00::/8',
    LISTENER_SSL_ENABLED: 'true',
    LISTENER_SSL_BIND_ADDRESS: '127.0.0.1'
  })
  assert.equal(r.code, 1)
  const warnings = r.stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l) as { level: number, variable?: string, msg: string }).filter(w => w.level === 40)
  assert.deepEqual(warnings.map(w => [w.variable, w.msg]), [
    ['MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES', 'MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES holds 0.0.0.0/0, which trusts every IPv4 peer: anyone who reaches the port can claim any client address; list your load balancers instead'],
    ['MQTT_WS_PROXY_PROTOCOL_TRUSTED_PROXIES', 'MQTT_WS_PROXY_PROTOCOL_TRUSTED_PROXIES holds ::ffff:0:0/96, which trusts every IPv4 peer: anyone who reaches the port can claim any client address; list your load balancers instead']
  ])
  assert.match(r.stderr, /LISTENER_SSL_PEM_CERT is not set/)
})

test('trustsEvery: 0.0.0.0/0 and IPv6 ranges holding ::ffff:0:0/96 trust every IPv4 peer, ::/0 every peer; narrower ranges nothing', () => {
  const cases: Array<[string, string | undefined]> = [
    ['0.0.0.0/0', 'every IPv4 peer'], ['::/0', 'every peer'], ['::ffff:0:0/96', 'every IPv4 peer'], ['::/64', 'every IPv4 peer'],
    ['::ffff:10.0.0.0/104', undefined], ['0.0.0.0/1', undefined], ['10.0.0.0/8', undefined], ['2001:db8::/32', undefined], ['::', undefined], ['127.0.0.1', undefined]
  ]
  for (const [entry, every] of cases) assert.equal(trustsEvery(entry), every, entry)
})

test('--version prints the versions and exits 0', async () => {
  const r = await start({}, ['--version'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /^aedes-proxy-protocol-broker \d+\.\d+\.\d+ \(aedes-proxy-protocol \d+\.\d+\.\d+, aedes \d+\.\d+\.\d+, Node v\d+/)
})

test('the pieces: flags, loopback, unknown variables', () => {
  assert.equal(parseArgs([]), 'run')
  assert.equal(parseArgs(['-h']), 'help')
  assert.throws(() => parseArgs(['--help', 'extra']), StartupError)
  assert.equal(isLoopback('127.0.0.1'), true)
  assert.equal(isLoopback('::1'), true)
  assert.equal(isLoopback('0.0.0.0'), false)
  assert.deepEqual(unknownVariables({ MQTT_PROXY_PROTOCOL_ENABLE: 'true', LISTENER_TPC_ENABLED: 'true', PATH: '/bin', MQTT_IP_RATE_LIMIT: '5', ADMIN_SECRET: 'x' }), [
    { name: 'ADMIN_SECRET' },
    { name: 'LISTENER_TPC_ENABLED', suggestion: 'LISTENER_TCP_ENABLED' },
    { name: 'MQTT_PROXY_PROTOCOL_ENABLE', suggestion: 'MQTT_PROXY_PROTOCOL_ENABLED' }
  ])
  // What Kubernetes sets for a Service named mqtt is not warned about; a mistyped port still is, and so is TB_.
  assert.deepEqual(unknownVariables({
    MQTT_SERVICE_HOST: '10.96.0.7',
    MQTT_SERVICE_PORT: '1883',
    MQTT_SERVICE_PORT_MQTT: '1883',
    MQTT_PORT: 'tcp://10.96.0.7:1883',
    MQTT_PORT_1883_TCP: 'tcp://10.96.0.7:1883',
    MQTT_PORT_1883_TCP_PROTO: 'tcp',
    MQTT_PORT_1883_TCP_PORT: '1883',
    MQTT_PORT_1883_TCP_ADDR: '10.96.0.7',
    LISTENER_TCP_PORT: '1883',
    TB_SERVICE_IDD: 'node1'
  }), [{ name: 'LISTENER_TCP_PORT' }, { name: 'TB_SERVICE_IDD', suggestion: 'TB_SERVICE_ID' }])
  assert.equal(numberOr({ MQTT_DRAIN_TIMEOUT: '120000' }, 'MQTT_DRAIN_TIMEOUT', 10_000), 120_000)
  assert.equal(numberOr({}, 'MQTT_DRAIN_TIMEOUT', 10_000), 10_000)
  assert.throws(() => numberOr({ MQTT_DRAIN_TIMEOUT: '10s' }, 'MQTT_DRAIN_TIMEOUT', 10_000), { message: /^aedes-proxy-protocol: MQTT_DRAIN_TIMEOUT="10s" is not a whole number from 0 to 3600000 \(milliseconds\)$/ })
  assert.deepEqual([numberOr({}, 'MQTT_LISTEN_BACKLOG', 4096), numberOr({ MQTT_LISTEN_BACKLOG: '65535' }, 'MQTT_LISTEN_BACKLOG', 4096)], [4096, 65535])
  assert.throws(() => numberOr({ MQTT_LISTEN_BACKLOG: '65536' }, 'MQTT_LISTEN_BACKLOG', 4096), { message: /^aedes-proxy-protocol: MQTT_LISTEN_BACKLOG="65536" is not a whole number from 1 to 65535/ })
  // The kernel's cap is said only when it is smaller than the backlog asked for.
  const somaxconn = join(certs.dir, 'somaxconn')
  writeFileSync(somaxconn, '128\n')
  assert.deepEqual([backlogCap(4096, somaxconn), backlogCap(128, somaxconn), backlogCap(4096, '/nonexistent/somaxconn')], [128, undefined, undefined])
  // The Authorization scheme is case-insensitive; the token is not.
  assert.equal(bearerMatches('Bearer s3cret', 's3cret'), true)
  assert.equal(bearerMatches('bearer s3cret', 's3cret'), true)
  assert.equal(bearerMatches('Bearer S3cret', 's3cret'), false)
  assert.equal(bearerMatches('Basic s3cret', 's3cret'), false)
  assert.equal(bearerMatches(undefined, 's3cret'), false)
  // Without a token, only requests to a loopback host (DNS rebinding gets 403).
  for (const host of [undefined, '127.0.0.1:8080', 'localhost:8080', 'LOCALHOST', '[::1]:8080', '127.0.0.2']) assert.equal(loopbackHost(host), true, String(host))
  for (const host of ['evil.example:8080', '10.0.0.5:8080', '[2001:db8::1]:8080', 'localhost.evil.example']) assert.equal(loopbackHost(host), false, host)
  // DNS rebinding: a name that merely starts like a loopback address can point anywhere.
  for (const host of ['127.0.0.1.evil.example:8080', '127.attacker.example', '127.0.0.1.nip.io', '[::ffff:127.evil]:80']) assert.equal(loopbackHost(host), false, host)
  assert.equal(loopbackHost('[::ffff:127.0.0.1]:8080'), true)
})
