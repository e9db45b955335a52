// The documented load-balancer configurations, run as printed: the ```haproxy
// and ```nginx blocks are taken from docs/load-balancers.md, only their ports and
// listening addresses changed for this machine (loopback), checked with
// `haproxy -c` / `nginx -t`, then run for real in front of the ready-to-run
// broker started with the document's own `npm start` variables. A real MQTT.js
// client (and the documented mosquitto commands) connect through them; the
// broker must see the client's address, and health checks must not show up
// as refusals. Also its claims about nginx: where the stream block
// may go in Debian's layout, and which lines mix address families.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connectClient, endClient } from '../helpers/client.js'
import { connectPacket, rawExchange } from '../helpers/raw.js'
import { assertLoopbackOnly, freePort, requireProgram, runProgram, type RunningProgram } from '../helpers/programs.js'
import { spawnProgram, type Spawned } from '../helpers/spawn.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const loadBalancers = readFileSync(join(root, 'docs', 'load-balancers.md'), 'utf8')

/** The text of `doc` (docs/load-balancers.md unless said) under `heading`, up to the next heading of the same or a higher level (outside fenced blocks). */
function docSection (heading: string, doc = loadBalancers): string {
  const level = heading.indexOf(' ')
  const lines = doc.split('\n')
  const start = lines.indexOf(heading)
  assert.ok(start >= 0, `the document has the heading ${heading}`)
  let fenced = false
  let end = lines.length
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] as string
    if (line.startsWith('```')) fenced = !fenced
    const m = /^(#+) /.exec(line)
    if (!fenced && m !== null && (m[1] as string).length <= level) { end = i; break }
  }
  return lines.slice(start + 1, end).join('\n')
}

/** The bodies of the fenced blocks of `lang` in `text`. */
function fencedBlocks (text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`^\`\`\`${lang}\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map(m => m[1] as string)
}

const haproxySection = docSection('## HAProxy')
const nginxSection = docSection('## nginx (stream)')

/** The one block of `lang` in `section`. */
function onlyBlock (section: string, lang: string, containing?: string): string {
  const blocks = fencedBlocks(section, lang).filter(b => containing === undefined || b.includes(containing))
  assert.equal(blocks.length, 1, `one \`\`\`${lang} block${containing !== undefined ? ` with "${containing}"` : ''} in the section`)
  return blocks[0] as string
}

const HAPROXY_BLOCK = onlyBlock(haproxySection, 'haproxy')
const NGINX_BLOCK = onlyBlock(nginxSection, 'nginx')

/** The `NAME=value` words before `npm start` in the HAProxy section's broker block. */
function brokerEnv (): Record<string, string> {
  const words = onlyBlock(haproxySection, 'sh', 'npm start').replace(/\\\n/g, ' ').trim().split(/\s+/)
  const at = words.indexOf('npm')
  assert.ok(at > 0 && words[at + 1] === 'start', 'the block ends in npm start')
  const env: Record<string, string> = {}
  for (const word of words.slice(0, at)) {
    const m = /^([A-Z_]+)=(.+)$/.exec(word)
    assert.ok(m !== null, `"${word}" is a variable assignment`)
    env[m[1] as string] = m[2] as string
  }
  return env
}

