/**
 * The typed DSL: declare a project's columns, args and loops with `effect/Schema`,
 * then `log`, `arg`, `loop`, `iteration` and `dataframe` are checked against them.
 *
 * @example
 * const flor = Flor.make({
 *   args: { lr: Schema.Number },
 *   columns: { loss: Schema.Number },
 *   loops: { epoch: Schema.Number }
 * })
 * const train = flor.loop("epoch", range(3), () => flor.log("loss", 0.1))
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type ColumnError, type KwargsError, ValueDecodeError, ValueEncodeError } from "../domain/Errors.js"
import type { Frame } from "../domain/Frame.js"
import { type BuildColumn, BuildColumns, DIMENSIONS, isBuildColumn } from "../domain/Run.js"
import { type Codec, type Fields, makeCodec, preview, type Spec, validateSpec } from "../domain/Spec.js"
import { Args } from "../services/Args.js"
import type { Checkpointable } from "../services/Checkpointable.js"
import { Checkpoints } from "../services/Checkpoints.js"
import { Logs } from "../services/Logs.js"
import { Loops } from "../services/Loops.js"
import { type CommitError, Session } from "../services/Session.js"
import { Store } from "../services/Store.js"
import type { StoreError } from "../domain/Errors.js"

type TypeOf<S> = S extends Schema.Schema.AnyNoContext ? Schema.Schema.Type<S> : never

/** The dimension columns of every row. */
export interface Dimensions {
  readonly projid: string
  readonly tstamp: string
  readonly filename: string
}

/** Loop coordinates: `<loop>` (1-based iteration) and `<loop>_value` (the item), present when the row is in that loop. */
export type LoopDimensions<L extends Fields> =
  & { readonly [K in keyof L & string]?: number | null }
  & { readonly [K in keyof L & string as `${K}_value`]?: TypeOf<L[K]> | null }

/** Names `dataframe` accepts: declared columns, args and build-context columns. */
export type Queryable<C extends Fields, A extends Fields> = (keyof C & string) | (keyof A & string) | BuildColumn

/** The type of a queryable column's values. */
export type ValueOf<C extends Fields, A extends Fields, K> = K extends keyof C ? TypeOf<C[K]>
  : K extends keyof A ? TypeOf<A[K]>
  : K extends BuildColumn ? TypeOf<typeof BuildColumns[K]>
  : never

/** A dataframe row for the asked columns. */
export type Row<C extends Fields, A extends Fields, L extends Fields, Ks extends ReadonlyArray<string>> =
  & Dimensions
  & LoopDimensions<L>
  & { readonly [K in Ks[number]]: ValueOf<C, A, K> | null }

/** The no-column dataframe row: one per run with its top-level values (args and top-level logs). */
export type RunValues<C extends Fields, A extends Fields> =
  & Dimensions
  & { readonly [K in (keyof C & string) | (keyof A & string)]?: ValueOf<C, A, K> | null }

/** Errors of reading a dataframe. */
export type DataframeError = StoreError | ValueDecodeError

/** A project's typed DSL. */
export interface Flor<C extends Fields, A extends Fields, L extends Fields> {
  readonly spec: Spec<C, A, L>
  /** Logs `value` under column `name` at the current loop coordinates; returns the value. */
  readonly log: <K extends keyof C & string>(
    name: K,
    value: TypeOf<C[K]>
  ) => Effect.Effect<TypeOf<C[K]>, ValueEncodeError, Logs>
  /** The hyper-parameter `name`: `--kwargs name=value`, else `defaultValue` (on replay, the recorded value). Always logged. */
  readonly arg: <K extends keyof A & string>(
    name: K,
    defaultValue: TypeOf<A[K]>
  ) => Effect.Effect<TypeOf<A[K]>, KwargsError, Args>
  /** Runs `body` for each item under the named loop dimension. */
  readonly loop: <K extends keyof L & string, E, R>(
    name: K,
    items: Iterable<TypeOf<L[K]>>,
    body: (item: TypeOf<L[K]>) => Effect.Effect<unknown, E, R>
  ) => Effect.Effect<void, E, R | Loops>
  /** Runs `body` as one iteration (1-based `index`) of the named dimension, e.g. one web request. */
  readonly iteration: <K extends keyof L & string, X, E, R>(
    name: K,
    index: number,
    value: TypeOf<L[K]>,
    body: Effect.Effect<X, E, R>
  ) => Effect.Effect<X, E, R | Loops>
  /** The pivoted view of the named columns, decoded through their schemas. With no names: one row per run. */
  readonly dataframe: {
    (): Effect.Effect<Frame<RunValues<C, A>>, DataframeError, Store>
    <const Ks extends ReadonlyArray<Queryable<C, A>>>(
      ...names: Ks
    ): Effect.Effect<Frame<Row<C, A, L, Ks>>, DataframeError, Store>
  }
}

