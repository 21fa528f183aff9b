/**
 * Background materialization: snapshots are encoded, hashed and written off the
 * training thread, through a bounded queue with back-pressure.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { CheckpointError } from "../domain/Errors.js"
import type { Snapshot } from "../domain/Snapshot.js"
import type { CheckpointKey, StoredObject } from "./ObjectStore.js"

/** A checkpoint written in the background. */
export interface Materialized extends StoredObject {
  readonly key: CheckpointKey
  /** Time spent encoding and writing, off the main thread (ms). */
  readonly materializeMs: number
}

/** Writes checkpoints in the background. */
export class Materializer extends Context.Tag("flordb/Materializer")<Materializer, {
  /** Enqueues a snapshot; waits only when the queue is full (back-pressure). The snapshot's buffers are transferred. */
  readonly submit: (key: CheckpointKey, snapshot: Snapshot) => Effect.Effect<void>
  /** Waits until every submitted snapshot is written; returns those written since the last drain, or the first write error. */
  readonly drain: Effect.Effect<ReadonlyArray<Materialized>, CheckpointError>
  /** The checkpoints written since the last drain or poll, without waiting for the others. */
  readonly poll: Effect.Effect<ReadonlyArray<Materialized>>
}>() {}
