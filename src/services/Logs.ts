/**
 * `log`: write an encoded value under a column name at the fiber's loop context.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/** Where `log` writes; record, replay and test layers implement it. */
export class Logs extends Context.Tag("flordb/Logs")<Logs, {
  /**
   * Writes `encoded` (JSON-compatible) under `name` at `fiber`'s loop context, now.
   * Returns an effect only when follow-up work is due (a flush); the hot path
   * allocates no effect.
   */
  readonly writeNow: (
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    name: string,
    encoded: unknown
  ) => Effect.Effect<void> | undefined
}>() {}

/** Writes through the fiber's Logs service, in one step. */
export const write = (name: string, encoded: unknown): Effect.Effect<void, never, Logs> =>
  Effect.withFiberRuntime((fiber) => Context.unsafeGet(fiber.currentContext, Logs).writeNow(fiber, name, encoded) ?? Effect.void)
