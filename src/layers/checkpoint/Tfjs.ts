/**
 * Checkpointable codecs for TensorFlow.js: a `LayersModel`'s weights and an
 * optimizer's state. Capture copies tensor data to host buffers; restore builds
 * tensors from them and puts them back in place, bit for bit.
 *
 * @since 0.1.0
 */
import type * as tf from "@tensorflow/tfjs"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Part, Snapshot } from "../../domain/Snapshot.js"
import type { Checkpointable } from "../../services/Checkpointable.js"
import { loadTf, type Tf } from "./Backend.js"

type TensorDType = "float32" | "int32" | "bool"

const BYTES: Record<TensorDType, number> = { float32: 4, int32: 4, bool: 1 }

const isTensorDType = (d: string): d is TensorDType => d === "float32" || d === "int32" || d === "bool"

const describe = (dtype: string, shape: ReadonlyArray<number | null>) => `${dtype} [${shape.join(",")}]`

const sameShape = (a: ReadonlyArray<number | null>, b: ReadonlyArray<number>) =>
  a.length === b.length && a.every((n, i) => n === b[i])

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * Copies a tensor's data to a host part. `dataSync` already returns a fresh array on the wasm
 * backend; other backends (cpu) may hand out their own storage, so it is copied again.
 */
const capturePart = (name: string, tensor: tf.Tensor, fresh: boolean): Part => {
  const dtype = tensor.dtype
  if (!isTensorDType(dtype)) throw new Error(`cannot checkpoint ${name}: tensors of dtype ${dtype} are not supported`)
  const values = tensor.dataSync() as Float32Array | Int32Array | Uint8Array
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
  return { name, dtype, shape: [...tensor.shape], data: fresh ? bytes : bytes.slice() }
}

/** Checks a part holds a whole tensor of its dtype and shape; returns a description when not. */
const checkPart = (part: Part): string | undefined => {
  if (!isTensorDType(part.dtype)) return `${part.name}: dtype ${part.dtype} is not a tensor dtype`
  const expected = part.shape.reduce((n, d) => n * d, 1) * BYTES[part.dtype]
  return part.data.byteLength === expected
    ? undefined
    : `${part.name}: ${describe(part.dtype, part.shape)} needs ${expected} bytes, the checkpoint has ${part.data.byteLength}`
}

/** A tensor built from a checked part (copies misaligned data first). */
const tensorOf = (tfm: Tf, part: Part): tf.Tensor => {
  const data = part.data.byteOffset % 4 === 0 ? part.data : part.data.slice()
  const dtype = part.dtype as TensorDType
  const values = dtype === "bool"
    ? data
    : dtype === "int32"
    ? new Int32Array(data.buffer, data.byteOffset, data.byteLength / 4)
    : new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4)
  return tfm.tensor(values, [...part.shape], dtype)
}

/** Runs `f` with tensors built from `parts`, disposing them afterwards (whatever took ownership keeps its own reference). */
const withTensors = async <A>(parts: ReadonlyArray<Part>, f: (tensors: Array<tf.Tensor>) => A | Promise<A>) => {
  const tfm = await loadTf()
  const tensors: Array<tf.Tensor> = []
  try {
    for (const part of parts) tensors.push(tensorOf(tfm, part))
    return await f(tensors)
  } finally {
    tfm.dispose(tensors)
  }
}

/** True when `dataSync` returns a fresh array on the current backend. */
const freshReads = async () => (await loadTf()).getBackend() === "wasm"

const decodeFailure = (what: string, e: ParseResult.ParseError) =>
  `malformed ${what} checkpoint: ${ParseResult.TreeFormatter.formatErrorSync(e)}`

// ---------------------------------------------------------------------------------------------
// Models

const ModelMeta = Schema.Struct({ kind: Schema.Literal("tfjs.LayersModel"), weights: Schema.Array(Schema.String) })
const decodeModelMeta = Schema.decodeUnknownEither(ModelMeta)

/**
 * Checkpoints a `LayersModel`'s weights (trainable and not, in `model.weights` order). A restore
 * checks the count, dtypes and shapes against the model and fails with a description when they
 * differ; weight names are informational (layer names differ between processes).
 */
export const model = (m: tf.LayersModel): Checkpointable => ({
  capture: Effect.promise(async (): Promise<Snapshot> => {
    const fresh = await freshReads()
    const weights = m.weights
    return {
      meta: { kind: "tfjs.LayersModel", weights: weights.map((w) => w.name) },
      parts: weights.map((w) => capturePart(w.name, w.read(), fresh))
    }
  }),
  restore: (snapshot) =>
    Effect.suspend(() => {
      const meta = decodeModelMeta(snapshot.meta)
      if (Either.isLeft(meta)) return Effect.fail(decodeFailure("model", meta.left))
      const weights = m.weights
      if (snapshot.parts.length !== weights.length) {
        return Effect.fail(`the model has ${weights.length} weights, the checkpoint ${snapshot.parts.length}`)
      }
      for (let i = 0; i < weights.length; i++) {
        const w = weights[i]!
        const p = snapshot.parts[i]!
        if (p.dtype !== w.dtype || !sameShape(w.shape, p.shape)) {
          return Effect.fail(
            `model weight ${i} (${w.name}) is ${describe(w.dtype, w.shape)}, the checkpoint's ${p.name} is ${describe(p.dtype, p.shape)}`
          )
        }
        const bad = checkPart(p)
        if (bad !== undefined) return Effect.fail(bad)
      }
      return Effect.tryPromise({
        try: () => withTensors(snapshot.parts, (tensors) => m.setWeights(tensors)),
        catch: (e) => `cannot restore the model: ${message(e)}`
      })
    })
})

