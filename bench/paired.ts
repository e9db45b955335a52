// Broker CPU per connection, paired in one process (bench/README.md,
// section 2): every variant a broker of its own in one multi-broker.ts
// process, one batch per variant per round, each ratio per round against
// the round's plain brokers, the interval over (process, instance) groups.
// The same for throughput (section 4): plain aedes twice and the plugin
// (recommended configuration, AWS NLB v2 header on both clients), one run of
// QoS 0 messages each per round.
import { performance } from 'node:perf_hooks'
import { WIRE_HEADERS, type WireHeader } from './cases.js'
import { Child } from './children.js'
import { storm, throughput } from './loadgen.js'
import type { Config, PairedSchedule } from './config.js'
import { pluginBuilds } from './plugin.js'
import type { TestCerts } from '../support/certs.js'
import type { Measure, PairedResults, PairedThroughputResults } from './results.js'
import { meanInterval, random, shuffled, type Interval } from './stats.js'

export type PairedConfig = Config['cpu']

interface PairedVariant {
  readonly id: string
  readonly label: string
  /** The server in multi-broker.ts. */
  readonly server: string
  readonly header?: WireHeader
  readonly tls?: boolean
  /** The variants whose mean per round is the baseline ('plain', 'tls'), or none for a baseline. */
  readonly family: 'tcp' | 'tls'
  readonly baseline?: true
}

function variant (id: string, server: string, label: string, o: Partial<PairedVariant> = {}): PairedVariant {
  return { id, server, label, family: o.tls === true ? 'tls' : 'tcp', ...o }
}
const REC = 'plugin, recommended configuration (trustedProxies)'
const SKIPPER = 'minimal header skipper (the least a JavaScript header reader can do)'

export const PAIRED_VARIANTS: readonly PairedVariant[] = [
  variant('plain', 'plain', 'aedes, no header (baseline)', { baseline: true }),
  variant('plain-again', 'plain-again', 'aedes, no header, a second identical broker (baseline)', { baseline: true }),
  variant('pp-rec-v1', 'pp-recommended', `${REC}, v1 header`, { header: 'v1' }),
  variant('pp-rec-v2', 'pp-recommended', `${REC}, v2 header (AWS NLB)`, { header: 'v2' }),
  variant('pp-on-v1', 'pp-enabled', 'plugin, proxyEnabled alone, v1 header', { header: 'v1' }),
  variant('pp-off', 'pp-off', 'plugin installed, PROXY off on the listener (hints on: the first bytes are looked at)'),
  variant('min-v1', 'min', `${SKIPPER}, v1 header`, { header: 'v1' }),
  variant('min-peer-v1', 'min-peer', 'minimal header skipper + getpeername, v1 header', { header: 'v1' }),
  variant('sf-v1', 'sf', 'aedes-server-factory trustProxy (the incumbent), v1 header', { header: 'v1' }),
  // BENCH_PLUGIN_BUILDS: each other build, recommended configuration, v1 header.
  ...pluginBuilds().map(({ name }) =>
    variant(`pp-rec@${name}-v1`, `pp-recommended@${name}`, `build ${name}: ${REC}, v1 header`, { header: 'v1' })),
  variant('tls', 'tls', 'TLS, no header (TLS baseline)', { tls: true, baseline: true }),
  variant('tls-again', 'tls-again', 'TLS, no header, a second identical broker (TLS baseline)',
    { tls: true, baseline: true }),
  variant('tls-pp-rec-v2', 'tls-pp-recommended', 'TLS + plugin, recommended configuration, v2 header (AWS NLB) ' +
    'before the handshake', { header: 'v2', tls: true })
]

/** A paired run's settings, the certificates its TLS brokers and clients use, and where it logs progress. */
export interface PairedRun<C> { readonly cfg: C, readonly certs: TestCerts, readonly log: (text: string) => void }

/** One multi-broker.ts process of a paired run, with the ports of its servers (`id#instance`). */
export interface PairedProcess {
  readonly child: Child
  readonly ports: Record<string, number>
  /** Which process of the run, from 0. */
  readonly epoch: number
}

/** Where and how a paired run runs its processes (`next`: the shuffles' random numbers). */
interface PairedProcessOptions extends PairedSchedule {
  readonly name: string
  readonly certs: TestCerts
  readonly seed: number
  readonly next: () => number
}

/** What a paired run measured: per measure, per variant, a sample per timed round. */
interface Paired<M extends string> {
  readonly rounds: number
  readonly samples: Record<M, Record<string, number[]>>
  /**
   * `x` ÷ the mean of the `baseline` variants, round by round, as a
   * geometric mean with its 95 % interval. The rounds of one process and one
   * set of instances share whatever that process and those instances
   * settled into, so they are not independent samples: the interval is taken
   * over those groups (the mean log ratio of each), not over rounds, and so
   * includes how much instances differ.
   */
  readonly ratio: (measure: M, x: string, baseline: readonly string[]) => Interval
}

