// Real programs in front of the broker (HAProxy, nginx, mosquitto clients):
// finding them, skipping or failing when they are missing, and running them
// in the foreground from a temporary directory, on loopback only, so a test
// can stop exactly the process it started (spawned with ./spawn.ts).
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawnProgram } from './spawn.js'

/** Where sbin programs live even when PATH (a non-root shell's) leaves them out. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

/** The absolute path of an executable, or undefined. */
export function findProgram (name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(d => d !== ''), ...EXTRA_DIRS]
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

/**
 * The absolute path of `name`, or undefined after skipping the test with one
 * line saying what to install. With AEDES_PP_REQUIRE_TOOLS=1 (CI) a missing
 * program fails the test instead.
 *
 * ```ts
 * const haproxy = requireProgram(t, 'haproxy', 'haproxy')
 * if (haproxy === undefined) return
 * ```
 */
export function requireProgram (t: TestContext, name: string, debianPackage: string): string | undefined {
  const path = findProgram(name)
  if (path !== undefined) return path
  const hint = `${name} not found: apt-get install ${debianPackage}`
  if (process.env.AEDES_PP_REQUIRE_TOOLS === '1') assert.fail(`${hint} (AEDES_PP_REQUIRE_TOOLS=1 requires it)`)
  t.skip(hint)
  return undefined
}

export { freePort } from '../../support/spawn.js'

export interface Endpoint {
  readonly host: string
  readonly port: number
}

export interface RunningProgram {
  readonly pid: number
  /** the temporary directory holding the config and anything the program writes */
  readonly dir: string
  /** stdout and stderr so far (capped) */
  readonly output: () => string
  /** Sends SIGTERM to this PID only, waits for exit (SIGKILL after 5 s); idempotent. */
  readonly stop: () => Promise<void>
}

export interface StartOptions {
  /** Endpoints polled until they accept; by default every `bind`/`listen` in the config. */
  readonly ready?: readonly Endpoint[]
  /**
   * Polled instead of connecting to `ready` (a connection to a frontend makes
   * the proxy open one to the broker, which a test counting events would see).
   * Given the temporary directory; resolves true once the program serves.
   */
  readonly readyCheck?: (dir: string) => Promise<boolean>
  /** Milliseconds allowed for startup. Default 10 000. */
  readonly timeoutMs?: number
}

/** Config text, or a function given the temporary directory that returns it. */
export type ConfigText = string | ((dir: string) => string)

const IPV4 = /(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])/g
const BRACKETED_IPV6 = /\[([0-9a-fA-F:.]+)\]/g

/**
 * Throws unless every IP address written in the config is loopback
 * (127.0.0.0/8 or ::1): nothing these tests start may listen on or connect
 * to anything else.
 */
export function assertLoopbackOnly (config: string): void {
  for (const m of config.matchAll(IPV4)) {
    if (m[1] !== '127') throw new Error(`config uses a non-loopback address ${m[0]}`)
  }
  for (const m of config.matchAll(BRACKETED_IPV6)) {
    if (net.isIPv6(m[1] as string) && m[1] !== '::1') throw new Error(`config uses a non-loopback address [${String(m[1])}]`)
  }
}

/** `127.0.0.1:80`, `[::1]:80`, `ipv6@::1:80`, `ipv4@127.0.0.1:80` → endpoint. */
export function parseEndpoint (text: string): Endpoint | undefined {
  const bare = text.replace(/^ipv[46]@/, '')
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(bare)
  if (bracketed !== null) return { host: bracketed[1] as string, port: Number(bracketed[2]) }
  const plain = /^(.*):(\d+)$/.exec(bare)
  if (plain === null) return undefined
  return { host: plain[1] as string, port: Number(plain[2]) }
}

/** Endpoints named by the config's lines that start with `keyword` (bind, listen). */
function endpointsOf (config: string, keyword: string): Endpoint[] {
  const found: Endpoint[] = []
  const line = new RegExp(`^\\s*${keyword}\\s+([^\\s;]+)`, 'gm')
  for (const m of config.matchAll(line)) {
    const ep = parseEndpoint(m[1] as string)
    if (ep !== undefined) found.push(ep)
  }
  return found
}

