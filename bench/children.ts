// The benchmark's children (support/spawn.ts with an IPC channel) and the
// request/response protocol spoken with them. Every child is killed when the
// runner exits, and exits by itself when its IPC channel closes.
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { spawnProgram, type Spawned } from '../support/spawn.js'

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
export const ROOT_DIR = dirname(BENCH_DIR)

/** A message from parent to child. */
export interface Request { readonly id: number, readonly cmd: string, readonly [key: string]: unknown }

/** A child's answer to one request. */
interface Reply { readonly id: number, readonly ok: boolean, readonly result?: unknown, readonly error?: string }

const live = new Set<Child>()

export class Child {
  readonly name: string
  readonly #program: Spawned
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  #ready: ((msg: Record<string, unknown>) => void) | undefined

  private constructor (name: string, script: string, args: readonly string[]) {
    this.name = name
    this.#program = spawnProgram(process.execPath, ['--import', 'tsx', '--expose-gc', join(BENCH_DIR, script), ...args],
      { cwd: ROOT_DIR, ipc: true, label: name, maxOutput: 64 * 1024 })
    live.add(this)
    this.#program.child.on('message', (msg: unknown) => { this.#onMessage(msg) })
    void this.#program.done.then(({ code, signal }) => {
      live.delete(this)
      const how = `code ${String(code)}, signal ${String(signal)}`
      const error = new Error(`${this.name} exited (${how}): ${this.lastStderr()}`)
      for (const p of this.#pending.values()) p.reject(error)
      this.#pending.clear()
      this.#ready?.({ exited: true })
    })
  }

  /** Starts `script` (in bench/) and waits for its `{ type: 'ready' }` message. */
  static async start (name: string, script: string, args: readonly string[] = [], timeoutMs = 30_000):
  Promise<{ child: Child, ready: Record<string, unknown> }> {
    const child = new Child(name, script, args)
    const timer = setTimeout(() => { child.#ready?.({ timedOut: true }) }, timeoutMs)
    const ready = await new Promise<Record<string, unknown>>(resolve => { child.#ready = resolve })
    clearTimeout(timer)
    if (ready.exited === true || ready.timedOut === true) {
      child.kill()
      const why = ready.exited === true ? 'exited before it was ready' : `not ready within ${timeoutMs} ms`
      throw new Error(`${name} ${why}: ${child.lastStderr()}`)
    }
    return { child, ready }
  }

  get alive (): boolean { return !this.#program.exited }
  get exitCode (): number | null { return this.#program.exitCode }
  lastStderr (): string { return this.#program.output().slice(-8192).trim() }

  /** Sends a command and waits for its reply. */
  async request<T = unknown> (cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (!this.alive) throw new Error(`${this.name} is not running: ${this.lastStderr()}`)
    const id = this.#nextId++
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: '${cmd}' got no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = (): void => { clearTimeout(timer); this.#pending.delete(id) }
      this.#pending.set(id, {
        resolve: value => { done(); resolve(value as T) },
        reject: err => { done(); reject(err) }
      })
      this.#program.child.send({ id, cmd, ...args })
    })
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop (graceMs = 5000): Promise<void> { await this.#program.stop('SIGTERM', graceMs) }

  kill (): void { if (this.alive) void this.#program.stop('SIGKILL') }

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
    if (reply.ok) pending?.resolve(reply.result)
    else pending?.reject(new Error(`${this.name}: ${reply.error ?? 'failed'}`))
  }
}

/** A fresh multi-broker.ts process serving `server` alone, and its port. */
export async function startServer (server: string, name = server): Promise<{ child: Child, port: number }> {
  const { child, ready } = await Child.start(`broker:${name}`, 'multi-broker.ts', ['--servers', server])
  return { child, port: (ready.ports as Record<string, number>)[`${server}#0`] as number }
}

/** Kills every child still running. */
export function killAllChildren (): void {
  for (const child of live) child.kill()
}

/** Stops every child, killing stragglers. */
export async function stopAllChildren (): Promise<void> {
  await Promise.all([...live].map(async child => { await child.stop() }))
}

process.once('exit', killAllChildren)

// ---------------------------------------------------------------- child side

export type Handler = (req: Request) => unknown

/**
 * In a child: answers the parent's requests with `handlers[cmd]`, tells the
 * parent it is ready, and exits on `exit` or when the parent goes away.
 */
export function serve (handlers: Record<string, Handler>, ready: Record<string, unknown> = {},
  onExit: () => void = () => {}): void {
  const send = (msg: unknown): void => { if (process.connected) process.send?.(msg) }
  process.on('message', (raw: unknown) => {
    const req = raw as Request
    const handler = handlers[req.cmd]
    if (handler === undefined) {
      send({ id: req.id, ok: false, error: `unknown command ${req.cmd}` })
      return
    }
    Promise.resolve()
      .then(() => handler(req))
      .then(
        result => { send({ id: req.id, ok: true, result }) },
        (err: unknown) => {
          send({ id: req.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) })
        })
  })
  process.on('disconnect', () => { onExit(); process.exit(0) })
  send({ type: 'ready', ...ready })
}
