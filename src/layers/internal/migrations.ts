import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** Schema migrations of the SQLite store, by id. Never edit a landed one; add the next. */
export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "0001_initial": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE runs (
      run_id INTEGER PRIMARY KEY,
      projid TEXT NOT NULL,
      tstamp TEXT NOT NULL,
      filename TEXT NOT NULL,
      status TEXT NOT NULL,
      vid TEXT,
      start_time REAL NOT NULL,
      end_time REAL,
      build TEXT NOT NULL,
      UNIQUE (tstamp, filename)
    )`
    yield* sql`CREATE TABLE logs (
      run_id INTEGER NOT NULL,
      ctx_id INTEGER NOT NULL,
      value_name TEXT NOT NULL,
      value TEXT,
      value_type INTEGER NOT NULL
    )`
    yield* sql`CREATE INDEX logs_by_name ON logs (value_name, run_id, ctx_id)`
    yield* sql`CREATE INDEX logs_top ON logs (run_id) WHERE ctx_id = 0`
    yield* sql`CREATE TABLE loops (
      run_id INTEGER NOT NULL,
      ctx_id INTEGER NOT NULL,
      parent_ctx_id INTEGER NOT NULL,
      loop_name TEXT NOT NULL,
      loop_entries INTEGER,
      loop_iteration INTEGER NOT NULL,
      loop_value TEXT,
      PRIMARY KEY (run_id, ctx_id)
    ) WITHOUT ROWID`
    yield* sql`CREATE TABLE checkpoints (
      run_id INTEGER NOT NULL,
      ctx_id INTEGER NOT NULL,
      loop_name TEXT NOT NULL,
      loop_iteration INTEGER NOT NULL,
      uri TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      checksum TEXT NOT NULL,
      materialize_ms REAL,
      PRIMARY KEY (run_id, ctx_id)
    ) WITHOUT ROWID`
    yield* sql`CREATE VIEW log_records AS
      SELECT r.projid, r.tstamp, r.filename, NULLIF(l.ctx_id, 0) AS ctx_id,
             l.value_name, l.value, l.value_type
      FROM logs l JOIN runs r USING (run_id)`
  }),
  // A replay reads one run's records by context range, not by scanning every run's.
  "0002_logs_by_run": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE INDEX logs_by_run ON logs (run_id, ctx_id)`
  })
}

/** Id of the newest migration. */
export const latestMigration = Math.max(...Object.keys(migrations).map((k) => Number.parseInt(k, 10)))
