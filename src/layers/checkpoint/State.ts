/**
 * Checkpointable codecs for plain state: a `Ref` with a schema, a typed array,
 * and a small seedable PRNG whose whole state is four 32-bit words.
 *
 * Restores are exact: capture, then restore into fresh objects, gives
 * bit-identical state (also for NaN, ±Infinity and -0 in a `Ref`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { DType, Snapshot } from "../../domain/Snapshot.js"
import type { Checkpointable } from "../../services/Checkpointable.js"

/** The `kind` a codec writes into its snapshot's meta; a restore checks it first. */
const kindOf = (meta: unknown): string =>
  typeof meta === "object" && meta !== null && "kind" in meta && typeof meta.kind === "string" ? meta.kind : "unknown"

const expectKind = (snapshot: Snapshot, kind: string): Effect.Effect<void, string> => {
  const found = kindOf(snapshot.meta)
  return found === kind ? Effect.void : Effect.fail(`expected a ${kind} checkpoint, found a ${found} checkpoint`)
}

// ---------------------------------------------------------------------------------------------
// Ref

/**
 * JSON cannot write NaN, ±Infinity or -0: they are tagged as `{ "$number": "NaN" }` etc., so a
 * `Ref` of numbers round-trips bit for bit.
 */
const tag = (u: unknown, at: string): unknown => {
  switch (typeof u) {
    case "number":
      return Number.isFinite(u) && !Object.is(u, -0) ? u : { $number: Object.is(u, -0) ? "-0" : String(u) }
    case "string":
    case "boolean":
      return u
    case "object":
      if (u === null) return null
      if (Array.isArray(u)) return u.map((x, i) => tag(x, `${at}[${i}]`))
      return Object.fromEntries(
        Object.entries(u).flatMap(([k, v]) => v === undefined ? [] : [[k, tag(v, `${at}.${k}`)]])
      )
    default:
      throw new Error(`the encoded value is not JSON at ${at || "the root"} (${typeof u})`)
  }
}

const untag = (u: unknown): unknown => {
  if (typeof u !== "object" || u === null) return u
  if (Array.isArray(u)) return u.map(untag)
  const entries = Object.entries(u)
  if (entries.length === 1 && entries[0]![0] === "$number" && typeof entries[0]![1] === "string") {
    return entries[0]![1] === "-0" ? -0 : Number(entries[0]![1])
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, untag(v)]))
}

const RefMeta = Schema.Struct({ kind: Schema.Literal("ref"), value: Schema.Unknown })
const decodeRefMeta = Schema.decodeUnknownEither(RefMeta)

/**
 * Checkpoints the contents of a `Ref` through `schema`: the encoded value is stored as JSON in the
 * snapshot's meta (the schema must encode to JSON: no bigints, functions or class instances).
 */
export const ref = <A, I>(ref: Ref.Ref<A>, schema: Schema.Schema<A, I>): Checkpointable => {
  const encode = Schema.encodeEither(schema)
  const decode = Schema.decodeUnknownEither(schema)
  return {
    capture: Effect.flatMap(Ref.get(ref), (value) => {
      const encoded = encode(value)
      if (Either.isLeft(encoded)) {
        return Effect.die(
          new Error(`cannot checkpoint a Ref: ${ParseResult.TreeFormatter.formatErrorSync(encoded.left)}`)
        )
      }
      return Effect.try({
        try: (): Snapshot => ({ meta: { kind: "ref", value: tag(encoded.right, "") }, parts: [] }),
        catch: (e) => new Error(`cannot checkpoint a Ref: ${e instanceof Error ? e.message : String(e)}`)
      }).pipe(Effect.orDie)
    }),
    restore: (snapshot) =>
      Effect.flatMap(expectKind(snapshot, "ref"), () => {
        const meta = decodeRefMeta(snapshot.meta)
        if (Either.isLeft(meta)) return Effect.fail(`malformed Ref checkpoint: ${ParseResult.TreeFormatter.formatErrorSync(meta.left)}`)
        const decoded = decode(untag(meta.right.value))
        return Either.isLeft(decoded)
          ? Effect.fail(`the checkpointed Ref value does not fit its schema: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`)
          : Ref.set(ref, decoded.right)
      })
  }
}

