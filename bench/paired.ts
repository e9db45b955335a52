// Broker CPU per connection, paired in one process (issue 13, items 2 and 3).
//
// Every variant is a broker of its own in ONE child process
// (multi-broker.ts). A round runs one short batch per variant, in a shuffled
// order, and reads the process's CPU time (user + system) around each
// batch; only one batch runs at a time, so the CPU of a batch is that
// variant's. Each variant's ratio is taken per round against the plain
// batches of the same round (the mean of the two plain brokers'), as a log,
// and the rounds give a mean and a 95 % confidence interval (Student's t).
// Plain aedes measured against plain aedes (two identical brokers) shows
// what the method resolves: its ratio must come out 1.00 within its
// interval.
import { performance } from 'node:perf_hooks'
import { WIRE_HEADERS, type WireHeader } from './cases.js'
import { Child } from './children.js'
import { storm } from './loadgen.js'
import type { Config, PairedSchedule } from './config.js'
import { pluginBuilds } from './plugin.js'
import type { Measure, PairedResults } from './results.js'
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

export interface PairedRun {
  readonly cfg: PairedConfig
  readonly ca: Buffer
  readonly key: string
  readonly cert: string
  readonly log: (text: string) => void
  /** Only these variants (the baselines always run). */
  readonly only?: ReadonlySet<string> | undefined
}

/** One multi-broker.ts process of a paired run, with the ports of its servers (`id#instance`). */
export interface PairedProcess {
  readonly child: Child
  readonly ports: Record<string, number>
  /** Which process of the run, from 0. */
  readonly epoch: number
}

/**
 * Runs `rounds` timed rounds over `epochs` fresh multi-broker.ts processes,
 * one after the other, each with `instances` of every broker (created in an
 * order seeded by `seed` and the process) and `warmupRounds` untimed rounds
 * first. A round runs each variant once: a shuffled order, then the same
 * order reversed, so a drift during the two rounds (the JIT settling, the
 * machine's load changing) weighs on every variant alike. Both rounds of a
 * pair use the same instance; the next pair moves on to the next.
 * @returns the (process, instance) group of each timed round, in order: what {@link groupedRatio} takes.
 */
export async function pairedProcesses<V> (variants: readonly V[],
  o: PairedSchedule & {
    readonly name: string,
    readonly key: string,
    readonly cert: string
    readonly seed: number,
    readonly next: () => number
  },
  each: (p: PairedProcess, variant: V, instance: number, timed: boolean) => Promise<void>,
  /** After each round; `of` is the process's rounds, untimed ones included. */
  after?: (p: PairedProcess, round: number, of: number) => void): Promise<string[]> {
  const groupOf: string[] = []
  const perEpoch = Math.ceil(o.rounds / o.epochs / 2) * 2
  for (let epoch = 0; epoch < o.epochs && groupOf.length < o.rounds; epoch++) {
    const args = ['--key', o.key, '--cert', o.cert, '--instances', String(o.instances),
      '--seed', String(o.seed + epoch)]
    const { child, ready } = await Child.start(`${o.name}#${epoch + 1}`, 'multi-broker.ts', args)
    const p: PairedProcess = { child, ports: ready.ports as Record<string, number>, epoch }
    try {
      const of = o.warmupRounds + Math.min(perEpoch, o.rounds - groupOf.length)
      let order: V[] = []
      for (let round = 0; round < of; round++) {
        order = round % 2 === 0 ? shuffled(variants, o.next) : [...order].reverse()
        const instance = Math.floor(round / 2) % o.instances
        for (const v of order) await each(p, v, instance, round >= o.warmupRounds)
        if (round >= o.warmupRounds) groupOf.push(`${epoch}:${instance}`)
        after?.(p, round, of)
      }
    } finally {
      await child.stop()
    }
  }
  return groupOf
}

/**
 * The ratio of `x` to `b`, round by round, as a geometric mean with its 95 %
 * interval. The rounds of one process and one set of instances share
 * whatever that process and those instances settled into, so they are not
 * independent samples: the interval is taken over those groups (`groupOf`,
 * per round; the mean log ratio of each), not over rounds, and so includes
 * how much instances differ.
 */
