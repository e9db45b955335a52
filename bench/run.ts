// Benchmark runner and load generator (bench/README.md says what each
// section measures): node --import tsx bench/run.ts [--quick] [--only
// parse,cpu,probes,throughput] [--variants id,...] [--cpu-rounds N]
// [--out NAME] [--no-build]. Children: parse-worker.ts, multi-broker.ts.
import { cpus, loadavg, totalmem } from 'node:os'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { testCerts } from '../support/certs.js'
import { CANDIDATE_IDS, packageVersion, type Outcome } from './candidates.js'
import { PARSE_CASES, WIRE_HEADERS, type WireHeader } from './cases.js'
import { BENCH_DIR, Child, killAllChildren, ROOT_DIR, startServer, stopAllChildren } from './children.js'
import { BUILD_DIR } from './plugin.js'
import { CONFIGS, type Config } from './config.js'
import { storm } from './loadgen.js'
import { renderMarkdown, evaluateTargets } from './report.js'
import { run } from '../support/spawn.js'
import { runPaired, runPairedThroughput } from './paired.js'
import type { CorrectnessRow, ParseResults, PeerComparison, ProbeResult, Results } from './results.js'
import { pairedRatio, rotate, summarize, type Summary } from './stats.js'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    variants: { type: 'string' },
    'cpu-rounds': { type: 'string' }
  }
})

const config: Config = CONFIGS[values.quick ? 'quick' : 'full']
const SECTIONS = ['parse', 'cpu', 'probes', 'throughput'] as const
const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map(s => s.trim()))
for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section ${s}`)
const outName = values.out ?? (config.mode === 'quick' ? 'quick' : 'latest')
const RESULTS_DIR = join(BENCH_DIR, 'results')
mkdirSync(RESULTS_DIR, { recursive: true })

// Every child is killed however this process ends; the whole run is bounded.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => { killAllChildren(); process.exit(130) })
}
process.once('uncaughtException', err => { killAllChildren(); console.error(err); process.exit(1) })
const deadline = setTimeout(() => {
  console.error(`bench: stopped at the ${config.deadlineMs / 1000} s deadline`)
  killAllChildren()
  process.exit(2)
}, config.deadlineMs).unref()

const log = (text: string): void => { process.stderr.write(`${text}\n`) }
const started = performance.now()
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)}s`

const results: Results = {
  meta: {
    date: new Date().toISOString(),
    mode: config.mode,
    durationS: 0,
    machine: {
      nproc: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      totalMemGiB: Math.round(totalmem() / 2 ** 30),
      loadavg: { start: loadavg()[0] ?? 0, end: Number.NaN }
    },
    config,
    packages: Object.fromEntries(['aedes', 'mqtt-packet', 'proxy-protocol-js', '@balena/proxy-protocol-parser',
      'aedes-protocol-decoder', 'aedes-server-factory'].map(name => [name, packageVersion(name)])),
    notes: config.mode === 'quick'
      ? ['Quick mode is a smoke test: its few, short repetitions cannot resolve differences of a few percent on a ' +
        'shared machine. Judge the targets on a full run (npm run bench).']
      : []
  },
  targets: []
}

// ---------------------------------------------------------------- the plugin under test

/** Compiles src/ with tsc (as `npm run build` does) into a private folder the children load. */
async function buildPlugin (): Promise<void> {
  if (values['no-build']) {
    results.meta.notes.push('--no-build: plugin loaded from an existing build, not compiled from src/ for this run')
    return
  }
  rmSync(BUILD_DIR, { recursive: true, force: true })
  const tsc = join(ROOT_DIR, 'node_modules', 'typescript', 'bin', 'tsc')
  const r = await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR,
    '--sourceMap', 'false', '--declaration', 'false', '--declarationMap', 'false'],
  { cwd: ROOT_DIR, timeoutMs: 120_000 })
  if (!existsSync(join(BUILD_DIR, 'index.js'))) throw new Error(`tsc did not build the plugin: ${r.stdout}${r.stderr}`)
  const first = r.stdout.split('\n')[0] ?? ''
  if (r.code !== 0) results.meta.notes.push(`tsc reported errors compiling src/ (its JavaScript was used): ${first}`)
  process.env.BENCH_PLUGIN_DIR = BUILD_DIR
}

// ---------------------------------------------------------------- 1. parsing