/** The commands of the HAProxy section's "Try it by hand" block, comments dropped. */
function byHandCommands (): string[] {
  return onlyBlock(haproxySection, 'sh', 'haproxy -c').split('\n')
    .map(l => l.replace(/\s+#.*$/, '').trim())
    .filter(l => l !== '')
}

/** Ports that the document names, and the ones this test uses instead. */
interface PortMap { readonly [readme: string]: number }

function swapPorts (text: string, ports: PortMap): string {
  let out = text
  for (const [from, to] of Object.entries(ports)) out = out.replace(new RegExp(`(?<![\\d.])${from}(?!\\d)`, 'g'), String(to))
  return out
}

/** An HAProxy block for this machine: every `bind` on 127.0.0.1:`frontend`, every server on 127.0.0.1 at its mapped port. */
function haproxyForTest (block: string, frontend: number, ports: PortMap): string {
  return block
    .replace(/^(\s*bind\s+)\S+/gm, `$1127.0.0.1:${frontend}`)
    .replace(/^(\s*server\s+\S+\s+)[^\s:]+:(\d+)/gm, (_all, head: string, port: string) => {
      const to = ports[port]
      assert.ok(to !== undefined, `a test port for server port ${port}`)
      return `${head}127.0.0.1:${to}`
    })
}

/** An nginx block for this machine: `listen` on `listen` (an address:port), proxy_pass ports mapped. */
function nginxForTest (block: string, listen: string, ports: PortMap): string {
  return swapPorts(block.replace(/^(\s*listen\s+)[^;\s]+/gm, `$1${listen}`), ports)
}

/** `haproxy -c -f <file>`: exit code and output. */
async function haproxyCheck (t: TestContext, bin: string, config: string): Promise<{ code: number | null, output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-readme-haproxy-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'haproxy.cfg'), config)
  const r = await spawnProgram(bin, ['-c', '-f', 'haproxy.cfg'], { cwd: dir, label: 'haproxy -c', t }).done
  return { code: r.code, output: r.stdout + r.stderr }
}

/** `nginx -t` on a config, from a temporary prefix; `files` are written there too. */
async function nginxTest (t: TestContext, bin: string, config: string, files: Record<string, string> = {}): Promise<{ code: number | null, output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-readme-nginx-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const text = config.replaceAll('<dir>', dir)
  writeFileSync(join(dir, 'nginx.conf'), text)
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), body)
  }
  const r = await spawnProgram(bin, ['-t', '-p', dir, '-c', 'nginx.conf', '-e', join(dir, 'error.log'), '-g', `pid ${join(dir, 'nginx.pid')};`], { label: 'nginx -t', t }).done
  return { code: r.code, output: r.stdout + r.stderr }
}

interface Broker {
  readonly program: Spawned
  readonly port: number
  readonly adminPort: number
  get: (path: string) => Promise<unknown>
}

interface ListenerStats {
  readonly proxied: { readonly v1: number, readonly v2: number }
  readonly local: number
  readonly rejected: Record<string, number>
  readonly probes: number
}

/** `npm start` (packages/broker/dist/broker.js) with the documented variables, its two ports swapped for free ones. */
async function startBroker (t: TestContext): Promise<Broker> {
  const readmeEnv = brokerEnv()
  const [port, adminPort] = [await freePort(), await freePort()]
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(env)) if (/^(MQTT|LISTENER|ADMIN|LOG)_/.test(name)) Reflect.deleteProperty(env, name)
  Object.assign(env, readmeEnv, { LISTENER_TCP_BIND_PORT: String(port), ADMIN_BIND_PORT: String(adminPort) })
  const program = spawnProgram(process.execPath, ['packages/broker/dist/broker.js'], { cwd: root, env, label: 'npm start', t })
  await program.waitFor('admin endpoint on ', 15_000, 'the admin endpoint line (the broker started)')
  const get = async (path: string): Promise<unknown> => {
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`)
    assert.equal(res.status, 200, path)
    return await res.json()
  }
  return { program, port, adminPort, get }
}

async function tcpStats (broker: Broker): Promise<ListenerStats> {
  const all = await broker.get('/stats') as Record<string, ListenerStats>
  return all.tcp as ListenerStats
}

/** The broker's JSON log lines with `event`. */
function events (broker: Broker, event: string): Array<Record<string, unknown>> {
  return broker.program.lines.filter(l => l.startsWith('{') && l.includes(`"event":"${event}"`)).map(l => JSON.parse(l) as Record<string, unknown>)
}

/** Runs HAProxy as docs/load-balancers.md says (`haproxy -f haproxy.cfg`, in the foreground), ready once the broker has had a health check. */
async function runHaproxy (t: TestContext, bin: string, config: string, broker: Broker): Promise<RunningProgram> {
  assertLoopbackOnly(config)
  const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-readme-haproxy-'))
  writeFileSync(join(dir, 'haproxy.cfg'), config)
  const checked = async (): Promise<boolean> => {
    const s = await tcpStats(broker)
    return s.local + s.proxied.v1 + s.probes > 0
  }
  const program = await runProgram(bin, ['-f', 'haproxy.cfg'], dir, checked, 10_000, 'haproxy')
  t.after(() => program.stop())
  return program
}

/** Runs nginx on the documented block from a temporary prefix, ready once its pid file exists (every listen is bound by then). */
async function runNginx (t: TestContext, bin: string, config: string): Promise<RunningProgram> {
  assertLoopbackOnly(config)
  const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-readme-nginx-'))
  writeFileSync(join(dir, 'nginx.conf'), config)
  const pid = join(dir, 'nginx.pid')
  const program = await runProgram(bin, ['-p', dir, '-c', 'nginx.conf', '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${pid};`],
    dir, () => Promise.resolve(existsSync(pid)), 10_000, 'nginx', join(dir, 'error.log'))
  t.after(() => program.stop())
  return program
}

