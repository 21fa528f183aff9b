import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { partition } from "../src/domain/Partition.js"
import { runReplay } from "../src/layers/ReplayRunner.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { Store } from "../src/services/Store.js"
import { makeSandbox, repoRoot, type Sandbox } from "./support/sandbox.js"

const EPOCHS = 8
const source = fs.readFileSync(path.join(repoRoot, "test/fixtures/hindsight.ts"), "utf8")
const withProbes = source
  .replace("/*GRAD*/", "yield* flor.log(\"grad\", state.w * 2)")
  .replace("/*VACC*/", "yield* flor.log(\"vacc\", state.w + e)")

describe("partition", () => {
  it("contiguous, balanced, covering", () => {
    expect(partition(1, 9, 2)).toEqual([[1, 5], [5, 9]])
    expect(partition(1, 8, 3)).toEqual([[1, 4], [4, 6], [6, 8]])
    expect(partition(3, 5, 8)).toEqual([[3, 4], [4, 5]])
    expect(partition(1, 1, 2)).toEqual([])
  })
})

describe("replay of one run in worker processes", () => {
  let sb: Sandbox
  let past: { tstamp: string; filename: string }
  const run = <A, E>(effect: Effect.Effect<A, E, Store>) =>
    Effect.runPromise(Effect.provide(effect, SqliteStore.layer(sb.home, "replay-project")))
  const column = (name: string, filename: string) =>
    run(Effect.flatMap(Store, (s) => s.dataframe([name]))).then((df) =>
      df.rows.filter((r) => r.filename === filename && r[name] !== null).map((r) => [r.epoch, r.step ?? null, r[name]])
    )
  const job = (probes: Array<string>, kind: "range" | "validation", workers: number, env = sb.env) => ({
    script: path.join(sb.dir, "train.ts"),
    cwd: sb.dir,
    argv: [],
    plan: { projid: "replay-project", tstamp: past.tstamp, filename: past.filename, kind, probes },
    workers,
    env
  })

  beforeAll(async () => {
    sb = makeSandbox("replay-project")
    fs.writeFileSync(path.join(sb.dir, "train.ts"), source)
    fs.writeFileSync(path.join(sb.dir, "truth.ts"), withProbes)
    sb.git("add", "-A")
    sb.git("commit", "-qm", "v1")
    // checkpoint every epoch (epochs here are ~10 ms, so the adaptive rule would space them out)
    Object.assign(sb.env, { FLOR_EPSILON: "1e9", FLOR_RESTORE_RATIO: "0" })
    const rec = await sb.tsxAsync("train.ts", "--kwargs", `epochs=${EPOCHS}`, "lr=0.3")
    expect(rec.stderr).toBe("")
    const truth = await sb.tsxAsync("truth.ts", "--kwargs", `epochs=${EPOCHS}`, "lr=0.3")
    expect(truth.stderr).toBe("")
    const runs = JSON.parse(sb.flor("runs", "--format", "json").stdout) as Array<{ tstamp: string; filename: string }>
    past = runs.find((r) => r.filename === "train.ts")!
    fs.writeFileSync(path.join(sb.dir, "train.ts"), withProbes) // today's code has the hindsight statements
  })
  afterAll(() => sb.cleanup())

  it("serial (G=1) and parallel (G=2) range replays write identical values, equal to a run that logged them", async () => {
    const serial = await run(runReplay(job(["grad"], "range", 1)))
    expect(serial.workers).toBe(1)
    expect(serial.inner).toBe(EPOCHS * 5)
    expect(serial.divergences).toBe(0)
    expect(serial.compared).toBeGreaterThan(EPOCHS * 5)
    const afterSerial = await column("grad", "train.ts")
    const parallel = await run(runReplay(job(["grad"], "range", 2)))
    expect(parallel.workers).toBe(2)
    expect(parallel.inner).toBe(EPOCHS * 5)
    expect(parallel.restores).toBe(1)
    expect(await column("grad", "train.ts")).toEqual(afterSerial)
    const truth = (await column("grad", "truth.ts"))
    expect(truth).toHaveLength(EPOCHS * 5)
    expect(afterSerial).toEqual(truth)
  }, 180_000)

  it("a parallel validation scan skips every nested loop", async () => {
    const summary = await run(runReplay(job(["vacc"], "validation", 2)))
    if (summary.inner !== 0 || summary.divergences !== 0) console.log(JSON.stringify(summary))
    expect(summary).toMatchObject({ workers: 2, outer: EPOCHS, inner: 0, divergences: 0 })
    expect(await column("vacc", "train.ts")).toEqual(await column("vacc", "truth.ts"))
  }, 180_000)

  it("a failing worker fails the replay with its error and nothing is backfilled", async () => {
    fs.writeFileSync(path.join(sb.dir, "train.ts"), withProbes.replace("/*NOTHING*/", "").replace(
      "yield* flor.log(\"grad\", state.w * 2)",
      "yield* flor.log(\"grad\", state.w * 2)\n      yield* flor.log(\"grad2\", state.w * 3)"
    ))
    const exit = await Effect.runPromiseExit(
      Effect.provide(runReplay(job(["grad2"], "range", 2, { ...sb.env, FAIL_AT_EPOCH: "7" })), SqliteStore.layer(sb.home, "replay-project"))
    )
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("injected failure at epoch 7")
    expect(await column("grad2", "train.ts")).toEqual([])
  }, 180_000)
})