async function runParse (): Promise<ParseResults> {
  const cfg = config.parse
  log(`[${elapsed()}] parse: starting ${CANDIDATE_IDS.length} candidate processes`)
  const workers = new Map<string, Child>()
  const candidates: Array<ParseResults['candidates'][number]> = []
  const text = (x: unknown): string | undefined => typeof x === 'string' ? x : undefined
  for (const id of CANDIDATE_IDS) {
    // The worker names its candidate; one that does not load or start is reported by its id.
    const started = await Child.start(`parse:${id}`, 'parse-worker.ts', [id]).catch((err: unknown) => String(err))
    const ready = typeof started === 'string' ? { error: `does not start: ${started}` } : started.ready
    const error = text(ready.error)
    if (typeof started !== 'string' && error === undefined) workers.set(id, started.child)
    else if (typeof started !== 'string') await started.child.stop()
    const note = text(ready.note) ?? ''
    candidates.push({ id, label: text(ready.label) ?? id, note, ...(error !== undefined && { error }) })
  }

  // What each candidate makes of each case (not timed); then its iterations per case, calibrated and warmed up.
  const outcomes: Record<string, Record<string, Outcome>> = {}
  const timings = new Map<string, { n: number, ops: number[] }>()
  const errors = new Map<string, string>()
  const key = (caseId: string, cand: string): string => `${caseId}/${cand}`
  for (const c of PARSE_CASES) {
    const seen: Record<string, Outcome> = outcomes[c.id] = {}
    for (const [id, w] of workers) {
      seen[id] = await w.request<Outcome>('inspect', { caseId: c.id })
      try {
        const n = await w.request<number>('calibrate', { caseId: c.id, targetMs: cfg.targetMs })
        for (let i = 0; i < 3; i++) await w.request('run', { caseId: c.id, iterations: n })
        timings.set(key(c.id, id), { n, ops: [] })
      } catch (err) {
        errors.set(key(c.id, id), firstLine(err))
      }
    }
  }
  log(`[${elapsed()}] parse: calibrated; ${cfg.reps} repetitions of ${PARSE_CASES.length} cases x ` +
    `${workers.size} candidates, ~${cfg.targetMs} ms each`)

  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const c of rotate(PARSE_CASES, rep)) {
      for (const [id, w] of rotate([...workers], rep)) {
        const t = timings.get(key(c.id, id))
        if (t === undefined) continue
        const { ns } = await w.request<{ ns: number }>('run', { caseId: c.id, iterations: t.n })
        t.ops.push(t.n / (ns / 1e9))
      }
    }
  }
  await Promise.all([...workers.values()].map(async w => { await w.stop() }))

  const opsPerSec: ParseResults['opsPerSec'] = {}
  for (const c of PARSE_CASES) {
    opsPerSec[c.id] = Object.fromEntries(candidates.map(cand => {
      const list = timings.get(key(c.id, cand.id))?.ops
      const error = errors.get(key(c.id, cand.id)) ?? cand.error ?? 'not run'
      return [cand.id, list !== undefined ? summarize(list) : { error }]
    }))
  }

  // The TLV case: where each candidate thinks the MQTT bytes start, and the source.
  const tlvCase = PARSE_CASES[PARSE_CASES.length - 1] as (typeof PARSE_CASES)[number]
  const correctness: Record<string, CorrectnessRow> = {}
  for (const cand of candidates) {
    const o = outcomes[tlvCase.id]?.[cand.id]
    correctness[cand.id] = o === undefined
      ? { start: null, source: null, sourcePort: null, tlvs: '-', verdict: cand.error ?? 'not run' }
      : { ...o, verdict: answerProblem(tlvCase, o) ?? 'correct' }
  }

  // Issue 13: ours against the fastest other parser that is not wrong on
  // the case, and against the fixed-field reader, both paired per repetition.
  const peers: Record<string, PeerComparison> = {}
  const ratioOf = (caseId: string, a: string, b: string | null): Summary | undefined => {
    const x = timings.get(key(caseId, a))?.ops
    const y = b === null ? undefined : timings.get(key(caseId, b))?.ops
    return x === undefined || y === undefined ? undefined : pairedRatio(x, y)
  }
  for (const c of PARSE_CASES) {
    const wrong: Record<string, string> = {}
    let best: string | null = null
    const median = (id: string | null): number => {
      const s = id === null ? undefined : opsPerSec[c.id]?.[id]
      return s !== undefined && 'median' in s ? s.median : -Infinity
    }
    for (const cand of candidates.filter(x => !['ours', 'ours-read', 'hand'].includes(x.id))) {
      const problem = answerProblem(c, outcomes[c.id]?.[cand.id])
      if (problem !== undefined) wrong[cand.id] = problem
      else if (median(cand.id) > median(best)) best = cand.id
    }
    peers[c.id] = {
      best,
      wrong,
      ratioToBest: ratioOf(c.id, 'ours', best),
      readRatioToBest: ratioOf(c.id, 'ours-read', best),
      ratioToHand: ratioOf(c.id, 'ours', 'hand')
    }
  }

  const cases = PARSE_CASES.map(c => ({ id: c.id, label: c.label, headerBytes: c.header.length }))
  return { cases, candidates, opsPerSec, correctness, peers }
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
  const { start, source } = c.expected
  if (o.start !== null && o.start !== start) return `says the MQTT bytes start at ${o.start}, not ${start}`
  if (o.source !== source.address || o.sourcePort !== source.port) {
    return `source ${String(o.source)} port ${String(o.sourcePort)}, not ${source.address} port ${source.port}`
  }
  return undefined
}

