// A reconnect storm through HAProxy (bench/README.md, section 6):
//   node --import tsx bench/storm.ts [clients] [rounds]  (after npm run build; needs haproxy)
// Each round starts a fresh broker and HAProxy per variant (a storm meets a
// broker that has just started), alternating which goes first.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, spawnProgram, type Spawned } from '../support/spawn.js'
import { storm } from '../support/storm.js'
import { BENCH_DIR, ROOT_DIR } from './children.js'
import { pairedRatio, summarize } from './stats.js'

const clients = Number(process.argv[2] ?? 5000)
const rounds = Number(process.argv[3] ?? 5)
const VARIANTS = ['npm start', 'plain aedes'] as const
type Variant = typeof VARIANTS[number]

// MQTT_LISTEN_BACKLOG=511 gives npm start Node's default backlog, as before issue 22.
const { MQTT_LISTEN_BACKLOG } = process.env
const backlog = MQTT_LISTEN_BACKLOG !== undefined ? { MQTT_LISTEN_BACKLOG } : {}
const PLAIN_AEDES = `import net from 'node:net'
import { Aedes } from 'aedes'
const broker = await Aedes.createBroker()
net.createServer(broker.handle).listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log('"event":"listening"')
})`

/** Starts `bin args` and resolves once it has printed a line containing `ready`. */
async function start (bin: string, args: readonly string[], env: NodeJS.ProcessEnv, ready: string): Promise<Spawned> {
  const program = spawnProgram(bin, args, {
    cwd: ROOT_DIR, env: { PATH: process.env.PATH, ...env }, maxOutput: 1 << 16
  })
  await program.waitFor(ready, 15_000).catch(async (err: unknown) => { await program.stop('SIGKILL'); throw err })
  return program
}

/** Starts one variant's broker on `port`; resolves once it listens. */
async function startBroker (variant: Variant, port: number): Promise<Spawned> {
  const env = variant === 'npm start'
    ? {
        LISTENER_TCP_BIND_ADDRESS: '127.0.0.1',
        LISTENER_TCP_BIND_PORT: String(port),
        LISTENER_WS_ENABLED: 'false',
        MQTT_PROXY_PROTOCOL_ENABLED: 'true',
        MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: '127.0.0.9',
        ...backlog
      }
    : { PORT: String(port) }
  const args = variant === 'npm start' ? ['packages/broker/dist/broker.js'] : ['--input-type=module', '-e', PLAIN_AEDES]
  return await start(process.execPath, args, env, '"event":"listening"')
}

/** HAProxy in mode tcp, no logging, HAProxy's usual connect timeout, sending PROXY v2 or not. */
function haproxyConfig (frontend: number, port: number, proxy: boolean): string {
  return [
    'global', `  maxconn ${clients + 500}`, `  stats socket ${dir}/admin.sock mode 600 level admin`,
    'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s',
    'frontend fe', `  bind 127.0.0.1:${frontend}`, `  maxconn ${clients + 500}`,
    '  default_backend be',
    'backend be', `  server s1 127.0.0.1:${port}${proxy ? ' send-proxy-v2' : ''} source 127.0.0.9`, ''
  ].join('\n')
}

interface Sample { readonly ms: number, readonly lost: number }

async function measure (variant: Variant, dir: string): Promise<Sample> {
  const port = await freePort()
  const broker = await startBroker(variant, port)
  const fe = await freePort()
  const cfg = join(dir, 'haproxy.cfg')
  writeFileSync(cfg, haproxyConfig(fe, port, variant === 'npm start'))
  // -V: HAProxy says when it is ready; no probe through the frontend, which the broker would see.
  const hap = await start('haproxy', ['-db', '-V', '-f', cfg], {}, 'as the polling mechanism')
  try {
    const r = await storm(fe, clients, { timeoutMs: 30_000 })
    await r.close()
    return { ms: r.lastConnackMs, lost: clients - r.connected.length }
  } finally {
    await Promise.all([hap.stop('SIGKILL'), broker.stop('SIGKILL')])
  }
}

const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-storm-'))
const samples: Record<Variant, Sample[]> = { 'npm start': [], 'plain aedes': [] }
try {
  for (let round = 0; round < rounds; round++) {
    for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const s = await measure(variant, dir)
      samples[variant].push(s)
      console.log(`round ${round + 1}: ${variant}: last CONNACK after ${Math.round(s.ms)} ms, ${s.lost} lost`)
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const ms = (v: Variant): number[] => samples[v].map(s => s.ms)
const ratio = pairedRatio(ms('npm start'), ms('plain aedes'))
const lines = [
  `# Reconnect storm: ${clients} clients at once through HAProxy, ${rounds} rounds`,
  '',
  '| variant | last CONNACK, ms (median, min-max) | clients lost (per round) |',
  '| --- | ---: | --- |',
  ...VARIANTS.map(v => {
    const s = summarize(ms(v))
    const lost = samples[v].map(x => x.lost).join(', ')
    return `| ${v} | ${Math.round(s.median)} (${Math.round(s.min)}-${Math.round(s.max)}) | ${lost} |`
  }),
  '',
  `npm start / plain aedes, paired per round: ${ratio.median.toFixed(2)}x ` +
    `(${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)})`,
  ''
]
writeFileSync(join(BENCH_DIR, 'results', 'storm.md'), lines.join('\n'))
console.log(lines.join('\n'))
