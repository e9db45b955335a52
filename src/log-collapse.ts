/**
 * Says the same thing once per window: the first line in full, then only
 * how many like it were held back, on the first line of the next window. A
 * health check every 2 s against a misconfigured listener is one error line
 * a minute, not 30; every refusal is still counted and emitted.
 */
export class Collapser {
  readonly #last = new Map<string, { at: number, held: number }>()
  readonly #windowMs: number
  readonly #now: () => number
  /** Bound on the keys remembered (code × listener makes about a hundred). */
  static readonly MAX_KEYS = 1000

  constructor (windowMs = 60_000, now: () => number = Date.now) {
    this.#windowMs = windowMs
    this.#now = now
  }

  /** @returns undefined to hold this line back, or how many like it were held back before it (0 for a first). */
  admit (key: string): number | undefined {
    const now = this.#now()
    const last = this.#last.get(key)
    if (last !== undefined && now - last.at < this.#windowMs) {
      last.held++
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
