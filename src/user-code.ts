import { escapeUnclean } from './protocol/text.js'

/**
 * Runs a user's code (an event listener, the logger) about a connection the
 * plugin is still handling. Whatever it throws is rethrown on the next tick,
 * as an EventEmitter listener's exception would reach `uncaughtException`,
 * but only after the plugin has handed the connection over or closed it.
 */
export function callUser (fn: () => void): void {
  try {
    fn()
  } catch (err) {
    rethrowLater(err)
  }
}

/** Rethrows `err` on the next tick, where it reaches `uncaughtException` as a listener's exception would. */
export function rethrowLater (err: unknown): void {
  process.nextTick(() => { throw err })
}

/**
 * A peer's string (a client id, a user name, a topic) as a log field: at
 * most `max` characters, then `…`; anything that is not clean text (see
 * docs/api.md, "Clean text in hooks and logs") written as a `\uXXXX` escape, so it can neither
 * break a line nor print as another name. The plugins' lines and the
 * ready-to-run broker's use it; so may yours.
 */
export function logText (text: string, max = 256): string {
  return escapeUnclean(text, max)
}