function firstLine (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const lines = text.split('\n')
  return (lines.find(l => l.trim() !== '' && !l.includes(': Error')) ?? lines[0] ?? text).slice(0, 200)
}

// ---------------------------------------------------------------- 2. the incumbent's failures

const SF = 'aedes-server-factory trustProxy'
/** Each probe: id, label, the header, whether it is split in two writes, the broker (multi-broker.ts). */
const PROBES: ReadonlyArray<readonly [string, string, WireHeader, boolean, string]> = [
  ['sf-v1-split', `${SF}, v1 header split in 2 writes`, 'v1', true, 'sf'],
  ['sf-v2-split', `${SF}, v2 header split in 2 writes`, 'v2plain', true, 'sf'],
  ['sf-v2-nlb', `${SF}, v2 header with TLVs (AWS NLB)`, 'v2', false, 'sf'],
  ['pp-v1-split-slow', 'plugin, v1 header split in 2 writes 20 ms apart', 'v1', true, 'pp-enabled'],
  ['pp-v2-nlb', 'plugin, v2 header with TLVs (AWS NLB)', 'v2', false, 'pp-enabled']
]

type ProbeInfo = Pick<ProbeResult, 'brokerErrors' | 'brokerErrorSample'>

/** What the incumbent does with split and TLV headers, and the plugin beside it; each probe on a fresh broker. */
async function runProbes (): Promise<ProbeResult[]> {
  const count = config.probeCount
  const probes: ProbeResult[] = []
  for (const [id, label, header, split, broker] of PROBES) {
    const { child, port } = await startServer(broker, `probe:${id}`)
    const r = await storm({
      port, count, concurrency: 1, header: WIRE_HEADERS[header], split, splitDelayMs: 20, timeoutMs: 2000
    })
    await delay(200)
    probes.push(child.alive
      ? { id, label, count, ...r, brokerCrashed: false, ...await child.request<ProbeInfo>('info') }
      : { id, label, count, ...r, brokerCrashed: true, crash: crashSummary(child.lastStderr(), child.exitCode) })
    await child.stop()
  }
  return probes
}

function crashSummary (stderr: string, code: number | null): string {
  const lines = stderr.split('\n').map(l => l.trim()).filter(l => l !== '')
  const error = lines.find(l => /^[A-Za-z]*Error\b|^[A-Z][A-Za-z]+ParseError|^Error:|Uncaught/.test(l)) ??
    lines.find(l => /rror/.test(l)) ?? lines[0] ?? ''
  const at = lines.find(l => l.startsWith('at ')) ?? ''
  return `exit code ${String(code)}: ${error}${at !== '' ? ` (${at})` : ''}`.slice(0, 400)
}

// ---------------------------------------------------------------- main

async function main (): Promise<void> {
  const { nproc, cpuModel } = results.meta.machine
  log(`bench: ${config.mode} mode on ${nproc} x ${cpuModel}, node ${process.version}`)
  await buildPlugin()
  log(`[${elapsed()}] compiled src/ into ${BUILD_DIR}`)
  const certs = testCerts()
  try {
    if (only.has('parse')) results.parse = await runParse()
    if (only.has('cpu')) {
      log(`[${elapsed()}] cpu: every variant in one broker process, ${config.cpu.rounds} rounds`)
      const rounds = values['cpu-rounds']
      const cfg = rounds === undefined ? config.cpu : { ...config.cpu, rounds: Number(rounds) }
      results.cpu = await runPaired({ cfg, certs, log }, values.variants?.split(','))
    }
    if (only.has('probes')) results.probes = await runProbes()
    if (only.has('throughput')) {
      const cfg = config.throughput
      log(`[${elapsed()}] throughput: every broker in one process, ${cfg.rounds} rounds of ${cfg.messages} messages`)
      results.throughput = await runPairedThroughput({ cfg, certs, log })
    }
  } finally {
    await stopAllChildren()
  }
  results.meta.durationS = Math.round((performance.now() - started) / 100) / 10
  results.meta.machine.loadavg.end = loadavg()[0] ?? 0
  results.targets = evaluateTargets(results)
  const base = join(RESULTS_DIR, outName)
  writeFileSync(`${base}.md`, renderMarkdown(results))
  log(`[${elapsed()}] wrote ${base}.md`)
  for (const t of results.targets) {
    log(`  ${t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS'} ${t.text}: ${t.measured}`)
  }
}

await main()
clearTimeout(deadline)
