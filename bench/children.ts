// Child processes of the benchmark (brokers, parser workers) and the small
// request/response protocol spoken with them over Node's IPC channel.
//
// Every child is registered here and killed when the runner exits, however
// it exits; a child also exits by itself when its IPC channel closes, so an
// orphan cannot outlive a runner that was killed with SIGKILL.
import { fork, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
export const ROOT_DIR = dirname(BENCH_DIR)

/** A message from parent to child. */
export interface Request {
  readonly id: number
  readonly cmd: string
  readonly [key: string]: unknown
}

/** A child's answer to one request. */
interface Reply {
  readonly id: number
  readonly ok: boolean
  readonly result?: unknown
  readonly error?: string
}

interface Pending {
  resolve (value: unknown): void
  reject (err: Error): void
  timer: NodeJS.Timeout
}

const live = new Set<Child>()
/** Every child started, by pid (to name their CPU profiles). */
export const childNames = new Map<number, string>()

export interface ExitInfo { readonly code: number | null, readonly signal: NodeJS.Signals | null }

export class Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly exited: Promise<ExitInfo>
  #exit: ExitInfo | undefined
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  #stderr = ''
  #ready: ((msg: Record<string, unknown>) => void) | undefined

  private constructor (name: string, script: string, args: readonly string[]) {
    this.name = name
    this.proc = fork(join(BENCH_DIR, script), [...args], {
      cwd: ROOT_DIR,
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced'
    })
    live.add(this)
    if (this.proc.pid !== undefined) childNames.set(this.proc.pid, name)
    this.proc.stderr?.setEncoding('utf8')
    this.proc.stderr?.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-8192)
    })
    this.proc.on('message', (msg: unknown) => { this.#onMessage(msg) })
    this.exited = new Promise(resolve => {
      this.proc.once('exit', (code, signal) => {
        this.#exit = { code, signal }
        live.delete(this)
        for (const [, p] of this.#pending) {
          clearTimeout(p.timer)
          p.reject(new Error(`${this.name} exited (code ${String(code)}, signal ${String(signal)}): ${this.lastStderr()}`))
        }
        this.#pending.clear()
        resolve(this.#exit)
      })
    })
  }

  /** Starts `script` (in bench/) and waits for its `{ type: 'ready' }` message. */
  static async start (name: string, script: string, args: readonly string[] = [], timeoutMs = 30_000): Promise<{ child: Child, ready: Record<string, unknown> }> {
    const child = new Child(name, script, args)
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${name} not ready within ${timeoutMs} ms: ${child.lastStderr()}`)) }, timeoutMs)
      child.#ready = msg => { clearTimeout(timer); resolve(msg) }
      void child.exited.then(info => {
        clearTimeout(timer)
        reject(new Error(`${name} exited before it was ready (code ${String(info.code)}): ${child.lastStderr()}`))
      })
    }).catch((err: unknown) => { child.kill(); throw err })
    return { child, ready }
  }

  get alive (): boolean { return this.#exit === undefined }
  get exitInfo (): ExitInfo | undefined { return this.#exit }
  lastStderr (): string { return this.#stderr.trim() }

  /** Sends a command and waits for its reply. */
  async request<T = unknown> (cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (!this.alive) throw new Error(`${this.name} is not running: ${this.lastStderr()}`)
    const id = this.#nextId++
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: '${cmd}' got no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, { resolve, reject, timer })
      this.proc.send({ id, cmd, ...args })
    })
  }

  /** Asks the child to exit (so --cpu-prof can write its profile), then kills it. */
  async stop (graceMs = 5000): Promise<void> {
    if (!this.alive) return
    try { this.proc.send({ id: 0, cmd: 'exit' }) } catch { /* channel already closed */ }
    const timer = setTimeout(() => { this.kill() }, graceMs)
    await this.exited
    clearTimeout(timer)
  }

  kill (): void {
    if (this.alive) this.proc.kill('SIGKILL')
  }

  #onMessage (msg: unknown): void {
    if (typeof msg !== 'object' || msg === null) return
    const m = msg as Record<string, unknown>
    if (m.type === 'ready') {
      this.#ready?.(m)
      this.#ready = undefined
      return
    }
    const reply = m as unknown as Reply
    const pending = this.#pending.get(reply.id)
    if (pending === undefined) return
    this.#pending.delete(reply.id)
    clearTimeout(pending.timer)
    if (reply.ok) pending.resolve(reply.result)
    else pending.reject(new Error(`${this.name}: ${reply.error ?? 'failed'}`))
  }
}

/** Kills every child still running. */
export function killAllChildren (): void {
  for (const child of live) child.kill()
}

/** Stops every child gracefully (profiles get written), killing stragglers. */
export async function stopAllChildren (): Promise<void> {
  await Promise.all([...live].map(async child => { await child.stop() }))
}

process.once('exit', killAllChildren)

// ---------------------------------------------------------------- child side

export type Handler = (req: Request) => unknown

/**
 * V8's CPU profiler (the one behind `node --cpu-prof`), started and stopped
 * on request so a profile covers the measured work only, not start-up.
 */
let profiler: Session | undefined
async function post (session: Session, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    session.post(method, params, (err, result) => { if (err !== null) reject(err); else resolve(result) })
  })
}
const builtins: Record<string, Handler> = {
  profStart: async req => {
    profiler ??= new Session()
    profiler.connect()
    await post(profiler, 'Profiler.enable')
    await post(profiler, 'Profiler.setSamplingInterval', { interval: Number(req.intervalUs ?? 200) })
    await post(profiler, 'Profiler.start')
    return null
  },
  profStop: async req => {
    if (profiler === undefined) throw new Error('profiler not started')
    const { profile } = await post(profiler, 'Profiler.stop') as { profile: unknown }
    profiler.disconnect()
    profiler = undefined
    writeFileSync(String(req.file), JSON.stringify(profile))
    return req.file
  }
}

/**
 * In a child: answers the parent's requests with `handlers[cmd]`, tells the
 * parent it is ready, and exits on `exit` or when the parent goes away.
 */
export function serve (handlers: Record<string, Handler>, ready: Record<string, unknown> = {}, onExit: () => void = () => {}): void {
  const send = (msg: unknown): void => { if (process.connected) process.send?.(msg) }
  process.on('message', (raw: unknown) => {
    const req = raw as Request
    if (req.cmd === 'exit') {
      onExit()
      process.exit(0)
    }
    const handler = handlers[req.cmd] ?? builtins[req.cmd]
    if (handler === undefined) {
      send({ id: req.id, ok: false, error: `unknown command ${req.cmd}` })
      return
    }
    Promise.resolve()
      .then(() => handler(req))
      .then(
        result => { send({ id: req.id, ok: true, result }) },
        (err: unknown) => { send({ id: req.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }) })
  })
  process.on('disconnect', () => { onExit(); process.exit(0) })
  send({ type: 'ready', ...ready })
}
