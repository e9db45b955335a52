// Throughput behind the plugin, paired in one process (issue 13: "throughput
// behind the plugin stays ≥ 0.99× direct").
//
// The same method as the paired CPU section (paired.ts): the brokers are in
// ONE child process (multi-broker.ts), so they share one JIT, one heap and
// one stretch of the machine. A round runs one run of `messages` QoS 0
// messages per variant, in a shuffled order and then the same order
// reversed: plain aedes, a second identical plain aedes (the method against
// itself), and the plugin with the README's recommended configuration,
// whose publisher and subscriber both send an AWS NLB v2 header first.
// Each round's ratio is taken, as a log, against the mean of that round's
// two plain runs; the rounds of one process and one set of instances are
// averaged, and those groups give the mean and its 95 % interval.
//
// After its header, a connection behind the plugin is aedes' own socket:
// nothing of the plugin runs per message. What this can show is whether
// that holds (CPU per message, messages/s), within the interval it states.
import { performance } from 'node:perf_hooks'
import { WIRE_HEADERS } from './cases.js'
import { throughput } from './loadgen.js'
import type { Config } from './config.js'
import type { PairedThroughputResults } from './results.js'
import { groupedRatio, pairedProcesses, type PairedProcess } from './paired.js'
import { meanInterval, random, type Interval } from './stats.js'

export type PairedThroughputConfig = Config['throughput']

const VARIANTS = [
  { id: 'plain', label: 'aedes, direct (no header)', server: 'plain', header: undefined },
  { id: 'plain-again', label: 'aedes, direct, a second identical broker', server: 'plain-again', header: undefined },
  {
    id: 'plugin',
    label: 'plugin, recommended configuration, v2 header (AWS NLB) on both clients',
    server: 'pp-recommended',
    header: WIRE_HEADERS.v2
  }
] as const
type Variant = typeof VARIANTS[number]

export interface PairedThroughputRun {
  readonly cfg: PairedThroughputConfig
  readonly key: string
  readonly cert: string
  readonly log: (line: string) => void
}

export async function runPairedThroughput (run: PairedThroughputRun): Promise<PairedThroughputResults> {
  const { cfg } = run
  const rate: Record<string, number[]> = Object.fromEntries(VARIANTS.map(v => [v.id, []]))
  const cpu: Record<string, number[]> = Object.fromEntries(VARIANTS.map(v => [v.id, []]))
  const t0 = performance.now()
  type Run = { rate: number, main: number }
  const once = async ({ child, ports }: PairedProcess, v: Variant, instance: number): Promise<Run> => {
    const server = `${v.server}#${instance}`
    await child.request('cpuStart')
    const r = await throughput({
      port: ports[server] as number,
      header: v.header,
      messages: cfg.messages,
      payloadBytes: cfg.payloadBytes,
      batch: cfg.batch,
      window: cfg.window,
      timeoutMs: 120_000
    })
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
  const schedule = { ...cfg, name: 'broker:multi-tp', key: run.key, cert: run.cert, seed: 101, next: random(29) }
  const groupOf = await pairedProcesses(VARIANTS, schedule, async (p, v, instance, timed) => {
    const r = await once(p, v, instance)
    if (timed) {
      rate[v.id]?.push(r.rate)
      cpu[v.id]?.push(r.main)
    }
  })
  const timed = groupOf.length
  run.log(`  throughput (paired): ${timed} rounds in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  const ratioTo = (x: readonly number[], b: readonly number[]): Interval => groupedRatio(x, b, groupOf)
  const base = (data: Record<string, number[]>): number[] =>
    Array.from({ length: timed }, (_, i) => ((data.plain?.[i] ?? NaN) + (data['plain-again']?.[i] ?? NaN)) / 2)
  return {
    rounds: timed,
    epochs: cfg.epochs,
    instances: cfg.instances,
    messages: cfg.messages,
    variants: VARIANTS.map(v => ({
      id: v.id,
      label: v.label,
      msgsPerSec: meanInterval(rate[v.id] ?? []),
      cpuPerMsgUs: meanInterval(cpu[v.id] ?? [])
    })),
    ratio: ratioTo(rate.plugin ?? [], base(rate)),
    cpuRatio: ratioTo(cpu.plugin ?? [], base(cpu)),
    selfCheck: ratioTo(rate['plain-again'] ?? [], rate.plain ?? []),
    cpuSelfCheck: ratioTo(cpu['plain-again'] ?? [], cpu.plain ?? [])
  }
}
