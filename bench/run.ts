// Benchmark runner and load generator.
//
//   node --import tsx bench/run.ts            full run  (< 10 min on 2 cores)
//   node --import tsx bench/run.ts --quick    quick run (< 1 min)
//
// Options: --only parse,connections,throughput,idle   --out NAME (default
// latest, quick for --quick)   --profile (children run with --cpu-prof,
// profiles in bench/results/profiles/, summarised at the end).
//
// Each broker and each parser candidate runs in its own child process; this
// process generates the load. Variants run alternately (A B C, B C A, ...)
// and are reported as medians over repetitions with min-max spread, and as
// ratios to their baseline paired per repetition.
import { cpus, loadavg, totalmem } from 'node:os'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { testCerts } from '../support/certs.js'
import { CANDIDATE_IDS, CANDIDATE_LABELS, packageVersion, type Outcome } from './candidates.js'
import { PARSE_CASES, SPLIT_AT, WIRE_HEADERS, type WireHeader } from './cases.js'
import { BENCH_DIR, Child, killAllChildren, ROOT_DIR, stopAllChildren } from './children.js'
import { BUILD_DIR } from './plugin.js'
import { CONFIGS, type Config } from './config.js'
import { openIdle, storm, throughput, type IdleSet } from './loadgen.js'
import { renderMarkdown, renderSvg, evaluateTargets } from './report.js'
import { summarizeProfile } from './profile.js'
import { runPaired } from './paired.js'
import { runPairedThroughput } from './paired-throughput.js'
import type { ConnResults, ConnVariantResult, CorrectnessRow, IdleResults, IdleVariantResult, ParseResults, PeerComparison, ProbeResult, Results, ThroughputResults } from './results.js'
import { pairedRatio, percentile, rotate, summarize, type Summary } from './stats.js'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    variants: { type: 'string' },
    'cpu-rounds': { type: 'string' }
  }
})

const config: Config = CONFIGS[values.quick ? 'quick' : 'full']
const SECTIONS = ['parse', 'cpu', 'connections', 'throughput', 'idle'] as const
const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map(s => s.trim()))
for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section ${s}`)
const outName = values.out ?? (config.mode === 'quick' ? 'quick' : 'latest')
const RESULTS_DIR = join(BENCH_DIR, 'results')
const PROFILE_DIR = join(RESULTS_DIR, 'profiles.tmp')
mkdirSync(RESULTS_DIR, { recursive: true })
const profiling = values.profile
if (profiling) {
  rmSync(PROFILE_DIR, { recursive: true, force: true })
  mkdirSync(PROFILE_DIR, { recursive: true })
}
const profiled: Array<{ file: string, label: string }> = []
/** With --profile: starts V8's CPU profiler in each child before the timed repetitions. */
async function profStart (children: ReadonlyArray<{ child: Child }>): Promise<void> {
  if (!profiling) return
  for (const { child } of children) await child.request('profStart', { intervalUs: 200 })
}
async function profStop (children: ReadonlyArray<{ child: Child }>, section: string): Promise<void> {
  if (!profiling) return
  for (const { child } of children) {
    const label = `${section}:${child.name}`
    const file = join(PROFILE_DIR, `${label.replace(/[^A-Za-z0-9.-]+/g, '_')}.cpuprofile`)
    await child.request('profStop', { file })
    profiled.push({ file, label })
  }
}

// Every child is killed however this process ends; the whole run is bounded.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => { killAllChildren(); process.exit(130) })
}
process.once('uncaughtException', err => { killAllChildren(); console.error(err); process.exit(1) })
const deadline = setTimeout(() => {
  console.error(`bench: stopped at the ${config.deadlineMs / 1000} s deadline`)
  killAllChildren()
  process.exit(2)
}, config.deadlineMs)
deadline.unref()

const log = (text: string): void => { process.stderr.write(`${text}\n`) }
const started = performance.now()
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)}s`
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

function machine (): Results['meta']['machine'] {
  const list = cpus()
  return {
    nproc: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    totalMemGiB: Math.round(totalmem() / 2 ** 30),
    loadavg: { start: loadavg()[0] ?? 0, end: Number.NaN }
  }
}

const results: Results = {
  meta: {
    date: new Date().toISOString(),
    mode: config.mode,
    durationS: 0,
    machine: machine(),
    config,
    packages: Object.fromEntries(['aedes', 'mqtt-packet', 'proxy-protocol-js', '@balena/proxy-protocol-parser', 'aedes-protocol-decoder', 'aedes-server-factory']
      .map(name => [name, packageVersion(name)])),
    notes: config.mode === 'quick'
      ? ['Quick mode is a smoke test: its few, short repetitions cannot resolve differences of a few percent on a shared machine. Judge the targets on a full run (npm run bench).']
      : []
  },
  targets: []
}

