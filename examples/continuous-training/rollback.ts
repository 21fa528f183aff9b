/**
 * Model rollback after hindsight logging: once `f1_ped` has been backfilled into
 * every run of `train.ts` (`flor replay f1_ped …`), find the first run whose model
 * (at its last epoch) detects pedestrians worse than `alert_below`, and load the
 * model of the run before it with `loading`. The decision is logged (this script
 * is a recorded run too):
 *
 *   npx tsx rollback.ts --kwargs alert_below=0.5
 *   npx flor dataframe regression_at rollback_to rollback_epoch restored_f1_ped
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Flor, initBackend, loading, main, model } from "flordb"
import { byRun } from "./registry.js"
import { evaluate, evaluationSet, makeModel } from "./stream.js"

await initBackend()

const flor = Flor.make({
  args: {
    alert_below: Schema.Number,
    // train.ts's args, read back from its runs
    batch: Schema.Int,
    shift: Schema.Number,
    seed: Schema.Int,
    hidden: Schema.Int
  },
  columns: {
    f1_score: Schema.Number,
    f1_round: Schema.Number,
    f1_ped: Schema.Number,
    regression_at: Schema.String,
    rollback_to: Schema.String,
    rollback_epoch: Schema.Int,
    restored_f1_ped: Schema.Number
  },
  loops: { epoch: Schema.Int }
})

const fixed = (v: number | null | undefined, digits = 4) => (typeof v === "number" ? v.toFixed(digits) : "-")

/** A plain fixed-width table. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

const program = Effect.gen(function*() {
  const alertBelow = yield* flor.arg("alert_below", 0.5)

  // One row per run of train.ts, at its last epoch (Fig. 5.4): the model the run ended with.
  const frame = yield* flor.dataframe("batch", "shift", "seed", "hidden", "f1_score", "f1_round", "f1_ped")
  const models = byRun(frame.rows.filter((r) => r.filename === "train.ts"))
    .map((rows) => rows.reduce((last, row) => ((row.epoch ?? 0) > (last.epoch ?? 0) ? row : last)))
  yield* Console.log(table(
    ["tstamp", "batch", "shift", "seed", "epoch", "f1_score", "f1_round", "f1_ped"],
    models.map((r) => [
      r.tstamp,
      String(r.batch),
      String(r.shift),
      String(r.seed),
      String(r.epoch),
      fixed(r.f1_score),
      fixed(r.f1_round),
      fixed(r.f1_ped)
    ])
  ))

  const missing = models.filter((r) => r.f1_ped === null)
  if (missing.length > 0) {
    return yield* Effect.fail(`${missing.length} run(s) lack f1_ped: run \`flor replay f1_ped --yes\` first`)
  }
  const first = models.findIndex((r) => r.f1_ped! < alertBelow)
  if (first === -1) {
    yield* Console.log(`no run ended with f1_ped below ${alertBelow}: nothing to roll back`)
    return
  }
  const regression = models[first]!
  yield* flor.log("regression_at", regression.tstamp)
  yield* Console.log(
    `\nthe regression began with batch ${regression.batch} (${regression.tstamp}): f1_ped ${fixed(regression.f1_ped)} < ${alertBelow}`
  )
  if (first === 0) return yield* Effect.fail("the very first run is below the threshold: nothing to roll back to")
  const before = models.slice(0, first).map((r) => r.f1_ped!)
  const after = models.slice(first).map((r) => r.f1_ped!)
  yield* Console.log(
    `alert tuning: before it, f1_ped ranged ${fixed(Math.min(...before), 3)}–${fixed(Math.max(...before), 3)} ` +
      `(no false alert at ${alertBelow}); from it on, ${fixed(Math.min(...after), 3)}–${fixed(Math.max(...after), 3)}`
  )

  const good = models[first - 1]!
  const net = makeModel(good.hidden ?? 32, good.seed ?? 0)
  const epoch = yield* loading({ model: model(net) }, good) // the last epoch is always checkpointed
  const restored = yield* Effect.sync(() => evaluate(net, evaluationSet()))
  yield* flor.log("rollback_to", good.tstamp)
  yield* flor.log("rollback_epoch", epoch)
  yield* flor.log("restored_f1_ped", restored.f1.pedestrian)
  yield* Console.log(
    `rollback: loaded the model of run ${good.tstamp} (batch ${good.batch}), epoch ${epoch}: ` +
      `f1_ped ${fixed(restored.f1.pedestrian)} (logged in hindsight: ${fixed(good.f1_ped)}), ` +
      `f1_round ${fixed(restored.f1.roundabout)}, f1_score ${fixed(restored.macroF1)}`
  )
})

main(program)
