/**
 * Contiguous, balanced partitions of a main loop for parallel replay.
 *
 * @since 0.1.0
 */

/** Splits iterations `[from, to)` into at most `parts` contiguous ranges whose sizes differ by at most one. */
export const partition = (from: number, to: number, parts: number): Array<readonly [number, number]> => {
  const n = Math.max(0, to - from)
  const g = Math.max(1, Math.min(parts, n))
  const out: Array<readonly [number, number]> = []
  let start = from
  for (let i = 0; i < g; i++) {
    const size = Math.floor(n / g) + (i < n % g ? 1 : 0)
    if (size > 0) out.push([start, start + size] as const)
    start += size
  }
  return out
}
