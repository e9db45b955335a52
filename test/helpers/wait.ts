// Bounded polling for tests.

/** Polls `check` every 20 ms until it is true or `ms` pass. */
export async function until (check: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
