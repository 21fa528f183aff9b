/**
 * The durable journal of a running run: records reach it within a flush interval,
 * outside the working tree, so a killed run loses at most that interval.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { JournalError } from "../domain/Errors.js"
import type { ParsedLog, RecordBatch } from "../domain/LogFile.js"
import type { RunHeader, RunStatus } from "../domain/Run.js"

/** An open journal of one run. */
export interface JournalWriter {
  readonly path: string
  /** Appends encoded lines and makes them durable (with everything appended before). */
  readonly append: (lines: string) => Effect.Effect<void, JournalError>
  /**
   * Takes a batch of records (and its chunks: they may be transferred to another
   * thread) and makes it durable promptly, possibly in the background. Waits when
   * too much is still being written. Fails when something handed over earlier is
   * not durable yet because a write failed; the journal keeps it and retries
   * with the next write.
   */
  readonly appendBatch: (batch: RecordBatch) => Effect.Effect<void, JournalError>
  /** Waits until everything handed over is durable; fails with the write error otherwise. */
  readonly sync: Effect.Effect<void, JournalError>
  /** Writes the end marker. */
  readonly end: (status: RunStatus, endTime: number) => Effect.Effect<void, JournalError>
  /** The journal's bytes (the run log committed to the shadow branch). */
  readonly contents: Effect.Effect<Uint8Array, JournalError>
  /** Removes the journal once its run is stored. */
  readonly remove: Effect.Effect<void, JournalError>
}

/** A journal left by a run that is not running any more. */
export interface OrphanJournal {
  readonly path: string
  readonly contents: ParsedLog
  readonly bytes: Uint8Array
}

/** Creates, reads and recovers run journals. */
export class Journal extends Context.Tag("flordb/Journal")<Journal, {
  /**
   * Opens the journal of a new run. The header's tstamp is made unique across
   * processes: a clash moves it forward by a millisecond. Returns the header used.
   */
  readonly open: (header: RunHeader) => Effect.Effect<readonly [JournalWriter, RunHeader], JournalError, Scope.Scope>
  /** Journals of runs whose process is gone, for recovery. */
  readonly orphans: (projid: string) => Effect.Effect<ReadonlyArray<OrphanJournal>, JournalError>
  /** Removes a recovered journal. */
  readonly remove: (path: string) => Effect.Effect<void, JournalError>
}>() {}
