// Heap measurements that mean something: a full collection before each
// reading, whether or not node was started with --expose-gc.
import v8 from 'node:v8'
import vm from 'node:vm'

let collect: (() => void) | undefined

/** Node's `gc()`, obtained without --expose-gc: the flag can be set at run time. */
function gcFunction (): () => void {
  if (collect !== undefined) return collect
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') {
    collect = exposed
  } else {
    v8.setFlagsFromString('--expose-gc')
    collect = vm.runInNewContext('gc') as () => void
  }
  return collect
}

/** Runs full collections until the heap stops shrinking, then returns the bytes in use. */
export async function settledHeap (): Promise<number> {
  const gc = gcFunction()
  let last = Infinity
  for (let i = 0; i < 6; i++) {
    gc()
    await new Promise(resolve => setImmediate(resolve))
    const used = process.memoryUsage().heapUsed
    if (used >= last - 64 * 1024) return used
    last = used
  }
  return last
}

/** After full collections: the JavaScript heap plus Buffer memory (which lives outside it). */
export async function settledMemory (): Promise<number> {
  await settledHeap()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}
