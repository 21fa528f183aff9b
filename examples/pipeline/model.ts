/**
 * The first-page classifier: a small MLP over a page's text features, with a
 * sigmoid output (the probability that the page begins a sub-document). train.ts
 * fits it, infer.ts loads a checkpoint of it.
 */
import * as tf from "@tensorflow/tfjs"
import type { PageFeatures } from "./features.js"

/** Length of the input vector. */
export const INPUTS = 10
/** Hidden units. */
export const HIDDEN = 8

/** A page's features as a dataframe row holds them (a cell may be missing). */
export type FeatureCells = { readonly [K in keyof PageFeatures]?: PageFeatures[K] | null | undefined }

/** The model input of a page's features (each roughly in [0, 1]). */
export const vectorize = (f: FeatureCells): Array<number> => {
  const pageNumber = f.page_number ?? null
  return [
    f.has_heading ? 1 : 0,
    Math.min(f.max_font ?? 0, 32) / 32,
    pageNumber === 1 ? 1 : 0,
    pageNumber === null ? 1 : 0,
    pageNumber !== null && pageNumber > 1 ? 1 : 0,
    Math.min(f.n_words ?? 0, 400) / 400,
    Math.min(f.text_density ?? 0, 5) / 5,
    f.top_margin ?? 1,
    f.upper_ratio ?? 0,
    f.has_salutation ? 1 : 0
  ]
}

/** Labeled pages on the host: `x` is row-major `[n, INPUTS]`, `y` 1 for a first page. */
export interface Split {
  readonly x: Float32Array
  readonly y: Float32Array
  readonly n: number
}

/** Packs vectors and labels into a split. */
export const toSplit = (rows: ReadonlyArray<{ readonly input: ReadonlyArray<number>; readonly label: number }>): Split => ({
  x: Float32Array.from(rows.flatMap((r) => r.input)),
  y: Float32Array.from(rows.map((r) => r.label)),
  n: rows.length
})

/** The MLP, its weights initialized from `seed`. */
export const makeModel = (seed: number): tf.LayersModel =>
  tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [INPUTS],
        units: HIDDEN,
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed })
      }),
      tf.layers.dense({ units: 1, activation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) })
    ]
  })

/** `steps` full-batch optimizer steps on `data`; returns the last step's loss. */
export const fit = (net: tf.LayersModel, optimizer: tf.Optimizer, data: Split, steps: number): number => {
  const variables = net.trainableWeights.map((w) => w.read()).filter((t): t is tf.Variable => t instanceof tf.Variable)
  return tf.tidy(() => {
    const x = tf.tensor2d(data.x, [data.n, INPUTS])
    const y = tf.tensor2d(data.y, [data.n, 1])
    let loss = 0
    for (let s = 0; s < steps; s++) {
      const value = optimizer.minimize(() => tf.losses.logLoss(y, net.apply(x) as tf.Tensor), true, variables)!
      loss = value.dataSync()[0]!
    }
    return loss
  })
}

/** First-page probabilities of `n` input vectors. */
export const predict = (net: tf.LayersModel, x: Float32Array, n: number): Float32Array =>
  n === 0 ? new Float32Array() : tf.tidy(() => (net.predict(tf.tensor2d(x, [n, INPUTS])) as tf.Tensor).dataSync() as Float32Array)

/** Accuracy, recall and precision of first-page predictions (probability ≥ 0.5) against labels. */
export const score = (probs: Float32Array, y: Float32Array) => {
  let tp = 0
  let fp = 0
  let fn = 0
  let correct = 0
  probs.forEach((p, i) => {
    const predicted = p >= 0.5
    const truth = y[i] === 1
    if (predicted === truth) correct++
    if (predicted && truth) tp++
    else if (predicted) fp++
    else if (truth) fn++
  })
  return {
    acc: probs.length === 0 ? 0 : correct / probs.length,
    recall: tp + fn === 0 ? 0 : tp / (tp + fn),
    precision: tp + fp === 0 ? 0 : tp / (tp + fp)
  }
}