async function canConnect (ep: Endpoint): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = net.connect({ host: ep.host, port: ep.port })
    const timer = setTimeout(() => { socket.destroy(); resolve(false) }, 500)
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve(true) })
    socket.once('error', () => { clearTimeout(timer); socket.destroy(); resolve(false) })
  })
}

const OUTPUT_CAP = 64 * 1024

/**
 * Spawns `bin args` in `dir` (removed on stop), waits until every endpoint in
 * `ready` accepts or the `ready` check passes, and returns a handle that
 * stops exactly this PID.
 */
export async function runProgram (bin: string, args: string[], dir: string, ready: readonly Endpoint[] | (() => Promise<boolean>), timeoutMs: number, label: string, logFile?: string): Promise<RunningProgram> {
  const program = spawnProgram(bin, args, { cwd: dir, label, maxOutput: OUTPUT_CAP })
  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      await program.stop('SIGTERM', 5000)
      rmSync(dir, { recursive: true, force: true })
    })()
    await stopping
  }

  const deadline = Date.now() + timeoutMs
  const pending = typeof ready === 'function' ? [] : [...ready]
  let checked = typeof ready !== 'function'
  const describe = (): string => typeof ready === 'function'
    ? 'pass its readiness check'
    : `accept on ${pending.map(e => `${e.host}:${e.port}`).join(', ')}`
  while (pending.length > 0 || !checked) {
    const fail = async (why: string): Promise<never> => {
      let log = ''
      if (logFile !== undefined) {
        try { log = `\n--- ${logFile} ---\n${readFileSync(logFile, 'utf8')}` } catch {}
      }
      await stop()
      throw new Error(`${label} ${why}\n--- ${bin} ${args.join(' ')} output ---\n${program.output()}${log}`)
    }
    if (program.error !== undefined || program.pid === undefined) await fail(`could not start: ${program.error?.message ?? 'no pid'}`)
    if (program.exited) await fail(`exited during startup (code ${String(program.exitCode)}, signal ${String(program.exitSignal)})`)
    if (Date.now() > deadline) await fail(`did not ${describe()} within ${timeoutMs} ms`)
    let progress: boolean
    if (typeof ready === 'function') {
      progress = await ready().catch(() => false)
      if (progress) checked = true
    } else {
      progress = await canConnect(pending[0] as Endpoint)
      if (progress) pending.shift()
    }
    if (!progress) await new Promise(resolve => setTimeout(resolve, 50))
  }
  return { pid: program.pid as number, dir, output: program.output, stop }
}

/**
 * Runs `haproxy -db -f <tmp>/haproxy.cfg` (foreground, no daemon) and waits
 * until every `bind` in the config accepts. The config must use loopback
 * addresses only.
 */
export async function startHaproxy (config: ConfigText, options: StartOptions = {}): Promise<RunningProgram> {
  const bin = findProgram('haproxy')
  if (bin === undefined) throw new Error('haproxy not found: apt-get install haproxy')
  const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-haproxy-'))
  const text = typeof config === 'function' ? config(dir) : config
  assertLoopbackOnly(text)
  const path = join(dir, 'haproxy.cfg')
  writeFileSync(path, text)
  const check = options.readyCheck
  const ready = check !== undefined ? async () => await check(dir) : options.ready ?? endpointsOf(text, 'bind')
  return await runProgram(bin, ['-db', '-f', path], dir, ready, options.timeoutMs ?? 10_000, 'haproxy')
}

/** Where Debian's libnginx-mod-stream puts the stream module. */
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so'

/**
 * Runs nginx in the foreground from a temporary prefix:
 * `nginx -p <tmp> -c nginx.conf -g 'daemon off; pid <tmp>/nginx.pid;'`,
 * with errors to `<tmp>/error.log`, and waits until every `listen` accepts.
 * `body` is the config after the main-context lines this adds
 * (load_module for the stream module, error_log, user, events).
 */
