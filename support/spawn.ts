// The one way this repository runs programs (tests, benchmarks, the package
// check): the broker bin, the examples, the cluster nodes, HAProxy, nginx,
// redis-server, the mosquitto clients, npm and tsc, and the benchmark's own
// children (with `ipc`). `run` runs one to its end, with a timeout.
//
//   const broker = spawnProgram(process.execPath, ['packages/broker/dist/broker.js'], { cwd: root, t })
//   const line = await broker.waitFor(/^tcp listener on /, 15_000)
//   const { code } = await broker.stop('SIGTERM')
//
// stdout and stderr are collected (as text, and as lines in the order they
// arrived); `waitFor` fails fast when the program exits without printing the
// line, and every failure names the program and ends with its output's tail.
// Signals go to this PID only; `t` stops it (SIGKILL) in t.after.
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import type { TestContext } from 'node:test'

export interface SpawnOptions {
  readonly cwd?: string
  /** The whole environment. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv
  /** How failures name the program. Default: the program's file name. */
  readonly label?: string
  /**
   * Stop keeping output (text and lines) beyond this many characters; lines
   * are still matched. Default: no limit.
   */
  readonly maxOutput?: number
  /** Stops the program (SIGKILL) in t.after. */
  readonly t?: TestContext
  /** An IPC channel to a Node program (`child.send`, 'message'), advanced serialization. */
  readonly ipc?: boolean
}

export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  /** stderr, and the spawn error if there was one */
  readonly stderr: string
}

/** A string matches a line containing it; a RegExp one it matches; a function one it accepts. */
export type LineMatch = string | RegExp | ((line: string) => boolean)

export interface Spawned {
  readonly child: ChildProcess
  readonly pid: number | undefined
  readonly label: string
  /** Every line so far, stdout and stderr, in the order they arrived (the live array). */
  readonly lines: string[]
  /** stdout and stderr so far, as text. */
  readonly output: () => string
  /** true once the process has exited (or could not be spawned) */
  readonly exited: boolean
  readonly exitCode: number | null
  readonly exitSignal: NodeJS.Signals | null
  /** the spawn error (ENOENT, EACCES, ...), if any */
  readonly error: Error | undefined
  /** Resolves once the process has exited and its output has been read. */
  readonly done: Promise<Exited>
  /**
   * The first line so far, or the next one, that matches. Rejects when the
   * program exits first or after `timeoutMs`, with the output's tail.
   */
  waitFor (match: LineMatch, timeoutMs?: number, what?: string): Promise<string>
  /**
   * Sends `signal` (default SIGTERM) to this PID unless it has exited, then
   * SIGKILL if it is still running after `killAfterMs` (default 10 s);
   * resolves with how it ended.
   */
  stop (signal?: NodeJS.Signals, killAfterMs?: number): Promise<Exited>
  /** The last `lines` lines of output, for failure messages. */
  tail (lines?: number): string
}

/** How long after exit the pipes may take to deliver the last output (a grandchild may hold them open). */
const DRAIN_MS = 2000

function matcher (match: LineMatch): (line: string) => boolean {
  if (typeof match === 'string') return line => line.includes(match)
  if (match instanceof RegExp) return line => { match.lastIndex = 0; return match.test(line) }
  return match
}

function describeMatch (match: LineMatch): string {
  if (typeof match === 'string') return `a line containing ${JSON.stringify(match)}`
  if (match instanceof RegExp) return `a line matching ${String(match)}`
  return 'the expected line'
}