const isScalar = (v: unknown) => typeof v === "number" || typeof v === "string" || typeof v === "boolean"

const encodeOrFail = (codec: Codec, value: unknown): Effect.Effect<unknown, ValueEncodeError> => {
  const encoded = codec.encode(value)
  return Either.isRight(encoded)
    ? Effect.succeed(encoded.right)
    : Effect.fail(new ValueEncodeError({ column: codec.name, detail: encoded.left }))
}

/** Decodes the stored values of the asked columns of every row, in place. */
const decodeFrame = (
  frame: Frame<Record<string, unknown>>,
  codecs: ReadonlyArray<Codec>
): Effect.Effect<Frame<Record<string, unknown>>, ValueDecodeError> =>
  Effect.suspend(() => {
    for (const codec of codecs) {
      for (const row of frame.rows) {
        const stored = row[codec.name]
        if (stored === null || stored === undefined) continue
        const decoded = codec.decode(stored)
        if (Either.isLeft(decoded)) {
          return Effect.fail(
            new ValueDecodeError({
              column: codec.name,
              tstamp: String(row.tstamp),
              filename: String(row.filename),
              value: preview(stored),
              detail: decoded.left
            })
          )
        }
        row[codec.name] = decoded.right
      }
    }
    return Effect.succeed(frame)
  })

const codecsOf = (fields: Fields) => {
  const out = new Map<string, Codec>()
  for (const [name, schema] of Object.entries(fields)) out.set(name, makeCodec(name, schema))
  return out
}

/**
 * Declares a project's columns, args and loop dimensions. Throws a `ColumnError`
 * at declaration when a name is invalid, reserved or declared twice.
 */
export const make = <
  const C extends Fields = {},
  const A extends Fields = {},
  const L extends Fields = {}
