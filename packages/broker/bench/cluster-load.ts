// The cost of sharing (issue 12, item 4): clients through one HAProxy to one
// node or to three, with the nodes' state in memory or in Redis, and what
// each connection costs the nodes, Redis and HAProxy.
//
//   npm run build && node --import tsx packages/broker/bench/cluster-load.ts [clients] [rounds]
//
// It measures the ready-to-run broker (this package), not the plugin, so it
// lives here rather than in the plugin's bench/; it writes
// bench/results/cluster.md beside the plugin's results.
//
// Every process is a real one on 127.0.0.1: the ready-to-run broker
// (node packages/broker/dist/broker.js, configured from the environment),
// redis-server and HAProxy with the README's "Scaling out" block (roundrobin,
// send-proxy-v2, check check-send-proxy), one frontend per configuration.
// Configurations, each with one and with three nodes:
//
//   memory   no REDIS_URL: independent brokers, everything in memory
//   bus      REDIS_URL, but the session list, the unauthorized list and the
//            rate limit in memory: the same broker.js, its ./cluster.js
//            swapped at load (a module hook, below) for one that keeps only
//            mqemitter-redis and aedes-persistence-redis
//   shared   REDIS_URL: the broker as a cluster member, every store in Redis
//
// Every node has the IP policy on (MQTT_IP_RATE_LIMIT/BURST far above what
// the run needs, so it never refuses: the limiter runs, in Redis for shared),
// the session list and the unauthorized list (always on in broker.js), PROXY
// protocol required from HAProxy, and logs at info (one line per connect and
// disconnect, read by this process). Each configuration has its own HAProxy, and its own
// redis-server when it uses one, so each process's CPU is its
// configuration's alone; all of them run for the whole run.
//
// One measurement: `clients` clients, each from its own loopback address
// (127.1.x.y), open through HAProxy, at most IN_FLIGHT at a time: TCP
// connect, CONNECT (MQTT 3.1.1, clean session, a new client id), CONNACK.
// All stay connected until the last CONNACK, then each sends DISCONNECT and
// closes. Connections per second are clients / (first connect to last
// CONNACK). CPU per connection is each process's on-CPU time (the sum of
// /proc/<pid>/task/*/schedstat, ns) from the first connect until 500 ms after
// every node has logged every disconnect, less what the same process used
// idle over as long (measured for 1 s just before: an idle node runs
// prom-client's event-loop monitor and, with Redis, the session-list
// heartbeat; HAProxy its health checks), over clients: a connection's whole
// life, connect to close. Rounds alternate the configurations (rotated each
// round); the first round is not counted (each process's first clients);
// values are medians over rounds with (min–max), and the costs of sharing are
// differences within a round.
import {
  accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync
} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { freePort, run as runProgram, spawnProgram, type Spawned } from '../../../support/spawn.js'
import { storm } from '../../../support/storm.js'
import { DISCONNECT } from '../../../bench/cases.js'
import { summarize as summarizeAll } from '../../../bench/stats.js'

const ROOT_DIR = fileURLToPath(new URL('../../..', import.meta.url))
const RESULTS_DIR = join(ROOT_DIR, 'bench', 'results')

const BROKER_JS = join(ROOT_DIR, 'packages/broker/dist/broker.js')
const CLUSTER_JS = join(ROOT_DIR, 'packages/broker/dist/cluster.js')
const HOST = '127.0.0.1'

const clients = Number(process.argv[2] ?? 1000)
const rounds = Number(process.argv[3] ?? 5)
/** Clients between connect and CONNACK at once. */
const IN_FLIGHT = 50
/** The processes' idle CPU is measured over this long before each window. */
const BASELINE_MS = 1000
/** The window ends this long after the nodes logged the last disconnect. */
const SETTLE_MS = 500
if (!Number.isInteger(clients) || clients < 1 || clients > 60_000 || !Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: node --import tsx packages/broker/bench/cluster-load.ts ' +
    '[clients (1..60000), default 1000] [rounds, default 5]')
  process.exit(2)
}

// ---------------------------------------------------------------- the configurations

