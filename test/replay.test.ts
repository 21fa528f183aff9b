import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { checkpointing, Flor, FlorTest, ObjectStore, range, Store, withRun } from "flordb"
import type { Checkpointable } from "../src/services/Checkpointable.js"
import { type ReplayPlan, replayWindow } from "../src/domain/ReplayPlan.js"

const E = 6
const S = 4
const flor = Flor.make({
  args: { lr: Schema.Number },
  columns: {
    init: Schema.Number, loss: Schema.Number, acc: Schema.Number, final: Schema.Number,
    p_init: Schema.Number, p_grad: Schema.Number, p_acc: Schema.Number, p_final: Schema.Number
  },
  loops: { epoch: Schema.Number, step: Schema.Number }
})

const weight = (state: { w: number }): Checkpointable => ({
  capture: Effect.sync(() => ({ meta: null, parts: [{ name: "w", dtype: "float64", shape: [1], data: new Uint8Array(new Float64Array([state.w]).buffer) }] })),
  restore: (s) => Effect.sync(() => void (state.w = new Float64Array(s.parts[0]!.data.slice().buffer)[0]!))
})

const busy = () => Effect.sync(() => { const end = performance.now() + 1; while (performance.now() < end) { /* compute */ } })

interface Counts { outer: number; inner: number }

/** The training script; `probes` are the hindsight statements present in this version. */
const script = (probes: ReadonlySet<string>, counts: Counts, drift = 0) =>
  Effect.gen(function*() {
    const lr = yield* flor.arg("lr", 0.5)
    const state = { w: 1 }
    yield* flor.log("init", state.w)
    if (probes.has("p_init")) yield* flor.log("p_init", state.w * 10)
    yield* checkpointing({ w: weight(state) },
      flor.loop("epoch", range(E), (e) => Effect.gen(function*() {
        counts.outer++
        yield* flor.loop("step", range(S), (s) => Effect.gen(function*() {
          counts.inner++
          yield* busy()
          state.w = (state.w * 1.1 + lr * s + (e === 3 ? drift : 0)) % 97
          yield* flor.log("loss", state.w)
          if (probes.has("p_grad")) yield* flor.log("p_grad", state.w * 2)
        }))
        yield* flor.log("acc", state.w / 100)
        if (probes.has("p_acc")) yield* flor.log("p_acc", state.w + e)
      })))
    yield* flor.log("final", state.w)
    if (probes.has("p_final")) yield* flor.log("p_final", -state.w)
  })

const config = Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["FLOR_EPSILON", "1e9"], ["FLOR_RESTORE_RATIO", "0"]])))
const ALL = new Set(["p_init", "p_grad", "p_acc", "p_final"])
const NONE = new Set<string>()

/** Records the script without probes (the past run) and with all of them (the truth), in one world. */
const setup = Effect.gen(function*() {
  const world = yield* FlorTest.world
  const argv = ["--kwargs", "lr=0.3"]
  yield* withRun(script(ALL, { outer: 0, inner: 0 })).pipe(Effect.provide(world.record({ argv, filename: "truth.ts" })), Effect.provide(config))
  yield* withRun(script(NONE, { outer: 0, inner: 0 })).pipe(Effect.provide(world.record({ argv, filename: "train.ts" })), Effect.provide(config))
  const runs = yield* Effect.provide(Effect.flatMap(Store, (s) => s.runs), world.record())
  const past = runs.find((r) => r.filename === "train.ts")!
  return { world, past }
})

const replay = (world: FlorTest.TestWorld, plan: ReplayPlan, probes: ReadonlySet<string>, drift = 0) =>
  Effect.gen(function*() {
    const counts = { outer: 0, inner: 0 }
    yield* withRun(script(probes, counts, drift)).pipe(Effect.provide(world.replay(plan, { filename: "train.ts" })))
    return counts
  })

const column = (world: FlorTest.TestWorld, name: "p_init" | "p_grad" | "p_acc" | "p_final", filename: string) =>
  Effect.map(
    Effect.provide(flor.dataframe(name), world.record()),
    (df) => df.rows.filter((r) => r.filename === filename).map((r) => [r.epoch ?? null, r.step ?? null, r[name]])
  )

const planFor = (past: { tstamp: string }, kind: ReplayPlan["kind"], probes: Array<string>, extra: Partial<ReplayPlan> = {}): ReplayPlan =>
  ({ projid: "test", tstamp: past.tstamp, filename: "train.ts", kind, probes, ...extra })

