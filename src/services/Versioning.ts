/**
 * Change context: every run's code, snapshotted onto a shadow branch.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { VersioningError } from "../domain/Errors.js"

/** A run log found on the shadow branch. */
export interface ShadowLog {
  readonly vid: string
  readonly path: string
  readonly content: Uint8Array
}

/** Repository facts captured into the build context. */
export interface HeadInfo {
  readonly branch: string | null
  readonly head: string | null
}

/** Versions code without touching the user's branch, index or working tree. */
export class Versioning extends Context.Tag("flordb/Versioning")<Versioning, {
  /** Writes the working tree (respecting .gitignore) as git objects; returns its tree id. */
  readonly snapshot: Effect.Effect<string, VersioningError>
  /** Commits `tree` plus the run log at `logPath` onto the shadow branch; returns the commit id (vid). */
  readonly commit: (
    tree: string,
    logPath: string,
    log: Uint8Array,
    message: string
  ) => Effect.Effect<string, VersioningError>
  /** Every run log on the shadow branch, oldest first. */
  readonly logs: Effect.Effect<ReadonlyArray<ShadowLog>, VersioningError>
  /**
   * Writes the files of version `vid` (a shadow commit) into `dir`, without the run
   * logs; nothing else is touched. Fails when the version cannot be found.
   */
  readonly checkout: (vid: string, dir: string) => Effect.Effect<void, VersioningError>
  /** The user's current branch and HEAD commit. */
  readonly head: Effect.Effect<HeadInfo, VersioningError>
}>() {}