/** Spawns `bin args` without a shell, stdin closed, stdout and stderr piped. */
export function spawnProgram (bin: string, args: readonly string[], options: SpawnOptions = {}): Spawned {
  const label = options.label ?? bin.split('/').pop() ?? bin
  const maxOutput = options.maxOutput ?? Infinity
  const child = spawn(bin, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: options.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    serialization: 'advanced'
  })
  const pid = child.pid
  const lines: string[] = []
  let stdout = ''
  let stderr = ''
  let output = ''
  const waiters = new Set<{ test: (line: string) => boolean, resolve: (line: string) => void }>()

  const onLine = (line: string): void => {
    if (output.length < maxOutput) lines.push(line)
    for (const w of [...waiters]) if (w.test(line)) { waiters.delete(w); w.resolve(line) }
  }
  const read = (stream: NodeJS.ReadableStream, append: (text: string) => void): void => {
    let partial = ''
    stream.setEncoding('utf8')
    stream.on('data', (text: string) => {
      if (output.length < maxOutput) { append(text); output += text }
      const parts = (partial + text).split(/\r?\n/)
      partial = parts.pop() ?? ''
      for (const line of parts) onLine(line)
    })
    stream.on('end', () => { if (partial !== '') onLine(partial); partial = '' })
  }
  // Both are piped (never null); the optional IPC slot hides that from the types.
  if (child.stdout !== null) read(child.stdout, text => { stdout += text })
  if (child.stderr !== null) read(child.stderr, text => { stderr += text })

  let exited = false
  let exitCode: number | null = null
  let exitSignal: NodeJS.Signals | null = null
  let error: Error | undefined
  const result = (): Exited => ({
    code: exitCode,
    signal: exitSignal,
    stdout,
    stderr: error === undefined ? stderr : `${stderr}${String(error)}`
  })
  const done = new Promise<Exited>(resolve => {
    // Without a PID it never started: no 'exit' follows. (With one, an
    // 'error' is a failed kill or send, and 'exit' still comes.)
    child.on('error', err => { error ??= err; if (pid === undefined) { exited = true; resolve(result()) } })
    child.once('exit', (code, signal) => {
      exited = true
      exitCode = code
      exitSignal = signal
      const drained = setTimeout(() => resolve(result()), DRAIN_MS)
      child.once('close', () => { clearTimeout(drained); resolve(result()) })
    })
  })

  const tail = (n = 40): string => {
    const last = lines.slice(-n)
    const of = lines.length > n ? ` (last ${n} of ${lines.length} lines)` : ''
    return `--- ${label} output${of} ---\n${lines.length === 0 ? '(nothing)' : last.join('\n')}`
  }
  const status = (): string => `exited (code ${String(exitCode)}, signal ${String(exitSignal)})`

  const waitFor = async (match: LineMatch, timeoutMs = 10_000, what = describeMatch(match)): Promise<string> => {
    const test = matcher(match)
    const found = lines.find(test)
    if (found !== undefined) return found
    return await new Promise((resolve, reject) => {
      const waiter = { test, resolve: (line: string) => { clearTimeout(timer); resolve(line) } }
      const fail = (why: string): void => {
        if (!waiters.delete(waiter)) return
        clearTimeout(timer)
        reject(new Error(`${label} ${why}\n${tail()}`))
      }
      const timer = setTimeout(() => {
        fail(`did not print ${what} within ${timeoutMs} ms (${exited ? status() : 'still running'})`)
      }, timeoutMs)
      waiters.add(waiter)
      void done.then(() => fail(error !== undefined && pid === undefined
        ? `could not start (${error.message}), so it did not print ${what}`
        : `${status()} without printing ${what}`))
    })
  }

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 10_000): Promise<Exited> => {
    let killTimer: NodeJS.Timeout | undefined
    if (!exited && pid !== undefined) {
      try { process.kill(pid, signal) } catch {}
      if (signal !== 'SIGKILL') {
        killTimer = setTimeout(() => { try { process.kill(pid, 'SIGKILL') } catch {} }, killAfterMs)
      }
    }
    const r = await done
    clearTimeout(killTimer)
    return r
  }

  options.t?.after(async () => { await stop('SIGKILL') })

  return {
    child,
    pid,
    label,
    lines,
    output: () => output,
    get exited () { return exited },
    get exitCode () { return exitCode },
    get exitSignal () { return exitSignal },
    get error () { return error },
    done,
    waitFor,
    stop,
    tail
  }
}

export interface RunResult extends Exited {
  readonly timedOut: boolean
}

export interface RunOptions {
  readonly cwd?: string
  /** The whole environment. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv
  /** SIGKILL after this long. */
  readonly timeoutMs: number
}

/** Runs a program to its end (spawnProgram's way); never rejects, kills it on timeout. */
export async function run (bin: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const { timeoutMs, ...spawnOptions } = options
  const program = spawnProgram(bin, args, spawnOptions)
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; void program.stop('SIGKILL') }, timeoutMs)
  const r = await program.done
  clearTimeout(timer)
  return { ...r, timedOut }
}

/** A one-paragraph account of a finished process, for assertion messages. */
export function describeRun (what: string, r: RunResult): string {
  const status = r.timedOut ? 'timed out' : r.signal !== null ? `killed by ${r.signal}` : `exit ${String(r.code)}`
  const tail = (s: string): string => s.length > 6000 ? `…${s.slice(-6000)}` : s
  return `${what}: ${status}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`
}

/** A loopback port that was free a moment ago (bound to port 0, then released), for a program to listen on. */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}
