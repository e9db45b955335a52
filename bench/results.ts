// What a run measured, as the runner hands it to the report (report.ts).
import type { Outcome } from './candidates.js'
import type { Config } from './config.js'
import type { Interval, Summary } from './stats.js'

export interface Meta {
  readonly date: string
  readonly mode: 'quick' | 'full'
  durationS: number
  readonly machine: {
    readonly nproc: number,
    readonly cpuModel: string,
    readonly node: string,
    readonly platform: string
    readonly totalMemGiB: number
    /** 1-minute load average when the run started and when it ended (the machine may be shared). */
    readonly loadavg: { start: number, end: number }
  }
  readonly config: Config
  readonly packages: Readonly<Record<string, string>>
  readonly notes: string[]
}

export interface CorrectnessRow extends Outcome {
  /** 'correct', or what is wrong (another start or source than the case's, a throw). */
  readonly verdict: string
}

export interface ParseResults {
  readonly cases: ReadonlyArray<{ readonly id: string, readonly label: string, readonly headerBytes: number }>
  readonly candidates: ReadonlyArray<{
    readonly id: string, readonly label: string, readonly note: string, readonly error?: string
  }>
  /** case id -> candidate id -> ops/s over repetitions. */
  readonly opsPerSec: Record<string, Record<string, Summary | { readonly error: string }>>
  /** The TLV case: where each candidate thinks the MQTT bytes start. */
  readonly correctness: Record<string, CorrectnessRow>
  /**
   * Issue 13: per case, the fastest other parser whose answer is not wrong
   * (right header length when it reports one, right source address and
   * port), ours ÷ its ops/s and ours ÷ the fixed-field reader's, paired per
   * repetition; and why each other parser's answer is wrong, if it is.
   */
  readonly peers?: Record<string, PeerComparison>
}

export interface PeerComparison {
  /** Candidate id of the fastest correct other parser; null when there is none. */
  readonly best: string | null
  readonly ratioToBest?: Summary
  readonly ratioToHand?: Summary
  /** The same parse with every TLV read (ours-read) ÷ the fastest correct other parser. */
  readonly readRatioToBest?: Summary
  /** Candidate id -> what is wrong with its answer on this case. */
  readonly wrong: Record<string, string>
}

export interface ProbeResult {
  readonly id: string,
  readonly label: string,
  readonly count: number,
  readonly ok: number,
  readonly failed: number
  readonly failures: Record<string, number>
  readonly brokerCrashed: boolean,
  readonly crash?: string
  readonly brokerErrors?: number,
  readonly brokerErrorSample?: string
}

export interface PairedVariantResult {
  readonly id: string,
  readonly label: string,
  readonly family: 'tcp' | 'tls'
  /** Connections per batch. */
  readonly count: number
  readonly failed: number
  readonly baseline?: true
}

/** One way of counting CPU (the main thread, or the whole process), over the rounds. */
export interface Measure {
  /** Per variant: CPU µs per connection, mean over rounds with its 95 % interval. */
  readonly perConnUs: Record<string, Interval>
  /**
   * Per variant (not the baselines): CPU per connection ÷ the same round's
   * plain (or plain TLS) brokers', geometric mean over rounds, 95 % interval.
   */
  readonly ratio: Record<string, Interval>
  /** The second plain broker ÷ the first, taken as every ratio is: must be 1.00 within its interval. */
  readonly selfCheck: { readonly tcp: Interval, readonly tls: Interval }
  /** The plugin (recommended configuration, v1) ÷ aedes-server-factory trustProxy (v1), per round. */
  readonly vsIncumbent?: Interval
}

/** The run's settings (`rounds`: the timed rounds actually run), and what it measured. */
export interface PairedResults extends Omit<Config['cpu'], 'timeoutMs'> {
  readonly wallS: number
  readonly variants: PairedVariantResult[]
  /** The broker's main thread (Linux schedstat): where JavaScript, the parser and aedes run. */
  readonly mainThread: Measure
  /** The whole broker process (process.cpuUsage()): also V8's GC and compiler threads. */
  readonly process: Measure
}

export interface PairedThroughputResults {
  readonly rounds: number,
  readonly epochs: number,
  readonly instances: number,
  readonly messages: number
  readonly variants: ReadonlyArray<{
    readonly id: string, readonly label: string, readonly msgsPerSec: Interval, readonly cpuPerMsgUs: Interval
  }>
  /** plugin ÷ the round's plain brokers, messages/s. */
  readonly ratio: Interval
  /** The same for the broker's main-thread CPU per message. */
  readonly cpuRatio: Interval
  /** The second plain broker ÷ the first: the method against itself. */
  readonly selfCheck: Interval
  readonly cpuSelfCheck: Interval
}

export interface Target {
  readonly id: string,
  readonly text: string,
  readonly measured: string
  /** null: not measured in this run. */
  readonly met: boolean | null
}

export interface Results {
  readonly meta: Meta
  parse?: ParseResults
  cpu?: PairedResults
  probes?: ProbeResult[]
  throughput?: PairedThroughputResults
  targets: Target[]
}
