/**
 * Where checkpoints live: a local directory by default, a service so S3 can
 * replace it. Writes are atomic and checksummed; reads verify the checksum.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { CheckpointError } from "../domain/Errors.js"

/** Which checkpoint: a run and an iteration (1-based) of its main loop. */
export interface CheckpointKey {
  readonly projid: string
  readonly tstamp: string
  readonly filename: string
  readonly loop: string
  readonly iteration: number
}

/** A stored checkpoint. */
export interface StoredObject {
  readonly uri: string
  readonly bytes: number
  /** sha256 of the content, hex. */
  readonly checksum: string
}

/** Stores checkpoint bytes by key. */
export class ObjectStore extends Context.Tag("flordb/ObjectStore")<ObjectStore, {
  /** Writes atomically (temp file, fsync, rename); returns where and the checksum. */
  readonly put: (key: CheckpointKey, bytes: Uint8Array) => Effect.Effect<StoredObject, CheckpointError>
  /** Reads and verifies against `checksum`; a missing or corrupt object is a typed error naming key and path. */
  readonly get: (key: CheckpointKey, uri: string, checksum: string) => Effect.Effect<Uint8Array, CheckpointError>
  /** Deletes an object; returns the bytes freed (0 if it was already gone). */
  readonly remove: (uri: string) => Effect.Effect<number, CheckpointError>
}>() {}