type Sharing = 'memory' | 'bus' | 'shared'
interface Config { readonly id: string, readonly sharing: Sharing, readonly nodes: 1 | 3 }
const SHARING_LABEL: Record<Sharing, string> = {
  memory: 'in memory (no REDIS_URL)',
  bus: 'Redis bus + persistence, operator stores in memory',
  shared: 'REDIS_URL: every store in Redis'
}
const CONFIGS: readonly Config[] = (['memory', 'bus', 'shared'] as const)
  .flatMap(sharing => ([1, 3] as const).map(nodes => ({ id: `${sharing}-${String(nodes)}`, sharing, nodes })))

/**
 * For `bus`: an --import that swaps broker.js's `./cluster.js` for a module
 * that calls the real joinCluster and hands on only the node's id,
 * mqemitter-redis, aedes-persistence-redis and `closing`, so the operator
 * plugins keep their memory stores. Nothing else of the process differs
 * (no tsx, the same entry script and environment). joinCluster still opens
 * its stores connection and its session store's 5 s heartbeat (one EVAL on
 * an empty list) still runs.
 */
function busOnlyImport (): string {
  const dataUrl = (source: string): string => `data:text/javascript,${encodeURIComponent(source)}`
  const real = JSON.stringify(pathToFileURL(CLUSTER_JS).href)
  // Everything else cluster.js exports (broker.js imports more than joinCluster) is the real one's.
  const shim = dataUrl(`export * from ${real}
import { joinCluster as join } from ${real}
export async function joinCluster (env, logger, brokerId) {
  const member = await join(env, logger, brokerId)
  return member === undefined ? undefined : { node: member.node, aedes: member.aedes, closing: member.closing }
}`)
  const hooks = dataUrl(`export async function resolve (specifier, context, next) {
  if (specifier === './cluster.js' && context.parentURL === ${JSON.stringify(pathToFileURL(BROKER_JS).href)}) {
    return { url: ${JSON.stringify(shim)}, shortCircuit: true }
  }
  return next(specifier, context)
}`)
  return dataUrl(`import { register } from 'node:module'\nregister(${JSON.stringify(hooks)})`)
}

// ---------------------------------------------------------------- child processes

const TMP = mkdtempSync(join(os.tmpdir(), 'h12b-cluster-load-'))

/** A child process (support/spawn.ts: its output collected, stopped by PID). */
interface Proc extends Spawned { readonly name: string, readonly pid: number }
const procs: Proc[] = []

/** Starts `bin args`; every child is stopped however this process ends. */
function start (name: string, bin: string, args: readonly string[],
  env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): Proc {
  const program = spawnProgram(bin, args, { cwd: ROOT_DIR, env, label: name })
  if (program.pid === undefined) throw new Error(`${name}: could not start ${bin}`)
  const p: Proc = Object.assign(program, { name, pid: program.pid })
  procs.push(p)
  return p
}

/** SIGTERM to each child, SIGKILL to any still there after 5 s. */
async function stopAll (): Promise<void> {
  await Promise.all(procs.map(async p => await p.stop('SIGTERM', 5000)))
}

process.on('exit', () => { for (const p of procs) if (!p.exited) try { process.kill(p.pid, 'SIGKILL') } catch {} })
const run = { interrupted: false }
const interrupt = async (): Promise<never> => {
  await stopAll()
  rmSync(TMP, { recursive: true, force: true })
  process.exit(130)
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    run.interrupted = true
    process.stderr.write(`${signal}: stopping every child\n`)
    void interrupt()
  })
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

function findProgram (name: string): string {
  const path = (process.env.PATH ?? '').split(':').filter(d => d !== '')
  for (const dir of [...path, '/usr/local/sbin', '/usr/sbin', '/usr/bin', '/sbin']) {
    try { accessSync(join(dir, name), constants.X_OK); return join(dir, name) } catch {}
  }
  throw new Error(`${name} not found: apt-get install ${name === 'haproxy' ? 'haproxy' : 'redis-server'}`)
}

