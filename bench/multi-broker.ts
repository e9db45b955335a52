// Brokers under test, several in one process for the paired measurements
// (paired.ts; PAIRED_VARIANTS says what each server is), or, with
// --servers, those alone (the failure probes, client-memory.ts), each its
// own aedes instance on its own port of 127.0.0.1.
//
// Usage: multi-broker.ts [--key file --cert file] [--instances n] [--seed n] [--servers a,b]
import { once, type EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import tls from 'node:tls'
import { parseArgs, promisify } from 'node:util'
import { Aedes } from 'aedes'
import type * as Plugin from '../src/index.js'
import { importBuild, loadPlugin, pluginBuilds } from './plugin.js'
import { serve } from './children.js'
import { skipHeader } from './min-skip.js'
import { random, shuffled } from './stats.js'

const require = createRequire(import.meta.url)
const plugin = await loadPlugin()
// Other builds of the plugin beside this one, in the same process, for
// comparing two versions of the code by the paired method (bench/README.md,
// section 2): BENCH_PLUGIN_BUILDS=name=dir,name=dir (folders of compiled src/).
const others: Array<[string, typeof Plugin]> = []
for (const spec of pluginBuilds()) others.push([spec.name, await importBuild(spec.dir)])

const { values } = parseArgs({
  options: {
    key: { type: 'string' },
    cert: { type: 'string' },
    instances: { type: 'string', default: '1' },
    // Seeds the order the brokers of each instance are created in.
    seed: { type: 'string', default: '1' },
    servers: { type: 'string' }
  }
})
const tlsOptions: tls.TlsOptions = values.key === undefined || values.cert === undefined
  ? {}
  : { key: readFileSync(values.key), cert: readFileSync(values.cert) }
// The README's recommended configuration: only the load balancer (here: the runner) may send a header.
const trustedProxies = ['127.0.0.1']

const noop = (): void => {}
let brokerErrors = 0
let brokerErrorSample = ''

async function makeBroker (): Promise<Aedes> {
  const broker = await Aedes.createBroker()
  broker.on('clientError', noop)
  broker.on('connectionError', noop)
  ;(broker as EventEmitter).on('error', (err: Error) => {
    brokerErrors++
    brokerErrorSample = err.message
  })
  return broker
}

/** An aedes broker with the plugin (this build, or `build`) installed, serving `create(broker.handle)`, attached. */
async function withPlugin (options: Plugin.ProxyProtocolOptions, create: (handle: Aedes['handle']) => net.Server,
  build: typeof Plugin = plugin): Promise<net.Server> {
  const broker = build.withPlugins(await makeBroker())
  const proxy = broker.use(build.proxyProtocol(options))
  const server = create(broker.handle)
  proxy.attach(server)
  return server
}

const plain = async (): Promise<net.Server> => net.createServer((await makeBroker()).handle)
const plainTls = async (): Promise<net.Server> => tls.createServer(tlsOptions, (await makeBroker()).handle)
/** aedes behind the minimal header skipper, handed each socket that `pass`es. */
async function skipping (pass: (socket: net.Socket) => boolean): Promise<net.Server> {
  const broker = await makeBroker()
  const handOver = (socket: net.Socket): void => { broker.handle(socket) }
  return net.createServer(function (socket) {
    if (pass(socket)) skipHeader(socket, handOver)
    else socket.destroy()
  })
}

/** The servers, by id (PAIRED_VARIANTS in paired.ts says what each is for). */
const builders: Record<string, () => Promise<net.Server>> = {
  plain,
  'plain-again': plain,
  'pp-recommended': async () => await withPlugin({ proxyEnabled: true, trustedProxies }, net.createServer),
  'pp-enabled': async () => await withPlugin({ proxyEnabled: true }, net.createServer),
  'pp-off': async () => await withPlugin({ proxyEnabled: false }, net.createServer),
  min: async () => await skipping(() => true),
  // What the trust check needs first, and plain aedes never pays: the peer's address.
  'min-peer': async () => await skipping(socket => socket.remoteAddress !== undefined),
  ...Object.fromEntries(others.map(([name, build]) => [`pp-recommended@${name}`,
    async () => await withPlugin({ proxyEnabled: true, trustedProxies }, net.createServer, build)])),
  sf: async () => {
    const factory = require('aedes-server-factory') as {
      createServer (aedes: { handle: Aedes['handle'] }, options: { trustProxy: boolean }): net.Server
    }
    return factory.createServer(await makeBroker(), { trustProxy: true })
  },
  tls: plainTls,
  'tls-again': plainTls,
  'tls-pp-recommended': async () =>
    await withPlugin({ proxyEnabled: true, trustedProxies }, handle => tls.createServer(tlsOptions, handle))
}

// Each server `instances` times (`plain#0`, `plain#1`, ...): the runner rotates between them, so no variant's
// figure rests on one broker instance (two identical instances in one process can differ by a few percent: where
// their objects sit, how their code was optimized). Each instance's brokers are created in an order of their own
// (seeded): no variant is always made first or last, so the order's effect lands in the interval instead.
const servers = new Map<string, net.Server>()
const ports: Record<string, number> = {}
const wanted = values.servers?.split(',')
const chosen = Object.entries(builders).filter(([id]) => wanted === undefined || wanted.includes(id))
for (let i = 0; i < Number(values.instances); i++) {
  for (const [id, build] of shuffled(chosen, random(Number(values.seed) * 1000 + i))) {
    const name = `${id}#${i}`
    const server = await build()
    server.on('error', (err: Error) => { process.stderr.write(`${name}: server error: ${err.message}\n`) })
    await once(server.listen(0, '127.0.0.1'), 'listening')
    servers.set(name, server)
    ports[name] = (server.address() as net.AddressInfo).port
  }
}

const connections = async (server: net.Server): Promise<number> => await promisify(server.getConnections.bind(server))()

let cpu0: NodeJS.CpuUsage | undefined
let main0 = 0

/**
 * CPU time of this process's main thread, in µs (Linux: the scheduler's own
 * nanosecond count): the JavaScript, the parser and aedes run there, while
 * V8's GC helpers and compiler threads, counted by process.cpuUsage(), do
 * their work whenever they get to it, often in another batch's time.
 */
function mainThreadUs (): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1000
  } catch {
    return Number.NaN
  }
}

serve({
  cpuStart: () => {
    cpu0 = process.cpuUsage()
    main0 = mainThreadUs()
    return null
  },
  cpuStop: () => {
    const main = mainThreadUs() - main0
    const d = process.cpuUsage(cpu0)
    return { process: d.user + d.system, main }
  },
  // Waits (bounded) until one server holds no connection: its batch is done,
  // the broker's closing work included.
  drained: async req => {
    const server = servers.get(String(req.server))
    if (server === undefined) throw new Error(`no server ${String(req.server)}`)
    const deadline = Date.now() + Number(req.timeoutMs ?? 5000)
    for (;;) {
      const n = await connections(server)
      if (n === 0 || Date.now() >= deadline) return n
      await new Promise(resolve => setTimeout(resolve, 1))
    }
  },
  mem: () => {
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    gc?.()
    return process.memoryUsage()
  },
  info: () => ({ brokerErrors, brokerErrorSample })
}, { ports, pid: process.pid }, () => { for (const s of servers.values()) s.close() })
