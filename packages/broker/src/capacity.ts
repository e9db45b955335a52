// Connections past what the process can hold: a budget below its open-file
// limit, and every connection dropped counted and logged (once a minute).
import { readFileSync } from 'node:fs'
import type net from 'node:net'
import type { OncePerMinute } from 'aedes-proxy-protocol'

/** File descriptors kept for what is not a client: listeners, logs, Redis, admin requests, files read at run time. */
export const FILE_RESERVE = 64

/**
 * The admin endpoint's share of {@link FILE_RESERVE}, and how long it waits
 * (ms): a flood of idle or slow requests, or keep-alive connections answered
 * 401, holds at most this many descriptors, each for a few seconds, never the
 * ones Redis reconnects need. `idleTimeout` closes a connection that sends
 * nothing (the header timeout starts only at its first byte), the header and
 * request timeouts one that trickles (Node checks them every `checkInterval`).
 */
export const ADMIN_LIMITS = {
  maxConnections: 16,
  idleTimeout: 3000,
  headersTimeout: 3000,
  requestTimeout: 5000,
  keepAliveTimeout: 2000,
  checkInterval: 500
} as const

/** The soft open-file limit of this process (/proc/self/limits); undefined where it cannot be read or is unlimited. */
export function openFileLimit (path = '/proc/self/limits'): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(path, 'utf8'))
    return m === null ? undefined : Number(m[1])
  } catch { return undefined }
}

/**
 * Shares `budget` connections among `servers` (call after proxy.attach, so
 * that each raw connection is counted as it is accepted): a connection past it
 * is dropped by Node, which says so (`'drop'`), rather than by libuv, which
 * accepts and closes connections without a word when accept() fails with
 * EMFILE.
 */
export function shareConnections (servers: readonly net.Server[], budget: number): void {
  const open = new Map<net.Server, number>(servers.map(s => [s, 0]))
  let total = 0
  const update = (): void => {
    const left = Math.max(0, budget - total)
    // 0 means no limit to Node: a server with none open when the budget is
    // spent may take one more (the reserve holds it).
    for (const [s, n] of open) s.maxConnections = Math.max(1, n + left)
  }
  for (const s of servers) {
    s.on('connection', (socket: net.Socket) => {
      open.set(s, (open.get(s) ?? 0) + 1)
      total++
      update()
      socket.once('close', () => {
        open.set(s, (open.get(s) ?? 1) - 1)
        total--
        update()
      })
    })
  }
  update()
}

/** Why a connection was dropped before the broker read a byte of it. */
export type DropReason = 'file-limit' | 'accept-error'

/**
 * Counts and logs the connections `server` drops: past the budget (its
 * `'drop'`), or when accept() fails (an `'error'` with syscall `accept`; any
 * other error is thrown, as it was without this listener). Call after the
 * server is bound.
 */
export function watchDrops (server: net.Server, listener: string, limit: number | undefined, logs: OncePerMinute,
  count: (reason: DropReason) => void): void {
  const dropped = (reason: DropReason, peer: string | undefined, why: string): void => {
    count(reason)
    logs.say(`dropped ${listener} ${reason}`,
      () => [{ event: 'dropped', listener, reason, peer },
        `connection${peer !== undefined ? ` from ${peer}` : ''} dropped on the ${listener} listener: ${why}`],
      n => [{ event: 'dropped', listener, reason, repeated: n },
        `${n} more connections dropped on the ${listener} listener in the last minute (${reason})`])
  }
  const atLimit = `the broker holds as many connections as its open-file limit allows (${String(limit)}, ` +
    `less ${FILE_RESERVE} kept for itself); raise it (ulimit -n, systemd LimitNOFILE=, docker --ulimit nofile=)`
  server.on('drop', (data?: net.DropArgument) => { dropped('file-limit', data?.remoteAddress, atLimit) })
  server.on('error', (err: NodeJS.ErrnoException) => {
    // Not ours: thrown as it was without this listener, unless another listener (ws's) takes it.
    if (err.syscall !== 'accept') { if (server.listenerCount('error') === 1) throw err; return }
    const file = err.code === 'EMFILE' || err.code === 'ENFILE'
    const why = file
      ? `accept() failed with ${String(err.code)}: ${atLimit}`
      : `accept() failed (${err.code ?? err.message})`
    dropped(file ? 'file-limit' : 'accept-error', undefined, why)
  })
}
