/**
 * `make infer`: the model registry and the inference pipeline (thesis Fig. 6.6).
 * Picks, with `dataframe`, the checkpoint of the newest committed train.ts run with
 * the best `val_recall` (ties: better `val_acc`, then the later epoch), loads it with
 * `loading`, and logs for every page of the feature store the first-page
 * probability `first_page` and the predicted segment color `pred_color`.
 *
 *   npx tsx infer.ts
 *   npx flor dataframe model_tstamp model_epoch model_val_recall
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { initBackend, latest, loading, main, model, Pipeline, range, Store } from "flordb"
import { FEATURE_NAMES, features, metrics, pageLoops, predictions } from "./columns.js"
import { colorsOf } from "./labels.js"
import { makeModel, predict, vectorize } from "./model.js"
import { isEntry } from "./project.js"

/** What the pick needs of a metrics row. */
export interface MetricRow {
  readonly tstamp: string
  readonly filename: string
  readonly epoch?: number | null | undefined
  readonly val_recall: number | null
  readonly val_acc: number | null
}

/** The registry's rule: best `val_recall`, then best `val_acc`, then the later epoch. */
export const pickBest = <R extends MetricRow>(rows: ReadonlyArray<R>): R | undefined =>
  rows.reduce<R | undefined>((best, row) => {
    if (best === undefined) return row
    const d = (row.val_recall ?? 0) - (best.val_recall ?? 0) || (row.val_acc ?? 0) - (best.val_acc ?? 0) ||
      (row.epoch ?? 0) - (best.epoch ?? 0)
    return d > 0 ? row : best
  }, undefined)

/** The infer step. */
export const infer = Pipeline.step({
  name: "infer",
  reads: { ...features, ...metrics },
  writes: { ...predictions, model_tstamp: Schema.String, model_epoch: Schema.Int, model_val_recall: Schema.Number },
  loops: { ...pageLoops, epoch: Schema.Int },
  run: ({ read, out }) =>
    Effect.gen(function*() {
      yield* Effect.promise(() => initBackend())
      // The registry: per-epoch metrics of train.ts runs, restricted to the epochs that have a checkpoint.
      const history = yield* read.dataframe("val_recall", "val_precision", "val_acc", "status")
      const saved = new Set((yield* Effect.flatMap(Store, (s) => s.checkpoints)).map((c) =>
        `${c.run.tstamp}/${c.run.filename}/${c.checkpoint.iteration}`
      ))
      const newest = latest({
        columns: history.columns,
        rows: history.rows.filter((r) => r.filename === "train.ts" && r.status === "committed" && r.val_recall !== null)
      })
      const best = pickBest(newest.rows.filter((r) => saved.has(`${r.tstamp}/${r.filename}/${r.epoch}`)))
      if (best === undefined) return yield* Effect.fail("infer: no checkpointed train.ts run: run `make train` first")
      const net = makeModel(0)
      const epoch = yield* loading({ model: model(net) }, best)
      yield* out.log("model_tstamp", best.tstamp)
      yield* out.log("model_epoch", epoch)
      yield* out.log("model_val_recall", best.val_recall!)
      yield* Console.log(
        `infer: model of train.ts ${best.tstamp}, epoch ${epoch} (val_recall ${best.val_recall!.toFixed(3)}, ` +
          `val_acc ${best.val_acc!.toFixed(3)}; best of ${newest.rows.length} epochs, ${
            newest.rows.filter((r) => saved.has(`${r.tstamp}/${r.filename}/${r.epoch}`)).length
          } checkpointed)`
      )

      const store = latest(yield* read.dataframe(...FEATURE_NAMES))
      const documents = [...new Set(store.rows.map((r) => r.document_value!))]
      let firsts = 0
      yield* out.loop("document", documents, (document) => {
        const pages = store.rows.filter((r) => r.document_value === document).sort((a, b) => a.page_value! - b.page_value!)
        const probs = predict(net, Float32Array.from(pages.flatMap(vectorize)), pages.length)
        const colors = colorsOf(pages.map((_, i) => probs[i]! >= 0.5))
        firsts += colors.filter((c, i) => i === 0 || c !== colors[i - 1]).length
        return out.loop("page", range(1, pages.length + 1), (page) =>
          Effect.zipRight(out.log("first_page", probs[page - 1]!), out.log("pred_color", colors[page - 1]!)))
      })
      yield* Console.log(`infer: ${store.rows.length} pages of ${documents.length} documents, ${firsts} predicted sub-documents`)
    })
})

if (isEntry(import.meta.url)) main(infer.program)