describe("replay scan kinds (in memory)", () => {
  it.scopedLive("prefix: runs only the prefix; the probe equals a run that had it from the start", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const counts = yield* replay(world, planFor(past, "prefix", ["p_init"]), new Set(["p_init"]))
      expect(counts).toEqual({ outer: 0, inner: 0 })
      expect(yield* column(world, "p_init", "train.ts")).toEqual(yield* column(world, "p_init", "truth.ts"))
      expect((yield* column(world, "p_init", "train.ts")).length).toBe(1)
    }))

  it.scopedLive("suffix: restores the end state and skips the loop", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const counts = yield* replay(world, planFor(past, "suffix", ["p_final"]), new Set(["p_final"]))
      expect(counts).toEqual({ outer: 0, inner: 0 })
      const truth = yield* column(world, "p_final", "truth.ts")
      expect(truth).toHaveLength(1)
      expect(yield* column(world, "p_final", "train.ts")).toEqual(truth)
    }))

  it.scopedLive("validation: every epoch body runs, nested loops are skipped (skip-block)", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const counts = yield* replay(world, planFor(past, "validation", ["p_acc"]), new Set(["p_acc"]))
      expect(counts).toEqual({ outer: E, inner: 0 })
      const got = yield* column(world, "p_acc", "train.ts")
      expect(got).toHaveLength(E)
      expect(got).toEqual(yield* column(world, "p_acc", "truth.ts"))
    }))

  it.scopedLive("range [3,5): pseudoresume to epoch 3, then step into epochs 3 and 4 fully", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const counts = yield* replay(world, planFor(past, "range", ["p_grad"], { from: 3, to: 5 }), new Set(["p_grad"]))
      expect(counts).toEqual({ outer: 2, inner: 2 * S })
      const truth = (yield* column(world, "p_grad", "truth.ts")).filter((r) => r[0] === 3 || r[0] === 4)
      expect(truth).toHaveLength(2 * S)
      expect(yield* column(world, "p_grad", "train.ts")).toEqual(truth)
    }))

  it.scopedLive("a missing checkpoint falls back to the nearest earlier one and re-executes the gap", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const rec = yield* Effect.provide(Effect.flatMap(Store, (s) => s.recorded(past)), world.record())
      const second = rec.checkpoints.find((c) => c.iteration === 2)!
      yield* Effect.provide(Effect.flatMap(ObjectStore, (o) => o.remove(second.uri)), world.objects)
      const counts = yield* replay(world, planFor(past, "range", ["p_grad"], { from: 3, to: 4 }), new Set(["p_grad"]))
      expect(counts).toEqual({ outer: 2, inner: 2 * S })
      const truth = (yield* column(world, "p_grad", "truth.ts")).filter((r) => r[0] === 3)
      expect(truth).toHaveLength(S)
      expect(yield* column(world, "p_grad", "train.ts")).toEqual(truth)
    }))

  it.scopedLive("re-running the same replay writes no duplicates", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const plan = planFor(past, "validation", ["p_acc"])
      yield* replay(world, plan, new Set(["p_acc"]))
      yield* replay(world, plan, new Set(["p_acc"]))
      expect(yield* column(world, "p_acc", "train.ts")).toHaveLength(E)
    }))

  it.scopedLive("a recomputed column that differs is reported as a divergence (first column, coordinates, both values)", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const output = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "flor-div-")), "result.json")
      yield* replay(world, planFor(past, "range", ["p_grad"], { from: 1, to: E + 1, output }), new Set(["p_grad"]), 0.5)
      const result = JSON.parse(fs.readFileSync(output, "utf8"))
      expect(result.divergence.column).toBe("loss")
      expect(result.divergence.at).toBe("epoch=4/step=1")
      expect(result.divergence.recorded).not.toBe(result.divergence.replayed)
      expect(result.divergences).toBeGreaterThan(0)
      expect(result.compared).toBeGreaterThan(E * S)
    }))

  it.scopedLive("a replay reads only the records its plan can execute (window by main-loop iteration)", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const store = yield* Effect.provide(Store, world.record())
      const main = yield* store.mainLoop(past)
      expect(main.map((m) => [m.name, m.iteration])).toEqual(Array.from({ length: E }, (_, i) => ["epoch", i + 1]))
      const full = yield* store.recorded(past)
      const range = yield* store.recorded(past, replayWindow(planFor(past, "range", ["p_grad"], { from: 3, to: 4 }), main))
      const epochOf = (rec: typeof full, ctx: number): number | undefined => {
        const byCtx = new Map(rec.loops.map((l) => [l.ctx, l]))
        for (let l = byCtx.get(ctx); l !== undefined; l = byCtx.get(l.parent)) if (l.name === "epoch") return l.iteration
        return undefined
      }
      // every top-level record, and epoch 3's records (its own and its steps'), nothing of other epochs
      expect(range.logs.filter((l) => l.ctx === 0)).toEqual(full.logs.filter((l) => l.ctx === 0))
      expect(range.logs.filter((l) => l.name === "loss").map((l) => epochOf(range, l.ctx))).toEqual(Array(S).fill(3))
      expect(range.logs.filter((l) => l.ctx !== 0).every((l) => epochOf(range, l.ctx) === 3)).toBe(true)
      expect(range.logs.filter((l) => l.ctx !== 0)).toEqual(full.logs.filter((l) => l.ctx !== 0 && epochOf(full, l.ctx) === 3))
      const prefix = yield* store.recorded(past, replayWindow(planFor(past, "prefix", []), main))
      expect(prefix.logs.every((l) => l.ctx === 0)).toBe(true)
      const suffix = yield* store.recorded(past, replayWindow(planFor(past, "suffix", []), main))
      expect(new Set(suffix.logs.filter((l) => l.ctx !== 0).map((l) => epochOf(suffix, l.ctx)))).toEqual(new Set([E]))
      // a divergence inside the window is still found and located
      const output = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "flor-div-")), "result.json")
      yield* replay(world, planFor(past, "range", ["p_grad"], { from: 4, to: 5, output }), new Set(["p_grad"]), 0.5)
      const result = JSON.parse(fs.readFileSync(output, "utf8"))
      expect(result.divergence.at).toBe("epoch=4/step=1")
      expect(result.compared).toBe(S + 2) // epoch 4's S losses and acc, and init before the loop
    }))

  it.scopedLive("--kwargs on replay is refused", () =>
    Effect.gen(function*() {
      const { world, past } = yield* setup
      const error = yield* Effect.flip(
        withRun(script(NONE, { outer: 0, inner: 0 })).pipe(
          Effect.provide(world.replay(planFor(past, "prefix", []), { argv: ["--kwargs", "lr=9"] }))
        )
      )
      expect(error._tag).toBe("KwargsError")
      expect(error.message).toContain("not allowed on replay")
    }))
})