/** A real MQTT.js client through the load balancer, from `from`: the broker lists it with that address and its own port. */
async function assertSeenThrough (broker: Broker, frontend: number, from: string, clientId: string): Promise<void> {
  const client = await connectClient({ listener: 'tcp', host: from === '::1' ? '::1' : '127.0.0.1', port: frontend, localAddress: from, clientId })
  const localPort = (client.stream as net.Socket).localPort
  const sessions = await broker.get('/clients') as Array<Record<string, unknown>>
  const mine = sessions.filter(s => s.clientId === clientId)
  assert.deepEqual(mine.map(s => [s.ipAddress, s.port, s.listener]), [[from, localPort, 'tcp']], JSON.stringify(sessions))
  await endClient(client)
}

test('the documented HAProxy block passes haproxy -c without a warning; the cluster one too', async (t) => {
  const bin = requireProgram(t, 'haproxy', 'haproxy')
  if (bin === undefined) return
  const cluster = fencedBlocks(docSection('## Scaling out: many brokers behind one load balancer'), 'haproxy')
  assert.equal(cluster.length, 1)
  for (const block of [HAPROXY_BLOCK, ...cluster]) {
    const checked = await haproxyCheck(t, bin, haproxyForTest(block, 1883, { 11883: 11883, 1883: 1884 }))
    assert.equal(checked.code, 0, checked.output)
    assert.match(checked.output, /Configuration file is valid/)
    assert.doesNotMatch(checked.output, /\[(WARNING|ALERT)\]/, checked.output)
  }
})

test('haproxy -c, as the test runs it, fails the documented HAProxy snippet before issue 11 (a backend alone, no timeouts)', async (t) => {
  const bin = requireProgram(t, 'haproxy', 'haproxy')
  if (bin === undefined) return
  const old = [
    'backend mqtt',
    '    mode tcp',
    '    # v2, with LOCAL health checks that keep the server UP',
    '    server broker1 10.0.0.11:1883 send-proxy-v2 check check-send-proxy',
    '    # or v1:   server broker1 10.0.0.11:1883 send-proxy',
    ''
  ].join('\n')
  const checked = await haproxyCheck(t, bin, haproxyForTest(old, 1883, { 1883: 11883 }))
  assert.notEqual(checked.code, 0, checked.output)
  assert.match(checked.output, /missing timeouts/)
})

