import { Collapser } from '../log-collapse.js'
import type { Logger } from '../options.js'

/**
 * Runs one store operation whose result nobody waits for (a session added,
 * removed): a store that throws or rejects (Redis gone) is logged at error
 * level, never thrown, so a store outage cannot take the broker down.
 */
export function detached (what: string, logger: Logger | undefined, op: () => unknown): void {
  const failed = (err: unknown): void => { storeFailed(what, logger, err) }
  try {
    const result = op()
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, failed)
    }
  } catch (err) {
    failed(err)
  }
}

/** Per logger: an outage fails the same operation again and again (a heartbeat every few seconds). */
const windows = new WeakMap<Logger, Collapser>()

/**
 * Logs a store failure (the operation, the error): the first of an
 * operation in full, then one line a minute saying how many more, so a
 * store that stays away does not flood the log.
 */
export function storeFailed (what: string, logger: Logger | undefined, err: unknown): void {
  if (logger === undefined) return
  let collapser = windows.get(logger)
  if (collapser === undefined) windows.set(logger, collapser = new Collapser())
  collapser.say(logger, 'error', what,
    () => [{ event: 'store-failed', operation: what, reason: err instanceof Error ? err.message : String(err) },
      `${what}: the store failed`],
    n => [{ event: 'store-failed', operation: what, repeated: n },
      `${what}: the store failed ${n} more times in the last minute, not logged one by one`])
}