/**
 * Runs `rounds` timed rounds over `epochs` fresh multi-broker.ts processes,
 * one after the other, each with `instances` of every broker (created in an
 * order seeded by `seed` and the process) and `warmupRounds` untimed rounds
 * first. A round runs each variant once: a shuffled order, then the same
 * order reversed, so a drift during the two rounds (the JIT settling, the
 * machine's load changing) weighs on every variant alike. Both rounds of a
 * pair use the same instance; the next pair moves on to the next.
 */
async function pairedProcesses<V extends { readonly id: string }, M extends string> (variants: readonly V[],
  o: PairedProcessOptions, measures: readonly M[],
  each: (p: PairedProcess, variant: V, instance: number) => Promise<Record<M, number>>,
  /** After each round; `of` is the process's rounds, untimed ones included. */
  after?: (p: PairedProcess, round: number, of: number) => void
): Promise<Paired<M>> {
  const perVariant = (): Record<string, number[]> => Object.fromEntries(variants.map(v => [v.id, [] as number[]]))
  const samples = Object.fromEntries(measures.map(m => [m, perVariant()])) as Record<M, Record<string, number[]>>
  // Per timed round: which process and which instances ran it.
  const groupOf: string[] = []
  const perEpoch = Math.ceil(o.rounds / o.epochs / 2) * 2
  for (let epoch = 0; epoch < o.epochs && groupOf.length < o.rounds; epoch++) {
    const args = ['--key', o.certs.serverKeyPath, '--cert', o.certs.serverCertPath, '--instances', String(o.instances),
      '--seed', String(o.seed + epoch)]
    const { child, ready } = await Child.start(`${o.name}#${epoch + 1}`, 'multi-broker.ts', args)
    const p: PairedProcess = { child, ports: ready.ports as Record<string, number>, epoch }
    try {
      const of = o.warmupRounds + Math.min(perEpoch, o.rounds - groupOf.length)
      let order: V[] = []
      for (let round = 0; round < of; round++) {
        order = round % 2 === 0 ? shuffled(variants, o.next) : [...order].reverse()
        const instance = Math.floor(round / 2) % o.instances
        for (const v of order) {
          const sample = await each(p, v, instance)
          if (round >= o.warmupRounds) for (const m of measures) samples[m][v.id]?.push(sample[m])
        }
        if (round >= o.warmupRounds) groupOf.push(`${epoch}:${instance}`)
        after?.(p, round, of)
      }
    } finally {
      await child.stop()
    }
  }
  const ratio = (m: M, x: string, baseline: readonly string[]): Interval => {
    const data = samples[m]
    const groups = new Map<string, number[]>()
    groupOf.forEach((key, i) => {
      const b = baseline.reduce((sum, id) => sum + (data[id]?.[i] ?? Number.NaN), 0) / baseline.length
      const r = Math.log((data[x]?.[i] ?? Number.NaN) / b)
      if (Number.isFinite(r)) groups.set(key, [...(groups.get(key) ?? []), r])
    })
    return meanInterval([...groups.values()].map(g => g.reduce((sum, r) => sum + r, 0) / g.length), Math.exp)
  }
  return { rounds: groupOf.length, samples, ratio }
}

