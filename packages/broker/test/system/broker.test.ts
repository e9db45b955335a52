// The ready-to-run broker (`npm start`), as a user runs it: a separate
// process configured from the environment with TBMQ's names.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import { fileURLToPath } from 'node:url'
import { startFront, v2HeaderFor } from '../../../../test/helpers/front.js'
import { connectClient, endClient } from '../../../../test/helpers/client.js'
import { testCerts } from '../../../../test/helpers/certs.js'
import { proxiedConnack } from '../../../../test/helpers/raw.js'
import { spawnProgram, type Spawned } from '../../../../test/helpers/spawn.js'
import { until } from '../../../../test/helpers/wait.js'

const root = fileURLToPath(new URL('../../../..', import.meta.url))
const LOOPBACK = {
  LISTENER_TCP_BIND_ADDRESS: '127.0.0.1',
  LISTENER_TCP_BIND_PORT: '0',
  LISTENER_SSL_BIND_ADDRESS: '127.0.0.1',
  LISTENER_SSL_BIND_PORT: '0',
  LISTENER_WS_BIND_ADDRESS: '127.0.0.1',
  LISTENER_WS_BIND_PORT: '0',
  LISTENER_WSS_BIND_ADDRESS: '127.0.0.1',
  LISTENER_WSS_BIND_PORT: '0'
}

/** `node packages/broker/dist/broker.js` on loopback ports; stopped in t.after. */
function start (t: TestContext, env: Record<string, string>, args: string[] = []): Spawned {
  return spawnProgram(process.execPath, ['packages/broker/dist/broker.js', ...args], { cwd: root, env: { ...process.env, ...LOOPBACK, ...env }, label: 'npm start', t })
}

/** The port of a `listening` log record. */
function portOf (line: string): number {
  return (JSON.parse(line) as { bindPort: number }).bindPort
}