>(declaration: { readonly columns?: C; readonly args?: A; readonly loops?: L }): Flor<C, A, L> => {
  const spec = {
    columns: declaration.columns ?? ({} as C),
    args: declaration.args ?? ({} as A),
    loops: declaration.loops ?? ({} as L)
  }
  const checked = validateSpec(spec)
  if (Either.isLeft(checked)) throw checked.left
  const columns = codecsOf(spec.columns)
  const args = codecsOf(spec.args)
  const loops = codecsOf(spec.loops)
  const valueCodec = (name: string) => columns.get(name) ?? args.get(name)

  // A column undeclared at run time (a statement propagated into an older version
  // whose declaration lacks it) is logged as JSON: its type was checked where it was written.
  const columnCodec = (name: string) => {
    let codec = columns.get(name)
    if (codec === undefined) columns.set(name, codec = makeCodec(name, Schema.Unknown))
    return codec
  }

  // The Logs service of the last context seen: a context is immutable, and a loop
  // logs from one context, so most calls skip the lookup.
  let lastContext: Context.Context<never> | undefined
  let lastLogs: Logs["Type"] | undefined
  const logsOf = (context: Context.Context<never>): Logs["Type"] => {
    if (context !== lastContext || lastLogs === undefined) {
      lastLogs = Context.unsafeGet(context, Logs)
      lastContext = context
    }
    return lastLogs
  }

  const log = (name: string, value: unknown) => {
    const codec = columnCodec(name)
    return Effect.withFiberRuntime<unknown, ValueEncodeError>((fiber) => {
      let encoded = value
      if (!codec.identity) {
        const result = codec.encode(value)
        if (Either.isLeft(result)) return Effect.fail(new ValueEncodeError({ column: name, detail: result.left }))
        encoded = result.right
      } else if (!codec.check(value)) {
        return Effect.fail(new ValueEncodeError({ column: name, detail: `expected ${codec.expected}, got ${preview(value)}` }))
      }
      const due = logsOf(fiber.currentContext).writeNow(fiber, name, encoded)
      return due === undefined ? Effect.succeed(value) : Effect.as(due, value)
    })
  }

  const arg = (name: string, defaultValue: unknown) => {
    const codec = args.get(name)!
    return Effect.flatMap(
      Effect.orDie(encodeOrFail(codec, defaultValue)),
      (encodedDefault) =>
        Effect.flatMap(Args, (service) =>
          Effect.map(service.resolve(name, codec, encodedDefault), (encoded) =>
            Either.getOrThrowWith(codec.decode(encoded), (e) => new Error(`arg ${name}: ${e}`))))
    )
  }

  const loop = <Item, E, R>(name: string, items: Iterable<Item>, body: (item: Item) => Effect.Effect<unknown, E, R>) => {
    const codec = loops.get(name)!
    const encode = (item: Item) => {
      const encoded = codec.encode(item)
      return Either.isRight(encoded) && isScalar(encoded.right) ? encoded.right : null
    }
    return Effect.flatMap(Loops, (service) => service.loop(name, items, encode, body))
  }

  const iteration = <X, E, R>(name: string, index: number, value: unknown, body: Effect.Effect<X, E, R>) => {
    const encoded = loops.get(name)!.encode(value)
    return Effect.flatMap(
      Loops,
      (service) => service.iteration(name, index, Either.isRight(encoded) ? encoded.right : null, body)
    )
  }

  const dataframe = (...names: ReadonlyArray<string>) =>
    Effect.flatMap(Store, (store) => {
      if (names.length === 0) {
        return Effect.flatMap(store.topLevel, (frame) =>
          decodeFrame(
            frame,
            frame.columns.flatMap((c) => {
              const codec = valueCodec(c)
              return codec === undefined ? [] : [codec]
            })
          ))
      }
      return Effect.flatMap(store.dataframe(names), (frame) =>
        decodeFrame(
          frame,
          names.flatMap((n) => {
            const codec = isBuildColumn(n) ? undefined : valueCodec(n)
            return codec === undefined ? [] : [codec]
          })
        ))
    })

  return { spec, log, arg, loop, iteration, dataframe } as unknown as Flor<C, A, L>
}

/** Scopes the objects checkpointed at the boundaries of loops inside `body`. */
export const checkpointing = <X, E, R>(
  objects: Readonly<Record<string, Checkpointable>>,
  body: Effect.Effect<X, E, R>
): Effect.Effect<X, E, R | Checkpoints> => Effect.flatMap(Checkpoints, (service) => service.scope(objects, body))

/** Ends the current run (flush, version, store) and starts a new one with a new tstamp. */
export const commit: Effect.Effect<void, CommitError, Session> = Effect.flatMap(Session, (s) => s.commit)

/** `[start, stop)` as an array: `range(3)` is `[0, 1, 2]`. */
export const range = (start: number, stop?: number, step = 1): Array<number> => {
  const [from, to] = stop === undefined ? [0, start] : [start, stop]
  const out: Array<number> = []
  for (let i = from; step > 0 ? i < to : i > to; i += step) out.push(i)
  return out
}

/** True when `name` is a dimension column (`projid`, `tstamp`, `filename`). */
export const isDimension = (name: string): boolean => (DIMENSIONS as ReadonlyArray<string>).includes(name)

export type { ColumnError }
