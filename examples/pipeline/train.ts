/**
 * `make train`: fits the first-page classifier on every labeled page. Features come
 * from the feature store and labels from the label store, both through `dataframe`:
 * per document, the newest web-app save (`filename == "serve.ts"`) wins over the
 * hand labels (`filename == "label.ts"`). The label used for each page and its
 * source are logged, so the next run shows which corrections reached training.
 * The model and its optimizer are checkpointed per epoch, with validation metrics:
 * the model registry infer.ts picks from.
 *
 *   npx tsx train.ts --kwargs epochs=12 lr=0.05
 *   npx flor dataframe val_recall val_precision val_acc --latest
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { checkpointing, initBackend, latest, main, model, optimizer, Pipeline, range } from "flordb"
import * as tf from "@tensorflow/tfjs"
import { FEATURE_NAMES, features, labels, metrics, pageLoops } from "./columns.js"
import { currentLabels, firstPages } from "./labels.js"
import { fit, makeModel, predict, score, toSplit, vectorize } from "./model.js"
import { isEntry } from "./project.js"

/** A labeled page. */
interface Example {
  readonly input: ReadonlyArray<number>
  readonly label: number
}

/** Every third first page and every third other page are held out for validation. */
const split = (examples: ReadonlyArray<Example>) => {
  const train: Array<Example> = []
  const val: Array<Example> = []
  for (const label of [1, 0]) {
    examples.filter((e) => e.label === label).forEach((e, i) => (i % 3 === 2 ? val : train).push(e))
  }
  return { train: toSplit(train), val: toSplit(val) }
}

/** The train step. */
export const train = Pipeline.step({
  name: "train",
  reads: features,
  feedback: labels,
  args: { epochs: Schema.Int, steps: Schema.Int, lr: Schema.Number, seed: Schema.Int },
  writes: {
    ...metrics,
    loss: Schema.Number,
    label: Schema.Int,
    label_src: Schema.String,
    n_hand_labels: Schema.Int,
    n_app_labels: Schema.Int,
    n_train: Schema.Int,
    n_val: Schema.Int
  },
  loops: { ...pageLoops, epoch: Schema.Int },
  run: ({ read, out }) =>
    Effect.gen(function*() {
      yield* Effect.promise(() => initBackend())
      const epochs = yield* out.arg("epochs", 12)
      const steps = yield* out.arg("steps", 10)
      const lr = yield* out.arg("lr", 0.05)
      const seed = yield* out.arg("seed", 0)

      const store = latest(yield* read.dataframe(...FEATURE_NAMES))
      const current = currentLabels((yield* read.dataframe("page_color")).rows)
      const documents = [...new Set(store.rows.map((r) => r.document_value!))]
      const examples: Array<Example> = []
      const bySource = new Map<string, number>()
      yield* out.loop("document", documents, (document) => {
        const pages = store.rows.filter((r) => r.document_value === document).sort((a, b) => a.page_value! - b.page_value!)
        const given = current.get(document)
        if (given === undefined || given.colors.length !== pages.length) return Effect.void
        const first = firstPages(given.colors)
        bySource.set(given.source, (bySource.get(given.source) ?? 0) + pages.length)
        return out.loop("page", range(1, pages.length + 1), (page) =>
          Effect.gen(function*() {
            const label = first[page - 1] ? 1 : 0
            yield* out.log("label", label)
            yield* out.log("label_src", given.source)
            examples.push({ input: vectorize(pages[page - 1]!), label })
          }))
      })
      const hand = yield* out.log("n_hand_labels", bySource.get("label.ts") ?? 0)
      const app = yield* out.log("n_app_labels", bySource.get("serve.ts") ?? 0)
      const data = split(examples)
      yield* out.log("n_train", data.train.n)
      yield* out.log("n_val", data.val.n)
      yield* Console.log(
        `train: ${examples.length} labeled pages (label.ts ${hand}, serve.ts ${app}): ${data.train.n} to train, ${data.val.n} to validate`
      )
      if (data.train.n === 0) return yield* Effect.fail("train: no labeled pages: run `make label` or save labels in the web app")

      const net = makeModel(seed)
      const opt = tf.train.adam(lr)
      yield* checkpointing(
        { model: model(net), optimizer: optimizer(opt) },
        out.loop("epoch", range(1, epochs + 1), (epoch) =>
          Effect.gen(function*() {
            const loss = yield* Effect.sync(() => fit(net, opt, data.train, steps))
            const m = yield* Effect.sync(() => score(predict(net, data.val.x, data.val.n), data.val.y))
            yield* out.log("loss", loss)
            yield* out.log("val_recall", m.recall)
            yield* out.log("val_precision", m.precision)
            yield* out.log("val_acc", m.acc)
            yield* Console.log(
              `  epoch ${String(epoch).padStart(2)}: loss ${loss.toFixed(3)}  val_recall ${m.recall.toFixed(3)}  ` +
                `val_precision ${m.precision.toFixed(3)}  val_acc ${m.acc.toFixed(3)}`
            )
          }))
      )
    })
})

if (isEntry(import.meta.url)) main(train.program)
