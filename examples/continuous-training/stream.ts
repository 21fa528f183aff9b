/**
 * The world of the continuous-training example: a small, generated stand-in for
 * dashcam object detection. Every "detection" is a feature vector (think: the
 * pooled features of a bounding box) of one of five classes. Labeled batches
 * arrive over time (batch 1, 2, 3, …, drawn deterministically from the batch
 * index), and a fixed, balanced evaluation set measures the model.
 *
 * Two things change along the stream:
 *
 * - new kinds of roundabouts get labeled: batch k holds roundabouts of the first
 *   `min(3, ceil(k / 2))` looks (the evaluation set holds all three), so the
 *   roundabout F1 improves as batches arrive;
 * - `shift` (the data-shift parameter of `stream.json`): the share of pedestrian
 *   labels that the labeling campaign replaced by roundabouts. At `shift = 0` the
 *   batch is balanced; at `shift = 0.9` only 2% of it are pedestrians. A model
 *   fine-tuned on such batches forgets pedestrians (catastrophic forgetting): it
 *   calls them cyclists, whom they resemble.
 *
 * `train.ts` wires these pieces into a flordb program; the walkthrough and the
 * test import them too.
 */
import * as tf from "@tensorflow/tfjs"
import { Rng } from "flordb"

/** The classes, in label order. */
export const CLASSES = ["pedestrian", "cyclist", "car", "truck", "roundabout"] as const
/** A class name. */
export type ClassName = typeof CLASSES[number]
/** Label of a class. */
export const label = (name: ClassName): number => CLASSES.indexOf(name)

/** Length of a feature vector. */
export const FEATURES = 16
/** The seed of the world: class prototypes and the evaluation set never change. */
const WORLD_SEED = 2023
/** Looks (mixture components) of each class; roundabouts get labeled one look at a time. */
const LOOKS: Readonly<Record<ClassName, number>> = { pedestrian: 2, cyclist: 2, car: 2, truck: 2, roundabout: 3 }

/** Labeled detections on the host: `x` is row-major `[n, FEATURES]`, `y` the label of each row. */
export interface Split {
  readonly x: Float32Array
  readonly y: Int32Array
  readonly n: number
}

/** The class prototypes: one center per look, pedestrians near cyclists and roundabouts near cars. */
const prototypes = (() => {
  const rng = new Rng(WORLD_SEED)
  const vector = (scale: number) => Float64Array.from({ length: FEATURES }, () => scale * rng.normal())
  const near = (base: Float64Array, distance: number) => {
    const v = vector(1)
    const norm = Math.hypot(...v)
    return base.map((b, i) => b + (distance * v[i]!) / norm)
  }
  const centers = new Map<ClassName, Array<Float64Array>>()
  for (const name of ["cyclist", "car", "truck"] as const) {
    centers.set(name, Array.from({ length: LOOKS[name] }, () => vector(1.2)))
  }
  // look-alikes: a pedestrian looks like a cyclist, a roundabout like a car
  centers.set("pedestrian", centers.get("cyclist")!.map((c) => near(c, 2.2)))
  centers.set("roundabout", Array.from({ length: LOOKS.roundabout }, (_, i) => near(centers.get("car")![i % 2]!, 2.4)))
  return centers
})()

/** Draws `counts[c]` detections of each class (roundabouts of the first `roundaboutLooks` looks), shuffled. */
const draw = (rng: Rng, counts: ReadonlyArray<number>, roundaboutLooks: number): Split => {
  const n = counts.reduce((a, b) => a + b, 0)
  const x = new Float32Array(n * FEATURES)
  const y = new Int32Array(n)
  let row = 0
  counts.forEach((count, c) => {
    const name = CLASSES[c]!
    const looks = name === "roundabout" ? roundaboutLooks : LOOKS[name]
    for (let i = 0; i < count; i++, row++) {
      const center = prototypes.get(name)![rng.int(looks)]!
      y[row] = c
      for (let f = 0; f < FEATURES; f++) x[row * FEATURES + f] = center[f]! + rng.normal()
    }
  })
  const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i))
  const sx = new Float32Array(n * FEATURES)
  const sy = new Int32Array(n)
  order.forEach((from, to) => {
    sx.set(x.subarray(from * FEATURES, (from + 1) * FEATURES), to * FEATURES)
    sy[to] = y[from]!
  })
  return { x: sx, y: sy, n }
}