// ---------------------------------------------------------------- the plugin under test

/** Compiles src/ with tsc (as `npm run build` does) into a private folder the children load. */
function buildPlugin (): void {
  if (values['no-build']) {
    results.meta.notes.push('--no-build: plugin loaded from an existing build, not compiled from src/ for this run')
    return
  }
  rmSync(BUILD_DIR, { recursive: true, force: true })
  const r = spawnSync(process.execPath, [join(ROOT_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json',
    '--outDir', BUILD_DIR, '--sourceMap', 'false', '--declaration', 'false', '--declarationMap', 'false'],
  { cwd: ROOT_DIR, encoding: 'utf8', timeout: 120_000 })
  if (!existsSync(join(BUILD_DIR, 'index.js'))) throw new Error(`tsc did not build the plugin: ${r.stdout}${r.stderr}`)
  if (r.status !== 0) results.meta.notes.push(`tsc reported errors while compiling src/ (the emitted JavaScript was used): ${r.stdout.split('\n')[0] ?? ''}`)
  process.env.BENCH_PLUGIN_DIR = BUILD_DIR
}

// ---------------------------------------------------------------- brokers

interface Broker { readonly child: Child, readonly port: number }
const brokers = new Map<string, Promise<Broker>>()
let certs: ReturnType<typeof testCerts> | undefined

function brokerArgs (variant: string): string[] {
  const args = [variant, '--header-timeout', String(config.idle.timeoutMs), '--connect-timeout', String(config.idle.timeoutMs)]
  if (variant.startsWith('tls')) {
    certs ??= testCerts()
    args.push('--key', certs.serverKeyPath, '--cert', certs.serverCertPath)
  }
  return args
}

async function startBroker (variant: string, name = variant): Promise<Broker> {
  const { child, ready } = await Child.start(`broker:${name}`, 'broker.ts', brokerArgs(variant))
  return { child, port: Number(ready.port) }
}

/** One long-lived broker process per variant, shared by the sections. */
async function broker (variant: string): Promise<Broker> {
  let b = brokers.get(variant)
  if (b === undefined) {
    b = startBroker(variant)
    brokers.set(variant, b)
  }
  return await b
}

async function waitConnections (b: Broker, limit: { atMost?: number }, timeoutMs = 10_000): Promise<number> {
  return await b.child.request<number>('waitConnections', { atMost: limit.atMost ?? 0, timeoutMs }, timeoutMs + 5000)
}

interface Cpu { userUs: number, systemUs: number, wallMs: number }
const cpuUs = (c: Cpu): number => c.userUs + c.systemUs

// ---------------------------------------------------------------- 1. parsing

async function runParse (): Promise<ParseResults> {
  const cfg = config.parse
  log(`[${elapsed()}] parse: starting ${CANDIDATE_IDS.length} candidate processes`)
  const workers = new Map<string, Child>()
  const candidates: Array<ParseResults['candidates'][number]> = []
  for (const id of CANDIDATE_IDS) {
    const label = CANDIDATE_LABELS[id] ?? id
    try {
      const { child, ready } = await Child.start(`parse:${id}`, 'parse-worker.ts', [id])
      if (typeof ready.error === 'string') {
        candidates.push({ id, label, note: '', error: `does not load: ${ready.error}` })
        await child.stop()
        continue
      }
      workers.set(id, child)
      candidates.push({ id, label: typeof ready.label === 'string' ? ready.label : label, note: typeof ready.note === 'string' ? ready.note : '' })
    } catch (err) {
      candidates.push({ id, label, note: '', error: `does not start: ${String(err)}` })
    }
  }

  // What each candidate makes of each case (not timed).
  const outcomes: Record<string, Record<string, Outcome>> = {}
  for (const c of PARSE_CASES) {
    outcomes[c.id] = {}
    for (const [id, w] of workers) (outcomes[c.id] as Record<string, Outcome>)[id] = await w.request<Outcome>('inspect', { caseId: c.id })
  }

  // Calibrate (and warm up): iterations per (case, candidate).
  const iterations = new Map<string, number>()
  const errors = new Map<string, string>()
  const key = (caseId: string, cand: string): string => `${caseId}/${cand}`
  for (const c of PARSE_CASES) {
    for (const [id, w] of workers) {
      try {
        const n = await w.request<number>('calibrate', { caseId: c.id, targetMs: cfg.targetMs })
        iterations.set(key(c.id, id), n)
        for (let i = 0; i < 3; i++) await w.request('run', { caseId: c.id, iterations: n })
      } catch (err) {
        errors.set(key(c.id, id), firstLine(err))
      }
    }
  }
  log(`[${elapsed()}] parse: calibrated; ${cfg.reps} repetitions of ${PARSE_CASES.length} cases x ${workers.size} candidates, ~${cfg.targetMs} ms each`)

  const ops = new Map<string, number[]>()
  await profStart([...workers.values()].map(child => ({ child })))
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const c of rotate(PARSE_CASES, rep)) {
      for (const id of rotate([...workers.keys()], rep)) {
        const k = key(c.id, id)
        const n = iterations.get(k)
        if (n === undefined) continue
        const { ns } = await (workers.get(id) as Child).request<{ ns: number }>('run', { caseId: c.id, iterations: n })
        const list = ops.get(k) ?? []
        list.push(n / (ns / 1e9))
        ops.set(k, list)
      }
    }
  }
  await profStop([...workers.values()].map(child => ({ child })), 'parse')
  await Promise.all([...workers.values()].map(async w => { await w.stop() }))

  const opsPerSec: ParseResults['opsPerSec'] = {}
  const ratioToHand: ParseResults['ratioToHand'] = {}
  for (const c of PARSE_CASES) {
    const row: Record<string, Summary | { error: string }> = {}
    const ratios: Record<string, Summary> = {}
    const hand = ops.get(key(c.id, 'hand'))
    for (const cand of candidates) {
      const k = key(c.id, cand.id)
      const list = ops.get(k)
      if (list !== undefined) {
        row[cand.id] = summarize(list)
        if (hand !== undefined) ratios[cand.id] = pairedRatio(list, hand)
      } else {
        row[cand.id] = { error: errors.get(k) ?? cand.error ?? 'not run' }
      }
    }
    opsPerSec[c.id] = row
    ratioToHand[c.id] = ratios
  }

  // Correctness on the TLV case.
  const tlvCase = PARSE_CASES[PARSE_CASES.length - 1] as (typeof PARSE_CASES)[number]
  const correctness: Record<string, CorrectnessRow> = {}
  for (const cand of candidates) {
    const o = outcomes[tlvCase.id]?.[cand.id]
    const expectedStart = tlvCase.expected.start
    const expectedSource = tlvCase.expected.source.address
    if (o === undefined) {
      correctness[cand.id] = { start: null, source: null, sourcePort: null, tlvs: '-', expectedStart, expectedSource, correct: false, sourceCorrect: false, verdict: cand.error ?? 'not run' }
      continue
    }
    const startOk = o.start === expectedStart
    const sourceOk = o.source === expectedSource && o.sourcePort === tlvCase.expected.source.port
    const problems: string[] = []
    if (o.error !== undefined) problems.push(`throws: ${o.error}`)
    else {
      if (o.start === null) problems.push('does not say where the header ends, so the caller cannot find the CONNECT')
      else if (o.start < expectedStart) problems.push(`the MQTT parser would get the ${expectedStart - o.start} bytes of TLVs before the CONNECT`)
      else if (!startOk) problems.push(`skips ${o.start - expectedStart} bytes of the CONNECT`)
      if (!sourceOk) {
        problems.push(o.source === null
          ? 'no source address'
          : cand.id === 'hand' && o.source !== expectedSource
            ? `source not RFC 5952 (${o.source}): by design, fixed fields only`
            : `source ${o.source} (RFC 5952: ${expectedSource})`)
      }
    }
    correctness[cand.id] = { ...o, expectedStart, expectedSource, correct: startOk && o.error === undefined, sourceCorrect: sourceOk, verdict: problems.length === 0 ? 'correct' : problems.join('; ') }
  }

  // Issue 13: ours against the fastest other parser that is not wrong on
  // the case, and against the fixed-field reader, both paired per repetition.
  const peers: Record<string, PeerComparison> = {}
  for (const c of PARSE_CASES) {
    const wrong: Record<string, string> = {}
    let best: string | null = null
    for (const cand of candidates) {
      if (cand.id === 'ours' || cand.id === 'ours-read' || cand.id === 'hand') continue
      const problem = answerProblem(c, outcomes[c.id]?.[cand.id])
      if (problem !== undefined) { wrong[cand.id] = problem; continue }
      const s = opsPerSec[c.id]?.[cand.id]
      const b = best === null ? undefined : opsPerSec[c.id]?.[best]
      if (s !== undefined && 'median' in s && (b === undefined || !('median' in b) || s.median > b.median)) best = cand.id
    }
    const mine = ops.get(key(c.id, 'ours'))
    const peer = best === null ? undefined : ops.get(key(c.id, best))
    const hand = ops.get(key(c.id, 'hand'))
    const read = ops.get(key(c.id, 'ours-read'))
    peers[c.id] = {
      best,
      ...(mine !== undefined && peer !== undefined ? { ratioToBest: pairedRatio(mine, peer) } : {}),
      ...(read !== undefined && peer !== undefined ? { readRatioToBest: pairedRatio(read, peer) } : {}),
      ...(mine !== undefined && hand !== undefined ? { ratioToHand: pairedRatio(mine, hand) } : {}),
      wrong
    }
  }

  return {
    cases: PARSE_CASES.map(c => ({ id: c.id, label: c.label, headerBytes: c.header.length, totalBytes: c.bytes.length })),
    candidates,
    opsPerSec,
    ratioToHand,
    correctness,
    outcomes,
    peers
  }
}

