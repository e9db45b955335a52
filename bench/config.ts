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
  /** Repetitions; `targetMs`: the length of one timed loop. */
  readonly parse: { readonly reps: number, readonly targetMs: number }
  /** Connections per failure probe (aedes-server-factory cases). */
  readonly probeCount: number
  /** Broker CPU per connection, every variant in one process (paired.ts): connections per batch (TCP, TLS). */
  readonly cpu: PairedSchedule & { count: number, tlsCount: number, concurrency: number, timeoutMs: number }
  /** Throughput, every broker in one process (paired.ts): QoS 0 messages per run, per write (`batch`), in flight. */
  readonly throughput: PairedSchedule & { messages: number, payloadBytes: number, batch: number, window: number }
}

export const CONFIGS: Readonly<Record<'quick' | 'full', Config>> = {
  quick: {
    mode: 'quick',
    deadlineMs: 150_000,
    parse: { reps: 5, targetMs: 30 },
    cpu: {
      rounds: 24, epochs: 1, instances: 3, warmupRounds: 6, count: 40, tlsCount: 8, concurrency: 8, timeoutMs: 5000
    },
    probeCount: 10,
    throughput: {
      rounds: 8, epochs: 1, instances: 2, warmupRounds: 2, messages: 4000, payloadBytes: 64, batch: 100, window: 4000
    }
  },
  full: {
    mode: 'full',
    deadlineMs: 900_000,
    parse: { reps: 9, targetMs: 150 },
    cpu: {
      rounds: 300, epochs: 2, instances: 6, warmupRounds: 20, count: 50, tlsCount: 10, concurrency: 8, timeoutMs: 10_000
    },
    probeCount: 20,
    throughput: {
      rounds: 96, epochs: 2, instances: 6, warmupRounds: 4, messages: 10_000, payloadBytes: 64, batch: 100, window: 4000
    }
  }
}