// ---------------------------------------------------------------------------------------------
// Optimizers

/** A `tf.Variable` (duck-typed: the optimizer may come from another copy of tfjs-core). */
const isVariable = (u: unknown): u is tf.Variable =>
  typeof u === "object" && u !== null && "assign" in u && typeof u.assign === "function" && "trainable" in u

/**
 * Variables an optimizer keeps besides `getWeights()`, e.g. Adam's `accBeta1`/`accBeta2`.
 * `setWeights` recomputes those as `pow(beta, iterations + 1)`, which is not bit-identical to the
 * running product training computes, so they are checkpointed too.
 */
const extraVariables = (o: tf.Optimizer, slots: ReadonlySet<unknown>): Array<readonly [string, tf.Variable]> =>
  Object.keys(o).sort().flatMap((key) => {
    const value: unknown = Reflect.get(o, key)
    return isVariable(value) && !slots.has(value) ? [[key, value] as const] : []
  })

/** Throws a description when the checkpoint's slots do not match the ones the optimizer has. */
const checkSlots = (current: ReadonlyArray<{ readonly name: string; readonly tensor: tf.Tensor }>, parts: ReadonlyArray<Part>) => {
  if (current.length !== parts.length) {
    throw new Error(`it has ${current.length - 1} slot variables, the checkpoint ${parts.length - 1}`)
  }
  current.forEach(({ name, tensor }, i) => {
    const p = parts[i]!
    if (p.dtype !== tensor.dtype || !sameShape(tensor.shape, p.shape)) {
      throw new Error(`${name} is ${describe(tensor.dtype, tensor.shape)}, the checkpoint's ${p.name} is ${describe(p.dtype, p.shape)}`)
    }
  })
}

const OptimizerMeta = Schema.Struct({
  kind: Schema.Literal("tfjs.Optimizer"),
  className: Schema.String,
  weights: Schema.Number,
  extras: Schema.Array(Schema.String)
})
const decodeOptimizerMeta = Schema.decodeUnknownEither(OptimizerMeta)

/**
 * Checkpoints an optimizer (Adam, SGD, RMSProp, Momentum, Adagrad, Adadelta, or another optimizer with
 * `getWeights`/`setWeights`): its iteration count, its slot variables and its scalar accumulators.
 * Restoring into a fresh optimizer (whose slots do not exist until the first `minimize`) works.
 */
export const optimizer = (o: tf.Optimizer): Checkpointable => ({
  capture: Effect.promise(async (): Promise<Snapshot> => {
    const fresh = await freshReads()
    const named = await o.getWeights()
    try {
      const extras = extraVariables(o, new Set(named.map((w) => w.tensor)))
      return {
        meta: { kind: "tfjs.Optimizer", className: o.getClassName(), weights: named.length, extras: extras.map(([k]) => k) },
        parts: [
          ...named.map((w) => capturePart(w.name, w.tensor, fresh)),
          ...extras.map(([key, v]) => capturePart(key, v, fresh))
        ]
      }
    } finally {
      // getWeights returns the slot variables themselves plus a fresh iteration scalar
      for (const w of named) if (!isVariable(w.tensor)) w.tensor.dispose()
    }
  }),
  restore: (snapshot) =>
    Effect.suspend(() => {
      const decoded = decodeOptimizerMeta(snapshot.meta)
      if (Either.isLeft(decoded)) return Effect.fail(decodeFailure("optimizer", decoded.left))
      const meta = decoded.right
      if (meta.className !== o.getClassName()) {
        return Effect.fail(`the checkpoint holds ${meta.className} state, the optimizer is ${o.getClassName()}`)
      }
      if (snapshot.parts.length !== meta.weights + meta.extras.length) {
        return Effect.fail(`malformed optimizer checkpoint: ${snapshot.parts.length} parts for ${meta.weights} weights and ${meta.extras.length} extras`)
      }
      for (const p of snapshot.parts) {
        const bad = checkPart(p)
        if (bad !== undefined) return Effect.fail(bad)
      }
      const extras: Array<readonly [tf.Variable, Part]> = []
      for (const [j, key] of meta.extras.entries()) {
        const v: unknown = Reflect.get(o, key)
        const p = snapshot.parts[meta.weights + j]!
        if (!isVariable(v)) return Effect.fail(`the ${o.getClassName()} optimizer has no variable ${key}`)
        if (v.dtype !== p.dtype || !sameShape(v.shape, p.shape)) {
          return Effect.fail(`optimizer variable ${key} is ${describe(v.dtype, v.shape)}, the checkpoint's is ${describe(p.dtype, p.shape)}`)
        }
        extras.push([v, p])
      }
      return Effect.tryPromise({
        try: async () => {
          const previous = await o.getWeights()
          let replaced = false
          try {
            // an optimizer that has stepped already has slots: the checkpoint's must have their shapes
            if (previous.length > 1) checkSlots(previous, snapshot.parts.slice(0, meta.weights))
            await withTensors(snapshot.parts, async (tensors) => {
              await o.setWeights(tensors.slice(0, meta.weights).map((tensor, i) => ({ name: snapshot.parts[i]!.name, tensor })))
              replaced = true
              extras.forEach(([v], j) => v.assign(tensors[meta.weights + j]!))
            })
          } finally {
            // setWeights made new slot variables: the old ones are garbage once it succeeded
            for (const w of previous) if (replaced || !isVariable(w.tensor)) w.tensor.dispose()
          }
        },
        catch: (e) => `cannot restore the ${o.getClassName()} optimizer: ${message(e)}`
      })
    })
})
