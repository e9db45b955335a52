// The broker's once-a-minute lines (the library keeps its own collapser
// private): the first of a kind in full, then how many more in that minute.
/** The part of a pino logger this file writes to. */
export interface WarnLogger { warn: (record: object, message: string) => void }

/**
 * Logs the first event of a kind in full, then only counts the others for a
 * minute; when the minute ends with some counted, one line says how many.
 */
export class OncePerMinute {
  readonly #counted = new Map<string, number>()
  readonly #logger: WarnLogger
  readonly #windowMs: number
  constructor (logger: WarnLogger, windowMs = 60_000) {
    this.#logger = logger
    this.#windowMs = windowMs
  }

  /** `line` for the first of `key` in a minute; `summary(n)` at its end for the n held back. */
  say (key: string, line: () => [object, string], summary: (n: number) => [object, string]): void {
    const counted = this.#counted.get(key)
    if (counted !== undefined) { this.#counted.set(key, counted + 1); return }
    this.#counted.set(key, 0)
    this.#logger.warn(...line())
    setTimeout(() => {
      const n = this.#counted.get(key) ?? 0
      this.#counted.delete(key)
      if (n > 0) this.#logger.warn(...summary(n))
    }, this.#windowMs).unref()
  }
}