/** The class mix of a batch under data shift `shift` (shares summing to 1, in label order). */
export const mixOf = (shift: number): Array<number> => {
  const ped = 0.2 * (1 - shift)
  return [ped, 0.2, 0.2, 0.2, 0.2 + 0.2 - ped]
}

/** Batch `k` (1, 2, …) of the labeled stream: `samples` detections, the same for the same `k`, `shift` and `samples`. */
export const streamBatch = (k: number, shift: number, samples: number): Split => {
  const mix = mixOf(shift)
  const counts = mix.map((share) => Math.round(share * samples))
  return draw(new Rng(WORLD_SEED * 1000 + k), counts, Math.min(LOOKS.roundabout, Math.ceil(k / 2)))
}

/** The fixed evaluation set: `perClass` detections of every class and every look. */
export const evaluationSet = (perClass = 120): Split =>
  draw(new Rng(WORLD_SEED * 1000 + 999), CLASSES.map(() => perClass), LOOKS.roundabout)

/** An MLP with one hidden ReLU layer, its weights initialized from `seed`. */
export const makeModel = (hidden: number, seed: number): tf.LayersModel =>
  tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [FEATURES],
        units: hidden,
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed })
      }),
      tf.layers.dense({ units: CLASSES.length, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) })
    ]
  })

/** The optimizer: Adam (its moments are checkpointed and carried from run to run). */
export const makeOptimizer = (lr: number): tf.Optimizer => tf.train.adam(lr)

/** This epoch's mini-batches: a fresh permutation drawn from `rng` (checkpointed), cut into pieces of `batchSize`. */
export const epochBatches = (rng: Rng, n: number, batchSize: number): Array<Int32Array> => {
  const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i))
  return Array.from({ length: Math.ceil(n / batchSize) }, (_, b) => order.subarray(b * batchSize, (b + 1) * batchSize))
}

/** One optimizer step on rows `rows` of `data`; returns the mini-batch's loss before the step. */
export const trainStep = (net: tf.LayersModel, optimizer: tf.Optimizer, data: Split, rows: Int32Array): number => {
  const classes = CLASSES.length
  const xs = new Float32Array(rows.length * FEATURES)
  const ys = new Float32Array(rows.length * classes)
  rows.forEach((row, i) => {
    xs.set(data.x.subarray(row * FEATURES, (row + 1) * FEATURES), i * FEATURES)
    ys[i * classes + data.y[row]!] = 1
  })
  const variables = net.trainableWeights.map((w) => w.read()).filter((t): t is tf.Variable => t instanceof tf.Variable)
  const loss = tf.tidy(() => {
    const x = tf.tensor2d(xs, [rows.length, FEATURES])
    const y = tf.tensor2d(ys, [rows.length, classes])
    return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, net.apply(x) as tf.Tensor), true, variables)!
  })
  const value = loss.dataSync()[0]!
  loss.dispose()
  return value
}

/** Per-class and macro F1 of the model on a split. */
export interface Report {
  /** F1 of each class. */
  readonly f1: Readonly<Record<ClassName, number>>
  /** Recall of each class. */
  readonly recall: Readonly<Record<ClassName, number>>
  /** The mean of the per-class F1 scores. */
  readonly macroF1: number
  /** The fraction of detections classified correctly. */
  readonly accuracy: number
}

/** Evaluates `net` on `split`: per-class F1 and recall, macro F1, accuracy. */
export const evaluate = (net: tf.LayersModel, split: Split): Report => {
  const predicted = tf.tidy(() => {
    const logits = net.predict(tf.tensor2d(split.x, [split.n, FEATURES])) as tf.Tensor
    return logits.argMax(-1).dataSync()
  })
  const f1 = {} as Record<ClassName, number>
  const recall = {} as Record<ClassName, number>
  CLASSES.forEach((name, c) => {
    let tp = 0
    let fp = 0
    let fn = 0
    for (let i = 0; i < split.n; i++) {
      const p = predicted[i] === c
      const t = split.y[i] === c
      if (p && t) tp++
      else if (p) fp++
      else if (t) fn++
    }
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp)
    const r = tp + fn === 0 ? 0 : tp / (tp + fn)
    recall[name] = r
    f1[name] = precision + r === 0 ? 0 : (2 * precision * r) / (precision + r)
  })
  let correct = 0
  for (let i = 0; i < split.n; i++) if (predicted[i] === split.y[i]) correct++
  const macroF1 = CLASSES.reduce((a, name) => a + f1[name], 0) / CLASSES.length
  return { f1, recall, macroF1, accuracy: correct / split.n }
}
