import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { checkpointing, commit, Flor, FlorTest, range, Store } from "flordb"
import type { Checkpointable } from "../src/services/Checkpointable.js"
import * as Untyped from "../src/dsl/Untyped.js"

/** A counter whose capture costs `captureMs` of busy main-thread time. */
const counter = (state: { value: number }, captureMs = 0): Checkpointable => ({
  capture: Effect.sync(() => {
    const end = performance.now() + captureMs
    while (performance.now() < end) { /* busy: an expensive host copy */ }
    return { meta: state.value, parts: [{ name: "v", dtype: "float64", shape: [1], data: new Uint8Array(new Float64Array([state.value]).buffer) }] }
  }),
  restore: (s) => Effect.sync(() => void (state.value = s.meta as number))
})

const busy = (ms: number) => Effect.sync(() => {
  const end = performance.now() + ms
  while (performance.now() < end) { /* compute */ }
})

const flor = Flor.make({ columns: { loss: Schema.Number }, loops: { epoch: Schema.Number, step: Schema.Number } })

describe("record: checkpoints and profiling", () => {
  it.live("cheap checkpoints: every epoch; profiling columns are recorded and queryable", () =>
    Effect.gen(function*() {
      const state = { value: 0 }
      yield* checkpointing({ counter: counter(state) },
        flor.loop("epoch", range(5), () =>
          Effect.zipRight(flor.loop("step", range(3), (s) => Effect.zipRight(busy(20), flor.log("loss", (state.value += s)))), busy(2))))
      yield* commit
      const store = yield* Store
      const runs = yield* store.runs
      const rec = yield* store.recorded(runs[0]!)
      // cheap relative to compute: (nearly) every epoch; the first (calibration) and the last always
      const taken = rec.checkpoints.map((c) => c.iteration)
      expect(taken[0]).toBe(1)
      expect(taken.at(-1)).toBe(5)
      expect(taken.length).toBeGreaterThanOrEqual(3)
      expect(rec.checkpoints.every((c) => c.bytes > 0 && /^[0-9a-f]{64}$/.test(c.checksum))).toBe(true)
      const iters = yield* Untyped.dataframe("flor.iter_s", "flor.nested_s")
      expect(iters.rows).toHaveLength(5)
      for (const r of iters.rows) {
        expect(r["flor.iter_s"] as number).toBeGreaterThanOrEqual(0.06)
        expect(r["flor.nested_s"] as number).toBeGreaterThanOrEqual(0.06)
        expect(r["flor.nested_s"] as number).toBeLessThanOrEqual(r["flor.iter_s"] as number)
      }
      const top = yield* Untyped.dataframe("flor.prefix_s", "flor.suffix_s", "flor.ckpt_count", "flor.ckpt_bytes")
      expect(top.rows[0]).toMatchObject({ "flor.ckpt_count": taken.length })
      expect(top.rows[0]!["flor.ckpt_bytes"]).toBe(taken.length * 8)
    }).pipe(Effect.provide(FlorTest.layer())))

  it.live("expensive checkpoints: the period grows and main-thread overhead stays near ε", () =>
    Effect.gen(function*() {
      const state = { value: 0 }
      const epochs = 40
      yield* checkpointing({ counter: counter(state, 20) },
        flor.loop("epoch", range(epochs), () => Effect.zipRight(busy(10), flor.log("loss", ++state.value))))
      yield* commit
      const store = yield* Store
      const rec = yield* store.recorded((yield* store.runs)[0]!)
      const taken = rec.checkpoints.map((c) => c.iteration)
      expect(taken[0]).toBe(1)
      expect(taken.at(-1)).toBe(epochs)
      expect(taken.length).toBeLessThan(epochs / 3)
      const gaps = taken.slice(1, -1).map((t, i) => t - taken[i]!)
      expect(Math.min(...gaps)).toBeGreaterThan(1)
      const top = yield* Untyped.dataframe("flor.capture_s")
      const iters = yield* Untyped.dataframe("flor.iter_s")
      const compute = iters.rows.reduce((a, r) => a + (r["flor.iter_s"] as number), 0)
      const overhead = (top.rows[0]!["flor.capture_s"] as number)
      // ε·compute, plus the forced first (calibration) and last checkpoints
      expect(overhead).toBeLessThanOrEqual(0.0667 * compute + 2 * 0.03)
    }).pipe(Effect.provide(FlorTest.layer())))
})