async function until (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, p?: Proc):
Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (p?.exited === true) throw new Error(`${p.name} exited while waiting for ${what}:\n${p.tail(15)}`)
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${p !== undefined ? `:\n${p.tail(15)}` : ''}`)
    await sleep(50)
  }
}

async function accepts (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const s = net.connect({ host: HOST, port })
    const done = (ok: boolean): void => { s.destroy(); resolve(ok) }
    s.once('connect', () => { done(true) })
    s.once('error', () => { done(false) })
  })
}

// ---------------------------------------------------------------- Redis

/** One inline command to the redis-server on `port`; its reply's text (a bulk string's contents). */
async function redis (port: number, command: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port })
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`redis ${command}: no answer`)) }, 3000)
    const finish = (err: Error | null, text = ''): void => {
      clearTimeout(timer)
      s.destroy()
      if (err !== null) reject(err)
      else resolve(text)
    }
    s.once('connect', () => { s.write(`${command}\r\n`) })
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      const eol = buf.indexOf('\r\n')
      if (eol < 0) return
      const first = buf.toString('latin1', 0, eol)
      if (first.startsWith('-')) { finish(new Error(`redis ${command}: ${first}`)); return }
      if (!first.startsWith('$')) { finish(null, first.slice(1)); return }
      const length = Number(first.slice(1))
      if (buf.length >= eol + 2 + length) finish(null, buf.toString('utf8', eol + 2, eol + 2 + length))
    })
    s.once('error', err => { finish(err) })
  })
}

/** Calls per command so far (INFO commandstats). */
async function commandCalls (port: number): Promise<Record<string, number>> {
  const calls: Record<string, number> = {}
  for (const m of (await redis(port, 'INFO commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls[m[1] as string] = Number(m[2])
  }
  return calls
}

async function startRedis (name: string, bin: string): Promise<{ proc: Proc, port: number }> {
  const port = await freePort()
  const dir = join(TMP, name)
  mkdirSync(dir)
  const proc = start(name, bin,
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'])
  const pong = async (): Promise<boolean> => await redis(port, 'PING').then(r => r === 'PONG', () => false)
  await until(pong, 10_000, `${name} to answer PING`, proc)
  return { proc, port }
}

// ---------------------------------------------------------------- nodes and HAProxy

/** A node's log (its output, line by line), read on from where the last read stopped: connects and disconnects. */
class NodeLog {
  readonly #lines: readonly string[]
  #next = 0
  connects = 0
  disconnects = 0
  constructor (lines: readonly string[]) { this.#lines = lines }
  read (): void {
    for (; this.#next < this.#lines.length; this.#next++) {
      const line = this.#lines[this.#next] as string
      if (line.includes('"event":"connect"')) this.connects++
      else if (line.includes('"event":"disconnect"')) this.disconnects++
    }
  }
}

interface Node { readonly proc: Proc, readonly port: number, readonly log: NodeLog }

async function startNode (name: string, sharing: Sharing, redisPort: number | undefined): Promise<Node> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    TB_SERVICE_ID: name,
    LISTENER_TCP_BIND_ADDRESS: HOST,
    LISTENER_TCP_BIND_PORT: '0',
    LISTENER_WS_ENABLED: 'false',
    MQTT_PROXY_PROTOCOL_ENABLED: 'true',
    MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: HOST,
    // The IP policy's rate limit, never reached: every client has its own address and connects once a round.
    MQTT_IP_RATE_LIMIT: '1000',
    MQTT_IP_RATE_BURST: '1000',
    ...(redisPort !== undefined ? { REDIS_URL: `redis://${HOST}:${String(redisPort)}` } : {})
  }
  const args = [...(sharing === 'bus' ? ['--import', busOnlyImport()] : []), BROKER_JS]
  const proc = start(name, process.execPath, args, env)
  const log = new NodeLog(proc.lines)
  const line = await proc.waitFor(l => l.includes('"event":"listening"') && l.includes('"listener":"tcp"'), 20_000)
  const port = (JSON.parse(line) as { bindPort: number }).bindPort
  return { proc, port, log }
}

/** The README's "Scaling out" block, on loopback: one frontend, `nodes` servers. */
function haproxyConfig (frontend: number, nodes: readonly Node[]): string {
  return `global
    log stderr format raw local0 info

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 2m
    timeout server 2m
    timeout check 2s
    option redispatch
    retries 2

frontend mqtt
    bind ${HOST}:${String(frontend)}
    default_backend brokers

backend brokers
    balance roundrobin
${nodes.map((n, i) => `    server node${String(i + 1)} ${HOST}:${String(n.port)} send-proxy-v2 check check-send-proxy`)
  .join('\n')}
`
}

interface Setup {
  readonly config: Config
  readonly nodes: readonly Node[]
  readonly haproxy: Proc
  readonly frontend: number
  readonly redis?: { readonly proc: Proc, readonly port: number }
}

