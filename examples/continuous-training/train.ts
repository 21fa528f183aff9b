/**
 * Continuous training (the thesis' object-detection scenario, small): fine-tune
 * the model on the newest labeled batch of the stream, starting from the model the
 * previous run published. `stream.json` (committed with the code) names the batch
 * and its data shift; run it in a git repository where flordb is installed:
 *
 *   npx tsx train.ts --kwargs seed=81
 *   npx flor dataframe batch shift f1_score f1_round --where "epoch = 4"
 */
import * as fs from "node:fs"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { checkpointing, Flor, initBackend, latest, loading, main, model, optimizer, range, Rng, rng, Session } from "flordb"
import { checkpointedRows, published } from "./registry.js"
import { epochBatches, evaluate, evaluationSet, makeModel, makeOptimizer, streamBatch, trainStep } from "./stream.js"

await initBackend() // tfjs-node when installed, else WebAssembly

/** The labeling campaign: which batch of the stream arrived, and its data shift. */
const Campaign = Schema.parseJson(Schema.Struct({ batch: Schema.Int, shift: Schema.Number }))
const campaign = Schema.decodeUnknownSync(Campaign)(fs.readFileSync(new URL("./stream.json", import.meta.url), "utf8"))

const flor = Flor.make({
  args: {
    batch: Schema.Int,
    shift: Schema.Number,
    lr: Schema.Number,
    epochs: Schema.Int,
    seed: Schema.Int,
    samples: Schema.Int,
    hidden: Schema.Int,
    batch_size: Schema.Int
  },
  columns: {
    loss: Schema.Number,
    f1_score: Schema.Number,
    f1_round: Schema.Number,
    parent: Schema.String,
    parent_epoch: Schema.Int
  },
  loops: { epoch: Schema.Int, step: Schema.Int }
})

const program = Effect.gen(function*() {
  const batch = yield* flor.arg("batch", campaign.batch)
  const shift = yield* flor.arg("shift", campaign.shift)
  const lr = yield* flor.arg("lr", 0.005)
  const epochs = yield* flor.arg("epochs", 4)
  const seed = yield* flor.arg("seed", 0)
  const samples = yield* flor.arg("samples", 480)
  const hidden = yield* flor.arg("hidden", 32)
  const batchSize = yield* flor.arg("batch_size", 32)

  const data = streamBatch(batch, shift, samples)
  const evalSet = evaluationSet()
  const net = makeModel(hidden, seed)
  const opt = makeOptimizer(lr)
  const shuffler = new Rng(seed + 1)

  // Start from the model the previous run of this script published (none: start fresh).
  // `tstamp < me.tstamp` keeps the choice the same when this run is replayed later.
  const me = yield* Effect.flatMap(Session, (s) => s.current)
  const history = yield* flor.dataframe("f1_score", "status")
  const isCheckpointed = yield* checkpointedRows
  const previous = latest({
    columns: history.columns,
    rows: history.rows.filter((r) => r.filename === me.filename && r.tstamp < me.tstamp && r.status === "committed")
  })
  const parent = published(previous.rows, isCheckpointed)
  if (parent !== undefined) {
    const epoch = yield* loading({ model: model(net), optimizer: optimizer(opt) }, parent)
    yield* flor.log("parent", parent.tstamp)
    yield* flor.log("parent_epoch", epoch)
  }
  yield* Console.log(
    `run ${me.tstamp}, batch ${batch} (shift ${shift}): ${
      parent === undefined ? "a fresh model" : `fine-tuning run ${parent.tstamp}'s epoch ${parent.epoch}`
    }`
  )

  yield* checkpointing(
    { model: model(net), optimizer: optimizer(opt), rng: rng(shuffler) },
    flor.loop("epoch", range(epochs), (epoch) =>
      Effect.gen(function*() {
        const batches = yield* Effect.sync(() => epochBatches(shuffler, data.n, batchSize))
        yield* flor.loop("step", range(batches.length), (step) =>
          Effect.flatMap(
            Effect.sync(() => trainStep(net, opt, data, batches[step]!)),
            (loss) => flor.log("loss", loss)
          ))
        const report = yield* Effect.sync(() => evaluate(net, evalSet))
        yield* flor.log("f1_score", report.macroF1)
        yield* flor.log("f1_round", report.f1.roundabout)
        yield* Console.log(
          `  epoch ${epoch + 1}: f1_score ${report.macroF1.toFixed(3)}  f1_round ${report.f1.roundabout.toFixed(3)}`
        )
      }))
  )
})

main(program)
