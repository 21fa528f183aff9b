import { describe, expect, it } from "@effect/vitest"
import { keepEvenly } from "../src/domain/Retention.js"

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const sorted = (set: ReadonlySet<number>) => [...set].sort((a, b) => a - b)

describe("keepEvenly", () => {
  it("keeps n evenly spaced checkpoints, the last among them (iterations 1..10)", () => {
    const ten = range(1, 10)
    expect(sorted(keepEvenly(ten, 0))).toEqual([10])
    expect(sorted(keepEvenly(ten, 1))).toEqual([10])
    expect(sorted(keepEvenly(ten, 2))).toEqual([5, 10])
    expect(sorted(keepEvenly(ten, 3))).toEqual([3, 7, 10])
    expect(sorted(keepEvenly(ten, 4))).toEqual([2, 5, 7, 10])
    expect(sorted(keepEvenly(ten, 5))).toEqual([2, 4, 6, 8, 10])
    expect(sorted(keepEvenly(ten, 9))).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10])
  })

  it("keeps everything when n is at least the count", () => {
    expect(sorted(keepEvenly(range(1, 10), 10))).toEqual(range(1, 10))
    expect(sorted(keepEvenly(range(1, 10), 25))).toEqual(range(1, 10))
    expect(sorted(keepEvenly([4], 3))).toEqual([4])
    expect(sorted(keepEvenly([4], 0))).toEqual([4])
    expect(sorted(keepEvenly([], 3))).toEqual([])
    expect(sorted(keepEvenly([], 0))).toEqual([])
  })

  it("spaces by iteration, not by position, when checkpoints are irregular (adaptive period)", () => {
    // Targets 50 and 100: the checkpoint nearest 50 is 40.
    expect(sorted(keepEvenly([1, 2, 4, 8, 16, 40, 70, 100], 2))).toEqual([40, 100])
    // Targets 33.3, 66.7, 100.
    expect(sorted(keepEvenly([1, 2, 4, 8, 16, 40, 70, 100], 3))).toEqual([40, 70, 100])
    // Clumped early: every target still gets a distinct checkpoint, the last is kept.
    expect(sorted(keepEvenly([1, 2, 3, 20], 2))).toEqual([3, 20])
    expect(sorted(keepEvenly([1, 2, 3, 20], 3))).toEqual([2, 3, 20])
    // Clumped late: earlier picks make room for later ones.
    expect(sorted(keepEvenly([1, 97, 98, 99, 100], 3))).toEqual([1, 97, 100])
  })

  it("ties go to the earlier checkpoint; order and duplicates in the input do not matter", () => {
    expect(sorted(keepEvenly([1, 2, 3], 2))).toEqual([1, 3])
    expect(sorted(keepEvenly([5, 1, 3, 3, 2, 4, 5], 2))).toEqual([2, 5])
    expect(sorted(keepEvenly([30, 10, 20, 40], 2))).toEqual([20, 40])
  })

  it("is deterministic and always keeps the last", () => {
    for (let count = 1; count <= 40; count++) {
      const its = range(1, count).map((i) => i * 3)
      for (let n = 0; n <= count + 2; n++) {
        const kept = keepEvenly(its, n)
        expect(kept.has(count * 3)).toBe(true)
        expect(kept.size).toBe(Math.min(Math.max(n, 1), count))
        expect(sorted(keepEvenly([...its].reverse(), n))).toEqual(sorted(kept))
      }
    }
    expect(sorted(keepEvenly(range(1, 10), 2.9))).toEqual([5, 10])
    expect(sorted(keepEvenly(range(1, 10), -3))).toEqual([10])
  })
})
