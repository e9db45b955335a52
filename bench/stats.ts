// Small statistics helpers: medians with min-max spread over repetitions,
// paired ratios, and means with their 95 % interval over groups of rounds.

/** A value measured once per repetition, summarised. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function summarize (values: readonly number[]): Summary {
  const finite = values.filter(v => Number.isFinite(v))
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) }
}

/**
 * Ratio of a variant to its baseline, per repetition (the two were measured
 * back to back), summarised: the median of the paired ratios is less
 * sensitive to slow drift on a shared machine than a ratio of medians.
 */
export function pairedRatio (variant: readonly number[], baseline: readonly number[]): Summary {
  const n = Math.min(variant.length, baseline.length)
  const ratios: number[] = []
  for (let i = 0; i < n; i++) ratios.push((variant[i] as number) / (baseline[i] as number))
  return summarize(ratios)
}

/** Rotation of `items` for repetition `rep`, so no variant always runs first. */
export function rotate<T> (items: readonly T[], rep: number): T[] {
  if (items.length === 0) return []
  const k = rep % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

/** A mean with its 95 % confidence interval. */
export interface Interval {
  readonly mean: number
  readonly lo: number
  readonly hi: number
}

/**
 * Student's t quantile for 97.5 % (a two-sided 95 % interval) with `df`
 * degrees of freedom: the table's values up to 4, then the Cornish-Fisher
 * expansion around the normal quantile, within 0.1 % of the table for df ≥ 5.
 */
const T975_SMALL = [Number.NaN, 12.706, 4.303, 3.182, 2.776]
export function t975 (df: number): number {
  if (df < T975_SMALL.length) return T975_SMALL[df] ?? Number.NaN
  const z = 1.959963984540054
  const z3 = z ** 3
  const z5 = z ** 5
  const z7 = z ** 7
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) +
    (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3)
}

/**
 * The mean of `values` with a 95 % confidence interval (Student's t), the
 * three mapped through `transform` (Math.exp for a mean of log ratios: a
 * geometric mean ratio and its interval).
 */
export function meanInterval (values: readonly number[], transform: (x: number) => number = x => x): Interval {
  const finite = values.filter(v => Number.isFinite(v))
  const n = finite.length
  if (n < 2) return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN }
  const mean = finite.reduce((s, v) => s + v, 0) / n
  const sd = Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1))
  const half = t975(n - 1) * sd / Math.sqrt(n)
  return { mean: transform(mean), lo: transform(mean - half), hi: transform(mean + half) }
}

/** A small seeded generator (mulberry32): the same shuffles on every run. */
export function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function shuffled<T> (items: readonly T[], next: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const t = out[i] as T
    out[i] = out[j] as T
    out[j] = t
  }
  return out
}
