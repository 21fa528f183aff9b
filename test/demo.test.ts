import { afterAll, describe, expect, it } from "vitest"
import { demo, KWARGS, type Result } from "../examples/demo/demo.js"

type Rows = Array<Record<string, unknown>>

const key = (r: Record<string, unknown>) => `${String(r.tstamp)}/${String(r.epoch)}`

describe("npm run demo (the README's main job)", () => {
  let result: Result | undefined
  const shown: Array<string> = []

  afterAll(() => result?.project.cleanup())

  it("records 3 runs, backfills grad_norm with flor replay, equal to a run that logged it from the start", async () => {
    result = await demo((line) => shown.push(line))
    const p = result.project
    console.log(`[demo] ${result.seconds.toFixed(0)} s; ${shown.length} lines shown`)

    // a newcomer can follow: every step and command is announced
    expect(shown.filter((l) => l.includes("== ")).length).toBeGreaterThanOrEqual(5)
    expect(shown).toContain("$ npx flor replay grad_norm --yes")

    // the three past runs, each with 4 epochs, now have grad_norm next to their args and acc
    expect(result.tstamps).toHaveLength(3)
    const rows: Rows = await p.florJson("dataframe", "lr", "hidden", "acc", "grad_norm")
    expect(rows).toHaveLength(12)
    for (const r of rows) {
      expect(result.tstamps).toContain(r.tstamp)
      expect(typeof r.acc).toBe("number")
      expect(typeof r.grad_norm).toBe("number")
      expect(r.grad_norm as number).toBeGreaterThan(0)
    }
    expect(new Set(rows.map((r) => r.lr))).toEqual(new Set([0.01, 0.003, 0.03]))
    expect(result.replayReport).toMatch(/validation/)

    // the truth: today's script (grad_norm from the start) recorded with the first run's kwargs
    await p.tsx("train.ts", "--kwargs", ...KWARGS[0]!)
    const after: Rows = await p.florJson("dataframe", "lr", "acc", "grad_norm")
    const truth = after.filter((r) => !result!.tstamps.includes(r.tstamp as string))
    expect(truth).toHaveLength(4)
    const replayed = new Map(rows.filter((r) => r.tstamp === result!.tstamps[0]).map((r) => [r.epoch, r]))
    for (const t of truth) {
      const r = replayed.get(t.epoch)
      expect(r, key(t)).toBeDefined()
      expect(r!.grad_norm, `grad_norm at epoch ${String(t.epoch)}`).toBe(t.grad_norm)
      expect(r!.acc, `acc at epoch ${String(t.epoch)}`).toBe(t.acc)
    }

    // the user's branch is untouched by all of it
    expect((await p.git("status", "--porcelain")).stdout).toBe("")
  }, 600_000)
})
