import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { decode, encode } from "../src/domain/Snapshot.js"
import type { Checkpointable } from "../src/services/Checkpointable.js"
import { initBackend } from "../src/layers/checkpoint/Backend.js"
import { ref, Rng, rng, typedArray } from "../src/layers/checkpoint/State.js"
import { model, optimizer } from "../src/layers/checkpoint/Tfjs.js"

beforeAll(async () => {
  expect(await initBackend()).toBe("wasm")
})

/** Capture, encode to bytes, decode: what a checkpoint store round trip does. */
const throughBytes = (c: Checkpointable) => Effect.map(c.capture, (s) => decode(encode(s)))

const roundTrip = (from: Checkpointable, to: Checkpointable) => Effect.flatMap(throughBytes(from), to.restore)

/** The bytes of every weight of a model. */
const weightBytes = (m: tf.LayersModel) =>
  m.weights.map((w) => {
    const v = w.read().dataSync() as Float32Array
    return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
  })

const makeNet = (hidden: number, seed: number) =>
  tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: hidden, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.batchNormalization(), // non-trainable moving mean and variance
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) })
    ]
  })

const batch = (i: number) => {
  const r = new Rng(i)
  return {
    x: Float32Array.from({ length: 8 * 4 }, () => r.normal()),
    y: Float32Array.from({ length: 8 * 3 }, (_, j) => (j % 3 === r.int(3) ? 1 : 0))
  }
}

/** One training step (batch `i`), with the batch-norm statistics updated as in `fit`. */
const step = (net: tf.LayersModel, opt: tf.Optimizer, i: number) => {
  const { x, y } = batch(i)
  const variables = net.trainableWeights.map((w) => w.read()).filter((t): t is tf.Variable => t instanceof tf.Variable)
  tf.tidy(() => {
    const xs = tf.tensor2d(x, [8, 4])
    const ys = tf.tensor2d(y, [8, 3])
    opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, net.apply(xs, { training: true }) as tf.Tensor), false, variables)
  })
}

describe("tfjs models", () => {
  it.effect("restore into a fresh model reproduces every weight bit for bit", () =>
    Effect.gen(function*() {
      const a = makeNet(16, 1)
      const opt = tf.train.adam(0.05)
      for (let i = 0; i < 3; i++) step(a, opt, i)
      const b = makeNet(16, 99)
      expect(weightBytes(b)).not.toEqual(weightBytes(a))
      yield* roundTrip(model(a), model(b))
      expect(weightBytes(b)).toEqual(weightBytes(a))
      expect(b.weights).toHaveLength(8) // 2 dense × 2 + batch norm gamma, beta, moving mean, moving variance
    }))

  it.effect("a restore allocates no tensors beyond the model's own", () =>
    Effect.gen(function*() {
      const a = makeNet(8, 1)
      const b = makeNet(8, 2)
      const snapshot = yield* throughBytes(model(a))
      const before = tf.memory().numTensors
      yield* model(b).restore(snapshot)
      expect(tf.memory().numTensors).toBe(before)
    }))

  it.effect("a shape mismatch fails with a description, and leaves the model as it was", () =>
    Effect.gen(function*() {
      const small = makeNet(8, 1)
      const big = makeNet(16, 1)
      const before = weightBytes(big)
      const error = yield* Effect.flip(roundTrip(model(small), model(big)))
      expect(error).toMatch(/^model weight 0 \(.*kernel.*\) is float32 \[4,16\], the checkpoint's .* is float32 \[4,8\]$/)
      expect(weightBytes(big)).toEqual(before)
    }))

  it.effect("a checkpoint of something else fails with a description", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(roundTrip(rng(new Rng(1)), model(makeNet(8, 1))))
      expect(error).toContain("malformed model checkpoint")
    }))
})

const optimizers = {
  adam: () => tf.train.adam(0.05),
  sgd: () => tf.train.sgd(0.05),
  rmsprop: () => tf.train.rmsprop(0.05),
  "rmsprop (centered, momentum)": () => tf.train.rmsprop(0.05, 0.9, 0.5, 1e-7, true),
  momentum: () => tf.train.momentum(0.05, 0.9),
  adagrad: () => tf.train.adagrad(0.05),
  adadelta: () => tf.train.adadelta(0.05)
} as const

