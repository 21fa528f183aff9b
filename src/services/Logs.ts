/**
 * `log`: write an encoded value under a column name at the fiber's loop context.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/** Where `log` writes; record, replay and test layers implement it. */
export class Logs extends Context.Tag("flordb/Logs")<Logs, {
  /** Writes `encoded` (JSON-compatible) under `name` at the current loop context. */
  readonly write: (name: string, encoded: unknown) => Effect.Effect<void>
}>() {}