// ---------------------------------------------------------------------------------------------
// Typed arrays

/** Typed arrays `typedArray` checkpoints. */
export type HostArray = Float32Array | Int32Array | Uint8Array | Float64Array

const dtypeOf = (arr: HostArray): DType =>
  arr instanceof Float32Array ? "float32" : arr instanceof Int32Array ? "int32" : arr instanceof Float64Array ? "float64" : "uint8"

const bytesOf = (arr: HostArray | Uint32Array): Uint8Array => new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength)

/** Checkpoints a typed array's contents; a restore writes them back into the same array, in place. */
export const typedArray = (arr: HostArray): Checkpointable => {
  const dtype = dtypeOf(arr)
  return {
    capture: Effect.sync((): Snapshot => ({
      meta: { kind: "typedArray" },
      parts: [{ name: "array", dtype, shape: [arr.length], data: bytesOf(arr).slice() }]
    })),
    restore: (snapshot) =>
      Effect.flatMap(expectKind(snapshot, "typedArray"), () => {
        const part = snapshot.parts[0]
        if (snapshot.parts.length !== 1 || part === undefined) {
          return Effect.fail(`a typedArray checkpoint has one part, this one has ${snapshot.parts.length}`)
        }
        if (part.dtype !== dtype || part.data.byteLength !== arr.byteLength) {
          return Effect.fail(
            `the array is ${dtype}[${arr.length}], the checkpoint holds ${part.dtype}[${part.shape.join(",")}] (${part.data.byteLength} bytes)`
          )
        }
        return Effect.sync(() => bytesOf(arr).set(part.data))
      })
  }
}

// ---------------------------------------------------------------------------------------------
// Rng

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k))

/** Anything `Rng.shuffle` can permute in place: arrays and typed arrays. */
export interface Shuffleable {
  readonly length: number
  [index: number]: unknown
}

/**
 * A small seedable PRNG (xoshiro128**, seeded through splitmix32). Its whole state is
 * `state`, four 32-bit words, so `rng(r)` checkpoints it exactly.
 */
export class Rng {
  /** The generator state; `rng(r)` captures and restores it. */
  readonly state: Uint32Array

  /** A generator seeded with a 32-bit integer (other numbers are truncated to one). */
  constructor(seed = 0) {
    this.state = new Uint32Array(4)
    let s = seed >>> 0
    for (let i = 0; i < 4; i++) {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      this.state[i] = (z ^ (z >>> 16)) >>> 0
    }
    if (this.state.every((w) => w === 0)) this.state[0] = 1
  }

  /** The next uniform 32-bit unsigned integer. */
  next(): number {
    const s = this.state
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0
    const t = s[1] << 9
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 11)
    return result
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    return ((this.next() >>> 5) * 67108864 + (this.next() >>> 6)) / 9007199254740992
  }

  /** A uniform integer in [0, n), unbiased; `n` is an integer in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`)
    const limit = 4294967296 - (4294967296 % n)
    for (;;) {
      const x = this.next()
      if (x < limit) return x % n
    }
  }

  /** A standard normal draw (Box–Muller; one draw per call, nothing cached outside `state`). */
  normal(): number {
    const u1 = 1 - this.nextFloat()
    const u2 = this.nextFloat()
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<S extends Shuffleable>(array: S): S {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = array[i]
      array[i] = array[j]
      array[j] = tmp
    }
    return array
  }
}

/** Checkpoints an `Rng`'s state; a restore puts it back in place. */
export const rng = (r: Rng): Checkpointable => ({
  capture: Effect.sync((): Snapshot => ({
    meta: { kind: "rng", algorithm: "xoshiro128**" },
    parts: [{ name: "state", dtype: "bytes", shape: [16], data: bytesOf(r.state).slice() }]
  })),
  restore: (snapshot) =>
    Effect.flatMap(expectKind(snapshot, "rng"), () => {
      const part = snapshot.parts[0]
      return part === undefined || part.data.byteLength !== 16
        ? Effect.fail(`an Rng checkpoint holds 16 bytes of state, this one ${part?.data.byteLength ?? 0}`)
        : Effect.sync(() => bytesOf(r.state).set(part.data))
    })
})