/**
 * Why a candidate's answer on a case is wrong, or undefined when it is not:
 * it throws, reports a header length other than the header's (a parser that
 * reports none is not counted wrong for that), or reports another source
 * address or port than the case's (the address as RFC 5952 writes it).
 */
function answerProblem (c: (typeof PARSE_CASES)[number], o: Outcome | undefined): string | undefined {
  if (o === undefined) return 'not run'
  if (o.error !== undefined) return `throws: ${o.error}`
  if (o.start !== null && o.start !== c.expected.start) return `says the MQTT bytes start at ${o.start}, not ${c.expected.start}`
  if (o.source !== c.expected.source.address || o.sourcePort !== c.expected.source.port) {
    return `source ${String(o.source)} port ${String(o.sourcePort)}, not ${c.expected.source.address} port ${c.expected.source.port}`
  }
  return undefined
}

function firstLine (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return (text.split('\n').find(l => l.trim() !== '' && !l.includes(': Error')) ?? text.split('\n')[0] ?? text).slice(0, 200)
}

// ---------------------------------------------------------------- 2. connections

interface ConnVariant {
  readonly id: string
  readonly label: string
  readonly broker: string
  readonly header?: WireHeader
  readonly split?: boolean
  readonly tls?: boolean
  /** The variant this one's ratio is taken to. */
  readonly baseline?: string
  /** plain aedes (or plain TLS), when the baseline is another variant. */
  readonly plain?: string
}

