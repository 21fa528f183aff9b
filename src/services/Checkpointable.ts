/**
 * What can be checkpointed: anything that copies itself to host data and back.
 * Codecs exist for tfjs models and optimizers and for Schema-typed state.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { Snapshot } from "../domain/Snapshot.js"

/** A piece of training state that checkpoints capture and restore. */
export interface Checkpointable {
  /** Copies the state to host buffers (the only work on the training fiber). */
  readonly capture: Effect.Effect<Snapshot>
  /** Puts a captured state back, in place. Fails with a description when it does not fit. */
  readonly restore: (snapshot: Snapshot) => Effect.Effect<void, string>
}

/** Type guard for a `Checkpointable`. */
export const isCheckpointable = (u: unknown): u is Checkpointable =>
  typeof u === "object" && u !== null && "capture" in u && "restore" in u
