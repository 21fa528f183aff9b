import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { type Checkpointable, checkpointing, Flor, FlorTest, loading, range, withRun } from "flordb"
import { makeSandbox, repoRoot } from "./support/sandbox.js"

const flor = Flor.make({ columns: { val_recall: Schema.Number, w: Schema.Number }, loops: { epoch: Schema.Number } })

const weight = (state: { w: number }): Checkpointable => ({
  capture: Effect.sync(() => ({ meta: null, parts: [{ name: "w", dtype: "float64", shape: [1], data: new Uint8Array(new Float64Array([state.w]).buffer) }] })),
  restore: (s) => Effect.sync(() => void (state.w = new Float64Array(s.parts[0]!.data.slice().buffer)[0]!))
})
const busy = Effect.sync(() => { const end = performance.now() + 2; while (performance.now() < end) { /* compute */ } })
const everyEpoch = Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["FLOR_EPSILON", "1e9"], ["FLOR_RESTORE_RATIO", "0"]])))

describe("loading: the model-registry pattern", () => {
  it.scopedLive("restores the checkpoint of the epoch with the best val_recall", () =>
    Effect.gen(function*() {
      const world = yield* FlorTest.world
      const state = { w: 0 }
      // val_recall peaks at epoch 4 (w = 4.5), then degrades
      yield* withRun(checkpointing({ w: weight(state) }, flor.loop("epoch", range(7), (e) =>
        Effect.gen(function*() {
          yield* busy
          state.w = e + 1.5
          yield* flor.log("w", state.w)
          yield* flor.log("val_recall", 1 - Math.abs(e - 3) / 10)
        })))).pipe(Effect.provide(world.record()), Effect.provide(everyEpoch))
      const df = yield* Effect.provide(flor.dataframe("val_recall", "w"), world.record())
      const best = df.rows.reduce((a, b) => ((b.val_recall ?? 0) > (a.val_recall ?? 0) ? b : a))
      expect(best.epoch).toBe(4)
      const fresh = { w: -1 }
      const loaded = yield* Effect.provide(loading({ w: weight(fresh) }, best), world.record())
      expect(loaded).toBe(4)
      expect(fresh.w).toBe(best.w)
      // a row without the epoch loads the run's end state
      const last = { w: -1 }
      yield* Effect.provide(loading({ w: weight(last) }, { projid: best.projid, tstamp: best.tstamp, filename: best.filename }), world.record())
      expect(last.w).toBe(7.5)
      // a missing checkpoint is a typed error naming the run and the iteration
      const missing = { ...best, epoch: 42 }
      const error = yield* Effect.flip(Effect.provide(loading({ w: weight(last) }, missing), world.record()))
      expect(error._tag).toBe("CheckpointError")
      expect(error.message).toContain("epoch=42")
      expect(error.message).toContain(best.tstamp)
    }))
})

describe("flor gc --keep N", () => {
  it("keeps N evenly spaced checkpoints per run (the last among them) and reports bytes freed", () => {
    const sb = makeSandbox("gc-project")
    try {
      fs.copyFileSync(path.join(repoRoot, "test/fixtures/hindsight.ts"), path.join(sb.dir, "train.ts"))
      sb.git("add", "-A")
      sb.git("commit", "-qm", "v1")
      Object.assign(sb.env, { FLOR_EPSILON: "1e9", FLOR_RESTORE_RATIO: "0" })
      expect(sb.tsx("train.ts", "--kwargs", "epochs=8").stderr).toBe("")
      const iterations = () =>
        (JSON.parse(sb.flor("query", "SELECT loop_iteration AS i, bytes FROM checkpoints ORDER BY 1", "--format", "json").stdout) as Array<{ i: number; bytes: number }>)
      const before = iterations()
      expect(before.map((c) => c.i)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      const dry = sb.flor("gc", "--keep", "2", "--dry-run")
      expect(dry.stdout).toContain("would remove 6 checkpoints")
      expect(iterations()).toHaveLength(8)
      const r = sb.flor("gc", "--keep", "2")
      expect(r.status).toBe(0)
      expect(r.stdout).toContain(`removed 6 checkpoints of 1 run, ${6 * before[0]!.bytes} bytes freed`)
      expect(iterations().map((c) => c.i)).toEqual([4, 8])
      const files: Array<string> = []
      const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => e.isDirectory() ? walk(path.join(d, e.name)) : files.push(e.name))
      walk(path.join(sb.home, "obj_store"))
      expect(files.filter((f) => f.endsWith(".ckpt")).sort()).toEqual(["epoch-4.ckpt", "epoch-8.ckpt"])
    } finally {
      sb.cleanup()
    }
  }, 120_000)
})
