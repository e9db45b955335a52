// What a run measured, as the runner hands it to the report (report.ts).
import type { Outcome } from './candidates.js'
import type { Config } from './config.js'
import type { StormResult } from './loadgen.js'
import type { Interval, Summary } from './stats.js'

interface LoadAverage { start: number, end: number }

export interface Meta {
  readonly date: string
  readonly mode: 'quick' | 'full'
  durationS: number
  /** loadavg: the 1-minute load average when the run started and when it ended (the machine may be shared). */
  readonly machine: {
    nproc: number, cpuModel: string, node: string, platform: string, totalMemGiB: number, loadavg: LoadAverage
  }
  readonly config: Config
  readonly packages: Readonly<Record<string, string>>
  readonly notes: string[]
}

/** `verdict`: 'correct', or what is wrong (another start or source than the case's, a throw). */
export interface CorrectnessRow extends Outcome { readonly verdict: string }

export interface ParseResults {
  readonly cases: ReadonlyArray<{ readonly id: string, readonly label: string, readonly headerBytes: number }>
  readonly candidates: ReadonlyArray<{ id: string, label: string, note: string, error?: string }>
  /** case id -> candidate id -> ops/s over repetitions. */
  readonly opsPerSec: Record<string, Record<string, Summary | { readonly error: string }>>
  /** The TLV case: where each candidate thinks the MQTT bytes start. */
  readonly correctness: Record<string, CorrectnessRow>
  readonly peers: Record<string, PeerComparison>
}

/**
 * Issue 13, per case: the fastest other parser whose answer is not wrong
 * (null: none), ours ÷ it and ours ÷ the fixed-field reader, and the same
 * parse with every TLV read (ours-read) ÷ it, paired per repetition; and
 * why each other parser's answer is wrong, by candidate id.
 */
export interface PeerComparison {
  readonly best: string | null
  readonly ratioToBest: Summary | undefined
  readonly ratioToHand: Summary | undefined
  readonly readRatioToBest: Summary | undefined
  readonly wrong: Record<string, string>
}

/** A failure probe: its connections' fate, and the broker's (`crash`: its exit and error; its 'error' events). */
export interface ProbeResult extends StormResult {
  readonly id: string
  readonly label: string
  readonly count: number
  readonly brokerCrashed: boolean
  readonly crash?: string
  readonly brokerErrors?: number
  readonly brokerErrorSample?: string
}

/** `count`: connections per batch. */
export interface PairedVariantResult {
  id: string, label: string, family: 'tcp' | 'tls', count: number, failed: number, baseline?: true
}

/** One way of counting CPU (the main thread, or the whole process), over the rounds. */
export interface Measure {
  /** Per variant: CPU µs per connection, mean over rounds with its 95 % interval. */
  readonly perConnUs: Record<string, Interval>
  /** Per variant but the baselines: ÷ the round's plain (or plain TLS) brokers, geometric mean, 95 % interval. */
  readonly ratio: Record<string, Interval>
  /** The second plain broker ÷ the first, taken as every ratio is: must be 1.00 within its interval. */
  readonly selfCheck: { readonly tcp: Interval, readonly tls: Interval }
  /** The plugin (recommended configuration, v1) ÷ aedes-server-factory trustProxy (v1), per round. */
  readonly vsIncumbent?: Interval
}

/**
 * The run's settings (`rounds`: the timed rounds actually run), and what it
 * measured on the broker's main thread (Linux schedstat: JavaScript, the
 * parser, aedes) and in the whole process (process.cpuUsage(): also V8's GC
 * and compiler threads).
 */
export interface PairedResults extends Omit<Config['cpu'], 'timeoutMs'> {
  readonly wallS: number
  readonly variants: PairedVariantResult[]
  readonly mainThread: Measure
  readonly process: Measure
}

/**
 * The run's settings (`rounds`: the timed rounds actually run); `ratio`:
 * plugin ÷ the round's plain brokers, messages/s (`cpuRatio`: the main
 * thread's CPU per message); `selfCheck`, `cpuSelfCheck`: the second plain
 * broker ÷ the first, the method against itself.
 */
export interface PairedThroughputResults extends Readonly<Config['throughput']> {
  readonly variants: ReadonlyArray<{ id: string, label: string, msgsPerSec: Interval, cpuPerMsgUs: Interval }>
  readonly ratio: Interval
  readonly cpuRatio: Interval
  readonly selfCheck: Interval
  readonly cpuSelfCheck: Interval
}

/** `met` null: not measured in this run. */
export interface Target { readonly text: string, readonly measured: string, readonly met: boolean | null }

export interface Results {
  readonly meta: Meta
  parse?: ParseResults
  cpu?: PairedResults
  probes?: ProbeResult[]
  throughput?: PairedThroughputResults
  targets: Target[]
}