export function groupedRatio (x: readonly number[], b: readonly number[], groupOf: readonly string[]): Interval {
  const groups = new Map<string, number[]>()
  x.forEach((v, i) => {
    const key = groupOf[i] ?? ''
    const r = Math.log(v / (b[i] as number))
    if (Number.isFinite(r)) groups.set(key, [...(groups.get(key) ?? []), r])
  })
  return meanInterval([...groups.values()].map(g => g.reduce((s, r) => s + r, 0) / g.length), Math.exp)
}

export async function runPaired (run: PairedRun): Promise<PairedResults> {
  const { cfg, ca } = run
  // With --variants, a family's baselines run when any of its variants (or a baseline of it) was named.
  const named = (v: PairedVariant): boolean => run.only === undefined || run.only.has(v.id)
  const wantedFamilies = new Set(PAIRED_VARIANTS.filter(named).map(v => v.family))
  const variants = PAIRED_VARIANTS.filter(v => v.baseline === true ? wantedFamilies.has(v.family) : named(v))
  // Per variant, per round: CPU µs per connection of the main thread, and of the whole process.
  const cpu: Record<string, number[]> = Object.fromEntries(variants.map(v => [v.id, []]))
  const proc: Record<string, number[]> = Object.fromEntries(variants.map(v => [v.id, []]))
  const failed: Record<string, number> = Object.fromEntries(variants.map(v => [v.id, 0]))
  const t0 = performance.now()
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
  // Per timed round: which process and which instances ran it.
  const schedule = { ...cfg, name: 'broker:multi', key: run.key, cert: run.cert, seed: 1, next: random(13) }
  const clusterOf = await pairedProcesses(variants, schedule, async (p, v, instance, timed) => {
    const perConn = await batch(p, v, instance)
    if (timed) {
      cpu[v.id]?.push(perConn.main)
      proc[v.id]?.push(perConn.process)
    }
  }, ({ epoch }, round, of) => {
    if ((round + 1) % 50 !== 0) return
    run.log(`  cpu: epoch ${epoch + 1}/${cfg.epochs}, ${round + 1}/${of} rounds (${cfg.warmupRounds} untimed)`)
  })
  const timed = clusterOf.length
  const wallS = (performance.now() - t0) / 1000
  const ratioTo = (x: readonly number[], b: readonly number[]): Interval => groupedRatio(x, b, clusterOf)
  const baselineOf = (data: Record<string, number[]>, family: 'tcp' | 'tls'): number[] => {
    const ids = variants.filter(v => v.family === family && v.baseline === true).map(v => v.id)
    const mean = (i: number): number => ids.reduce((s, id) => s + (data[id]?.[i] ?? Number.NaN), 0) / ids.length
    return Array.from({ length: timed }, (_, i) => mean(i))
  }
  const measures = (data: Record<string, number[]>): Measure => {
    const base = { tcp: baselineOf(data, 'tcp'), tls: baselineOf(data, 'tls') }
    const ppRec = data['pp-rec-v1']
    const sf = data['sf-v1']
    return {
      perConnUs: Object.fromEntries(variants.map(v => [v.id, meanInterval(data[v.id] ?? [])])),
      ratio: Object.fromEntries(variants.filter(v => v.baseline !== true)
        .map(v => [v.id, ratioTo(data[v.id] ?? [], base[v.family])])),
      // The method against itself: the second identical broker over the first.
      selfCheck: {
        tcp: ratioTo(data['plain-again'] ?? [], data.plain ?? []),
        tls: ratioTo(data['tls-again'] ?? [], data.tls ?? [])
      },
      ...(ppRec !== undefined && sf !== undefined && sf.length > 0 ? { vsIncumbent: ratioTo(ppRec, sf) } : {})
    }
  }
  return {
    rounds: timed,
    epochs: cfg.epochs,
    instances: cfg.instances,
    warmupRounds: cfg.warmupRounds,
    count: cfg.count,
    tlsCount: cfg.tlsCount,
    concurrency: cfg.concurrency,
    wallS,
    variants: variants.map(v => ({
      id: v.id,
      label: v.label,
      family: v.family,
      count: v.tls === true ? cfg.tlsCount : cfg.count,
      failed: failed[v.id] ?? 0,
      ...(v.baseline === true ? { baseline: true } : {})
    })),
    mainThread: measures(cpu),
    process: measures(proc)
  }
}