const ALL_CONN_VARIANTS: readonly ConnVariant[] = [
  { id: 'plain', label: 'aedes, no header (baseline)', broker: 'plain' },
  { id: 'plain-split', label: 'aedes, no header, CONNECT split in 2 writes (split baseline)', broker: 'plain', split: true, baseline: 'plain' },
  { id: 'pp-v1', label: 'plugin, v1 header', broker: 'pp', header: 'v1', baseline: 'plain' },
  { id: 'pp-v1-split', label: 'plugin, v1 header split in 2 writes', broker: 'pp', header: 'v1', split: true, baseline: 'plain-split', plain: 'plain' },
  { id: 'pp-v2', label: 'plugin, v2 header (AWS NLB: CRC32C, VPCE, NOOP; 100 B)', broker: 'pp', header: 'v2', baseline: 'plain' },
  { id: 'pp-v2-split', label: 'plugin, v2 header (AWS NLB) split in 2 writes', broker: 'pp', header: 'v2', split: true, baseline: 'plain-split', plain: 'plain' },
  { id: 'min-v1', label: 'minimal header skipper (practical limit), v1 header', broker: 'min', header: 'v1', baseline: 'plain' },
  { id: 'sf-v1', label: 'aedes-server-factory trustProxy, v1 header', broker: 'sf', header: 'v1', baseline: 'plain' },
  { id: 'sf-v2', label: 'aedes-server-factory trustProxy, v2 INET without TLVs', broker: 'sf', header: 'v2plain', baseline: 'plain' },
  { id: 'tls', label: 'TLS, no header (TLS baseline)', broker: 'tls', tls: true },
  { id: 'tls-pp-v2', label: 'TLS + plugin, v2 header (AWS NLB) before the handshake', broker: 'tls-pp', header: 'v2', tls: true, baseline: 'tls' },
  { id: 'tls-min-v2', label: 'TLS + minimal header skipper (practical limit), v2 header (AWS NLB)', broker: 'tls-min', header: 'v2', tls: true, baseline: 'tls' }
]

interface Probe { readonly id: string, readonly label: string, readonly header: WireHeader, readonly split: boolean, readonly broker: string }
const ALL_PROBES: readonly Probe[] = [
  { id: 'sf-v1-split', label: 'aedes-server-factory trustProxy, v1 header split in 2 writes', header: 'v1', split: true, broker: 'sf' },
  { id: 'sf-v2-split', label: 'aedes-server-factory trustProxy, v2 header split in 2 writes', header: 'v2plain', split: true, broker: 'sf' },
  { id: 'sf-v2-nlb', label: 'aedes-server-factory trustProxy, v2 header with TLVs (AWS NLB)', header: 'v2', split: false, broker: 'sf' },
  { id: 'pp-v1-split-slow', label: 'plugin, v1 header split in 2 writes 20 ms apart', header: 'v1', split: true, broker: 'pp' },
  { id: 'pp-v2-nlb', label: 'plugin, v2 header with TLVs (AWS NLB)', header: 'v2', split: false, broker: 'pp' }
]

