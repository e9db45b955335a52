// A broker under test, in its own process, on 127.0.0.1 with an ephemeral
// port. It measures itself: CPU time (process.cpuUsage) between cpuStart and
// cpuStop, memory (process.memoryUsage, after a full GC), open connections.
//
// Usage (by run.ts): broker.ts <variant> [--header-timeout ms]
//   [--connect-timeout ms] [--key file --cert file]
// Variants:
//   bare    a net.Server that accepts sockets and does nothing with them
//   plain   aedes, net.createServer(broker.handle)
//   pp      aedes + this plugin (proxyEnabled), net.createServer(broker.handle)
//   sf      aedes + aedes-server-factory createServer(broker, { trustProxy: true })
//   tls     aedes, tls.createServer(opts, broker.handle)
//   tls-pp  aedes + this plugin, tls.createServer(opts, broker.handle), proxy.attach(server)
//   min     aedes behind bench/min-skip.ts (the least a header reader can do)
//   tls-min tls.createServer(opts, broker.handle) behind bench/min-skip.ts on the raw socket
import type { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import tls from 'node:tls'
import { parseArgs } from 'node:util'
import { Aedes } from 'aedes'
import type { ProxyProtocol } from '../src/index.js'
import { loadPlugin } from './plugin.js'
import { serve } from './children.js'
import { skipHeader } from './min-skip.js'

const require = createRequire(import.meta.url)
const { proxyProtocol, withPlugins } = await loadPlugin()

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'header-timeout': { type: 'string', default: '3000' },
    'connect-timeout': { type: 'string', default: '3000' },
    key: { type: 'string' },
    cert: { type: 'string' }
  }
})
const variant = positionals[0] ?? 'plain'
const headerTimeout = Number(values['header-timeout'])
const connectTimeout = Number(values['connect-timeout'])

const noop = (): void => {}
let brokerErrors = 0
let brokerErrorSample = ''

async function makeBroker (): Promise<Aedes> {
  const broker = await Aedes.createBroker({ connectTimeout })
  // Client-level errors (resets, bad packets) are events, never crashes.
  broker.on('clientError', noop)
  broker.on('connectionError', noop)
  ;(broker as EventEmitter).on('error', (err: Error) => {
    brokerErrors++
    brokerErrorSample = err.message
  })
  return broker
}

function tlsOptions (): tls.TlsOptions {
  if (values.key === undefined || values.cert === undefined) throw new Error(`${variant} needs --key and --cert`)
  return { key: readFileSync(values.key), cert: readFileSync(values.cert) }
}

interface Built { server: net.Server, broker?: Aedes, proxy?: ProxyProtocol }

async function build (): Promise<Built> {
  switch (variant) {
    case 'bare': {
      const held = new Set<net.Socket>()
      const server = net.createServer(socket => {
        socket.on('error', noop)
        held.add(socket)
        socket.once('close', () => { held.delete(socket) })
      })
      return { server }
    }
    case 'plain': {
      const broker = await makeBroker()
      return { server: net.createServer(broker.handle), broker }
    }
    case 'pp': {
      const broker = withPlugins(await makeBroker())
      const proxy = broker.use(proxyProtocol({ proxyEnabled: true, headerTimeout }))
      return { server: net.createServer(broker.handle), broker, proxy }
    }
    case 'sf': {
      const broker = await makeBroker()
      const factory = require('aedes-server-factory') as { createServer (aedes: { handle: Aedes['handle'] }, options: { trustProxy: boolean }): net.Server }
      return { server: factory.createServer(broker, { trustProxy: true }), broker }
    }
    case 'tls': {
      const broker = await makeBroker()
      return { server: tls.createServer(tlsOptions(), broker.handle), broker }
    }
    case 'tls-pp': {
      const broker = withPlugins(await makeBroker())
      const proxy = broker.use(proxyProtocol({ proxyEnabled: true, headerTimeout }))
      const server = tls.createServer(tlsOptions(), broker.handle)
      proxy.attach(server)
      return { server, broker, proxy }
    }
    case 'min': {
      const broker = await makeBroker()
      const handOver = (socket: net.Socket): void => { broker.handle(socket) }
      // (an anonymous listener: no per-connection closure, see min-skip.ts)
      const server = net.createServer(function (socket) { skipHeader(socket, handOver) })
      return { server, broker }
    }
    case 'tls-min': {
      const broker = await makeBroker()
      const server = tls.createServer(tlsOptions(), broker.handle)
      const original = server.listeners('connection') as Array<(this: tls.Server, socket: net.Socket) => void>
      server.removeAllListeners('connection')
      const handOver = (socket: net.Socket): void => { for (const listener of original) listener.call(server, socket) }
      server.on('connection', function (socket: net.Socket) { skipHeader(socket, handOver) })
      return { server, broker }
    }
    default:
      throw new Error(`unknown variant ${variant}`)
  }
}