/** Every variant, or `only` those (`--variants`): a family's baselines run when any of its variants was named. */
export async function runPaired (run: PairedRun<PairedConfig>, only?: readonly string[]): Promise<PairedResults> {
  const { cfg, certs: { ca } } = run
  const named = (v: PairedVariant): boolean => only === undefined || only.includes(v.id)
  const wantedFamilies = new Set(PAIRED_VARIANTS.filter(named).map(v => v.family))
  const variants = PAIRED_VARIANTS.filter(v => v.baseline === true ? wantedFamilies.has(v.family) : named(v))
  const failed: Record<string, number> = Object.fromEntries(variants.map(v => [v.id, 0]))
  const t0 = performance.now()
  // Per variant, per round: CPU µs per connection of the main thread, and of the whole process.
  type PerConn = { main: number, process: number }
  const batch = async ({ child, ports }: PairedProcess, v: PairedVariant, instance: number): Promise<PerConn> => {
    const count = v.tls === true ? cfg.tlsCount : cfg.count
    const server = `${v.server}#${instance}`
    await child.request('cpuStart')
    const r = await storm({
      port: ports[server] as number,
      count,
      concurrency: cfg.concurrency,
      header: v.header === undefined ? undefined : WIRE_HEADERS[v.header],
      tls: v.tls === true ? { ca } : undefined,
      timeoutMs: cfg.timeoutMs
    })
    // The broker's work closing the connections belongs to the batch.
    await child.request('drained', { server, timeoutMs: cfg.timeoutMs })
    const us = await child.request<{ process: number, main: number }>('cpuStop')
    failed[v.id] = (failed[v.id] ?? 0) + r.failed
    return r.ok > 0 ? { main: us.main / r.ok, process: us.process / r.ok } : { main: Number.NaN, process: Number.NaN }
  }
  const schedule = { ...cfg, name: 'broker:multi', certs: run.certs, seed: 1, next: random(13) }
  const progress = ({ epoch }: PairedProcess, round: number, of: number): void => {
    if ((round + 1) % 50 !== 0) return
    run.log(`  cpu: epoch ${epoch + 1}/${cfg.epochs}, ${round + 1}/${of} rounds (${cfg.warmupRounds} untimed)`)
  }
  const paired = await pairedProcesses(variants, schedule, ['main', 'process'], batch, progress)
  const wallS = (performance.now() - t0) / 1000
  const ran = (id: string): boolean => variants.some(v => v.id === id)
  const baselines = (family: 'tcp' | 'tls'): string[] =>
    variants.filter(v => v.family === family && v.baseline === true).map(v => v.id)
  const measures = (m: 'main' | 'process'): Measure => ({
    perConnUs: Object.fromEntries(variants.map(v => [v.id, meanInterval(paired.samples[m][v.id] ?? [])])),
    ratio: Object.fromEntries(variants.filter(v => v.baseline !== true)
      .map(v => [v.id, paired.ratio(m, v.id, baselines(v.family))])),
    // The method against itself: the second identical broker over the first.
    selfCheck: { tcp: paired.ratio(m, 'plain-again', ['plain']), tls: paired.ratio(m, 'tls-again', ['tls']) },
    ...(ran('pp-rec-v1') && ran('sf-v1') ? { vsIncumbent: paired.ratio(m, 'pp-rec-v1', ['sf-v1']) } : {})
  })
  const { timeoutMs, ...settings } = cfg
  return {
    ...settings,
    rounds: paired.rounds,
    wallS,
    variants: variants.map(({ id, label, family, tls, baseline }) => ({
      id,
      label,
      family,
      count: tls === true ? cfg.tlsCount : cfg.count,
      failed: failed[id] ?? 0,
      ...(baseline && { baseline })
    })),
    mainThread: measures('main'),
    process: measures('process')
  }
}

// ---------------------------------------------------------------- throughput

export type PairedThroughputConfig = Config['throughput']

const THROUGHPUT_VARIANTS = [
  { id: 'plain', label: 'aedes, direct (no header)', server: 'plain', header: undefined },
  { id: 'plain-again', label: 'aedes, direct, a second identical broker', server: 'plain-again', header: undefined },
  { id: 'plugin', label: `${REC}, AWS NLB v2 header, both clients`, server: 'pp-recommended', header: WIRE_HEADERS.v2 }
] as const
type ThroughputVariant = typeof THROUGHPUT_VARIANTS[number]

export async function runPairedThroughput (run: PairedRun<PairedThroughputConfig>): Promise<PairedThroughputResults> {
  const { cfg } = run
  const t0 = performance.now()
  type Run = { rate: number, main: number }
  const once = async ({ child, ports }: PairedProcess, v: ThroughputVariant, instance: number): Promise<Run> => {
    const server = `${v.server}#${instance}`
    await child.request('cpuStart')
    const r = await throughput({ ...cfg, port: ports[server] as number, header: v.header, timeoutMs: 120_000 })
    // The two clients' DISCONNECTs and closes belong to the run.
    const left = await child.request<number>('drained', { server, timeoutMs: 5000 })
    if (left !== 0) {
      throw new Error(`paired throughput ${v.id}: the broker still holds ${left} connections 5 s after the DISCONNECTs`)
    }
    const us = await child.request<{ main: number }>('cpuStop')
    if (r.received !== cfg.messages || r.strayBytes !== 0) {
      const got = `${r.received} of ${cfg.messages} (+${r.strayBytes} stray bytes)`
      throw new Error(`paired throughput ${v.id}: received ${got}`)
    }
    return { rate: cfg.messages / (r.wallMs / 1000), main: us.main / cfg.messages }
  }
  const schedule = { ...cfg, name: 'broker:multi-tp', certs: run.certs, seed: 101, next: random(29) }
  const paired = await pairedProcesses(THROUGHPUT_VARIANTS, schedule, ['rate', 'main'], once)
  run.log(`  throughput (paired): ${paired.rounds} rounds in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  const { rate, main: cpu } = paired.samples
  const plain = ['plain', 'plain-again']
  return {
    ...cfg,
    rounds: paired.rounds,
    variants: THROUGHPUT_VARIANTS.map(({ id, label }) =>
      ({ id, label, msgsPerSec: meanInterval(rate[id] ?? []), cpuPerMsgUs: meanInterval(cpu[id] ?? []) })),
    ratio: paired.ratio('rate', 'plugin', plain),
    cpuRatio: paired.ratio('main', 'plugin', plain),
    selfCheck: paired.ratio('rate', 'plain-again', ['plain']),
    cpuSelfCheck: paired.ratio('main', 'plain-again', ['plain'])
  }
}