async function runConnections (): Promise<ConnResults> {
  const cfg = config.connections
  const wanted = values.variants === undefined ? undefined : new Set(values.variants.split(','))
  const CONN_VARIANTS = ALL_CONN_VARIANTS.filter(v => wanted === undefined || wanted.has(v.id))
  const PROBES = wanted === undefined ? ALL_PROBES : []
  const used = [...new Set(CONN_VARIANTS.map(v => v.broker))]
  if (used.length === 0) throw new Error('--variants: no such connection variant')
  const ca = (certs ?? testCerts()).ca
  const current = new Map<string, Broker>()

  const runOnce = async (v: ConnVariant, count: number): Promise<{ cpu: Cpu, r: Awaited<ReturnType<typeof storm>> }> => {
    const b = current.get(v.broker) as Broker
    await waitConnections(b, { atMost: 0 })
    await b.child.request('cpuStart')
    const r = await storm({
      port: b.port,
      count,
      concurrency: cfg.concurrency,
      header: v.header === undefined ? undefined : WIRE_HEADERS[v.header],
      split: v.split === true,
      splitDelayMs: cfg.splitDelayMs,
      tls: v.tls === true ? { ca } : undefined,
      timeoutMs: cfg.timeoutMs
    })
    // Include the broker's work closing the connections.
    await waitConnections(b, { atMost: 0 })
    const cpu = await b.child.request<Cpu>('cpuStop')
    return { cpu, r }
  }

  const per = new Map<string, { rate: number[], cpu: number[], p50: number[], p99: number[], failed: number, failures: Record<string, number>, totalCpu: number, totalOk: number }>()
  for (const v of CONN_VARIANTS) per.set(v.id, { rate: [], cpu: [], p50: [], p99: [], failed: 0, failures: {}, totalCpu: 0, totalOk: 0 })
  const perEpoch = Math.ceil(cfg.reps / cfg.epochs)
  let rep = 0
  // Identical code can settle into a CPU cost per connection that differs by
  // several percent from one process to the next, so the repetitions are
  // spread over `epochs`, each with fresh broker processes.
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    log(`[${elapsed()}] connections: epoch ${epoch + 1}/${cfg.epochs}, starting brokers ${used.join(', ')}`)
    const started = await Promise.all(used.map(async name => [name, await startBroker(name, `${name}#${epoch + 1}`)] as const))
    for (const [name, b] of started) current.set(name, b)
    try {
      // Warm-up, not recorded: the same number of connections for every
      // broker process, spread over the variants it serves.
      for (const name of used) {
        const served = CONN_VARIANTS.filter(v => v.broker === name)
        const total = served[0]?.tls === true ? Math.ceil(cfg.warmup / 5) : cfg.warmup
        for (const v of served) await runOnce(v, Math.ceil(total / served.length))
      }
      log(`[${elapsed()}] connections: warmed up; repetitions ${rep + 1}-${Math.min(cfg.reps, rep + perEpoch)} of ${cfg.reps}, ${CONN_VARIANTS.length} variants`)
      const connBrokers = [...current.values()]
      if (epoch === 0) await profStart(connBrokers)
      // A repetition is `batches` interleaved rounds in which every variant
      // runs a small batch (rotated order), so all variants of one
      // repetition sample the same stretch of a noisy machine; its value per
      // variant is the sum over its batches.
      for (let k = 0; k < perEpoch && rep < cfg.reps; k++, rep++) {
        const acc = new Map<string, { cpu: number, ok: number, wall: number, lat: number[] }>()
        for (let batch = 0; batch < cfg.batches; batch++) {
          for (const v of rotate(CONN_VARIANTS, rep * cfg.batches + batch)) {
            const count = Math.ceil((v.tls === true ? cfg.tlsCount : cfg.count) / cfg.batches)
            const { cpu, r } = await runOnce(v, count)
            const a = acc.get(v.id) ?? { cpu: 0, ok: 0, wall: 0, lat: [] }
            a.cpu += cpuUs(cpu)
            a.ok += r.ok
            a.wall += r.wallMs
            for (const x of r.latencies) a.lat.push(x)
            acc.set(v.id, a)
            const m = per.get(v.id) as NonNullable<ReturnType<typeof per.get>>
            m.failed += r.failed
            for (const [reason, n] of Object.entries(r.failures)) m.failures[reason] = (m.failures[reason] ?? 0) + n
          }
        }
        for (const [id, a] of acc) {
          const m = per.get(id) as NonNullable<ReturnType<typeof per.get>>
          m.rate.push(a.ok / (a.wall / 1000))
          m.cpu.push(a.ok > 0 ? a.cpu / a.ok : Number.NaN)
          m.p50.push(percentile(a.lat, 50))
          m.p99.push(percentile(a.lat, 99))
          m.totalCpu += a.cpu
          m.totalOk += a.ok
        }
      }
      if (epoch === 0) await profStop(connBrokers, 'connections')
    } finally {
      await Promise.all([...current.values()].map(async b => { await b.child.stop() }))
      current.clear()
    }
    log(`[${elapsed()}] connections: ${rep}/${cfg.reps} repetitions done`)
  }

  const variants: ConnVariantResult[] = CONN_VARIANTS.map(v => {
    const m = per.get(v.id) as NonNullable<ReturnType<typeof per.get>>
    const base = v.baseline === undefined ? undefined : per.get(v.baseline)
    const plain = v.plain === undefined ? undefined : per.get(v.plain)
    return {
      id: v.id,
      label: v.label,
      ...(v.baseline !== undefined ? { baseline: v.baseline } : {}),
      count: v.tls === true ? cfg.tlsCount : cfg.count,
      connPerSec: summarize(m.rate),
      cpuPerConnUs: summarize(m.cpu),
      p50Ms: summarize(m.p50),
      p99Ms: summarize(m.p99),
      failed: m.failed,
      failures: m.failures,
      ...(base !== undefined
        ? { cpuRatio: pairedRatio(m.cpu, base.cpu), rateRatio: pairedRatio(m.rate, base.rate), cpuRatioOfTotals: (m.totalCpu / m.totalOk) / (base.totalCpu / base.totalOk) }
        : {}),
      ...(plain !== undefined ? { cpuRatioVsPlain: pairedRatio(m.cpu, plain.cpu) } : {})
    }
  })

  // Did the split variants really arrive in two reads? (instrumented, not timed)
  const splitDelivery: ConnResults['splitDelivery'] = {}
  for (const v of CONN_VARIANTS.filter(x => x.split === true)) {
    const b = await broker(v.broker)
    await waitConnections(b, { atMost: 0 })
    await b.child.request('probeStart', { maxBytes: SPLIT_AT })
    await storm({ port: b.port, count: Math.min(cfg.count, 300), concurrency: cfg.concurrency, header: v.header === undefined ? undefined : WIRE_HEADERS[v.header], split: true, splitDelayMs: cfg.splitDelayMs, timeoutMs: cfg.timeoutMs })
    await waitConnections(b, { atMost: 0 })
    const p = await b.child.request<{ connections: number, small: number }>('probeStop')
    splitDelivery[v.id] = { connections: p.connections, split: p.small }
  }

  // What the incumbent does with split and TLV headers; each probe on a fresh broker.
  const probes: ProbeResult[] = []
  for (const p of PROBES) {
    const b = await startBroker(p.broker, `probe:${p.id}`)
    const r = await storm({ port: b.port, count: cfg.probeCount, concurrency: 1, header: WIRE_HEADERS[p.header], split: p.split, splitDelayMs: 20, timeoutMs: 2000 })
    await sleep(200)
    const info = b.child.alive ? await b.child.request<{ brokerErrors: number, brokerErrorSample: string }>('info') : undefined
    const crashed = !b.child.alive
    const crash = crashed ? crashSummary(b.child.lastStderr(), b.child.exitInfo?.code ?? null) : undefined
    probes.push({
      id: p.id,
      label: p.label,
      count: cfg.probeCount,
      ok: r.ok,
      failed: r.failed,
      failures: r.failures,
      brokerCrashed: crashed,
      ...(crash !== undefined ? { crash } : {}),
      ...(info !== undefined ? { brokerErrors: info.brokerErrors, brokerErrorSample: info.brokerErrorSample } : {})
    })
    await b.child.stop()
  }
  return { variants, probes, splitDelivery }
}

