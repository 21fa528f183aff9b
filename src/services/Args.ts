/**
 * `arg`: the value of a hyper-parameter for this run.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { KwargsError } from "../domain/Errors.js"
import type { Codec } from "../domain/Spec.js"

/** Resolves args; record reads `--kwargs`, replay returns the recorded values. */
export class Args extends Context.Tag("flordb/Args")<Args, {
  /** The encoded value of arg `name` (from `--kwargs`, the record, or `defaultEncoded`); it is also logged. */
  readonly resolve: (name: string, codec: Codec, defaultEncoded: unknown) => Effect.Effect<unknown, KwargsError>
}>() {}
