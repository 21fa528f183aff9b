/**
 * The pieces of the training example: deterministic data, the model, the optimizer,
 * one training step and evaluation. `train.ts` wires them into a flordb program;
 * tests and benches import them directly.
 */
import * as tf from "@tensorflow/tfjs"
import { Rng } from "flordb"

/** One split of the data set, on the host: `x` is row-major `[n, features]`, `y` the class of each row. */
export interface Split {
  readonly x: Float32Array
  readonly y: Int32Array
  readonly n: number
}

/** The generated data set. */
export interface Dataset {
  readonly features: number
  readonly classes: number
  readonly train: Split
  readonly val: Split
  readonly test: Split
}

/** Size of the generated data set. */
export interface DataOptions {
  readonly samples?: number
  readonly features?: number
  readonly classes?: number
}

/**
 * Overlapping Gaussian blobs, the same for the same `seed`: each class is a mixture of two blobs,
 * so a hidden layer helps. Split 70/15/15 into train, validation and test.
 */
export const makeData = (seed: number, { classes = 4, features = 12, samples = 3000 }: DataOptions = {}): Dataset => {
  const rng = new Rng(seed)
  const centers = Array.from({ length: classes * 2 }, () => Float64Array.from({ length: features }, () => rng.normal()))
  const x = new Float32Array(samples * features)
  const y = new Int32Array(samples)
  for (let i = 0; i < samples; i++) {
    const label = rng.int(classes)
    const center = centers[label * 2 + rng.int(2)]!
    y[i] = label
    for (let f = 0; f < features; f++) x[i * features + f] = center[f]! + rng.normal()
  }
  const split = (from: number, to: number): Split => ({
    x: x.slice(from * features, to * features),
    y: y.slice(from, to),
    n: to - from
  })
  const nTrain = Math.floor(samples * 0.7)
  const nVal = Math.floor(samples * 0.15)
  return {
    features,
    classes,
    train: split(0, nTrain),
    val: split(nTrain, nTrain + nVal),
    test: split(nTrain + nVal, samples)
  }
}

/** An MLP with one hidden ReLU layer, its weights initialized from `seed`. */
export const makeModel = (data: Dataset, hidden: number, seed: number): tf.LayersModel =>
  tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [data.features],
        units: hidden,
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed })
      }),
      tf.layers.dense({ units: data.classes, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) })
    ]
  })

/** The optimizers the example knows. */
export type OptimizerName = "adam" | "sgd" | "rmsprop"

/** A fresh optimizer. */
export const makeOptimizer = (name: OptimizerName, lr: number): tf.Optimizer =>
  name === "adam" ? tf.train.adam(lr) : name === "sgd" ? tf.train.sgd(lr) : tf.train.rmsprop(lr)

/**
 * This epoch's mini-batches: a fresh permutation of the training rows drawn from `rng`, cut into
 * pieces of `batchSize`. Only `rng`'s state carries over between epochs, so checkpointing it is enough.
 */
export const epochBatches = (rng: Rng, n: number, batchSize: number): Array<Int32Array> => {
  const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i))
  return Array.from({ length: Math.ceil(n / batchSize) }, (_, b) => order.subarray(b * batchSize, (b + 1) * batchSize))
}

/** One optimizer step on the training rows `rows`; returns the batch's loss before the step. */
export const trainStep = (net: tf.LayersModel, optimizer: tf.Optimizer, data: Dataset, rows: Int32Array): number => {
  const { classes, features, train } = data
  const xs = new Float32Array(rows.length * features)
  const ys = new Float32Array(rows.length * classes)
  rows.forEach((row, i) => {
    xs.set(train.x.subarray(row * features, (row + 1) * features), i * features)
    ys[i * classes + train.y[row]!] = 1
  })
  const variables = net.trainableWeights.map((w) => w.read()).filter((t): t is tf.Variable => t instanceof tf.Variable)
  const loss = tf.tidy(() => {
    const x = tf.tensor2d(xs, [rows.length, features])
    const y = tf.tensor2d(ys, [rows.length, classes])
    return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, net.apply(x) as tf.Tensor), true, variables)!
  })
  const value = loss.dataSync()[0]!
  loss.dispose()
  return value
}

/**
 * The fraction of `split` the model classifies correctly. One batch: `predict`'s default batches
 * of 32 rows each slice the input, and the wasm backend's slice copies the whole input every time
 * (quadratic: 4 s for 60k rows instead of 30 ms). Each row's logits do not depend on the batching.
 */
export const accuracy = (net: tf.LayersModel, data: Dataset, split: Split): number => {
  const predicted = tf.tidy(() => {
    const logits = net.predict(tf.tensor2d(split.x, [split.n, data.features]), { batchSize: Math.max(1, split.n) }) as tf.Tensor
    return logits.argMax(-1).dataSync()
  })
  let correct = 0
  for (let i = 0; i < split.n; i++) if (predicted[i] === split.y[i]) correct++
  return correct / split.n
}

/**
 * The L2 norm of the loss gradient over `split` (with respect to the trainable
 * weights), without updating the model: the kind of diagnostic one adds in
 * hindsight.
 */
export const gradNorm = (net: tf.LayersModel, data: Dataset, split: Split): number =>
  tf.tidy(() => {
    const x = tf.tensor2d(split.x, [split.n, data.features])
    const labels = new Float32Array(split.n * data.classes)
    split.y.forEach((label, i) => {
      labels[i * data.classes + label] = 1
    })
    const y = tf.tensor2d(labels, [split.n, data.classes])
    const variables = net.trainableWeights.map((w) => w.read()).filter((t): t is tf.Variable => t instanceof tf.Variable)
    const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, net.apply(x) as tf.Tensor) as tf.Scalar, variables)
    const total = Object.values(grads).reduce((sum, g) => sum + (g.square().sum().dataSync()[0] ?? 0), 0)
    return Math.sqrt(total)
  })
