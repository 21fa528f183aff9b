import { describe, expect, it } from "vitest"
import { DEFAULT_EPSILON, refineRestoreRatio, shouldCheckpoint, threshold } from "../src/domain/Adaptive.js"

const base = { restoreRatio: 1.38, epsilon: DEFAULT_EPSILON, last: false }

/** Simulates a main loop of `iterations` with constant compute C and materialization M. */
const simulate = (iterations: number, C: number, M: number, epsilon = DEFAULT_EPSILON) => {
  const taken: Array<number> = []
  let measured: number | undefined
  for (let i = 1; i <= iterations; i++) {
    const take = shouldCheckpoint({
      materialize: measured,
      compute: C,
      n: i,
      k: taken.length,
      restoreRatio: 1.38,
      epsilon,
      last: i === iterations
    })
    if (take) {
      taken.push(i)
      measured = M
    }
  }
  return taken
}

describe("adaptive periodic checkpointing (Joint Invariant)", () => {
  it("threshold is n/(k+1)·min(1/(1+c), ε)", () => {
    expect(threshold({ n: 10, k: 1, restoreRatio: 1.38, epsilon: 0.0667 })).toBeCloseTo(5 * 0.0667, 12)
    expect(threshold({ n: 4, k: 0, restoreRatio: 9, epsilon: 0.5 })).toBeCloseTo(4 * 0.1, 12)
  })

  it("cheap checkpoints: every iteration", () => {
    expect(simulate(10, 1, 0.01)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it("expensive checkpoints: the period grows and overhead stays within ε (plus the forced first and last)", () => {
    const taken = simulate(100, 1, 0.5)
    expect(taken[0]).toBe(1)
    expect(taken.at(-1)).toBe(100)
    const gaps = taken.slice(1).map((t, i) => t - taken[i]!)
    expect(Math.min(...gaps.slice(0, -1))).toBeGreaterThanOrEqual(7)
    // all checkpoints but the forced last one respect k·M ≤ ε·n·C
    const inner = taken.slice(0, -1)
    inner.forEach((t, k) => expect((k + 1) * 0.5).toBeLessThanOrEqual(DEFAULT_EPSILON * t * 1 + 0.5))
    expect((taken.length - 1) * 0.5).toBeLessThanOrEqual(DEFAULT_EPSILON * 100 + 0.5)
  })

  it("a larger ε allows more checkpoints", () => {
    expect(simulate(100, 1, 0.5, 0.2).length).toBeGreaterThan(simulate(100, 1, 0.5, 0.0667).length)
  })

  it("the last iteration is always checkpointed, even when far too expensive", () => {
    expect(shouldCheckpoint({ ...base, materialize: 100, compute: 1, n: 3, k: 1, last: true })).toBe(true)
    expect(shouldCheckpoint({ ...base, materialize: 100, compute: 1, n: 3, k: 1, last: false })).toBe(false)
  })

  it("c is refined from measurements", () => {
    expect(refineRestoreRatio([2, 4], [1, 2])).toBeCloseTo(2, 12)
    expect(refineRestoreRatio([], [1])).toBe(1.38)
  })
})
