/**
 * The relational store: a derived index of committed runs, queried as dataframes.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { QueryError, StoreError } from "../domain/Errors.js"
import type { Frame } from "../domain/Frame.js"
import type { CheckpointLine, LogLine, LoopLine } from "../domain/LogFile.js"
import type { RunHeader, RunRow, RunStatus } from "../domain/Run.js"
import type { CtxWindow } from "../domain/ReplayPlan.js"

/** A log record, as the run log holds it. */
export type LogEntry = LogLine

/** A loop context, as the run log holds it. */
export type LoopEntry = LoopLine

/** A whole run, as it is ingested in one transaction. */
export interface RunContents {
  readonly header: RunHeader
  readonly status: RunStatus
  readonly vid: string | null
  readonly endTime: number | null
  readonly logs: ReadonlyArray<LogEntry>
  readonly loops: ReadonlyArray<LoopEntry>
  readonly checkpoints: ReadonlyArray<CheckpointLine>
}

/** One step of a loop path: which iteration of which loop. */
export interface PathStep {
  readonly name: string
  /** 1-based iteration. */
  readonly iteration: number
  readonly entries: number | null
  /** The item (JSON scalar) or null. */
  readonly value: unknown
}

/** A replayed record, addressed by its loop path (outermost first; empty = top level). */
export interface BackfillRecord {
  readonly path: ReadonlyArray<PathStep>
  readonly name: string
  readonly value: unknown
}

/** Identifies a run. */
export interface RunKey {
  readonly tstamp: string
  readonly filename: string
}

/** What a run recorded, for replay: its row, records, loop contexts and checkpoints. */
export interface Recorded {
  readonly run: RunRow
  readonly logs: ReadonlyArray<LogEntry>
  readonly loops: ReadonlyArray<LoopEntry>
  readonly checkpoints: ReadonlyArray<CheckpointLine>
}

/** One iteration of a run's main loop (the one its profiling records time). */
export interface MainIteration {
  readonly name: string
  readonly iteration: number
  readonly entries: number | null
  readonly ctx: number
}

/** The result of a read-only SQL query. */
export interface QueryResult {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<unknown>>
}

/** Reads and writes runs; SQLite by default, in memory for tests. */
export class Store extends Context.Tag("flordb/Store")<Store, {
  /** Stores a whole run atomically; a run already stored under the same key is replaced. */
  readonly ingest: (run: RunContents) => Effect.Effect<void, StoreError>
  /**
   * Adds replayed records to a stored run in one transaction. Records are keyed by
   * loop path, so they land on the recorded loop rows (new paths get new rows); a
   * value already stored for the same column at the same context is replaced, so
   * re-running a replay writes no duplicates. Returns the number of records written.
   */
  readonly backfill: (key: RunKey, records: ReadonlyArray<BackfillRecord>) => Effect.Effect<number, StoreError>
  /**
   * What a run recorded — only the records and loop rows of contexts in `window`, when
   * given; fails with a StoreError when there is no such run.
   */
  readonly recorded: (key: RunKey, window?: CtxWindow) => Effect.Effect<Recorded, StoreError>
  /** The iterations of a run's main loop in order (empty when it had none); fails when there is no such run. */
  readonly mainLoop: (key: RunKey) => Effect.Effect<ReadonlyArray<MainIteration>, StoreError>
  /** Every stored checkpoint of every run, by run. */
  readonly checkpoints: Effect.Effect<ReadonlyArray<{ readonly run: RunKey; readonly checkpoint: CheckpointLine }>, StoreError>
  /** Forgets the given checkpoints of a run (after their objects were deleted). */
  readonly dropCheckpoints: (key: RunKey, iterations: ReadonlyArray<number>) => Effect.Effect<void, StoreError>
  /** All stored runs, oldest first. */
  readonly runs: Effect.Effect<ReadonlyArray<RunRow>, StoreError>
  /** The pivoted view of the named columns (stored JSON values, not yet decoded). */
  readonly dataframe: (names: ReadonlyArray<string>) => Effect.Effect<Frame<Record<string, unknown>>, StoreError>
  /** One row per run with all its top-level values. */
  readonly topLevel: Effect.Effect<Frame<Record<string, unknown>>, StoreError>
  /** Names of all logged columns. */
  readonly columnNames: Effect.Effect<ReadonlyArray<string>, StoreError>
  /** One read-only SQL statement. */
  readonly query: (sql: string) => Effect.Effect<QueryResult, QueryError | StoreError>
}>() {}
