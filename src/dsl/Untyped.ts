/**
 * The untyped quick start: JSON values, any column name. Declare a schema with
 * `Flor.make` when the project grows.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { KwargsError, type StoreError, ValueEncodeError } from "../domain/Errors.js"
import type { Frame } from "../domain/Frame.js"
import { checkName, type Codec, makeCodec } from "../domain/Spec.js"
import type { Json } from "../domain/Value.js"
import { Args } from "../services/Args.js"
import { Logs } from "../services/Logs.js"
import { Loops } from "../services/Loops.js"
import { Store } from "../services/Store.js"

type Widen<T> = T extends number ? number : T extends string ? string : T extends boolean ? boolean : T

const jsonCodec = makeCodec("json", Schema.Unknown)
const codecs = {
  number: makeCodec("number", Schema.Number),
  string: makeCodec("string", Schema.String),
  boolean: makeCodec("boolean", Schema.Boolean)
}
const codecFor = (value: unknown): Codec =>
  typeof value === "number" ? codecs.number
  : typeof value === "string" ? codecs.string
  : typeof value === "boolean" ? codecs.boolean
  : jsonCodec

/** Makes a JSON snapshot of a value (so later mutation does not change what was logged). */
const toJson = (name: string, value: unknown): Either.Either<unknown, ValueEncodeError> => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return Either.right(value)
  if (typeof value === "number") return Either.right(value)
  try {
    const text = JSON.stringify(value)
    if (text === undefined) throw new Error(`a ${typeof value} is not JSON`)
    return Either.right(JSON.parse(text))
  } catch (e) {
    return Either.left(new ValueEncodeError({ column: name, detail: e instanceof Error ? e.message : String(e) }))
  }
}

/** Names already checked by `checkName`. */
const legal = new Set<string>()

/**
 * Why `name` cannot be a column (a dimension or build-context column: its values
 * would mask the run's own), or undefined. `Flor.make` checks declared names.
 */
const illegal = (name: string): string | undefined => {
  if (legal.has(name)) return undefined
  const checked = checkName(name, "column")
  if (Either.isLeft(checked)) return checked.left.message
  legal.add(name)
  return undefined
}

/** Logs a JSON value under `name` at the current loop coordinates; returns it. */
export const log = <T extends Json>(name: string, value: T): Effect.Effect<T, ValueEncodeError, Logs> =>
  Effect.withFiberRuntime<T, ValueEncodeError, Logs>((fiber) => {
    const bad = illegal(name)
    if (bad !== undefined) return Effect.fail(new ValueEncodeError({ column: name, detail: bad }))
    let encoded: unknown = value
    if (typeof value === "object" && value !== null) {
      const json = toJson(name, value)
      if (Either.isLeft(json)) return Effect.fail(json.left)
      encoded = json.right
    } else if (typeof value !== "number" && typeof value !== "string" && typeof value !== "boolean" && value !== null) {
      return Effect.fail(new ValueEncodeError({ column: name, detail: `a ${typeof value} is not JSON` }))
    }
    const due = Context.unsafeGet(fiber.currentContext, Logs).writeNow(fiber, name, encoded)
    return due === undefined ? Effect.succeed(value) : Effect.as(due, value)
  })

/** A hyper-parameter: `--kwargs name=value` parsed like the default's type, else the default. */
export const arg = <T extends Json>(name: string, defaultValue: T): Effect.Effect<Widen<T>, KwargsError, Args> =>
  Effect.suspend(() => {
    const bad = illegal(name)
    return bad !== undefined
      ? Effect.fail(new KwargsError({ reason: "Reserved", arg: name, value: "", expected: bad }))
      : Effect.flatMap(Args, (service) => service.resolve(name, codecFor(defaultValue), defaultValue))
  }) as Effect.Effect<
    Widen<T>,
    KwargsError,
    Args
  >

const scalar = (item: unknown) =>
  typeof item === "number" || typeof item === "string" || typeof item === "boolean" ? item : null

/** Runs `body` for each item under loop `name`. */
export const loop = <Item, E, R>(
  name: string,
  items: Iterable<Item>,
  body: (item: Item) => Effect.Effect<unknown, E, R>
): Effect.Effect<void, E, R | Loops> => Effect.flatMap(Loops, (service) => service.loop(name, items, scalar, body))

/** Runs `body` as iteration `index` (1-based) of dimension `name` over `value`. */
export const iteration = <X, E, R>(
  name: string,
  index: number,
  value: Json,
  body: Effect.Effect<X, E, R>
): Effect.Effect<X, E, R | Loops> => Effect.flatMap(Loops, (service) => service.iteration(name, index, value, body))

/** The pivoted view of the named columns (JSON values); with no names, one row per run. */
export const dataframe = (
  ...names: ReadonlyArray<string>
): Effect.Effect<Frame<Record<string, unknown>>, StoreError, Store> =>
  Effect.flatMap(Store, (store) => names.length === 0 ? store.topLevel : store.dataframe(names))

export type { KwargsError }
