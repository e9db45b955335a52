import type { Logger } from './options.js'
import { callUser } from './user-code.js'

/** Runs `fn` once after `ms` without keeping the process alive. */
export type Schedule = (fn: () => void, ms: number) => void

const unrefTimer: Schedule = (fn, ms) => { setTimeout(fn, ms).unref() }

interface Window { at: number, held: number }

/** A log line: its record (the fields) and its message. */
export type LogLine = readonly [record: object, message: string]

/** A level of a pino-compatible logger. */
export type LogLevel = keyof Logger

/** A line admitted after `held` held-back ones: the `repeated` field and a tail on its message (none for 0). */
function heldBack ([record, message]: LogLine, held: number): LogLine {
  if (held === 0) return [record, message]
  return [{ ...record, repeated: held }, `${message} (${held} more like it in the last minute not logged)`]
}

/**
 * Says the same thing once per window: the first line in full, then only
 * how many like it were held back, on the first line of the next window, or,
 * when none comes, in a summary when the window ends. A health check every
 * 2 s against a misconfigured listener is one error line a minute, not 30;
 * every refusal is still counted and emitted.
 */
export class Collapser {
  readonly #last = new Map<string, Window>()
  readonly #windowMs: number
  readonly #now: () => number
  readonly #schedule: Schedule
  /** Bound on the keys remembered (code × listener makes about a hundred). */
  static readonly MAX_KEYS = 1000

  constructor (windowMs = 60_000, now: () => number = Date.now, schedule: Schedule = unrefTimer) {
    this.#windowMs = windowMs
    this.#now = now
    this.#schedule = schedule
  }

  /**
   * @param summary - called when the window ends with lines held back and no
   *   line of this kind has come since: write how many there were
   * @returns undefined to hold this line back, or how many like it were held back before it (0 for a first).
   */
  admit (key: string, summary?: (held: number) => void): number | undefined {
    const now = this.#now()
    const last = this.#last.get(key)
    if (last !== undefined && now - last.at < this.#windowMs) {
      last.held++
      if (last.held === 1 && summary !== undefined) {
        this.#schedule(() => {
          // A line of this kind since then has said the count already.
          if (this.#last.get(key) !== last || last.held === 0) return
          this.#last.delete(key)
          summary(last.held)
        }, last.at + this.#windowMs - now)
      }
      return undefined
    }
    this.#last.delete(key)
    if (this.#last.size >= Collapser.MAX_KEYS) {
      const oldest = this.#last.keys().next()
      if (oldest.done !== true) this.#last.delete(oldest.value)
    }
    this.#last.set(key, { at: now, held: 0 })
    return last?.held ?? 0
  }

  /**
   * Logs a line of kind `key` at `level`, at most one a window: `line()`
   * builds the first in full (with `repeated` and a tail on its message
   * when lines of the kind were held back before it); the others are only
   * counted, and `summary(n)` says how many when the window ends with none
   * since. The logger is the user's code: what it throws is rethrown on the
   * next tick (see callUser), never into the caller.
   */
  say<L extends LogLevel> (logger: Pick<Logger, L>, level: L, key: string, line: () => LogLine,
    summary: (held: number) => LogLine): void {
    const write = ([record, message]: LogLine): void => { callUser(() => { logger[level](record, message) }) }
    const held = this.admit(key, n => { write(summary(n)) })
    if (held !== undefined) write(heldBack(line(), held))
  }
}

/** Warn lines at most once a minute per kind: what {@link oncePerMinute} returns. */
export interface OncePerMinute {
  /**
   * Logs `line()` for the first of `key` in a minute, only counts the others,
   * and logs `summary(n)` for the n held back when the minute ends.
   */
  say: (key: string, line: () => LogLine, summary: (held: number) => LogLine) => void
}

/**
 * Warn lines through `logger` at most once a minute per kind, as the plugins
 * write their refusals: the first in full, then how many more. The
 * ready-to-run broker's connection errors and drops use it; so may yours.
 */
export function oncePerMinute (logger: Pick<Logger, 'warn'>, windowMs = 60_000): OncePerMinute {
  const collapser = new Collapser(windowMs)
  return { say: (key, line, summary) => { collapser.say(logger, 'warn', key, line, summary) } }
}
