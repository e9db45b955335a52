// The shape of bench/results/*.json, shared by the runner and the reporters.
import type { Outcome } from './candidates.js'
import type { Config } from './config.js'
import type { Interval, Summary } from './stats.js'

export interface Machine {
  readonly nproc: number
  readonly cpuModel: string
  readonly node: string
  readonly platform: string
  readonly totalMemGiB: number
  /** 1-minute load average when the run started and when it ended (the machine may be shared). */
  readonly loadavg: { start: number, end: number }
}

export interface Meta {
  readonly date: string
  readonly mode: 'quick' | 'full'
  durationS: number
  readonly machine: Machine
  readonly config: Config
  readonly packages: Readonly<Record<string, string>>
  readonly notes: string[]
}

export interface CorrectnessRow extends Outcome {
  readonly expectedStart: number
  readonly expectedSource: string
  /** The MQTT bytes start where the candidate says. */
  readonly correct: boolean
  /** The source address is the canonical (RFC 5952) text and the port is right. */
  readonly sourceCorrect: boolean
  readonly verdict: string
}

export interface ParseResults {
  readonly cases: ReadonlyArray<{ readonly id: string, readonly label: string, readonly headerBytes: number, readonly totalBytes: number }>
  readonly candidates: ReadonlyArray<{ readonly id: string, readonly label: string, readonly note: string, readonly error?: string }>
  /** case id -> candidate id -> ops/s over repetitions. */
  readonly opsPerSec: Record<string, Record<string, Summary | { readonly error: string }>>
  /** case id -> candidate id -> ops/s ÷ the hand-written reader's, paired per repetition. */
  readonly ratioToHand: Record<string, Record<string, Summary>>
  /** The TLV case: where each candidate thinks the MQTT bytes start. */
  readonly correctness: Record<string, CorrectnessRow>
  /** Every case, every candidate: what it made of the bytes. */
  readonly outcomes: Record<string, Record<string, Outcome>>
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

export interface ConnVariantResult {
  readonly id: string
  readonly label: string
  readonly baseline?: string
  readonly count: number
  readonly connPerSec: Summary
  readonly cpuPerConnUs: Summary
  readonly p50Ms: Summary
  readonly p99Ms: Summary
  readonly failed: number
  readonly failures: Record<string, number>
  /** Broker CPU per connection ÷ its baseline's, paired per repetition. */
  readonly cpuRatio?: Summary
  /** Broker CPU per connection ÷ plain aedes' (or plain TLS'), paired per repetition. */
  readonly cpuRatioVsPlain?: Summary
  /** Connections/s ÷ the baseline's. */
  readonly rateRatio?: Summary
  /** Total broker CPU ÷ total connections over all repetitions, ÷ the baseline's (a mean, where the median is robust). */
  readonly cpuRatioOfTotals?: number
}

export interface ProbeResult {
  readonly id: string
  readonly label: string
  readonly count: number
  readonly ok: number
  readonly failed: number
  readonly failures: Record<string, number>
  readonly brokerCrashed: boolean
  readonly crash?: string
  readonly brokerErrors?: number
  readonly brokerErrorSample?: string
}

export interface ConnResults {
  readonly variants: ConnVariantResult[]
  readonly probes: ProbeResult[]
  /** Split variants: connections whose first read at the broker was the first write alone. */
  readonly splitDelivery: Record<string, { readonly connections: number, readonly split: number }>
}

export interface PairedVariantResult {
  readonly id: string
  readonly label: string
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
  /** Per variant (not the baselines): CPU per connection ÷ the same round's plain (or plain TLS) brokers', geometric mean over rounds, 95 % interval. */
  readonly ratio: Record<string, Interval>
  /** The second plain broker ÷ the first, taken as every ratio is: must be 1.00 within its interval. */
  readonly selfCheck: { readonly tcp: Interval, readonly tls: Interval }
  /** The plugin (recommended configuration, v1) ÷ aedes-server-factory trustProxy (v1), per round. */
  readonly vsIncumbent?: Interval
  /** Per variant, every round's CPU µs per connection, in run order. */
  readonly samples: Record<string, readonly number[]>
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

export interface ThroughputVariantResult {
  readonly id: string
  readonly label: string
  readonly msgsPerSec: Summary
  readonly cpuPerMsgUs: Summary
}

export interface ThroughputResults {
  readonly variants: ThroughputVariantResult[]
  /** plugin ÷ direct messages/s, paired per repetition. */
  readonly ratio: Summary
  readonly cpuRatio: Summary
  /** The same in one process (paired-throughput.ts): what the target is judged on. */
  readonly paired?: PairedThroughputResults
}

export interface PairedThroughputResults {
  readonly rounds: number
  readonly epochs: number
  readonly instances: number
  readonly messages: number
  readonly variants: ReadonlyArray<{ readonly id: string, readonly label: string, readonly msgsPerSec: Interval, readonly cpuPerMsgUs: Interval }>
  /** plugin ÷ the round's plain brokers, messages/s. */
  readonly ratio: Interval
  /** The same for the broker's main-thread CPU per message. */
  readonly cpuRatio: Interval
  /** The second plain broker ÷ the first: the method against itself. */
  readonly selfCheck: Interval
  readonly cpuSelfCheck: Interval
}

export interface IdleVariantResult {
  readonly id: string
  readonly label: string
  readonly opened: Summary
  /** Bytes per socket: heapUsed + external, after a full GC. */
  readonly heapPerSocket: Summary
  /** Bytes per socket: RSS. */
  readonly rssPerSocket: Summary
  /** Bytes per socket beyond the bare net.Server's, paired per repetition. */
  readonly extraHeapVsBare?: Summary
  readonly extraRssVsBare?: Summary
  /** Fraction of sockets the broker closed within timeout + grace. */
  readonly closedFraction: Summary
  /** ms from connect to the broker's close, median and max over sockets. */
  readonly closeP50Ms: Summary
  readonly closeMaxMs: Summary
}

export interface IdleResults {
  readonly sockets: number
  readonly timeoutMs: number
  readonly watchedMs: number
  readonly variants: IdleVariantResult[]
}

export interface Target {
  readonly id: string
  readonly text: string
  readonly measured: string
  /** null: not measured in this run. */
  readonly met: boolean | null
}

export interface Results {
  readonly meta: Meta
  parse?: ParseResults
  connections?: ConnResults
  cpu?: PairedResults
  throughput?: ThroughputResults
  idle?: IdleResults
  targets: Target[]
}