test('the documented HAProxy block in front of npm start with the documented variables: the client\'s address, LOCAL health checks, the by-hand commands', async (t) => {
  const bin = requireProgram(t, 'haproxy', 'haproxy')
  if (bin === undefined) return
  const sub = requireProgram(t, 'mosquitto_sub', 'mosquitto-clients')
  if (sub === undefined) return
  const pub = requireProgram(t, 'mosquitto_pub', 'mosquitto-clients')
  if (pub === undefined) return

  // The two halves agree: HAProxy sends to where the broker listens, and the broker trusts HAProxy.
  const env = brokerEnv()
  assert.equal(env.MQTT_PROXY_PROTOCOL_ENABLED, 'true')
  assert.equal(env.MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES, '127.0.0.1')
  assert.equal(env.LISTENER_TCP_BIND_ADDRESS, '127.0.0.1')
  assert.match(HAPROXY_BLOCK, new RegExp(`^\\s*server \\S+ ${env.LISTENER_TCP_BIND_ADDRESS}:${String(env.LISTENER_TCP_BIND_PORT)} send-proxy-v2 check check-send-proxy`, 'm'))

  const broker = await startBroker(t)
  assert.ok(broker.program.lines.some(l => l.includes(`tcp listener on 127.0.0.1:${broker.port}, PROXY protocol required from 127.0.0.1`)), broker.program.tail())
  const frontend = await freePort()
  const ports: PortMap = { 11883: broker.port, 1883: frontend, 8080: broker.adminPort }
  const config = haproxyForTest(HAPROXY_BLOCK, frontend, ports)

  // The by-hand block, in its order: check, run, subscribe, list, go around HAProxy, count.
  const commands = byHandCommands().map(c => swapPorts(c, ports))
  assert.deepEqual(commands.map(c => c.split(' ')[0]), ['haproxy', 'haproxy', 'mosquitto_sub', 'curl', 'mosquitto_pub', 'curl'], commands.join('\n'))
  assert.deepEqual(commands.slice(0, 2), ['haproxy -c -f haproxy.cfg', 'haproxy -f haproxy.cfg'])
  const checked = await haproxyCheck(t, bin, config)
  assert.equal(checked.code, 0, checked.output)
  assert.doesNotMatch(checked.output, /\[(WARNING|ALERT)\]/, checked.output)
  const haproxy = await runHaproxy(t, bin, config, broker)

  const subscriber = spawnProgram(sub, (commands[2] as string).split(' ').slice(1), { label: 'mosquitto_sub', t })
  const connected = await broker.program.waitFor(l => l.includes('"event":"connect"') && l.includes('"clientId":"by-hand"'), 10_000, 'the connect line of by-hand')
  assert.ok(connected.includes('"127.0.0.2"'), `the connect line has the client's address: ${connected}`)
  const listed = await broker.get(new URL((commands[3] as string).split(' ').pop() as string).pathname) as Array<Record<string, unknown>>
  assert.deepEqual(listed.map(s => [s.clientId, s.ipAddress, s.isProxy]), [['by-hand', '127.0.0.2', 2]])
  await subscriber.stop('SIGTERM')

  const around = await spawnProgram(pub, (commands[4] as string).split(' ').slice(1), { label: 'mosquitto_pub', t }).done
  assert.notEqual(around.code, 0, 'the publisher that goes around HAProxy is refused')
  const refused = JSON.parse(await broker.program.waitFor(l => l.includes('"event":"refused"'), 10_000, 'the refusal line')) as Record<string, unknown>
  assert.equal(refused.level, 40, 'a warning, as the document quotes it')
  assert.equal(refused.refusedBy, 'proxy')
  assert.equal(refused.listener, 'tcp')
  assert.equal(refused.code, 'PROXY_ERR_UNTRUSTED')
  assert.equal((refused.peer as { address: string }).address, '127.0.0.2')

  // And an MQTT.js client, from yet another address.
  await assertSeenThrough(broker, frontend, '127.0.0.3', 'readme-haproxy')

  const stats = await broker.get(new URL((commands[5] as string).split(' ').pop() as string).pathname) as Record<string, ListenerStats>
  const tcp = stats.tcp as ListenerStats
  assert.ok(tcp.local >= 1, `health checks counted as local: ${JSON.stringify(tcp)}`)
  assert.ok(tcp.proxied.v2 >= 2, JSON.stringify(tcp))
  assert.deepEqual(tcp.rejected, { PROXY_ERR_UNTRUSTED: 1 }, 'nothing refused but the publisher that went around HAProxy')
  assert.deepEqual(events(broker, 'refused').map(e => e.code), ['PROXY_ERR_UNTRUSTED'])
  assert.match(haproxy.output(), /mqtt brokers\/broker1/, 'HAProxy logs its connections')
  const { code } = await broker.program.stop('SIGTERM')
  assert.equal(code, 0)
})