async function setUp (config: Config, haproxyBin: string, redisBin: string): Promise<Setup> {
  const r = config.sharing === 'memory' ? undefined : await startRedis(`${config.id}-redis`, redisBin)
  const nodes = await Promise.all(Array.from({ length: config.nodes }, async (_, i) =>
    await startNode(`${config.id}-node${String(i + 1)}`, config.sharing, r?.port)))
  const frontend = await freePort()
  const cfg = join(TMP, `${config.id}-haproxy.cfg`)
  writeFileSync(cfg, haproxyConfig(frontend, nodes))
  const haproxy = start(`${config.id}-haproxy`, haproxyBin, ['-db', '-f', cfg])
  await until(async () => await accepts(frontend), 10_000, `${config.id}'s HAProxy frontend`, haproxy)
  return { config, nodes, haproxy, frontend, ...(r !== undefined ? { redis: r } : {}) }
}

// ---------------------------------------------------------------- CPU

/** On-CPU time of every thread of `pid`, ns (schedstat: utime + stime, not rounded to ticks). */
function cpuNs (pid: number): number {
  let sum = 0
  for (const task of readdirSync(`/proc/${String(pid)}/task`)) {
    try { sum += Number(readFileSync(`/proc/${String(pid)}/task/${task}/schedstat`, 'utf8').split(' ')[0]) } catch {}
  }
  return sum
}