test('npm start: default listeners tcp and ws, PROXY from MQTT_PROXY_PROTOCOL_ENABLED, real address in the log, clean exit', async (t) => {
  const broker = start(t, { MQTT_PROXY_PROTOCOL_ENABLED: 'true', MQTT_WS_PROXY_PROTOCOL_ENABLED: 'false' })
  const tcpLine = await broker.waitFor(/"msg":"tcp listener on /, 15_000)
  const wsLine = await broker.waitFor(/"msg":"ws listener on /, 15_000)
  assert.match(tcpLine, /PROXY protocol required"}$/)
  assert.match(wsLine, /PROXY protocol off"}$/)
  assert.equal(broker.lines.some(l => /"msg":"(ssl|wss) listener/.test(l)), false)

  const ports: number[] = []
  const front = await startFront({ target: portOf(tcpLine), header: (c: net.Socket) => { ports.push(c.remotePort as number); return v2HeaderFor(c) } })
  t.after(() => front.close())
  const client = await connectClient({ listener: 'tcp', port: front.port, localAddress: '127.0.0.2', clientId: 'bin-tcp' })
  const connect = JSON.parse(await broker.waitFor(l => l.includes('"event":"connect"') && l.includes('bin-tcp'), 15_000)) as Record<string, unknown>
  assert.equal(connect.ipAddress, '127.0.0.2')
  assert.equal(connect.port, ports[0])
  assert.deepEqual(connect.peer, { address: '127.0.0.9', port: (connect.peer as { port: number }).port, family: 4 })
  await endClient(client)

  const direct = await connectClient({ listener: 'ws', port: portOf(wsLine), localAddress: '127.0.0.4', clientId: 'bin-ws' })
  const wsConnect = JSON.parse(await broker.waitFor(l => l.includes('"event":"connect"') && l.includes('bin-ws'), 15_000)) as Record<string, unknown>
  assert.equal(wsConnect.ipAddress, '127.0.0.4')
  await endClient(direct)

  const { code } = await broker.stop('SIGTERM')
  assert.equal(code, 0)
})

test('npm start: the rate limit is per network (MQTT_IP_RATE_LIMIT_IPV6_PREFIX=48), the refused line names the real address', async (t) => {
  const broker = start(t, { MQTT_PROXY_PROTOCOL_ENABLED: 'true', MQTT_IP_RATE_LIMIT: '0.001', MQTT_IP_RATE_BURST: '1', MQTT_IP_RATE_LIMIT_IPV6_PREFIX: '48', LISTENER_WS_ENABLED: 'false' })
  const port = portOf(await broker.waitFor(/"msg":"tcp listener on /, 15_000))
  const codes = []
  for (const [i, source] of ['2001:db8:1:2::1', '2001:db8:1:ffff::9', '2001:db8:2::1', '127.0.0.5', '::ffff:127.0.0.5'].entries()) {
    codes.push(await proxiedConnack(port, source, i % 2 === 0 ? 1 : 2))
  }
  assert.deepEqual(codes, [0, 5, 0, 0, 5], 'one /48 is one budget; IPv4 is per address, however it is written')
  const refused = await broker.waitFor(/"event":"refused".*"ipAddress":"2001:db8:1:ffff::9"/, 10_000)
  assert.match(refused, /"reason":"rate-limited"/)
  assert.equal((await broker.stop('SIGTERM')).code, 0)
})

test('npm start: ssl and wss listeners with certificates from LISTENER_*_PEM_*', async (t) => {
  const certs = testCerts()
  const broker = start(t, {
    LISTENER_TCP_ENABLED: 'false',
    LISTENER_WS_ENABLED: 'false',
    LISTENER_SSL_ENABLED: 'true',
    LISTENER_SSL_PEM_CERT: certs.serverCertPath,
    LISTENER_SSL_PEM_KEY: certs.serverKeyPath,
    LISTENER_WSS_ENABLED: 'true',
    LISTENER_WSS_PEM_CERT: certs.serverCertPath,
    LISTENER_WSS_PEM_KEY: certs.serverKeyPath,
    MQTT_SSL_PROXY_PROTOCOL_ENABLED: 'yes'
  })
  const sslLine = await broker.waitFor(/"msg":"ssl listener on /, 15_000)
  const wssLine = await broker.waitFor(/"msg":"wss listener on /, 15_000)
  assert.match(sslLine, /PROXY protocol required"}$/)
  assert.match(wssLine, /PROXY protocol off"}$/)
  const front = await startFront({ target: portOf(sslLine), header: 'v1' })
  t.after(() => front.close())
  const client = await connectClient({ listener: 'ssl', port: front.port, localAddress: '127.0.0.2', clientId: 'bin-ssl' })
  const connect = JSON.parse(await broker.waitFor('bin-ssl', 15_000)) as Record<string, unknown>
  assert.equal(connect.ipAddress, '127.0.0.2')
  await endClient(client)
  const wss = await connectClient({ listener: 'wss', port: portOf(wssLine), localAddress: '127.0.0.5', clientId: 'bin-wss' })
  const wssConnect = JSON.parse(await broker.waitFor('bin-wss', 15_000)) as Record<string, unknown>
  assert.equal(wssConnect.ipAddress, '127.0.0.5')
  await endClient(wss)
  const { code } = await broker.stop('SIGINT')
  assert.equal(code, 0)
})

const failures = [
  { name: 'ssl enabled without a certificate', env: { LISTENER_SSL_ENABLED: 'true' }, message: /LISTENER_SSL_PEM_CERT/ },
  { name: 'wss enabled without a key', env: { LISTENER_WSS_ENABLED: 'true', LISTENER_WSS_PEM_CERT: '/nonexistent.pem' }, message: /LISTENER_WSS_PEM_KEY/ },
  { name: 'a bad PROXY variable', env: { MQTT_TCP_PROXY_PROTOCOL_ENABLED: 'sometimes' }, message: /MQTT_TCP_PROXY_PROTOCOL_ENABLED="sometimes" is not a boolean/ },
  { name: 'a bad port', env: { LISTENER_TCP_BIND_PORT: '99999' }, message: /LISTENER_TCP_BIND_PORT/ }
]
for (const row of failures) {
  test(`npm start fails at start-up on ${row.name}, naming the variable`, async (t) => {
    const broker = start(t, row.env)
    const { code } = await broker.done
    assert.equal(code, 1)
    assert.match(broker.lines.join('\n'), row.message)
    assert.equal(broker.lines.some(l => / listener on /.test(l)), false, 'nothing was bound')
  })
}

/** The backlog the kernel holds for a listening port (`ss`'s Send-Q: min(backlog, net.core.somaxconn)). */
function listenBacklog (port: number): number {
  const line = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim()
  return Number(line.split(/\s+/)[2])
}

test('MQTT_LISTEN_BACKLOG: every MQTT listener listens with it, 4096 by default (as net.core.somaxconn allows)', async (t) => {
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))
  const broker = start(t, {})
  const tcp = portOf(await broker.waitFor(/"msg":"tcp listener on /, 15_000))
  const ws = portOf(await broker.waitFor(/"msg":"ws listener on /, 15_000))
  assert.deepEqual([listenBacklog(tcp), listenBacklog(ws)], [Math.min(4096, somaxconn), Math.min(4096, somaxconn)])
  const small = start(t, { MQTT_LISTEN_BACKLOG: '100', LISTENER_WS_ENABLED: 'false' })
  assert.equal(listenBacklog(portOf(await small.waitFor(/"msg":"tcp listener on /, 15_000))), 100)
})

test('--help lists every variable with its default', async (t) => {
  const broker = start(t, {}, ['--help'])
  const { code } = await broker.done
  assert.equal(code, 0)
  const text = broker.lines.join('\n')
  for (const name of ['MQTT_PROXY_PROTOCOL_ENABLED', 'MQTT_WSS_PROXY_PROTOCOL_ENABLED', 'LISTENER_TCP_BIND_PORT', 'LISTENER_SSL_PEM_KEY_PASSWORD', 'LISTENER_WS_ENABLED']) {
    assert.match(text, new RegExp(name))
  }
  assert.match(text, /LISTENER_TCP_BIND_PORT\s+port to listen on \(default 1883\)/)
  assert.match(text, /LISTENER_WS_BIND_PORT\s+port to listen on \(default 8084\)/)
})

test('the built command is executable, so the workspace bin runs through its shebang', async (t) => {
  const { statSync } = await import('node:fs')
  const file = `${root}packages/broker/dist/broker.js`
  assert.ok((statSync(file).mode & 0o111) !== 0, `${file} is not executable`)
  assert.match(readFileSync(file, 'utf8'), /^#!\/usr\/bin\/env node\n/)
  const bin = spawnProgram(`${root}node_modules/.bin/aedes-proxy-protocol`, ['--help'], { cwd: root, label: 'aedes-proxy-protocol --help', t })
  await bin.waitFor(/MQTT_PROXY_PROTOCOL_ENABLED/, 10_000)
})

test('ADMIN_TOKEN: a request without the bearer token gets 401, with it 200', async (t) => {
  const broker = start(t, { ADMIN_BIND_PORT: '0', ADMIN_TOKEN: 's3cret-token', LISTENER_WS_ENABLED: 'false' })
  const line = await broker.waitFor(/"msg":"admin endpoint on /, 15_000)
  const adminPort = Number(/:(\d+) /.exec(line)?.[1])
  const get = async (headers: Record<string, string>, method = 'GET', path = '/stats'): Promise<number> => (await fetch(`http://127.0.0.1:${adminPort}${path}`, { method, headers })).status
  assert.equal(await get({}), 401)
  assert.equal(await get({ authorization: 'Bearer wrong-token!' }), 401)
  assert.equal(await get({}, 'DELETE', '/unauthorized'), 401, 'clearing the list needs the token too')
  assert.equal(await get({ authorization: 'Bearer s3cret-token' }), 200)
  assert.equal(await get({ authorization: 'Bearer s3cret-token' }, 'DELETE', '/unauthorized'), 200)
})

test('without ADMIN_TOKEN, the admin endpoint answers only requests to a loopback host (a DNS-rebinding page gets 403)', async (t) => {
  const broker = start(t, { ADMIN_BIND_PORT: '0', LISTENER_WS_ENABLED: 'false' })
  const line = await broker.waitFor(/"msg":"admin endpoint on /, 15_000)
  const adminPort = (JSON.parse(line) as { bindPort: number }).bindPort
  const status = async (host: string, path = '/clients'): Promise<number> => await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: adminPort, path, headers: { host } }, res => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject)
  })
  assert.equal(await status(`127.0.0.1:${adminPort}`), 200)
  assert.equal(await status(`localhost:${adminPort}`), 200)
  assert.equal(await status(`evil.example:${adminPort}`), 403)
  assert.equal(await status(`evil.example:${adminPort}`, '/metrics'), 403)
  assert.equal(await status(`evil.example:${adminPort}`, '/health'), 200, 'the probes reveal nothing')
})

test('an admin endpoint on a non-loopback address needs ADMIN_TOKEN: refused at start-up, nothing bound', async (t) => {
  const broker = start(t, { ADMIN_BIND_PORT: '0', ADMIN_BIND_ADDRESS: '0.0.0.0' })
  const { code, stderr, stdout } = await broker.done
  assert.equal(code, 1)
  assert.equal(stderr, 'aedes-proxy-protocol: ADMIN_BIND_ADDRESS="0.0.0.0" is not a loopback address: set ADMIN_TOKEN, so that the admin endpoint refuses requests without it, or bind it to 127.0.0.1\n')
  assert.doesNotMatch(stdout, /listener on |admin endpoint on /)
})

test('$SYS: an ordinary client gets the counters and never the client list; the SYS admin login gets the list', async (t) => {
  const broker = start(t, { MQTT_PROXY_PROTOCOL_SYS_INTERVAL: '1000', MQTT_PROXY_PROTOCOL_SYS_ADMIN_USERNAME: 'ops', MQTT_PROXY_PROTOCOL_SYS_ADMIN_PASSWORD: 'ops-pass', LISTENER_WS_ENABLED: 'false' })
  const port = portOf(await broker.waitFor(/"msg":"tcp listener on /, 15_000))
  const ordinary = await connectClient({ listener: 'tcp', port, localAddress: '127.0.0.2', clientId: 'ordinary' })
  t.after(() => endClient(ordinary))
  const ops = await connectClient({ listener: 'tcp', port, localAddress: '127.0.0.3', clientId: 'ops-console', username: 'ops', password: 'ops-pass' })
  t.after(() => endClient(ops))
  const seen: string[] = []
  ordinary.on('message', topic => { seen.push(topic) })
  await ordinary.subscribeAsync('$SYS/#')
  let list: string | undefined
  let rounds = 0
  ops.on('message', (topic, payload) => { if (topic.endsWith('/proxy-protocol/clients')) { list = payload.toString(); rounds++ } })
  await ops.subscribeAsync('$SYS/#')
  await until(() => rounds >= 2, 6000, 'two publications seen by the admin')
  assert.deepEqual((JSON.parse(list ?? '[]') as Array<{ clientId: string }>).map(s => s.clientId).sort(), ['ops-console', 'ordinary'])
  assert.ok(seen.some(topic => topic.endsWith('/proxy-protocol/tcp/proxied')), 'the counters are public')
  assert.deepEqual(seen.filter(topic => topic.endsWith('/proxy-protocol/clients')), [], 'the list with addresses is not')
})

test('TB_SERVICE_ID fixes the $SYS prefix; /health and /ready; SIGTERM drains: not ready, no new clients, exit 0 once the last client leaves', async (t) => {
  const broker = start(t, { TB_SERVICE_ID: 'node-7', MQTT_PROXY_PROTOCOL_SYS_INTERVAL: '1000', ADMIN_BIND_PORT: '0', ADMIN_TOKEN: 'tok', MQTT_DRAIN_TIMEOUT: '20000', LISTENER_WS_ENABLED: 'false' })
  const port = portOf(await broker.waitFor(/"msg":"tcp listener on /, 15_000))
  const adminLine = await broker.waitFor(/"msg":"admin endpoint on /, 15_000)
  const adminPort = Number(/:(\d+) /.exec(adminLine)?.[1])
  const status = async (path: string): Promise<number> => (await fetch(`http://127.0.0.1:${adminPort}${path}`)).status
  assert.equal(await status('/health'), 200, 'no token needed for the probes')
  assert.equal(await status('/ready'), 200)
  const client = await connectClient({ listener: 'tcp', port, localAddress: '127.0.0.2', clientId: 'stays' })
  let topic: string | undefined
  client.on('message', t2 => { topic = t2 })
  await client.subscribeAsync('$SYS/+/proxy-protocol/tcp/proxied')
  await until(() => topic !== undefined, 5000, 'a $SYS publication')
  assert.equal(topic, '$SYS/node-7/proxy-protocol/tcp/proxied')
  broker.child.kill('SIGTERM')
  await broker.waitFor(l => l.includes('shutting down: draining'), 5000)
  assert.equal(await status('/ready'), 503, 'not ready while draining')
  await assert.rejects(connectClient({ listener: 'tcp', port, localAddress: '127.0.0.3', clientId: 'late' }), 'no new connections')
  assert.equal(broker.exited, false, 'still draining while a client is connected')
  const leftAt = Date.now()
  await endClient(client)
  const { code } = await broker.done
  assert.equal(code, 0)
  assert.ok(Date.now() - leftAt < 5000, 'exits once the last client has left, well before the drain timeout')
})

test('npm start hands SIGTERM to the broker (docker stop, systemd, most supervisors signal the process they started)', async (t) => {
  const npm = spawnProgram('npm', ['start', '--silent'], { cwd: root, env: { ...process.env, ...LOOPBACK, LISTENER_WS_ENABLED: 'false' }, label: 'npm start', t })
  const { pid } = JSON.parse(await npm.waitFor(l => l.includes('"event":"startup"'), 15_000)) as { pid: number }
  // Before, npm's shell died and the broker, re-parented, kept serving: stop it whatever happens.
  t.after(() => { try { process.kill(pid, 'SIGKILL') } catch {} })
  const port = portOf(await npm.waitFor(/"msg":"tcp listener on /, 15_000))
  assert.notEqual(pid, npm.pid, 'the broker is npm\'s child')
  npm.child.kill('SIGTERM')
  // npm goes at once; the broker writes to the same pipes until it has shut down.
  await npm.done
  await until(() => { try { process.kill(pid, 0); return false } catch { return true } }, 5000, 'the broker to exit')
  assert.ok(npm.lines.some(l => l.includes('"msg":"drained: closing the broker"')), 'the broker\'s shutdown line')
  await assert.rejects(connectClient({ listener: 'tcp', port, clientId: 'after-stop' }), 'its port is closed')
})

test('the drain timeout: the shutdown line says how many clients were still connected and that they are closed', async (t) => {
  const broker = start(t, { MQTT_DRAIN_TIMEOUT: '300', LISTENER_WS_ENABLED: 'false' })
  const port = portOf(await broker.waitFor(/"msg":"tcp listener on /, 15_000))
  const clients = await Promise.all(['stays-1', 'stays-2', 'stays-3'].map(async clientId => await connectClient({ listener: 'tcp', port, clientId })))
  t.after(() => { for (const c of clients) c.end(true) })
  const { code } = await broker.stop('SIGTERM')
  assert.equal(code, 0)
  const shutdown = broker.lines.filter(l => l.includes('"event":"shutdown"')).map(l => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(shutdown.map(r => [r.remaining, r.msg]), [
    [undefined, 'shutting down: draining'],
    [3, 'drain timeout (300 ms): closing the 3 clients still connected, then the broker']
  ])
  assert.equal(broker.lines.filter(l => l.includes('"reason":"broker shutting down"')).length, 3, 'each one\'s disconnect line says why')
})

test('TB_SERVICE_ID must be a $SYS topic level', async (t) => {
  const broker = start(t, { TB_SERVICE_ID: 'a/b' })
  const { code, stderr } = await broker.done
  assert.equal(code, 1)
  assert.match(stderr, /^aedes-proxy-protocol: TB_SERVICE_ID="a\/b" is not a broker id/)
})