export async function startNginx (body: ConfigText, options: StartOptions = {}): Promise<RunningProgram> {
  const bin = findProgram('nginx')
  if (bin === undefined) throw new Error('nginx not found: apt-get install nginx-light libnginx-mod-stream')
  const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-nginx-'))
  const text = typeof body === 'function' ? body(dir) : body
  const config = [
    `load_module ${NGINX_STREAM_MODULE};`,
    // As root the workers would otherwise switch to nobody; nothing here needs that.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'worker_processes 1;',
    `error_log ${join(dir, 'error.log')} info;`,
    'events { worker_connections 64; }',
    text
  ].join('\n') + '\n'
  assertLoopbackOnly(config)
  writeFileSync(join(dir, 'nginx.conf'), config)
  const check = options.readyCheck
  const ready = check !== undefined ? async () => await check(dir) : options.ready ?? endpointsOf(text, 'listen')
  return await runProgram(bin, ['-p', dir, '-c', 'nginx.conf', '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`],
    dir, ready, options.timeoutMs ?? 10_000, 'nginx', join(dir, 'error.log'))
}

/** Sends one command to an HAProxy stats socket and returns its whole answer. */
export async function haproxyCommand (socketPath: string, command: string, timeoutMs = 3000): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect({ path: socketPath })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer to "${command}" on ${socketPath} within ${timeoutMs} ms`)) }, timeoutMs)
    socket.on('data', chunk => chunks.push(chunk))
    socket.once('error', err => { clearTimeout(timer); reject(err) })
    socket.once('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('utf8')) })
    socket.once('connect', () => socket.write(`${command}\n`))
  })
}

/** `show stat` as rows keyed by the CSV header (`pxname`, `svname`, `status`, `chkdown`, ...). */
export async function haproxyStats (socketPath: string): Promise<Array<Record<string, string>>> {
  const text = await haproxyCommand(socketPath, 'show stat')
  const lines = text.split('\n').filter(l => l.trim() !== '')
  const head = lines[0]
  if (head === undefined || !head.startsWith('# ')) throw new Error(`unexpected "show stat" answer: ${text.slice(0, 200)}`)
  const names = head.slice(2).split(',')
  return lines.slice(1).map(line => {
    const cells = line.split(',')
    const row: Record<string, string> = {}
    names.forEach((name, i) => { if (name !== '') row[name] = cells[i] ?? '' })
    return row
  })
}

export { until } from './wait.js'

// A one-frontend, one-backend HAProxy for the tests, in mode tcp (or http), with a
// stats socket; ready once `show stat` lists the frontend OPEN.
export interface HaproxyParts {
  /** lines of the `frontend fe` section; `bind` lines decide readiness */
  readonly frontend: readonly string[]
  /** the `server` line of `backend be` */
  readonly server: string
  /** the proxies' mode (default tcp); http also logs with `option httplog` */
  readonly mode?: 'tcp' | 'http'
  /** more lines of `backend be` (a `timeout connect` of its own, ...) */
  readonly backend?: readonly string[]
}

export interface Haproxy {
  readonly program: RunningProgram
  /** the unix stats socket (`show stat`) */
  readonly statsSocket: string
}

export function haproxyConfig (dir: string, parts: HaproxyParts): string {
  return [
    'global',
    '  nbthread 1',
    `  stats socket ${join(dir, 'admin.sock')} mode 600 level admin`,
    '  log stderr format raw local0 info',
    'defaults',
    `  mode ${parts.mode ?? 'tcp'}`,
    '  log global',
    `  option ${parts.mode ?? 'tcp'}log`,
    '  timeout connect 2s',
    '  timeout client 10s',
    '  timeout server 10s',
    '  timeout check 2s',
    'frontend fe',
    ...parts.frontend.map(l => `  ${l}`),
    '  default_backend be',
    'backend be',
    ...(parts.backend ?? []).map(l => `  ${l}`),
    `  ${parts.server}`,
    ''
  ].join('\n')
}

/** Starts HAProxy (skipping or failing the test when it is missing); stopped in t.after. */
export async function startTestHaproxy (t: TestContext, parts: HaproxyParts): Promise<Haproxy | undefined> {
  if (requireProgram(t, 'haproxy', 'haproxy') === undefined) return undefined
  let statsSocket = ''
  const program = await startHaproxy(dir => {
    statsSocket = join(dir, 'admin.sock')
    return haproxyConfig(dir, parts)
  }, {
    // Ready once the stats socket answers from the main loop (every listener
    // is bound by then) and lists the frontend OPEN, without a probe
    // connection through the frontend that the broker would see.
    readyCheck: async dir => {
      const rows = await haproxyStats(join(dir, 'admin.sock'))
      return rows.some(r => r.pxname === 'fe' && r.svname === 'FRONTEND' && r.status === 'OPEN')
    }
  })
  t.after(() => program.stop())
  return { program, statsSocket }
}
