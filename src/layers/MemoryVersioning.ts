/**
 * Versioning in memory, for tests: commits are content hashes kept in a list.
 *
 * @since 0.1.0
 */
import * as crypto from "node:crypto"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { VersioningError } from "../domain/Errors.js"
import { type ShadowLog, Versioning } from "../services/Versioning.js"

/** An in-memory versioning service. */
export const make = (): Versioning["Type"] => {
  const commits: Array<ShadowLog> = []
  return {
    snapshot: Effect.succeed("4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
    commit: (tree, logPath, log, message) =>
      Effect.sync(() => {
        const vid = crypto.createHash("sha1")
          .update(commits.at(-1)?.vid ?? "")
          .update(tree)
          .update(logPath)
          .update(log)
          .update(message)
          .digest("hex")
        commits.push({ vid, path: logPath, content: log })
        return vid
      }),
    logs: Effect.sync(() => [...commits]),
    head: Effect.succeed({ branch: "main", head: null }),
    checkout: (vid) =>
      Effect.fail(new VersioningError({ operation: "checkout", detail: `in-memory versioning keeps no files (${vid})` }))
  }
}

/** In-memory versioning. */
export const layer: Layer.Layer<Versioning> = Layer.sync(Versioning, make)
