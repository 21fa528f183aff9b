/**
 * Which checkpoints of a run to keep when storage runs short (thesis §5.6):
 * a few evenly spaced across iterations, always including the last, so that
 * parallel replay gets balanced partitions and suffix/prefix scans the end state.
 *
 * @since 0.1.0
 */

/**
 * The checkpoints to keep out of those a run has (`iterations`, in any order,
 * duplicates ignored): `n` evenly spaced ones, the last always among them.
 *
 * Spacing rule: with `last` the greatest iteration, target `k` (k = 1..n) is
 * iteration `k · last / n`, so the targets cut the run `0..last` into `n` equal
 * partitions and target `n` is `last` itself. Targets are matched in order, each
 * to the checkpoint nearest to it (a tie goes to the earlier one) among those
 * after the previous pick that leave one checkpoint for every remaining target.
 * So exactly `n` distinct checkpoints are kept when the run has more than `n`;
 * all are kept when `n` is at least their count; `n = 0` (or 1) keeps only the
 * last; no checkpoints keeps none. `n` is floored; negative counts as 0.
 *
 * Examples over iterations 1..10: n = 2 → {5, 10}; n = 3 → {3, 7, 10};
 * n = 4 → {2, 5, 7, 10}.
 */
export const keepEvenly = (iterations: ReadonlyArray<number>, n: number): ReadonlySet<number> => {
  const sorted = [...new Set(iterations)].sort((a, b) => a - b)
  const count = sorted.length
  const wanted = Number.isFinite(n) ? Math.max(1, Math.floor(n)) : n > 0 ? count : 1
  if (count === 0) return new Set()
  if (wanted >= count) return new Set(sorted)
  const last = sorted[count - 1]!
  const keep = new Set<number>()
  let next = 0
  for (let k = 1; k <= wanted; k++) {
    const target = (k * last) / wanted
    // Leave one checkpoint for each of the wanted - k targets still to match.
    const end = count - (wanted - k)
    let best = next
    for (let i = next + 1; i < end; i++) {
      if (Math.abs(sorted[i]! - target) < Math.abs(sorted[best]! - target)) best = i
    }
    keep.add(sorted[best]!)
    next = best + 1
  }
  return keep
}
