/**
 * flordb training example: a small tfjs classifier whose model, optimizer and
 * shuffling state are checkpointed at every epoch. Run it inside a git repository
 * where flordb is installed:
 *
 *   npx tsx train.ts --kwargs epochs=5 lr=0.005 optimizer=rmsprop
 *   npx flor dataframe loss acc --format csv
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { checkpointing, Flor, initBackend, main, model, optimizer, range, Rng, rng } from "flordb"
import { accuracy, epochBatches, makeData, makeModel, makeOptimizer, trainStep } from "./model.js"

await initBackend() // tfjs-node when installed, else WebAssembly

const flor = Flor.make({
  args: {
    hidden: Schema.Int,
    lr: Schema.Number,
    batch_size: Schema.Int,
    epochs: Schema.Int,
    seed: Schema.Int,
    samples: Schema.Int,
    optimizer: Schema.Literal("adam", "sgd", "rmsprop")
  },
  columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number },
  loops: { epoch: Schema.Int, step: Schema.Int }
})

const program = Effect.gen(function*() {
  const hidden = yield* flor.arg("hidden", 32)
  const lr = yield* flor.arg("lr", 0.01)
  const batchSize = yield* flor.arg("batch_size", 32)
  const epochs = yield* flor.arg("epochs", 4)
  const seed = yield* flor.arg("seed", 0)
  const samples = yield* flor.arg("samples", 3000)
  const optimizerName = yield* flor.arg("optimizer", "adam")

  const data = makeData(seed, { samples })
  const net = makeModel(data, hidden, seed)
  const opt = makeOptimizer(optimizerName, lr)
  const shuffler = new Rng(seed + 1)

  yield* checkpointing(
    { model: model(net), optimizer: optimizer(opt), rng: rng(shuffler) },
    flor.loop("epoch", range(epochs), () =>
      Effect.gen(function*() {
        const batches = yield* Effect.sync(() => epochBatches(shuffler, data.train.n, batchSize))
        yield* flor.loop("step", range(batches.length), (step) =>
          Effect.flatMap(
            Effect.sync(() => trainStep(net, opt, data, batches[step]!)),
            (loss) => flor.log("loss", loss)
          ))
        yield* flor.log("acc", yield* Effect.sync(() => accuracy(net, data, data.val)))
      }))
  )
  yield* flor.log("test_acc", yield* Effect.sync(() => accuracy(net, data, data.test)))
})

main(program)