function crashSummary (stderr: string, code: number | null): string {
  const lines = stderr.split('\n').map(l => l.trim()).filter(l => l !== '')
  const error = lines.find(l => /^[A-Za-z]*Error\b|^[A-Z][A-Za-z]+ParseError|^Error:|Uncaught/.test(l)) ?? lines.find(l => /rror/.test(l)) ?? lines[0] ?? ''
  const at = lines.find(l => l.startsWith('at ')) ?? ''
  return `exit code ${String(code)}: ${error}${at !== '' ? ` (${at})` : ''}`.slice(0, 400)
}

// ---------------------------------------------------------------- 3. throughput

async function runThroughput (): Promise<ThroughputResults> {
  const cfg = config.throughput
  const variants = [
    { id: 'direct', label: 'aedes, direct (no header)', broker: 'plain', header: undefined },
    { id: 'plugin', label: 'plugin, v2 header (AWS NLB) on both clients', broker: 'pp', header: WIRE_HEADERS.v2 }
  ] as const
  await Promise.all(variants.map(async v => await broker(v.broker)))
  const runOnce = async (v: typeof variants[number], messages: number): Promise<{ rate: number, cpuPerMsg: number }> => {
    const b = await broker(v.broker)
    await waitConnections(b, { atMost: 0 })
    await b.child.request('cpuStart')
    const r = await throughput({ port: b.port, header: v.header, messages, payloadBytes: cfg.payloadBytes, batch: cfg.batch, window: cfg.window, timeoutMs: 120_000 })
    const cpu = await b.child.request<Cpu>('cpuStop')
    if (r.received !== messages || r.strayBytes !== 0) throw new Error(`throughput ${v.id}: received ${r.received} of ${messages} (+${r.strayBytes} stray bytes)`)
    return { rate: messages / (r.wallMs / 1000), cpuPerMsg: cpuUs(cpu) / messages }
  }
  for (const v of variants) await runOnce(v, cfg.messages)
  log(`[${elapsed()}] throughput: warmed up; ${cfg.reps} repetitions of ${cfg.messages} messages`)
  const rates: Record<string, number[]> = { direct: [], plugin: [] }
  const cpu: Record<string, number[]> = { direct: [], plugin: [] }
  const tpBrokers = await Promise.all(variants.map(async v => await broker(v.broker)))
  await profStart(tpBrokers)
  for (let rep = 0; rep < cfg.reps; rep++) {
    const acc: Record<string, { wallS: number, cpuUs: number }> = { direct: { wallS: 0, cpuUs: 0 }, plugin: { wallS: 0, cpuUs: 0 } }
    const each = Math.ceil(cfg.messages / cfg.batches)
    for (let batch = 0; batch < cfg.batches; batch++) {
      for (const v of rotate(variants, rep * cfg.batches + batch)) {
        const r = await runOnce(v, each)
        const a = acc[v.id] as { wallS: number, cpuUs: number }
        a.wallS += each / r.rate
        a.cpuUs += r.cpuPerMsg * each
      }
    }
    for (const v of variants) {
      const a = acc[v.id] as { wallS: number, cpuUs: number }
      rates[v.id]?.push(each * cfg.batches / a.wallS)
      cpu[v.id]?.push(a.cpuUs / (each * cfg.batches))
    }
  }
  await profStop(tpBrokers, 'throughput')
  // One process per broker cannot resolve 1 % on this machine: the target is
  // judged on the same brokers in one process, paired round by round.
  certs ??= testCerts()
  log(`[${elapsed()}] throughput: every broker in one process, ${config.throughputPaired.rounds} rounds of ${config.throughputPaired.messages} messages`)
  const paired = await runPairedThroughput({ cfg: config.throughputPaired, tp: cfg, key: certs.serverKeyPath, cert: certs.serverCertPath, log })
  return {
    variants: variants.map(v => ({ id: v.id, label: v.label, msgsPerSec: summarize(rates[v.id] ?? []), cpuPerMsgUs: summarize(cpu[v.id] ?? []) })),
    ratio: pairedRatio(rates.plugin ?? [], rates.direct ?? []),
    cpuRatio: pairedRatio(cpu.plugin ?? [], cpu.direct ?? []),
    paired
  }
}

