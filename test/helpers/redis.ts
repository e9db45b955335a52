// A real redis-server for the cluster tests: a throwaway instance on
// 127.0.0.1 with nothing written to disk, run in the foreground as a child
// so a test can stop exactly the process it started, and a minimal RESP
// client to ask it things.
import { mkdtempSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, runProgram } from './programs.js'

export interface RunningRedis {
  readonly pid: number
  readonly host: '127.0.0.1'
  readonly port: number
  /** stdout and stderr so far (capped) */
  readonly output: () => string
  /** SIGTERM to this PID only, waits for exit (SIGKILL after 5 s); idempotent. */
  readonly stop: () => Promise<void>
}

/**
 * Runs `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no`
 * (from a temporary directory) and resolves once it answers PING.
 * `bin` is the path requireProgram(t, 'redis-server', 'redis-server') gave;
 * `args` go on the command line after those (`['--requirepass', 'p']`).
 */
export async function startRedis (bin: string, options: { timeoutMs?: number, port?: number, args?: readonly string[] } = {}): Promise<RunningRedis> {
  // A port of its own, or the port of one a test stopped (Redis restarted).
  const port = options.port ?? await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...options.args ?? []]
  // Answered, even by NOAUTH: a server with a password is up too.
  const ping = async (): Promise<boolean> => await redisCommand(port, ['PING'], 500).then(reply => reply === 'PONG', (err: unknown) => String(err).includes('NOAUTH'))
  const program = await runProgram(bin, args, dir, ping, options.timeoutMs ?? 10_000, 'redis-server')
  return { pid: program.pid, host: '127.0.0.1', port, output: program.output, stop: program.stop }
}

/** A RESP reply: simple and bulk strings as strings, integers as numbers, arrays as arrays, nil as null. */
export type RedisReply = string | number | null | RedisReply[]

/** Parses one reply from `buf` at `at`: [reply, next offset], or undefined when more bytes are needed. */
function parseReply (buf: Buffer, at: number): [RedisReply, number] | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[at] as number)
  const line = buf.toString('utf8', at + 1, eol)
  const next = eol + 2
  switch (type) {
    case '+': return [line, next]
    case '-': throw new Error(`redis: ${line}`)
    case ':': return [Number(line), next]
    case '$': {
      const length = Number(line)
      if (length < 0) return [null, next]
      if (buf.length < next + length + 2) return undefined
      return [buf.toString('utf8', next, next + length), next + length + 2]
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return [null, next]
      const items: RedisReply[] = []
      let offset = next
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, offset)
        if (item === undefined) return undefined
        items.push(item[0])
        offset = item[1]
      }
      return [items, offset]
    }
    default: throw new Error(`redis: unexpected reply type ${JSON.stringify(type)}`)
  }
}

/** Sends one command to the redis-server on 127.0.0.1:`port` and resolves with its reply; rejects on an error reply. */
export async function redisCommand (port: number, command: readonly string[], timeoutMs = 3000): Promise<RedisReply> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let received = Buffer.alloc(0)
    const finish = (err: Error | null, reply?: RedisReply): void => {
      clearTimeout(timer)
      socket.destroy()
      if (err !== null) reject(err)
      else resolve(reply ?? null)
    }
    const timer = setTimeout(() => finish(new Error(`no answer to ${command.join(' ')} within ${timeoutMs} ms`)), timeoutMs)
    socket.once('connect', () => {
      socket.write(`*${command.length}\r\n${command.map(c => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`)
    })
    socket.on('data', chunk => {
      received = Buffer.concat([received, chunk])
      try {
        const parsed = parseReply(received, 0)
        if (parsed !== undefined) finish(null, parsed[0])
      } catch (err) {
        finish(err as Error)
      }
    })
    socket.once('error', err => finish(err))
    socket.once('close', () => finish(new Error(`connection closed before the reply to ${command.join(' ')}`)))
  })
}
