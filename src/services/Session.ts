/**
 * The run a program is writing: its identity and `commit`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { CheckpointError, JournalError, KwargsError, StoreError, VersioningError } from "../domain/Errors.js"

/** Identity of the current run. */
export interface RunInfo {
  readonly projid: string
  readonly tstamp: string
  readonly filename: string
}

/** Errors a commit can meet. */
export type CommitError = JournalError | StoreError | VersioningError | CheckpointError

/** The current run and its transaction boundary. */
export class Session extends Context.Tag("flordb/Session")<Session, {
  readonly current: Effect.Effect<RunInfo>
  /** Flushes the run, versions its code, stores it, and starts a new run with a new tstamp. */
  readonly commit: Effect.Effect<void, CommitError>
  /**
   * Ends the last run with the program's outcome (committed, failed or interrupted). Idempotent.
   * Fails with a `KwargsError` after storing the run when a `--kwargs` name was never read.
   */
  readonly close: (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void, CommitError | KwargsError>
}>() {}
