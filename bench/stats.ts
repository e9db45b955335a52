// Small statistics helpers: medians with min-max spread over repetitions,
// and percentiles of one repetition's samples.

/** A value measured once per repetition, summarised. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  /** Every repetition's value, in run order. */
  readonly values: readonly number[]
}

export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function summarize (values: readonly number[]): Summary {
  const finite = values.filter(v => Number.isFinite(v))
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, values: [...values] }
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), values: [...values] }
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile (samples: ArrayLike<number>, p: number): number {
  const n = samples.length
  if (n === 0) return Number.NaN
  const sorted = Float64Array.from(samples).sort()
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)))
  return sorted[rank - 1] as number
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