test('the documented HAProxy block with v1 (`send-proxy`), as docs/load-balancers.md says: clients are seen; a health check is accepted or, reset before its address was read, a probe; nothing refused', async (t) => {
  const bin = requireProgram(t, 'haproxy', 'haproxy')
  if (bin === undefined) return
  // The facts the section states: `send-proxy` is v1, and a v1 check can be counted in `probes`.
  assert.match(haproxySection, /`send-proxy`[^.]*\bversion 1\b/)
  assert.match(haproxySection, /`probes`/)
  const broker = await startBroker(t)
  const frontend = await freePort()
  const v1 = HAPROXY_BLOCK.replace(/ send-proxy-v2 /g, ' send-proxy ')
  assert.notEqual(v1, HAPROXY_BLOCK)
  await runHaproxy(t, bin, haproxyForTest(v1, frontend, { 11883: broker.port }), broker)
  await assertSeenThrough(broker, frontend, '127.0.0.2', 'readme-haproxy-v1')
  const tcp = await tcpStats(broker)
  assert.equal(tcp.proxied.v2, 0)
  assert.equal(tcp.local, 0)
  assert.ok(tcp.proxied.v1 >= 1 && tcp.proxied.v1 + tcp.probes >= 2, `the client and at least one check: ${JSON.stringify(tcp)}`)
  assert.deepEqual(tcp.rejected, {}, JSON.stringify(tcp))
  assert.deepEqual(events(broker, 'refused'), [], 'no check is logged as a refusal')
})