const built = await build()
const { server } = built
server.on('error', (err: Error) => { process.stderr.write(`server error: ${err.message}\n`) })
server.listen(0, '127.0.0.1')
await new Promise<void>(resolve => server.once('listening', resolve))
const port = (server.address() as net.AddressInfo).port

// ---- first-chunk probe: how many connections' first read was a split part
// (at most `SPLIT_PROBE_MAX` bytes). Off unless asked for, so timed runs are
// not instrumented.
let probe: { connections: number, small: number, maxBytes: number } | undefined
function onProbeConnection (socket: net.Socket): void {
  const p = probe
  if (p === undefined) return
  p.connections++
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply(this) below, then put back as it was
  const emit = socket.emit
  socket.emit = function (this: net.Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') {
      const chunk = args[0] as Buffer
      if (chunk.length <= p.maxBytes) p.small++
      socket.emit = emit
    }
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>)
  } as typeof socket.emit
}

async function connections (): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    server.getConnections((err, count) => { if (err !== null) reject(err); else resolve(count) })
  })
}

let cpu0: NodeJS.CpuUsage | undefined
let wall0 = 0n

function gc (): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) { g(); g() }
}

serve({
  // `gc: true` forces a full GC first (outside the measurement). Not used by
  // run.ts: it makes the next measurement more expensive (V8 shrinks the
  // young generation and ages code), more than it steadies it.
  cpuStart: req => {
    if (req.gc === true) gc()
    cpu0 = process.cpuUsage()
    wall0 = process.hrtime.bigint()
    return null
  },
  cpuStop: () => {
    const d = process.cpuUsage(cpu0)
    return { userUs: d.user, systemUs: d.system, wallMs: Number(process.hrtime.bigint() - wall0) / 1e6 }
  },
  connections: async () => await connections(),
  // Waits (bounded) until the broker holds at most `atMost` connections.
  waitConnections: async req => {
    const deadline = Date.now() + Number(req.timeoutMs ?? 5000)
    const atMost = Number(req.atMost ?? 0)
    for (;;) {
      const n = await connections()
      if (n <= atMost || Date.now() >= deadline) return n
      await new Promise(resolve => setTimeout(resolve, 2))
    }
  },
  mem: req => {
    if (req.gc === true) gc()
    return process.memoryUsage()
  },
  probeStart: req => {
    probe = { connections: 0, small: 0, maxBytes: Number(req.maxBytes) }
    server.prependListener('connection', onProbeConnection)
    return null
  },
  probeStop: () => {
    server.off('connection', onProbeConnection)
    const result = probe
    probe = undefined
    return result
  },
  info: () => ({
    variant,
    brokerErrors,
    brokerErrorSample,
    connectedClients: built.broker?.connectedClients ?? null,
    stats: built.proxy !== undefined ? built.proxy.stats() : null
  })
}, { port, variant, pid: process.pid }, () => { server.close() })
