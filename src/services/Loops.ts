/**
 * `loop` and `iteration`: named, addressable iterations.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/** Runs loop bodies; record runs them all, replay layers skip or restore. */
export class Loops extends Context.Tag("flordb/Loops")<Loops, {
  /** Runs `body` for each item under loop `name`; `encode` gives the stored item value. */
  readonly loop: <A, E, R>(
    name: string,
    items: Iterable<A>,
    encode: (item: A) => unknown,
    body: (item: A) => Effect.Effect<unknown, E, R>
  ) => Effect.Effect<void, E, R>
  /** Runs `body` as iteration `index` (1-based) of dimension `name` over `encoded`. */
  readonly iteration: <X, E, R>(
    name: string,
    index: number,
    encoded: unknown,
    body: Effect.Effect<X, E, R>
  ) => Effect.Effect<X, E, R>
}>() {}
