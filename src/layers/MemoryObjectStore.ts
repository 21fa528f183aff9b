/**
 * Checkpoints in memory, for tests: the same checksum checks as the local store.
 *
 * @since 0.1.0
 */
import * as crypto from "node:crypto"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CheckpointError } from "../domain/Errors.js"
import { type CheckpointKey, ObjectStore } from "../services/ObjectStore.js"

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex")

/** An in-memory object store; `objects` is exposed so tests can corrupt or drop entries. */
export const make = (objects = new Map<string, Uint8Array>()): ObjectStore["Type"] => {
  const error = (reason: "Missing" | "Corrupt", key: CheckpointKey, uri: string, detail: string) =>
    new CheckpointError({
      reason,
      tstamp: key.tstamp,
      filename: key.filename,
      loop: key.loop,
      iteration: key.iteration,
      path: uri,
      detail
    })
  return {
    put: (key, bytes) =>
      Effect.sync(() => {
        const uri = `memory:${key.projid}/${key.tstamp}/${key.filename}/${key.loop}-${key.iteration}`
        objects.set(uri, bytes.slice())
        return { uri, bytes: bytes.byteLength, checksum: sha256(bytes) }
      }),
    get: (key, uri, checksum) =>
      Effect.suspend(() => {
        const bytes = objects.get(uri)
        if (bytes === undefined) return Effect.fail(error("Missing", key, uri, "no such object"))
        if (sha256(bytes) !== checksum) return Effect.fail(error("Corrupt", key, uri, "checksum mismatch"))
        return Effect.succeed(bytes)
      }),
    remove: (uri) =>
      Effect.sync(() => {
        const n = objects.get(uri)?.byteLength ?? 0
        objects.delete(uri)
        return n
      })
  }
}

/** An in-memory object store layer. */
export const layer: Layer.Layer<ObjectStore> = Layer.sync(ObjectStore, () => make())
