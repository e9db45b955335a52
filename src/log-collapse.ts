/** Runs `fn` once after `ms` without keeping the process alive. */
export type Schedule = (fn: () => void, ms: number) => void

const unrefTimer: Schedule = (fn, ms) => { setTimeout(fn, ms).unref() }

interface Window { at: number, held: number }

/** What a line admitted after `held` held-back ones adds: the `repeated` field and a tail for its message. */
export interface HeldBack { readonly fields: { readonly repeated?: number }, readonly tail: string }

const NONE_HELD: HeldBack = Object.freeze({ fields: Object.freeze({}), tail: '' })

/** The `repeated` field and message tail of a line admitted after `held` held-back ones (none for 0). */
export function heldBack (held: number): HeldBack {
  return held > 0 ? { fields: { repeated: held }, tail: ` (${held} more like it in the last minute not logged)` } : NONE_HELD
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
}