describe("tfjs optimizers", () => {
  it.effect.each(Object.keys(optimizers) as Array<keyof typeof optimizers>)(
    "%s: restored into a fresh optimizer, training continues bit for bit",
    (name) =>
      Effect.gen(function*() {
        const netA = makeNet(8, 1)
        const optA = optimizers[name]()
        for (let i = 0; i < 3; i++) step(netA, optA, i)
        const modelSnapshot = yield* throughBytes(model(netA))
        const optSnapshot = yield* throughBytes(optimizer(optA))
        if (name === "adam") {
          // the iteration count, m and v of the 6 trainable weights, and the running beta powers
          expect(optSnapshot.meta).toMatchObject({ weights: 13, extras: ["accBeta1", "accBeta2"] })
        }

        // a fresh optimizer has no slot variables until its first minimize: the restore creates them
        const netB = makeNet(8, 5)
        const optB = optimizers[name]()
        yield* model(netB).restore(modelSnapshot)
        yield* optimizer(optB).restore(optSnapshot)
        expect(optB.iterations).toBe(3)
        const recaptured = yield* throughBytes(optimizer(optB))
        expect(recaptured).toEqual(optSnapshot)

        for (let i = 3; i < 6; i++) {
          step(netA, optA, i)
          step(netB, optB, i)
        }
        expect(weightBytes(netB)).toEqual(weightBytes(netA))
        expect(yield* throughBytes(optimizer(optB))).toEqual(yield* throughBytes(optimizer(optA)))
      })
  )

  it.effect("restoring into an optimizer that already has state frees the state it replaces", () =>
    Effect.gen(function*() {
      const net = makeNet(8, 1)
      const opt = tf.train.adam(0.05)
      step(net, opt, 0)
      const snapshot = yield* throughBytes(optimizer(opt))
      step(net, opt, 1)
      const before = tf.memory().numTensors
      yield* optimizer(opt).restore(snapshot)
      expect(tf.memory().numTensors).toBe(before)
      expect(opt.iterations).toBe(1)
      expect(yield* throughBytes(optimizer(opt))).toEqual(snapshot)
    }))

  it.effect("another optimizer class fails with a description", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(roundTrip(optimizer(tf.train.adam(0.1)), optimizer(tf.train.sgd(0.1))))
      expect(error).toBe("the checkpoint holds Adam state, the optimizer is SGD")
    }))

  it.effect("slots of another model's shapes fail with a description, and leave the optimizer as it was", () =>
    Effect.gen(function*() {
      const small = makeNet(8, 1)
      const optSmall = tf.train.adam(0.05)
      step(small, optSmall, 0)
      const big = makeNet(16, 1)
      const optBig = tf.train.adam(0.05)
      step(big, optBig, 0)
      const before = yield* throughBytes(optimizer(optBig))
      const error = yield* Effect.flip(roundTrip(optimizer(optSmall), optimizer(optBig)))
      expect(error).toMatch(/^cannot restore the Adam optimizer: .*kernel\/m is float32 \[4,16\], the checkpoint's .* is float32 \[4,8\]$/)
      expect(yield* throughBytes(optimizer(optBig))).toEqual(before)
    }))
})

describe("Ref", () => {
  const State = Schema.Struct({
    best: Schema.Number,
    history: Schema.Array(Schema.Number),
    note: Schema.optional(Schema.String),
    when: Schema.DateFromString
  })

  it.effect("round trips through its schema, exactly (NaN, ±Infinity, -0 included)", () =>
    Effect.gen(function*() {
      const value = {
        best: 0.1 + 0.2,
        history: [NaN, Infinity, -Infinity, -0, 0, 5e-324, Number.MAX_VALUE],
        note: "x",
        when: new Date(1234567890123)
      }
      const a = yield* Ref.make<typeof State.Type>(value)
      const b = yield* Ref.make<typeof State.Type>({ best: 0, history: [], when: new Date(0) })
      yield* roundTrip(ref(a, State), ref(b, State))
      const restored = yield* Ref.get(b)
      expect(restored.best).toBe(value.best)
      expect(restored.history).toHaveLength(value.history.length)
      restored.history.forEach((x, i) => expect(Object.is(x, value.history[i])).toBe(true))
      expect(restored.note).toBe("x")
      expect(restored.when.getTime()).toBe(1234567890123)
    }))

  it.effect("a value that does not fit the schema fails with a description", () =>
    Effect.gen(function*() {
      const a = yield* Ref.make<ReadonlyArray<string>>(["not", "numbers"])
      const b = yield* Ref.make<ReadonlyArray<number>>([1])
      const error = yield* Effect.flip(roundTrip(ref(a, Schema.Array(Schema.String)), ref(b, Schema.Array(Schema.Number))))
      expect(error).toContain("does not fit its schema")
      expect(yield* Ref.get(b)).toEqual([1])
    }))
})