/** utime + stime from /proc/<pid>/stat, ns (clock ticks, 10 ms each; threads that ended included): a cross-check. */
const TICK_NS = 1e9 / 100
function statNs (pid: number): number {
  const fields = readFileSync(`/proc/${String(pid)}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) * TICK_NS
}

/** Each group's processes' CPU so far, ns. */
interface Cpu { readonly nodes: number, readonly haproxy: number, readonly redis: number }
function cpuOf (s: Setup, f: (pid: number) => number = cpuNs): Cpu {
  return {
    nodes: s.nodes.reduce((sum, n) => sum + f(n.proc.pid), 0),
    haproxy: f(s.haproxy.pid),
    redis: s.redis !== undefined ? f(s.redis.proc.pid) : 0
  }
}
const minus = (a: Cpu, b: Cpu): Cpu =>
  ({ nodes: a.nodes - b.nodes, haproxy: a.haproxy - b.haproxy, redis: a.redis - b.redis })

// ---------------------------------------------------------------- one measurement

/** The n-th client's own loopback address. */
const addressOf = (n: number): string => `127.${String(1 + (n >> 16))}.${String((n >> 8) & 255)}.${String(n & 255)}`

interface Sample {
  readonly connectionsPerSecond: number
  /** First connect to last CONNACK. */
  readonly wallMs: number
  /** First connect until SETTLE_MS after the nodes logged the last disconnect. */
  readonly windowMs: number
  /** CPU per connection in the window, less the processes' idle use over as long, µs (schedstat). */
  readonly nodesUs: number
  readonly redisUs: number
  readonly haproxyUs: number
  /** The same without the idle use taken off, and the nodes' from /proc/<pid>/stat ticks (a cross-check). */
  readonly raw: {
    readonly nodesUs: number, readonly redisUs: number, readonly haproxyUs: number, readonly nodesTicksUs: number
  }
  /** CPU ms per second idle, just before the window (all nodes together). */
  readonly idleMsPerSecond: { readonly nodes: number, readonly redis: number, readonly haproxy: number }
  /** This process (the clients), µs per connection. */
  readonly generatorUs: number
  readonly clientsPerNode: readonly number[]
  /** Redis commands per connection, by command. */
  readonly redisCalls: Readonly<Record<string, number>>
}

async function measure (s: Setup, round: number): Promise<Sample> {
  // What the processes use idle, over BASELINE_MS just before: subtracted
  // from the window (an idle node runs its timers: prom-client's event-loop
  // monitor, the session-list heartbeat; HAProxy its health checks).
  await sleep(200)
  const b0 = cpuOf(s)
  const tb0 = performance.now()
  await sleep(BASELINE_MS)
  for (const n of s.nodes) n.log.read()
  const connects0 = s.nodes.map(n => n.log.connects)
  const disconnects0 = s.nodes.reduce((sum, n) => sum + n.log.disconnects, 0)
  const calls0 = s.redis !== undefined ? await commandCalls(s.redis.port) : {}
  const ticks0 = cpuOf(s, statNs)
  const before = cpuOf(s)
  const generator0 = process.cpuUsage()
  const t0 = performance.now()
  const idlePerMs = minus(before, b0)
  const baselineMs = t0 - tb0

  // Connect, CONNECT, CONNACK, IN_FLIGHT at a time; they stay connected.
  const idPrefix = `r${String(round)}-${s.config.id}`
  const options = { host: HOST, idPrefix, inFlight: IN_FLIGHT, address: addressOf, keepalive: 60 }
  const opened = await storm(s.frontend, clients, options)
  const failed = Object.values(opened.lost).reduce((a, b) => a + b, 0)
  if (failed > 0) {
    const lost = JSON.stringify(opened.lost)
    throw new Error(`${s.config.id}: ${String(failed)} of ${String(clients)} clients failed: ${lost}`)
  }
  for (const sock of opened.sockets) sock.end(DISCONNECT)
  await until(() => {
    for (const n of s.nodes) n.log.read()
    return s.nodes.reduce((acc, n) => acc + n.log.disconnects, 0) - disconnects0 >= clients
  }, 30_000, `${s.config.id}: every disconnect logged`)
  for (const sock of opened.sockets) sock.destroy()
  // What follows a disconnect (the session list's HDEL, the persistence, $SYS on the bus) has its time.
  await sleep(SETTLE_MS)

  const after = cpuOf(s)
  const ticks1 = cpuOf(s, statNs)
  const windowMs = performance.now() - t0
  const generator = process.cpuUsage(generator0)
  const calls1 = s.redis !== undefined ? await commandCalls(s.redis.port) : {}
  const redisCalls: Record<string, number> = {}
  for (const [cmd, n] of Object.entries(calls1)) {
    const d = n - (calls0[cmd] ?? 0)
    if (d > 0) redisCalls[cmd] = d / clients
  }
  const raw = minus(after, before)
  const idleShare = (k: keyof Cpu): number => idlePerMs[k] / baselineMs * windowMs
  const perConnUs = (ns: number): number => ns / 1000 / clients
  return {
    connectionsPerSecond: clients / (opened.wallMs / 1000),
    wallMs: opened.wallMs,
    windowMs,
    nodesUs: perConnUs(raw.nodes - idleShare('nodes')),
    redisUs: perConnUs(raw.redis - idleShare('redis')),
    haproxyUs: perConnUs(raw.haproxy - idleShare('haproxy')),
    raw: {
      nodesUs: perConnUs(raw.nodes),
      redisUs: perConnUs(raw.redis),
      haproxyUs: perConnUs(raw.haproxy),
      nodesTicksUs: perConnUs(ticks1.nodes - ticks0.nodes)
    },
    idleMsPerSecond: {
      nodes: idlePerMs.nodes / 1e6 / (baselineMs / 1000),
      redis: idlePerMs.redis / 1e6 / (baselineMs / 1000),
      haproxy: idlePerMs.haproxy / 1e6 / (baselineMs / 1000)
    },
    generatorUs: (generator.user + generator.system) / clients,
    clientsPerNode: s.nodes.map((n, i) => n.log.connects - (connects0[i] ?? 0)),
    redisCalls
  }
}

// ---------------------------------------------------------------- statistics and the report

// Median and range only (cluster.json keeps no per-round lists).
interface Summary { readonly median: number, readonly min: number, readonly max: number }
function summarize (values: readonly number[]): Summary {
  const { median, min, max } = summarizeAll(values)
  return { median, min, max }
}

const fmt = (v: number, digits = 0): string =>
  Number.isFinite(v) ? v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–'
const signed = (v: number, digits = 0): string => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${fmt(Math.abs(v), digits)}`
const cell = (s: Summary, digits = 0): string =>
  `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`
const signedCell = (s: Summary, digits = 0): string =>
  `${signed(s.median, digits)} (${signed(s.min, digits)} to ${signed(s.max, digits)})`

async function version (bin: string, args: string[], pattern: RegExp): Promise<string> {
  const r = await runProgram(bin, args, { timeoutMs: 10_000 })
  return pattern.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown'
}

/**
 * Until npm run build's output is there and has not changed for 2 s (someone
 * may be running npm run build, which deletes dist/ first); at most 60 s.
 */
async function builtAlready (): Promise<void> {
  const files = [BROKER_JS, CLUSTER_JS, join(ROOT_DIR, 'dist/index.js')]
  const newest = (): number => Math.max(...files.map(f => statSync(f).mtimeMs))
  try {
    await until(() => { try { return Date.now() - newest() > 2000 } catch { return false } }, 60_000, 'the build')
  } catch {
    throw new Error(`${files.join(', ')}: not built (run npm run build first)`)
  }
}

// ---------------------------------------------------------------- the run

const startedAt = new Date()
const load0 = os.loadavg()
const haproxyBin = findProgram('haproxy')
const redisBin = findProgram('redis-server')
await builtAlready()
const samples = new Map<string, Sample[]>(CONFIGS.map(c => [c.id, []]))
let setups: Setup[] = []
const t0 = performance.now()
try {
  setups = []
  for (const c of CONFIGS) setups.push(await setUp(c, haproxyBin, redisBin))
  process.stderr.write(`${String(setups.length)} configurations up: ${String(procs.length)} processes\n`)
  for (let round = -1; round < rounds; round++) {
    const shift = (round + 1) % setups.length
    for (const s of [...setups.slice(shift), ...setups.slice(0, shift)]) {
      const sample = await measure(s, round + 1)
      if (round >= 0) samples.get(s.config.id)?.push(sample)
      process.stderr.write(`round ${round < 0 ? 'warm-up' : String(round + 1)} ${s.config.id}: ` +
        `${fmt(sample.connectionsPerSecond)} conn/s, nodes ${fmt(sample.nodesUs)} µs, ` +
        `redis ${fmt(sample.redisUs)} µs, ` +
        `haproxy ${fmt(sample.haproxyUs)} µs per connection [${sample.clientsPerNode.join('/')}], ` +
        `window ${fmt(sample.windowMs)} ms, idle nodes ${fmt(sample.idleMsPerSecond.nodes, 1)} ms/s\n`)
    }
  }
} catch (err) {
  if (run.interrupted) await interrupt() // a child stopped under a measurement: not a failure
  throw err
} finally {
  await stopAll()
}
const runSeconds = (performance.now() - t0) / 1000
const load1 = os.loadavg()
rmSync(TMP, { recursive: true, force: true })

// Per configuration, and the costs of sharing as differences within each round.
const of = (id: string): Sample[] => samples.get(id) ?? []
const stat = (id: string, f: (x: Sample) => number): Summary => summarize(of(id).map(f))
const paired = (a: string, b: string, f: (x: Sample) => number): Summary =>
  summarize(of(a).map((x, i) => f(x) - f(of(b)[i] as Sample)))
const everything = (x: Sample): number => x.nodesUs + x.redisUs + x.haproxyUs
const perConfig = CONFIGS.map(c => {
  const calls: Record<string, Summary> = {}
  for (const cmd of new Set(of(c.id).flatMap(x => Object.keys(x.redisCalls)))) {
    calls[cmd] = stat(c.id, x => x.redisCalls[cmd] ?? 0)
  }
  return {
    ...c,
    label: SHARING_LABEL[c.sharing],
    connectionsPerSecond: stat(c.id, x => x.connectionsPerSecond),
    nodesUs: stat(c.id, x => x.nodesUs),
    redisUs: stat(c.id, x => x.redisUs),
    haproxyUs: stat(c.id, x => x.haproxyUs),
    everythingUs: stat(c.id, everything),
    raw: {
      nodesUs: stat(c.id, x => x.raw.nodesUs),
      redisUs: stat(c.id, x => x.raw.redisUs),
      haproxyUs: stat(c.id, x => x.raw.haproxyUs),
      nodesTicksUs: stat(c.id, x => x.raw.nodesTicksUs)
    },
    idleMsPerSecond: {
      nodes: stat(c.id, x => x.idleMsPerSecond.nodes),
      redis: stat(c.id, x => x.idleMsPerSecond.redis),
      haproxy: stat(c.id, x => x.idleMsPerSecond.haproxy)
    },
    generatorUs: stat(c.id, x => x.generatorUs),
    windowMs: stat(c.id, x => x.windowMs),
    redisCalls: calls,
    samples: of(c.id)
  }
})
const config = (sharing: Sharing, nodes: number): string => `${sharing}-${String(nodes)}`
const ratio = (a: string, b: string, f: (x: Sample) => number): Summary =>
  summarize(of(a).map((x, i) => f(x) / f(of(b)[i] as Sample)))
/** The costs of sharing, each a difference (or ratio) within a round, for one node and for three. */
interface Cost {
  readonly id: string, readonly label: string, readonly of: (nodes: number) => Summary, readonly unit: 'µs' | '×'
}
const cost = (id: string, label: string, unit: Cost['unit'], of: Cost['of']): Cost => ({ id, label, unit, of })
const COSTS: readonly Cost[] = [
  cost('busNodesUs', "mqemitter-redis + aedes-persistence-redis: nodes' CPU (bus − memory)", 'µs',
    n => paired(config('bus', n), config('memory', n), x => x.nodesUs)),
  cost('busRedisUs', "… and Redis's CPU (bus)", 'µs',
    n => stat(config('bus', n), x => x.redisUs)),
  cost('storesNodesUs', "the operator stores in Redis: nodes' CPU (shared − bus)", 'µs',
    n => paired(config('shared', n), config('bus', n), x => x.nodesUs)),
  cost('storesRedisUs', "… and Redis's CPU (shared − bus)", 'µs',
    n => paired(config('shared', n), config('bus', n), x => x.redisUs)),
  cost('sharedNodesUs', "everything shared: nodes' CPU (shared − memory)", 'µs',
    n => paired(config('shared', n), config('memory', n), x => x.nodesUs)),
  cost('sharedEverythingUs', 'everything shared: nodes + Redis + HAProxy (shared − memory)', 'µs',
    n => paired(config('shared', n), config('memory', n), everything)),
  cost('sharedNodesRatio', "everything shared ÷ memory: nodes' CPU", '×',
    n => ratio(config('shared', n), config('memory', n), x => x.nodesUs)),
  cost('sharedEverythingRatio', 'everything shared ÷ memory: nodes + Redis + HAProxy', '×',
    n => ratio(config('shared', n), config('memory', n), everything)),
  cost('sharedRate', 'connections/s, shared ÷ memory', '×',
    n => ratio(config('shared', n), config('memory', n), x => x.connectionsPerSecond))
]
const costs = COSTS.map(c => ({ id: c.id, label: c.label, unit: c.unit, oneNode: c.of(1), threeNodes: c.of(3) }))
const threeVersusOne = (['memory', 'bus', 'shared'] as const).map(sharing => ({
  sharing,
  label: SHARING_LABEL[sharing],
  nodesUs: paired(config(sharing, 3), config(sharing, 1), x => x.nodesUs),
  everythingUs: paired(config(sharing, 3), config(sharing, 1), everything)
}))

const cpus = os.cpus()
const haproxyVersion = await version(haproxyBin, ['-v'], /version (\S+)/)
const redisVersion = await version(redisBin, ['--version'], /v=(\S+)/)
const machine = `${String(cpus.length)} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ` +
  `${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, HAProxy ${haproxyVersion}, ` +
  `redis-server ${redisVersion}`
const command = `node --import tsx packages/broker/bench/cluster-load.ts ${String(clients)} ${String(rounds)}`
/** The code measured: the commit, and whether the sources built differed from it. */
const git = async (...args: string[]): Promise<string> =>
  (await runProgram('git', ['-C', ROOT_DIR, ...args], { timeoutMs: 10_000 })).stdout.trim()
const head = await git('rev-parse', '--short', 'HEAD')
const changed = await git('status', '--porcelain', '--', 'src', 'packages/broker/src')
const dirty = changed.split('\n').filter(l => l !== '').length
const code = head === ''
  ? 'not a git checkout'
  : `commit ${head}${dirty > 0 ? `, with ${String(dirty)} files changed under src/ and packages/broker/src/` : ''}`
const redisIdle = perConfig.filter(c => c.sharing !== 'memory').map(c => c.idleMsPerSecond.redis.median)
const each = (f: (c: typeof perConfig[number]) => string): string => perConfig.map(c => `${c.id} ${f(c)}`).join(', ')
const md: string[] = [
  '# Cluster load: the cost of sharing',
  '',
  `\`${command}\` (after \`npm run build\`), ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
    `${fmt(runSeconds)} s.`,
  `Code: ${code}, as npm run build compiled it. ${machine}; load average ${fmt(load0[0] ?? Number.NaN, 2)} at the ` +
    `start, ${fmt(load1[0] ?? Number.NaN, 2)} at the end.`,
  `**${String(cpus.length)} cores** for everything: the clients, HAProxy, redis-server and every node, so three ` +
    'nodes cannot be faster than one here; what this measures is what sharing costs per connection.',
  '',
  `${String(clients)} clients per measurement, each from its own loopback address, through one HAProxy (the ` +
    'README\'s "Scaling out" block: roundrobin, send-proxy-v2, check check-send-proxy), ' +
    `${String(IN_FLIGHT)} at a time: TCP connect, CONNECT (MQTT 3.1.1, clean session, a new client id), CONNACK; ` +
    'all stay connected until the last CONNACK, then each sends DISCONNECT and closes.',
  'Connections per second: clients over first connect to last CONNACK. CPU per connection (µs): on-CPU time of ' +
    'every thread (/proc/<pid>/task/*/schedstat) from the first connect until every node has logged every ' +
    'disconnect (and 500 ms more), less the same processes\' idle use over as long, over the clients; so a ' +
    'connection\'s whole life, connect to close. The nodes\' figure is summed over all node processes.',
  `Medians of ${String(rounds)} rounds alternating the configurations, with (min–max); a first round is not ` +
    'counted. Every node is `node packages/broker/dist/broker.js` with PROXY protocol required from HAProxy, the ' +
    'IP policy\'s rate limit on (MQTT_IP_RATE_LIMIT=1000, MQTT_IP_RATE_BURST=1000: never reached), the session ' +
    'list and the unauthorized list (always on), logging at info (read by this tool).',
  '',
  "| configuration | nodes | connections/s | nodes' CPU µs/conn | Redis µs/conn | HAProxy µs/conn | " +
    'all three µs/conn | Redis commands/conn |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...perConfig.map(c => {
    const calls = Object.entries(c.redisCalls).filter(([, v]) => v.median >= 0.05)
      .sort((x, y) => y[1].median - x[1].median || x[0].localeCompare(y[0]))
      .map(([cmd, v]) => `${cmd} ${fmt(v.median, 1)}`).join(', ')
    const redisUs = c.sharing === 'memory' ? '–' : cell(c.redisUs)
    return `| ${c.label} | ${String(c.nodes)} | ${cell(c.connectionsPerSecond)} | ${cell(c.nodesUs)} | ${redisUs} | ` +
      `${cell(c.haproxyUs)} | ${cell(c.everythingUs)} | ${calls === '' ? '–' : calls} |`
  }),
  '',
  'The cost of sharing per connection, each a difference within a round (median, min to max over rounds):',
  '',
  '| per connection | 1 node | 3 nodes |',
  '| --- | ---: | ---: |',
  ...costs.map(c => c.unit === '×'
    ? `| ${c.label} | ${cell(c.oneNode, 2)}× | ${cell(c.threeNodes, 2)}× |`
    : c.id.endsWith('RedisUs') && c.id.startsWith('bus')
      ? `| ${c.label} | ${cell(c.oneNode)} µs | ${cell(c.threeNodes)} µs |`
      : `| ${c.label} | ${signedCell(c.oneNode)} µs | ${signedCell(c.threeNodes)} µs |`),
  '',
  `Three nodes instead of one (on ${String(cpus.length)} cores), nodes' CPU per connection, 3 − 1 within a round: ` +
    `${threeVersusOne.map(t => `${t.sharing} ${signedCell(t.nodesUs)} µs`).join('; ')}.`,
  '',
  'CPU in a window (first connect until 500 ms after the nodes logged the last disconnect) less what the same ' +
    'processes used idle over as long, measured for 1 s just before: ' +
    `idle, the nodes used ${each(c => fmt(c.idleMsPerSecond.nodes.median, 1))} ms/s between them ` +
    `(HAProxy ${fmt(summarize(perConfig.map(c => c.idleMsPerSecond.haproxy.median)).median, 1)} ms/s, ` +
    `Redis ${fmt(summarize(redisIdle).median, 1)} ms/s), ` +
    `and the window lasted ${perConfig.map(c => `${c.id} ${fmt(c.windowMs.median)}`).join(', ')} ms. ` +
    `Without that subtraction the nodes' figures are ${each(c => fmt(c.raw.nodesUs.median))} µs ` +
    `(from /proc/<pid>/stat's 10 ms ticks instead of schedstat: ${each(c => fmt(c.raw.nodesTicksUs.median))} µs). ` +
    `The clients (this process, on the same cores) used ${each(c => fmt(c.generatorUs.median))} µs per connection.`,
  ''
]
mkdirSync(RESULTS_DIR, { recursive: true })
writeFileSync(join(RESULTS_DIR, 'cluster.md'), md.join('\n'))
console.log(md.join('\n'))
