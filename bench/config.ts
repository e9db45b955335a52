// Counts for the two modes. Full: under 10 minutes on 2 cores; quick: under 1.

/** How a paired run (paired.ts) is spread over processes and rounds. */
export interface PairedSchedule {
  /** Timed rounds in all, spread over the epochs. */
  readonly rounds: number
  /** Fresh broker processes, one after the other, each warmed up. */
  readonly epochs: number
  /** Broker instances per variant in each process; rounds rotate between them. */
  readonly instances: number
  /** Untimed rounds first in each process (aedes takes a few thousand connections to settle). */
  readonly warmupRounds: number
}

export interface Config {
  readonly mode: 'quick' | 'full'
  /** Hard stop for the whole run (every loop is bounded anyway). */
  readonly deadlineMs: number
  readonly parse: {
    readonly reps: number
    /** Length of one timed loop. */
    readonly targetMs: number
  }
  readonly connections: {
    readonly reps: number
    /** Connections per repetition, plain TCP variants. */
    readonly count: number
    /** Connections per repetition, TLS variants (a handshake costs ~5x more). */
    readonly tlsCount: number
    /**
     * Warm-up connections per broker process before the first repetition
     * (TLS: a fifth), spread over the variants it serves. aedes takes a few
     * thousand connections to reach a steady CPU cost per connection.
     */
    readonly warmup: number
    readonly concurrency: number
    /** Fresh broker processes this many times, repetitions spread evenly over them. */
    readonly epochs: number
    /** Interleaved batches per repetition: every variant runs count/batches connections per batch. */
    readonly batches: number
    /** Delay between the two writes of a split header. */
    readonly splitDelayMs: number
    readonly timeoutMs: number
    /** Connections per failure probe (aedes-server-factory cases). */
    readonly probeCount: number
  }
  /** Broker CPU per connection, every variant in one process (paired.ts). */
  readonly cpu: PairedSchedule & {
    /** Connections per batch, plain TCP variants. */
    readonly count: number
    /** Connections per batch, TLS variants. */
    readonly tlsCount: number
    readonly concurrency: number
    readonly timeoutMs: number
  }
  readonly throughput: {
    readonly reps: number
    readonly messages: number
    readonly payloadBytes: number
    readonly batch: number
    readonly window: number
    /** Interleaved runs per repetition (messages/batches each). */
    readonly batches: number
  }
  /** Throughput, every broker in one process (paired-throughput.ts). */
  readonly throughputPaired: PairedSchedule & {
    /** QoS 0 messages per run. */
    readonly messages: number
  }
  readonly idle: {
    readonly reps: number
    /** At most the plugin's maxPending (1000 by default): beyond it new connections are refused at once, by design. */
    readonly sockets: number
    readonly concurrency: number
    /** The plugin's headerTimeout and aedes' connectTimeout, both. */
    readonly timeoutMs: number
    /** How long past the timeout to keep watching for the broker to close. */
    readonly graceMs: number
  }
}

export const CONFIGS: Readonly<Record<'quick' | 'full', Config>> = {
  quick: {
    mode: 'quick',
    deadlineMs: 150_000,
    parse: { reps: 5, targetMs: 30 },
    connections: { reps: 6, epochs: 1, count: 120, tlsCount: 24, warmup: 800, concurrency: 32, batches: 3, splitDelayMs: 20, timeoutMs: 5000, probeCount: 10 },
    cpu: { rounds: 24, epochs: 1, instances: 3, warmupRounds: 6, count: 40, tlsCount: 8, concurrency: 8, timeoutMs: 5000 },
    throughput: { reps: 4, messages: 20_000, payloadBytes: 64, batch: 100, window: 4000, batches: 2 },
    throughputPaired: { rounds: 8, epochs: 1, instances: 2, warmupRounds: 2, messages: 4000 },
    idle: { reps: 2, sockets: 900, concurrency: 100, timeoutMs: 3000, graceMs: 1500 }
  },
  full: {
    mode: 'full',
    deadlineMs: 900_000,
    parse: { reps: 9, targetMs: 150 },
    connections: { reps: 21, epochs: 3, count: 800, tlsCount: 80, warmup: 3000, concurrency: 32, batches: 4, splitDelayMs: 20, timeoutMs: 10_000, probeCount: 20 },
    cpu: { rounds: 300, epochs: 2, instances: 6, warmupRounds: 20, count: 50, tlsCount: 10, concurrency: 8, timeoutMs: 10_000 },
    throughput: { reps: 15, messages: 120_000, payloadBytes: 64, batch: 100, window: 4000, batches: 4 },
    throughputPaired: { rounds: 96, epochs: 2, instances: 6, warmupRounds: 4, messages: 10_000 },
    idle: { reps: 5, sockets: 900, concurrency: 100, timeoutMs: 3000, graceMs: 2000 }
  }
}