// ---------------------------------------------------------------- 4. idle sockets

interface Mem { rss: number, heapUsed: number, external: number }

async function runIdle (): Promise<IdleResults> {
  const cfg = config.idle
  const variants = [
    { id: 'bare', label: 'bare net.Server (reference)', broker: 'bare' },
    { id: 'plain', label: 'aedes (connectTimeout)', broker: 'plain' },
    { id: 'pp', label: 'plugin (headerTimeout)', broker: 'pp' },
    { id: 'sf', label: 'aedes-server-factory trustProxy', broker: 'sf' }
  ] as const
  await Promise.all(variants.map(async v => await broker(v.broker)))
  const acc = new Map<string, { opened: number[], heap: number[], rss: number[], closed: number[], p50: number[], max: number[] }>()
  for (const v of variants) acc.set(v.id, { opened: [], heap: [], rss: [], closed: [], p50: [], max: [] })
  const watchMs = cfg.timeoutMs + cfg.graceMs
  for (let rep = 0; rep < cfg.reps; rep++) {
    const open: Array<{ id: string, set: IdleSet }> = []
    try {
      for (const v of rotate(variants, rep)) {
        const b = await broker(v.broker)
        await waitConnections(b, { atMost: 0 })
        const m0 = await b.child.request<Mem>('mem', { gc: true })
        const set = await openIdle(b.port, cfg.sockets, cfg.concurrency, 5000)
        open.push({ id: v.id, set })
        // Every socket accepted by the broker before measuring.
        await waitUntil(async () => (await b.child.request<number>('connections')) >= set.opened, 3000)
        const m1 = await b.child.request<Mem>('mem', { gc: true })
        const a = acc.get(v.id) as NonNullable<ReturnType<typeof acc.get>>
        a.opened.push(set.opened)
        a.heap.push((m1.heapUsed + m1.external - m0.heapUsed - m0.external) / set.opened)
        a.rss.push((m1.rss - m0.rss) / set.opened)
      }
      // Watch every set until its own timeout + grace has passed.
      const lastOpen = Math.max(...open.map(o => Math.max(...Array.from(o.set.openedAt).filter(x => !Number.isNaN(x)))))
      await sleep(Math.max(0, lastOpen + watchMs - performance.now()))
      for (const { id, set } of open) {
        const times: number[] = []
        for (let i = 0; i < set.count; i++) {
          const c = set.closedAt[i] as number
          const o = set.openedAt[i] as number
          if (!Number.isNaN(c) && !Number.isNaN(o)) times.push(c - o)
        }
        const a = acc.get(id) as NonNullable<ReturnType<typeof acc.get>>
        a.closed.push(times.length / Math.max(1, set.opened))
        a.p50.push(times.length > 0 ? percentile(times, 50) : Number.NaN)
        a.max.push(times.length > 0 ? Math.max(...times) : Number.NaN)
      }
    } finally {
      for (const o of open) o.set.destroy()
    }
    for (const v of variants) await waitConnections(await broker(v.broker), { atMost: 0 })
    log(`[${elapsed()}] idle: repetition ${rep + 1}/${cfg.reps} done`)
  }
  const bare = acc.get('bare')
  const out: IdleVariantResult[] = variants.map(v => {
    const a = acc.get(v.id) as NonNullable<ReturnType<typeof acc.get>>
    return {
      id: v.id,
      label: v.label,
      opened: summarize(a.opened),
      heapPerSocket: summarize(a.heap),
      rssPerSocket: summarize(a.rss),
      ...(v.id !== 'bare' && bare !== undefined
        ? {
            extraHeapVsBare: summarize(a.heap.map((x, i) => x - (bare.heap[i] as number))),
            extraRssVsBare: summarize(a.rss.map((x, i) => x - (bare.rss[i] as number)))
          }
        : {}),
      closedFraction: summarize(a.closed),
      closeP50Ms: summarize(a.p50),
      closeMaxMs: summarize(a.max)
    }
  })
  return { sockets: cfg.sockets, timeoutMs: cfg.timeoutMs, watchedMs: watchMs, variants: out }
}

