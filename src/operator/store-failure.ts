import type { Logger } from '../options.js'
import { callUser } from '../user-code.js'

/**
 * Runs one store operation whose result nobody waits for (a session added,
 * removed): a store that throws or rejects (Redis gone) is logged at error
 * level, never thrown, so a store outage cannot take the broker down.
 */
export function detached (what: string, logger: Logger | undefined, op: () => unknown): void {
  const failed = (err: unknown): void => { storeFailed(what, logger, err) }
  try {
    const result = op()
    if (typeof (result as { then?: unknown } | null)?.then === 'function') (result as PromiseLike<unknown>).then(undefined, failed)
  } catch (err) {
    failed(err)
  }
}

/** Logs a store failure (the operation, the error). */
export function storeFailed (what: string, logger: Logger | undefined, err: unknown): void {
  if (logger !== undefined) callUser(() => { logger.error({ event: 'store-failed', operation: what, reason: err instanceof Error ? err.message : String(err) }, `${what}: the store failed`) })
}