describe("typed arrays", () => {
  it.effect("restore in place, bit for bit", () =>
    Effect.gen(function*() {
      const nanWithPayload = new Float32Array(new Uint32Array([0x7fc01234]).buffer)[0]!
      const cases = [
        [Float32Array.of(1.5, -0, NaN, nanWithPayload, Infinity), new Float32Array(5)],
        [Float64Array.of(0.1, -0, NaN, -Infinity), new Float64Array(4)],
        [Int32Array.of(-1, 2 ** 31 - 1, 0), new Int32Array(3)],
        [Uint8Array.of(0, 255, 7), new Uint8Array(3)]
      ] as const
      for (const [from, to] of cases) {
        yield* roundTrip(typedArray(from), typedArray(to))
        expect(new Uint8Array(to.buffer)).toEqual(new Uint8Array(from.buffer))
      }
      // a view into a larger buffer is restored without touching its neighbours
      const buffer = new Float32Array(6)
      const view = buffer.subarray(2, 4)
      yield* roundTrip(typedArray(Float32Array.of(7, 8)), typedArray(view))
      expect(Array.from(buffer)).toEqual([0, 0, 7, 8, 0, 0])
    }))

  it.effect("a length or type mismatch fails with a description", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(roundTrip(typedArray(new Float32Array(3)), typedArray(new Float32Array(4)))))
        .toBe("the array is float32[4], the checkpoint holds float32[3] (12 bytes)")
      expect(yield* Effect.flip(roundTrip(typedArray(new Int32Array(3)), typedArray(new Float32Array(3)))))
        .toBe("the array is float32[3], the checkpoint holds int32[3] (12 bytes)")
      expect(yield* Effect.flip(roundTrip(rng(new Rng(1)), typedArray(new Float32Array(3)))))
        .toBe("expected a typedArray checkpoint, found a rng checkpoint")
    }))
})

describe("Rng", () => {
  it("is xoshiro128** (reference vector for state [1, 2, 3, 4])", () => {
    const r = new Rng()
    r.state.set([1, 2, 3, 4])
    expect(Array.from({ length: 6 }, () => r.next())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492])
  })

  it("is seeded, and its draws are in range", () => {
    const a = new Rng(42)
    const b = new Rng(42)
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()))
    expect(new Rng(43).next()).not.toBe(new Rng(42).next())
    for (let i = 0; i < 1000; i++) {
      const f = a.nextFloat()
      expect(f >= 0 && f < 1).toBe(true)
      const k = a.int(7)
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true)
    }
    expect(() => a.int(0)).toThrow(RangeError)
    const shuffled = a.shuffle(Array.from({ length: 50 }, (_, i) => i))
    expect([...shuffled].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it.effect("restored into another generator, it continues the same sequence", () =>
    Effect.gen(function*() {
      const a = new Rng(7)
      for (let i = 0; i < 100; i++) a.next()
      const b = new Rng(12345)
      yield* roundTrip(rng(a), rng(b))
      expect(Array.from(b.state)).toEqual(Array.from(a.state))
      expect(b.shuffle(Array.from({ length: 20 }, (_, i) => i))).toEqual(a.shuffle(Array.from({ length: 20 }, (_, i) => i)))
      expect(Array.from({ length: 10 }, () => b.normal())).toEqual(Array.from({ length: 10 }, () => a.normal()))
    }))
})
