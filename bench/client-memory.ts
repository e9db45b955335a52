// Memory per connected client (bench/README.md, section 5):
//   node --import tsx bench/client-memory.ts [clients] [rounds]
// Each broker variant in a process of its own (multi-broker.ts --servers);
// heap + external after a full GC, before and after, rounds alternated.
import net from 'node:net'
import { once } from 'node:events'
import { CONNACK, CONNECT, PARSE_CASES, WIRE_HEADERS } from './cases.js'
import { ROOT_DIR, startServer, stopAllChildren, type Child } from './children.js'
import { join } from 'node:path'
import { median, rotate } from './stats.js'

// The plugin as npm run build compiled it (the brokers are child processes and inherit this).
process.env.BENCH_PLUGIN_DIR ??= join(ROOT_DIR, 'dist')
const clients = Number(process.argv[2] ?? 1000)
const rounds = Number(process.argv[3] ?? 5)

interface Mem { heapUsed: number, external: number }
const VARIANTS = [
  { id: 'plain', label: 'plain aedes, no header', broker: 'plain', header: Buffer.alloc(0) },
  { id: 'v1', label: 'plugin, v1 TCP4', broker: 'pp-enabled', header: WIRE_HEADERS.v1 },
  { id: 'v2', label: 'plugin, v2 AWS NLB (CRC32C, VPC endpoint TLV)', broker: 'pp-enabled', header: WIRE_HEADERS.v2 },
  {
    id: 'v2-tlvs',
    label: 'plugin, v2 INET6 + ALPN, AUTHORITY, UNIQUE_ID, SSL, AWS TLVs',
    broker: 'pp-enabled',
    header: (PARSE_CASES.find(c => c.id === 'v2-inet6-tlvs') ?? PARSE_CASES[0])?.header ?? Buffer.alloc(0)
  }
] as const

/** Opens `count` clients that send `header` + CONNECT and wait for their CONNACK; they stay connected. */
async function connectAll (port: number, header: Buffer, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = []
  const batch = 50
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, async () => {
      const s = net.connect({ port, host: '127.0.0.1' })
      s.on('error', () => {})
      await once(s, 'connect')
      s.write(Buffer.concat([header, CONNECT]))
      const [data] = await once(s, 'data') as [Buffer]
      if (!data.subarray(0, 4).equals(CONNACK)) throw new Error(`no CONNACK: ${data.toString('hex')}`)
      sockets.push(s)
    }))
  }
  return sockets
}

const perClient = new Map<string, number[]>(VARIANTS.map(v => [v.id, []]))
const overhead = new Map<string, number[]>(VARIANTS.map(v => [v.id, []]))
const brokers = new Map<string, { child: Child, port: number }>()
try {
  for (const { broker } of VARIANTS) if (!brokers.has(broker)) brokers.set(broker, await startServer(broker))
  // A first round, not counted: each broker process allocates what it keeps
  // for good (aedes' and V8's own) on its first clients.
  for (let round = -1; round < rounds; round++) {
    const inRound = new Map<string, number>()
    for (const v of rotate(VARIANTS, round + 1)) {
      const b = brokers.get(v.broker) as { child: Child, port: number }
      const m0 = await b.child.request<Mem>('mem')
      const sockets = await connectAll(b.port, v.header, clients)
      const m1 = await b.child.request<Mem>('mem')
      const bytes = (m1.heapUsed + m1.external - m0.heapUsed - m0.external) / clients
      inRound.set(v.id, bytes)
      for (const s of sockets) s.destroy()
      await b.child.request('drained', { server: `${v.broker}#0`, timeoutMs: 20_000 }, 25_000)
    }
    if (round < 0) continue
    const plain = inRound.get('plain') ?? Number.NaN
    for (const v of VARIANTS) {
      overhead.get(v.id)?.push((inRound.get(v.id) ?? Number.NaN) - plain)
      perClient.get(v.id)?.push(inRound.get(v.id) ?? Number.NaN)
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`)
  }
} finally {
  await stopAllChildren()
}

console.log('Memory per connected client (heap + external after a full GC), ' +
  `${clients} clients, median of ${rounds} alternating rounds:\n`)
console.log('| variant | bytes per client | beyond plain aedes |')
console.log('| --- | ---: | ---: |')
for (const v of VARIANTS) {
  const b = median(perClient.get(v.id) ?? [])
  const o = median(overhead.get(v.id) ?? [])
  const beyond = v.id === 'plain' ? '(baseline)' : `${o >= 0 ? '+' : ''}${Math.round(o).toLocaleString('en')}`
  console.log(`| ${v.label} | ${Math.round(b).toLocaleString('en')} | ${beyond} |`)
}
