/**
 * Adaptive periodic checkpointing (thesis §4.3, Eq. 4.4): after an outer-loop
 * iteration, checkpoint iff `M/C < n/(k+1) · min(1/(1+c), ε)`, i.e. the
 * checkpoints taken so far, plus this one, cost at most ε of the compute so far
 * and restoring stays cheaper than recomputing.
 *
 * @since 0.1.0
 */

/** Default overhead tolerance ε. */
export const DEFAULT_EPSILON = 0.0667
/** Default restore/materialize ratio c (thesis' measured average). */
export const DEFAULT_RESTORE_RATIO = 1.38

/** What the rule needs after iteration `n` of the main loop. */
export interface Observation {
  /** Materialization time of one checkpoint (s); undefined before any was measured. */
  readonly materialize: number | undefined
  /** Compute time per iteration so far (s), averaged over `n`. */
  readonly compute: number
  /** Iterations executed so far, this one included. */
  readonly n: number
  /** Checkpoints taken so far. */
  readonly k: number
  /** Restore/materialize ratio c. */
  readonly restoreRatio: number
  /** Overhead tolerance ε. */
  readonly epsilon: number
  /** Whether this is the loop's last iteration (always checkpointed). */
  readonly last: boolean
}

/** The Joint Invariant threshold `n/(k+1) · min(1/(1+c), ε)`. */
export const threshold = (o: Pick<Observation, "n" | "k" | "restoreRatio" | "epsilon">): number =>
  (o.n / (o.k + 1)) * Math.min(1 / (1 + o.restoreRatio), o.epsilon)

/**
 * Whether to checkpoint now. The last iteration is always checkpointed (suffix and
 * validation scans need the end state); with no measurement yet, the first
 * checkpoint is taken to measure M.
 */
export const shouldCheckpoint = (o: Observation): boolean => {
  if (o.last) return true
  if (o.materialize === undefined) return true
  if (o.compute <= 0) return false
  return o.materialize / o.compute < threshold(o)
}

/**
 * Refines c from measured restore and materialize times (seconds); keeps the
 * prior when there is nothing to learn from.
 */
export const refineRestoreRatio = (
  restores: ReadonlyArray<number>,
  materializes: ReadonlyArray<number>,
  prior = DEFAULT_RESTORE_RATIO
): number => {
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
  if (restores.length === 0 || materializes.length === 0) return prior
  const m = mean(materializes)
  return m > 0 ? mean(restores) / m : prior
}
