import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runReplay } from "../src/layers/ReplayRunner.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import type { ScanKind } from "../src/domain/ReplayPlan.js"
import { Store } from "../src/services/Store.js"
import { makeSandbox, repoRoot, type Sandbox } from "./support/sandbox.js"

const exampleDir = path.join(repoRoot, "examples/train")
const EPOCHS = 4
const KWARGS = ["--kwargs", `epochs=${EPOCHS}`, "samples=600", "hidden=16"]

/** The hindsight edit a user makes to today's train.ts: one statement per scan kind. */
const edit = (source: string) =>
  source
    .replace(
      "columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number }",
      "columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number, n_train: Schema.Number, " +
        "train_acc: Schema.Number, step_loss: Schema.Number, final_train_acc: Schema.Number }"
    )
    .replace(
      "const data = makeData(seed, { samples })",
      "const data = makeData(seed, { samples })\n  yield* flor.log(\"n_train\", data.train.n)"
    )
    .replace(
      "(loss) => flor.log(\"loss\", loss)",
      "(loss) => Effect.zipRight(flor.log(\"loss\", loss), flor.log(\"step_loss\", loss * 2))"
    )
    .replace(
      "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))",
      "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))\n" +
        "        yield* flor.log(\"train_acc\", yield* Effect.sync(() => accuracy(net, data, data.train)))"
    )
    .replace(
      "yield* flor.log(\"test_acc\", yield* Effect.sync(() => accuracy(net, data, data.test)))",
      "yield* flor.log(\"test_acc\", yield* Effect.sync(() => accuracy(net, data, data.test)))\n" +
        "  yield* flor.log(\"final_train_acc\", yield* Effect.sync(() => accuracy(net, data, data.train)))"
    )

describe("replay of examples/train, per scan kind", () => {
  let sb: Sandbox
  let past: { tstamp: string; filename: string }
  const store = <A, E>(effect: Effect.Effect<A, E, Store>) =>
    Effect.runPromise(Effect.provide(effect, SqliteStore.layer(sb.home, "train-replay")))
  const column = (name: string, filename: string) =>
    store(Effect.flatMap(Store, (s) => s.dataframe([name]))).then((df) =>
      df.rows.filter((r) => r.filename === filename && r[name] !== null).map((r) => [r.epoch ?? null, r.step ?? null, r[name]])
    )
  const replay = (kind: ScanKind, probes: Array<string>, range: { from?: number; to?: number } = {}) =>
    store(runReplay({
      script: path.join(sb.dir, "train.ts"),
      cwd: sb.dir,
      argv: [],
      plan: { projid: "train-replay", tstamp: past.tstamp, filename: "train.ts", kind, probes, ...range },
      workers: 1,
      env: sb.env
    }))

  beforeAll(async () => {
    sb = makeSandbox("train-replay", { links: ["@tensorflow/tfjs"] })
    delete sb.env.FLOR_BACKEND
    Object.assign(sb.env, { FLOR_EPSILON: "1e9", FLOR_RESTORE_RATIO: "0" }) // a checkpoint every epoch
    for (const f of ["train.ts", "model.ts"]) fs.copyFileSync(path.join(exampleDir, f), path.join(sb.dir, f))
    const edited = edit(fs.readFileSync(path.join(exampleDir, "train.ts"), "utf8"))
    expect(edited.match(/flor\.log\("(n_train|step_loss|train_acc|final_train_acc)"/g)).toHaveLength(4)
    fs.writeFileSync(path.join(sb.dir, "truth.ts"), edited)
    sb.git("add", "-A")
    sb.git("commit", "-qm", "v1")
    const rec = await sb.tsxAsync("train.ts", ...KWARGS)
    expect(rec.stderr).toBe("")
    const truth = await sb.tsxAsync("truth.ts", ...KWARGS) // the statements present from the start
    expect(truth.stderr).toBe("")
    past = (JSON.parse(sb.flor("runs", "--format", "json").stdout) as Array<{ tstamp: string; filename: string }>)
      .find((r) => r.filename === "train.ts")!
    fs.writeFileSync(path.join(sb.dir, "train.ts"), edited) // today's code
  }, 240_000)
  afterAll(() => sb.cleanup())

  const stepsPerEpoch = async () => (await column("loss", "train.ts")).filter((r) => r[0] === 1).length

  it("prefix: nothing of the main loop runs", async () => {
    const s = await replay("prefix", ["n_train"])
    expect(s).toMatchObject({ outer: 0, inner: 0, divergences: 0 })
    const got = await column("n_train", "train.ts")
    expect(got).toHaveLength(1)
    expect(got).toEqual(await column("n_train", "truth.ts"))
  }, 120_000)

  it("suffix: the end state is restored, the loop skipped", async () => {
    const s = await replay("suffix", ["final_train_acc"])
    expect(s).toMatchObject({ outer: 0, inner: 0, restores: 1, divergences: 0 })
    expect(await column("final_train_acc", "train.ts")).toEqual(await column("final_train_acc", "truth.ts"))
  }, 120_000)

  it("validation: every epoch body, no step loop (skip-block restores each epoch)", async () => {
    const s = await replay("validation", ["train_acc"])
    expect(s).toMatchObject({ outer: EPOCHS, inner: 0, restores: EPOCHS, divergences: 0 })
    expect(s.compared).toBeGreaterThanOrEqual(EPOCHS) // the recorded acc was recomputed and matched
    const got = await column("train_acc", "train.ts")
    expect(got).toHaveLength(EPOCHS)
    expect(got).toEqual(await column("train_acc", "truth.ts"))
  }, 120_000)

  it("range [2,4): pseudoresume to epoch 2, then epochs 2 and 3 step by step", async () => {
    const steps = await stepsPerEpoch()
    expect(steps).toBeGreaterThan(1)
    const s = await replay("range", ["step_loss"], { from: 2, to: 4 })
    expect(s).toMatchObject({ outer: 2, inner: 2 * steps, restores: 1, divergences: 0 })
    expect(s.compared).toBeGreaterThanOrEqual(2 * steps) // every recomputed loss equals the record, bit for bit
    const truth = (await column("step_loss", "truth.ts")).filter((r) => r[0] === 2 || r[0] === 3)
    expect(truth).toHaveLength(2 * steps)
    expect(await column("step_loss", "train.ts")).toEqual(truth)
  }, 120_000)
})