test('the documented nginx block passes nginx -t and, in front of npm start, shows the client\'s address with nothing refused', async (t) => {
  const bin = requireProgram(t, 'nginx', 'nginx-light libnginx-mod-stream')
  if (bin === undefined) return
  assert.match(NGINX_BLOCK, /^load_module \S+;$/m)
  assert.match(NGINX_BLOCK, /^stream \{$/m, 'stream at the top level')
  const broker = await startBroker(t)
  const frontend = await freePort()
  const config = nginxForTest(NGINX_BLOCK, `127.0.0.1:${frontend}`, { 11883: broker.port })
  const checked = await nginxTest(t, bin, config)
  assert.equal(checked.code, 0, checked.output)
  await runNginx(t, bin, config)
  await assertSeenThrough(broker, frontend, '127.0.0.2', 'readme-nginx')
  const tcp = await tcpStats(broker)
  assert.equal(tcp.proxied.v1, 1, JSON.stringify(tcp))
  assert.deepEqual(tcp.rejected, {})
  assert.deepEqual(events(broker, 'refused'), [])
})

test('nginx, as docs/load-balancers.md says: a client on ::1 to `listen [::1]` with proxy_pass to 127.0.0.1 is one family (TCP6 ::1 ::1), accepted', async (t) => {
  const bin = requireProgram(t, 'nginx', 'nginx-light libnginx-mod-stream')
  if (bin === undefined) return
  assert.match(nginxSection, /`PROXY TCP6 ::1 ::1 \d+ \d+`/)
  const broker = await startBroker(t)
  const frontend = await freePort('::1')
  await runNginx(t, bin, nginxForTest(NGINX_BLOCK, `[::1]:${frontend}`, { 11883: broker.port }))
  await assertSeenThrough(broker, frontend, '::1', 'readme-nginx-ipv6')
  const tcp = await tcpStats(broker)
  assert.equal(tcp.proxied.v1, 1)
  assert.deepEqual(tcp.rejected, {})
})

test('nginx behind another PROXY sender (listen proxy_protocol, set_real_ip_from), as docs/load-balancers.md says: an IPv6 client over IPv4 gives a mixed line, refused with PROXY_ERR_V1_ADDRESS', async (t) => {
  const bin = requireProgram(t, 'nginx', 'nginx-light libnginx-mod-stream')
  if (bin === undefined) return
  assert.match(nginxSection, /`PROXY_ERR_V1_ADDRESS`/)
  const broker = await startBroker(t)
  const frontend = await freePort()
  const chained = nginxForTest(NGINX_BLOCK, `127.0.0.1:${frontend} proxy_protocol`, { 11883: broker.port })
    .replace(/^([ \t]*)(listen [^\n]*\n)/m, '$1$2$1set_real_ip_from 127.0.0.1;\n')
  assert.match(chained, /set_real_ip_from 127\.0\.0\.1;/)
  await runNginx(t, bin, chained)
  // The first proxy (this test) announces an IPv6 client; nginx reached it over IPv4.
  const result = await rawExchange(frontend, [Buffer.from('PROXY TCP6 ::1 ::1 50000 1883\r\n', 'latin1'), connectPacket('behind-two-proxies')], { localAddress: '127.0.0.1', waitMs: 5000 })
  assert.equal(result.closed, true, 'the broker closed the connection')
  const refused = JSON.parse(await broker.program.waitFor(l => l.includes('"event":"refused"'), 10_000, 'the refusal line')) as Record<string, unknown>
  assert.equal(refused.code, 'PROXY_ERR_V1_ADDRESS')
  assert.equal((refused.peer as { address: string }).address, '127.0.0.1')
  const tcp = await tcpStats(broker)
  assert.deepEqual(tcp.rejected, { PROXY_ERR_V1_ADDRESS: 1 })
  assert.equal(tcp.proxied.v1, 0)
})

test('nginx in Debian\'s layout, as docs/load-balancers.md says: the stream block at the top level after modules-enabled works; a second load_module, stream inside http or no module fail with the quoted messages', async (t) => {
  const bin = requireProgram(t, 'nginx', 'nginx-light libnginx-mod-stream')
  if (bin === undefined) return
  const loadLine = /^load_module \S+;$/m.exec(NGINX_BLOCK)?.[0] as string
  const streamStart = NGINX_BLOCK.search(/^stream \{$/m)
  assert.ok(loadLine !== undefined && streamStart >= 0)
  const stream = nginxForTest(NGINX_BLOCK.slice(streamStart), '127.0.0.1:1883', {})
  // Debian's nginx.conf: modules-enabled/*.conf at the top, then events, then http.
  const debian = (body: string): string => ['include <dir>/modules-enabled/*.conf;', 'events { worker_connections 64; }', body, ''].join('\n')
  const modules = { 'modules-enabled/50-mod-stream.conf': `${loadLine}\n` }

  const appended = await nginxTest(t, bin, debian(stream), modules)
  assert.equal(appended.code, 0, appended.output)
  const dropIn = await nginxTest(t, bin, debian(''), { ...modules, 'modules-enabled/60-mqtt-stream.conf': stream })
  assert.equal(dropIn.code, 0, dropIn.output)

  const prose = nginxSection.replace(/\s+/g, ' ')
  const quoted = (message: string): void => { assert.ok(prose.includes(`\`${message}\``), `the nginx section quotes ${message}`) }
  // The whole block, load_module included: as a drop-in, and at the end of nginx.conf.
  const twice = await nginxTest(t, bin, debian(''), { ...modules, 'modules-enabled/60-mqtt-stream.conf': NGINX_BLOCK })
  assert.notEqual(twice.code, 0)
  assert.match(twice.output, /module "ngx_stream_module" is already loaded/)
  quoted('module "ngx_stream_module" is already loaded')
  const late = await nginxTest(t, bin, debian(`${loadLine}\n${stream}`), modules)
  assert.notEqual(late.code, 0)
  assert.match(late.output, /"load_module" directive is specified too late/)
  quoted('"load_module" directive is specified too late')
  const inHttp = await nginxTest(t, bin, debian(`http {\n${stream}}\n`), modules)
  assert.notEqual(inHttp.code, 0)
  assert.match(inHttp.output, /"stream" directive is not allowed here/)
  quoted('"stream" directive is not allowed here')
  const noModule = await nginxTest(t, bin, debian(stream))
  assert.notEqual(noModule.code, 0)
  assert.match(noModule.output, /unknown directive "stream"/)
  quoted('unknown directive "stream"')
})

test('the documented alert rule for a load balancer and a listener that disagree: promtool accepts it, and it fires for a misconfigured listener only', (t) => {
  const promtool = requireProgram(t, 'promtool', 'prometheus (or just its promtool binary)')
  if (promtool === undefined) return
  const section = docSection('## Health, readiness and metrics', readFileSync(join(root, 'docs', 'broker.md'), 'utf8'))
  const after = section.slice(section.indexOf('**What a health check cannot see'))
  const rules = /```yaml\n([^]*?)```/.exec(after)?.[1]
  assert.ok(rules !== undefined, 'docs/broker.md has the rule block')
  // The metrics and outcomes it names are the broker's.
  const metrics = readFileSync(join(root, 'packages/broker/src/metrics.ts'), 'utf8')
  for (const name of ['aedes_proxy_protocol_rejected_total', 'aedes_proxy_protocol_connections_total', 'proxied_v1', 'proxied_v2', 'local']) assert.ok(metrics.includes(name), name)
  const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-rules-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'rules.yml'), rules)
  const check = runProgramSync(promtool, ['check', 'rules', join(dir, 'rules.yml')])
  assert.equal(check.status, 0, check.output)
  const series = (name: string, labels: string, values: string): string => `      - series: '${name}{${labels}}'\n        values: '${values}'`
  const summary = (instance: string): string => `tcp listener of ${instance}: the load balancer and the broker disagree about PROXY protocol; the broker's refused lines say what to change (an error with a hint, or a warn naming the peer missing from trustedProxies)`
  writeFileSync(join(dir, 'test.yml'), [
    'rule_files: [rules.yml]',
    'evaluation_interval: 1m',
    'tests:',
    '  - interval: 1m',
    '    input_series:',
    // PROXY off where HAProxy sends it: every check and client refused, nothing accepted.
    series('aedes_proxy_protocol_rejected_total', 'instance="off",listener="tcp",code="PROXY_ERR_UNEXPECTED_HEADER"', '0+30x20'),
    // HAProxy missing from trustedProxies: its checks refused, nothing accepted.
    series('aedes_proxy_protocol_rejected_total', 'instance="untrusted",listener="tcp",code="PROXY_ERR_UNTRUSTED"', '0+30x20'),
    series('aedes_proxy_protocol_connections_total', 'instance="untrusted",listener="tcp",outcome="probe"', '0+2x20'),
    // A working load balancer (its LOCAL checks) and a client that goes around it.
    series('aedes_proxy_protocol_rejected_total', 'instance="bypassed",listener="tcp",code="PROXY_ERR_UNTRUSTED"', '0+1x20'),
    series('aedes_proxy_protocol_connections_total', 'instance="bypassed",listener="tcp",outcome="local"', '0+30x20'),
    // All is well.
    series('aedes_proxy_protocol_connections_total', 'instance="healthy",listener="tcp",outcome="proxied_v2"', '0+100x20'),
    '    alert_rule_test:',
    '      - eval_time: 10m',
    '        alertname: ProxyProtocolMismatch',
    '        exp_alerts:',
    ...['off', 'untrusted'].flatMap(instance => [
      `          - exp_labels: { instance: ${instance}, listener: tcp, alertname: ProxyProtocolMismatch }`,
      `            exp_annotations: { summary: ${JSON.stringify(summary(instance))} }`
    ])
  ].join('\n') + '\n')
  const run = runProgramSync(promtool, ['test', 'rules', join(dir, 'test.yml')])
  assert.equal(run.status, 0, run.output)
})

function runProgramSync (program: string, args: readonly string[]): { status: number | null, output: string } {
  const r = spawnSync(program, args, { encoding: 'utf8' })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}