async function waitUntil (check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs
  while (performance.now() < end) {
    if (await check()) return true
    await sleep(10)
  }
  return false
}

// ---------------------------------------------------------------- main

async function main (): Promise<void> {
  log(`bench: ${config.mode} mode on ${results.meta.machine.nproc} x ${results.meta.machine.cpuModel}, node ${process.version}`)
  buildPlugin()
  log(`[${elapsed()}] compiled src/ into ${BUILD_DIR}`)
  try {
    if (only.has('parse')) results.parse = await runParse()
    if (only.has('cpu')) {
      certs ??= testCerts()
      log(`[${elapsed()}] cpu: every variant in one broker process, ${config.cpu.rounds} rounds`)
      results.cpu = await runPaired({ cfg: values['cpu-rounds'] === undefined ? config.cpu : { ...config.cpu, rounds: Number(values['cpu-rounds']) }, ca: certs.ca, key: certs.serverKeyPath, cert: certs.serverCertPath, log, only: values.variants === undefined ? undefined : new Set(values.variants.split(',')), profile: { start: profStart, stop: profStop } })
    }
    if (only.has('connections')) results.connections = await runConnections()
    if (only.has('throughput')) results.throughput = await runThroughput()
    if (only.has('idle')) results.idle = await runIdle()
  } finally {
    await stopAllChildren()
  }
  results.meta.durationS = Math.round((performance.now() - started) / 100) / 10
  results.meta.machine.loadavg.end = loadavg()[0] ?? 0
  results.targets = evaluateTargets(results)
  const base = join(RESULTS_DIR, outName)
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n')
  writeFileSync(`${base}.md`, renderMarkdown(results, `${outName}.svg`))
  writeFileSync(`${base}.svg`, renderSvg(results))
  log(`[${elapsed()}] wrote ${base}.{md,json,svg}`)
  for (const t of results.targets) log(`  ${t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS'} ${t.text}: ${t.measured}`)
  if (profiling) {
    const text = profiled.map(p => summarizeProfile(p.file, 25, p.label)).join('\n\n')
    writeFileSync(join(PROFILE_DIR, 'summary.txt'), text + '\n')
    log(text)
  }
}

await main()
clearTimeout(deadline)
