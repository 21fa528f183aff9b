/**
 * `checkpointing`: the state that is checkpointed at loop boundaries.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { Checkpointable } from "./Checkpointable.js"

/** Scopes checkpointable objects around a program. */
export class Checkpoints extends Context.Tag("flordb/Checkpoints")<Checkpoints, {
  readonly scope: <X, E, R>(
    objects: Readonly<Record<string, Checkpointable>>,
    body: Effect.Effect<X, E, R>
  ) => Effect.Effect<X, E, R>
}>() {}
