/**
 * The store on SQLite (`$FLOR_HOME/<projid>.db`): WAL, a busy timeout, migrations,
 * batched writes, whole runs per transaction, a read-only connection kept open for the
 * dataframe reads (each on one snapshot), and a separate read-only connection for user SQL.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import Database from "better-sqlite3"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { QueryError, StoreError } from "../domain/Errors.js"
import type { ColumnRecords, Frame, FrameRun, LoopCoord, LoopPath } from "../domain/Frame.js"
import { columnBuilder, pivot } from "../domain/Frame.js"
import { BuildContext, buildValue, isBuildColumn, type RunRow, type RunStatus } from "../domain/Run.js"
import { fromText, toText, typeOf } from "../domain/Value.js"
import {
  type BackfillRecord,
  type LogEntry,
  type LoopEntry,
  type MainIteration,
  type QueryResult,
  type RunKey,
  Store
} from "../services/Store.js"
import type { CheckpointLine } from "../domain/LogFile.js"
import { latestMigration, migrations } from "./internal/migrations.js"
import type { CtxWindow } from "../domain/ReplayPlan.js"

const CHUNK = 200

/** Contexts per `DELETE … IN (…)` of a backfill (SQLite allows 32766 parameters). */
const DELETE_CHUNK = 500

const storeError = (operation: string) => (cause: SqlError.SqlError | unknown) =>
  new StoreError({
    operation,
    detail: cause instanceof Error
      ? ("cause" in cause && cause.cause instanceof Error ? cause.cause.message : cause.message)
      : String(cause)
  })

const decodeBuild = Schema.decodeUnknownSync(Schema.parseJson(BuildContext))

/** Retries a write on SQLITE_BUSY beyond the busy timeout (lock upgrades do not wait). */
const retryBusy = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.retry(effect, {
    times: 50,
    while: (e) => /SQLITE_BUSY|database is locked/i.test(String((e as { cause?: unknown }).cause ?? e)),
    schedule: Schedule.spaced("20 millis")
  })

/** Runs migrations once per database, serialized across processes by a lock file. */
const migrate = (file: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const current = yield* sql<{ readonly n: number | null }>`
      SELECT max(migration_id) AS n FROM effect_sql_migrations`.pipe(
      Effect.map((rows) => rows[0]?.n ?? 0),
      Effect.orElseSucceed(() => 0)
    )
    if (current >= latestMigration) return
    if (file === ":memory:") return yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations) })
    const lock = `${file}.migrate.lock`
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        const attempt = (n: number) => {
          try {
            fs.closeSync(fs.openSync(lock, "wx"))
            resume(Effect.void)
          } catch {
            if (n > 400) {
              fs.rmSync(lock, { force: true })
              attempt(0)
            } else setTimeout(() => attempt(n + 1), 25)
          }
        }
        attempt(0)
      }),
      () => Effect.sync(() => fs.rmSync(lock, { force: true }))
    )
    yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations) })
  }).pipe(Effect.scoped)

/** A synchronous view of the database for the read paths: raw (array) rows. */
interface Reader {
  readonly all: (text: string, params: ReadonlyArray<unknown>) => Array<Array<unknown>>
  readonly get: (text: string, params: ReadonlyArray<unknown>) => Array<unknown> | undefined
}

const makeReader = (db: Database.Database): Reader => {
  const statements = new Map<string, Database.Statement>()
  const prepare = (text: string) => {
    let stmt = statements.get(text)
    if (stmt === undefined) statements.set(text, stmt = db.prepare(text).raw(true))
    return stmt
  }
  return {
    all: (text, params) => prepare(text).all(...params) as Array<Array<unknown>>,
    get: (text, params) => prepare(text).get(...params) as Array<unknown> | undefined
  }
}

/** Runs `f` in one read transaction, so all its statements see the same committed state. */
const snapshot = <A>(db: Database.Database, reader: Reader, f: (reader: Reader) => A): A => {
  if (db.inTransaction) return f(reader)
  db.exec("BEGIN")
  try {
    return f(reader)
  } finally {
    db.exec("COMMIT")
  }
}

/**
 * A stored value from its text alone. `toText` writes numbers with `String` (digits, `-`,
 * `NaN`, `Infinity`) and everything else as JSON, whose first character tells its type,
 * so this equals `fromText(text, value_type)` for every stored value without reading the
 * type column.
 */
const decodeStored = (text: string | null): unknown => {
  if (text === null) return null
  const c = text.charCodeAt(0)
  return (c >= 48 && c <= 57) || c === 45 || c === 78 || c === 73 ? Number(text) : JSON.parse(text)
}

/** A loop item as the dataframe shows it: JSON scalars; null for objects, arrays and null. */
const decodeItem = (text: string | null): unknown => {
  if (text === null) return null
  const c = text.charCodeAt(0)
  if ((c >= 48 && c <= 57) || c === 45) return Number(text)
  return c === 123 || c === 91 ? null : JSON.parse(text)
}

const EMPTY: LoopPath = []

/** A run as the read paths list it: its id and its dimensions. */
interface ReadRun extends FrameRun {
  readonly runId: number
}

const RUNS_SQL = `SELECT run_id, projid, tstamp, filename FROM runs ORDER BY tstamp, filename`
/** The columns of `runs` that `runRowOf` reads, in its order. */
const RUN_COLUMNS = "run_id, projid, tstamp, filename, status, vid, start_time, end_time, build"
const RUN_ROWS_SQL = `SELECT ${RUN_COLUMNS} FROM runs ORDER BY tstamp, filename`
const LOOP_SQL = `SELECT parent_ctx_id, loop_name, loop_iteration, loop_value FROM loops WHERE run_id = ? AND ctx_id = ?`
const FIRST_CTX_SQL = `SELECT ctx_id FROM logs WHERE value_name = ? AND run_id = ? ORDER BY ctx_id LIMIT 1`
const LAST_CTX_SQL = `SELECT ctx_id FROM logs WHERE value_name = ? AND run_id = ? ORDER BY ctx_id DESC LIMIT 1`
const JOIN = `FROM logs l LEFT JOIN loops p ON p.run_id = l.run_id AND p.ctx_id = l.ctx_id
  WHERE l.value_name = ? AND l.run_id = ? AND l.ctx_id >= ? AND l.ctx_id < ? ORDER BY l.ctx_id, l.rowid`
/** The innermost loop of some record of a column in a loop. */
const INNER_PROBE_SQL = `SELECT p.loop_name FROM logs l JOIN loops p ON p.run_id = l.run_id AND p.ctx_id = l.ctx_id
  WHERE l.value_name = ? AND l.ctx_id > 0 LIMIT 1`
/** Records of a column in a window of contexts, with their innermost loop coordinate. */
const RECORDS_SQL = `SELECT l.ctx_id, l.value, p.parent_ctx_id, p.loop_name, p.loop_iteration, p.loop_value ${JOIN}`

/** Iterations below this are packed into a record's coordinate number (26 bits). */
const ISPAN = 67108864
/** Parent contexts below this are packed (24 bits). */
const PSPAN = 16777216
/** At most this many innermost loop names are packed (3 bits): 3 + 24 + 26 = 53 bits. */
const MAX_INNER = 8
/** Rows fetched per statement: large enough to amortize a statement, small enough to stay young garbage. */
const WINDOW_ROWS = 4096

/**
 * Records of one column in a window of contexts: the value text; the innermost loop
 * coordinate packed into one number, `(name index × PSPAN + parent ctx) × ISPAN + iteration`,
 * where the name index is the position of the loop's name among the known innermost
 * names (the `?` parameters), or `-1 - ctx` when it does not pack (top level, no loop row,
 * an unknown name, out-of-range numbers); then, with `items`, the loop item text. Without
 * `items` only coordinates whose item is `iteration - 1` (a range's) pack, so the item
 * column, a third of the work, is not read.
 */
const packedSql = (names: number, items: boolean) => {
  const which = Array.from(
    { length: names },
    (_, i) => `WHEN ? THEN (${i * PSPAN} + p.parent_ctx_id) * ${ISPAN} + p.loop_iteration`
  )
  const coord = names === 0 ? "-1 - l.ctx_id" : `CASE WHEN p.parent_ctx_id BETWEEN 0 AND ${PSPAN - 1}
    AND p.loop_iteration BETWEEN 0 AND ${ISPAN - 1}${items ? "" : " AND p.loop_value = p.loop_iteration - 1"}
    THEN CASE p.loop_name ${which.join(" ")} ELSE -1 - l.ctx_id END ELSE -1 - l.ctx_id END`
  return `SELECT l.value, ${coord}${items ? ", p.loop_value" : ""} ${JOIN}`
}
const itemSqls = Array.from({ length: MAX_INNER + 1 }, (_, n) => packedSql(n, true))
const rangeSqls = Array.from({ length: MAX_INNER + 1 }, (_, n) => packedSql(n, false))

/**
 * Calls `each(from, to)` over windows of contexts `[from, to)` covering the records of
 * column `name` in run `runId`, in context order; `each` returns how many rows it read,
 * and the windows, `width` contexts at first, adapt to hold about WINDOW_ROWS rows.
 * Returns a width to start the next run with.
 */
const windows = (
  r: Reader,
  name: string,
  runId: number,
  width: number,
  each: (from: number, to: number) => number
): number => {
  const first = r.get(FIRST_CTX_SQL, [name, runId])
  if (first === undefined) return width
  const last = r.get(LAST_CTX_SQL, [name, runId])![0] as number
  for (let from = first[0] as number; from <= last;) {
    const to = from + width
    const n = each(from, to)
    from = to
    width = n === 0 ? width * 4 : Math.max(1, Math.min(width * 4, Math.floor((width * WINDOW_ROWS) / n)))
  }
  return Math.min(width, 4 * WINDOW_ROWS) // a denser run may come next
}

/** The first window's width, in contexts. */
const FIRST_WIDTH = 64

/** Loop paths of the contexts of one run, read on demand and memoized. */
const loopPaths = (r: Reader, runId: number) => {
  const memo = new Map<number, LoopPath>()
  const pathOf = (ctx: number): LoopPath => {
    if (ctx === 0) return EMPTY
    const known = memo.get(ctx)
    if (known !== undefined) return known
    memo.set(ctx, EMPTY) // a cycle of parents ends here
    const row = r.get(LOOP_SQL, [runId, ctx])
    const path = row === undefined ? EMPTY : withCoord(
      pathOf(row[0] as number),
      ctx,
      row[1] as string,
      row[2] as number,
      row[3] as string | null
    )
    memo.set(ctx, path)
    return path
  }
  return { memo, pathOf }
}

const withCoord = (parent: LoopPath, ctx: number, name: string, iteration: number, value: string | null): LoopPath => {
  const coord: LoopCoord = { ctx, name, iteration, value: value === null ? null : JSON.parse(value) }
  return parent.length === 0 ? [coord] : [...parent, coord]
}

/** The runs in display order; with their full rows when some build column is asked. */
const readRuns = (r: Reader, full: boolean): ReadonlyArray<ReadRun & { readonly row?: RunRow }> =>
  full
    ? r.all(RUN_ROWS_SQL, []).map((x) => {
      const row = runRowOf(x)
      return { runId: row.runId, projid: row.projid, tstamp: row.tstamp, filename: row.filename, row }
    })
    : r.all(RUNS_SQL, []).map((x) => ({
      runId: x[0] as number,
      projid: x[1] as string,
      tstamp: x[2] as string,
      filename: x[3] as string
    }))

const runRowOf = (r: ReadonlyArray<unknown>): RunRow => ({
  runId: r[0] as number,
  projid: r[1] as string,
  tstamp: r[2] as string,
  filename: r[3] as string,
  status: r[4] as RunStatus,
  vid: r[5] as string | null,
  startTime: r[6] as number,
  endTime: r[7] as number | null,
  build: decodeBuild(r[8])
})

/** The dataframe of `names`. */
const readFrame = (r: Reader, names: ReadonlyArray<string>): Frame<Record<string, unknown>> => {
  const runs = readRuns(r, names.some(isBuildColumn))
  if (names.length === 1 && !isBuildColumn(names[0]!)) {
    const frame = readColumn(r, runs, names[0]!)
    if (frame !== undefined) return frame
  }
  const paths = runs.map((run) => loopPaths(r, run.runId))
  const columns = names.map((name): ColumnRecords =>
    isBuildColumn(name)
      ? {
        name,
        run: runs.map((_, i) => i),
        ctx: runs.map(() => 0),
        value: runs.map((run) => buildValue(run.row!, name))
      }
      : readRecords(r, runs, paths, name)
  )
  const path = (run: number, ctx: number) => paths[run]!.pathOf(ctx)
  return pivot({ runs, columns, path })
}

/** One column's records with their contexts, memoizing each context's loop path. */
const readRecords = (
  r: Reader,
  runs: ReadonlyArray<ReadRun>,
  paths: ReadonlyArray<ReturnType<typeof loopPaths>>,
  name: string
): ColumnRecords => {
  const run: Array<number> = []
  const ctx: Array<number> = []
  const value: Array<unknown> = []
  let width = FIRST_WIDTH
  for (let i = 0; i < runs.length; i++) {
    const runId = runs[i]!.runId
    const { memo, pathOf } = paths[i]!
    width = windows(r, name, runId, width, (from, to) => {
      const rows = r.all(RECORDS_SQL, [name, runId, from, to])
      for (const row of rows) {
        const c = row[0] as number
        run.push(i)
        ctx.push(c)
        value.push(decodeStored(row[1] as string | null))
        if (c === 0 || memo.has(c)) continue
        memo.set(
          c,
          row[2] === null
            ? EMPTY
            : withCoord(pathOf(row[2] as number), c, row[3] as string, row[4] as number, row[5] as string | null)
        )
      }
      return rows.length
    })
  }
  return { name, run, ctx, value }
}

/**
 * One column, streamed: per record, the value and its innermost loop coordinate come from
 * one join; the outer coordinates are memoized per (run, parent context), and the rows
 * are built by `columnBuilder`. Undefined when the records need the general pivot.
 */
const readColumn = (
  r: Reader,
  runs: ReadonlyArray<ReadRun>,
  name: string
): Frame<Record<string, unknown>> | undefined => {
  const builder = columnBuilder(runs, name)
  const top = builder.shape(EMPTY, undefined)
  const probe = r.get(INNER_PROBE_SQL, [name])
  const inner: Array<string> = probe === undefined ? [] : [probe[0] as string]
  /** Whether the windows read items (else only range items pack); follows what the last window held. */
  let items = true
  let width = FIRST_WIDTH
  for (let i = 0; i < runs.length; i++) {
    const runId = runs[i]!.runId
    const first = r.get(FIRST_CTX_SQL, [name, runId])
    if (first !== undefined && (first[0] as number) < 0) return undefined // `-1 - ctx` would not mark it
    const { pathOf } = loopPaths(r, runId)
    /** Shapes of this run by packed (name index, parent). */
    const packed = new Map<number, number>()
    /** Shapes of this run by parent and name, for records that do not pack. */
    const unpacked = new Map<string, number>()
    let lastKey = -1
    let lastShape = top
    const shapeOf = (key: number) => {
      let s = packed.get(key)
      if (s === undefined) {
        packed.set(key, s = builder.shape(pathOf(key % PSPAN), inner[Math.floor(key / PSPAN)]!))
      }
      return s
    }
    const unpackedRecord = (ctx: number, value: unknown) => {
      const loop = ctx === 0 ? undefined : r.get(LOOP_SQL, [runId, ctx])
      if (loop === undefined) return builder.push(i, top, 0, null, value)
      const loopName = loop[1] as string
      if (inner.length < MAX_INNER && !inner.includes(loopName)) inner.push(loopName)
      const key = `${loop[0] as number}\u0000${loopName}`
      let s = unpacked.get(key)
      if (s === undefined) unpacked.set(key, s = builder.shape(pathOf(loop[0] as number), loopName))
      builder.push(i, s, loop[2] as number, decodeItem(loop[3] as string | null), value)
    }
    width = windows(r, name, runId, width, (from, to) => {
      const rows = r.all((items ? itemSqls : rangeSqls)[inner.length]!, [...inner, name, runId, from, to])
      /** Rows that did not pack, or whose item is not `iteration - 1`. */
      let odd = 0
      for (let k = 0; k < rows.length; k++) {
        const row = rows[k]!
        const value = decodeStored(row[0] as string | null)
        const coord = row[1] as number
        if (coord < 0) {
          odd++
          unpackedRecord(-1 - coord, value)
          continue
        }
        const key = Math.floor(coord / ISPAN)
        if (key !== lastKey) {
          lastKey = key
          lastShape = shapeOf(key)
        }
        const iteration = coord - key * ISPAN
        if (items) {
          const item = decodeItem(row[2] as string | null)
          if (item !== iteration - 1) odd++
          builder.push(i, lastShape, iteration, item, value)
        } else builder.push(i, lastShape, iteration, iteration - 1, value)
      }
      // Mostly range items: leave items out (the odd rows are then read one by one); else read them.
      if (rows.length >= 64) items = odd * 8 > rows.length
      return rows.length
    })
  }
  return builder.finish()
}

/** One row per run with all its top-level values. */
const readTopLevel = (r: Reader): Frame<Record<string, unknown>> => {
  const runs = readRuns(r, false)
  const order = new Map<number, number>()
  runs.forEach((run, i) => order.set(run.runId, i))
  // Profiling records (`flor.*`) are asked for by name; the per-run view shows args and top-level logs.
  const rows = r.all(
    `SELECT run_id, value_name, value FROM logs WHERE ctx_id = 0 AND value_name NOT LIKE 'flor.%' ORDER BY run_id, rowid`,
    []
  )
  const names: Array<string> = []
  const seen = new Set<string>()
  const values = runs.map(() => new Map<string, unknown>())
  for (const row of rows) {
    const name = row[1] as string
    if (!seen.has(name)) {
      seen.add(name)
      names.push(name)
    }
    const idx = order.get(row[0] as number)
    if (idx !== undefined) values[idx]!.set(name, decodeStored(row[2] as string | null))
  }
  const out = runs.map((run, i) => {
    const row: Record<string, unknown> = { projid: run.projid, tstamp: run.tstamp, filename: run.filename }
    for (const name of names) row[name] = values[i]!.has(name) ? values[i]!.get(name) : null
    return row
  })
  return { columns: ["projid", "tstamp", "filename", ...names], rows: out }
}

/** The store service over an open SQLite client at `file`. */
export const make = (file: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const client = yield* SqliteClient.SqliteClient
    const readFile = file === ":memory:" ? file : path.resolve(file)
    yield* sql`PRAGMA busy_timeout = 60000`
    yield* sql`PRAGMA synchronous = NORMAL`
    if (file !== ":memory:") yield* retryBusy(sql`PRAGMA journal_mode = WAL`)
    yield* retryBusy(migrate(file))

    const insertChunks = <T>(
      rows: ReadonlyArray<T>,
      table: string,
      columns: ReadonlyArray<string>,
      toParams: (row: T, out: Array<unknown>) => void
    ) =>
      Effect.gen(function*() {
        const one = `(${columns.map(() => "?").join(",")})`
        const head = `INSERT OR REPLACE INTO ${table} (${columns.join(",")}) VALUES `
        const full = head + Array.from({ length: CHUNK }, () => one).join(",")
        for (let i = 0; i < rows.length; i += CHUNK) {
          const n = Math.min(CHUNK, rows.length - i)
          const params: Array<unknown> = []
          for (let j = i; j < i + n; j++) toParams(rows[j]!, params)
          const text = n === CHUNK ? full : head + Array.from({ length: n }, () => one).join(",")
          yield* sql.unsafe(text, params).raw
        }
      })

    const insertRecords = (
      runId: number,
      logs: ReadonlyArray<LogEntry>,
      loops: ReadonlyArray<LoopEntry>,
      checkpoints: ReadonlyArray<CheckpointLine>
    ) =>
      Effect.zipRight(
        insertChunks(
          checkpoints,
          "checkpoints",
          ["run_id", "ctx_id", "loop_name", "loop_iteration", "uri", "bytes", "checksum", "materialize_ms"],
          (c, out) => out.push(runId, c.ctx, c.loop, c.iteration, c.uri, c.bytes, c.checksum, c.materializeMs)
        ),
        Effect.zipRight(
        insertChunks(logs, "logs", ["run_id", "ctx_id", "value_name", "value", "value_type"], (r, out) => {
          const type = typeOf(r.value)
          out.push(runId, r.ctx, r.name, toText(r.value, type), type)
        }),
        insertChunks(
          loops,
          "loops",
          ["run_id", "ctx_id", "parent_ctx_id", "loop_name", "loop_entries", "loop_iteration", "loop_value"],
          (r, out) =>
            out.push(runId, r.ctx, r.parent, r.name, r.entries, r.iteration, JSON.stringify(r.value ?? null))
        )
      ))

    const runIdOf = (tstamp: string, filename: string) =>
      Effect.map(
        sql<{ readonly run_id: number }>`SELECT run_id FROM runs WHERE tstamp = ${tstamp} AND filename = ${filename}`,
        (rows) => rows[0]?.run_id
      )

    const ingest: Store["Type"]["ingest"] = (run) =>
      Effect.gen(function*() {
        const h = run.header
        const existing = yield* runIdOf(h.tstamp, h.filename)
        if (existing !== undefined) {
          yield* sql`DELETE FROM logs WHERE run_id = ${existing}`
          yield* sql`DELETE FROM loops WHERE run_id = ${existing}`
          yield* sql`DELETE FROM checkpoints WHERE run_id = ${existing}`
          yield* sql`DELETE FROM runs WHERE run_id = ${existing}`
        }
        const inserted = yield* sql<{ readonly run_id: number }>`
          INSERT INTO runs (projid, tstamp, filename, status, vid, start_time, end_time, build)
          VALUES (${h.projid}, ${h.tstamp}, ${h.filename}, ${run.status}, ${run.vid}, ${h.start_time},
                  ${run.endTime}, ${JSON.stringify(h.build)})
          RETURNING run_id`
        yield* insertRecords(inserted[0]!.run_id, run.logs, run.loops, run.checkpoints)
      }).pipe(sql.withTransaction, retryBusy, Effect.mapError(storeError("ingest")))

    const backfill: Store["Type"]["backfill"] = (key, records) =>
      Effect.gen(function*() {
        const runId = yield* runIdOf(key.tstamp, key.filename)
        if (runId === undefined) {
          return yield* Effect.fail(new Error(`no stored run ${key.tstamp} ${key.filename}`))
        }
        const rows = yield* sql.unsafe(
          `SELECT ctx_id, parent_ctx_id, loop_name, loop_iteration FROM loops WHERE run_id = ?`,
          [runId]
        ).values
        const byStep = new Map<string, number>()
        let next = 1
        for (const r of rows) {
          byStep.set(`${r[1]}\u0000${r[2]}\u0000${r[3]}`, r[0] as number)
          next = Math.max(next, (r[0] as number) + 1)
        }
        const newLoops: Array<LoopEntry> = []
        const ctxOf = (path: BackfillRecord["path"]) => {
          let parent = 0
          for (const step of path) {
            const k = `${parent}\u0000${step.name}\u0000${step.iteration}`
            let ctx = byStep.get(k)
            if (ctx === undefined) {
              ctx = next++
              byStep.set(k, ctx)
              newLoops.push({
                ctx,
                parent,
                name: step.name,
                entries: step.entries,
                iteration: step.iteration,
                value: step.value
              })
            }
            parent = ctx
          }
          return parent
        }
        const logs: Array<LogEntry> = records.map((r) => ({ ctx: ctxOf(r.path), name: r.name, value: r.value }))
        // what an earlier replay wrote at the same contexts is replaced: deleted by column, in chunks
        const ctxsByName = new Map<string, Set<number>>()
        for (const l of logs) {
          let ctxs = ctxsByName.get(l.name)
          if (ctxs === undefined) ctxsByName.set(l.name, ctxs = new Set())
          ctxs.add(l.ctx)
        }
        for (const [name, ctxs] of ctxsByName) {
          const all = [...ctxs]
          for (let i = 0; i < all.length; i += DELETE_CHUNK) {
            const chunk = all.slice(i, i + DELETE_CHUNK)
            yield* sql.unsafe(
              `DELETE FROM logs WHERE run_id = ? AND value_name = ? AND ctx_id IN (${chunk.map(() => "?").join(", ")})`,
              [runId, name, ...chunk]
            ).raw
          }
        }
        yield* insertRecords(runId, logs, newLoops, [])
        return logs.length
      }).pipe(sql.withTransaction, retryBusy, Effect.mapError(storeError("backfill")))

    const checkpoints: Store["Type"]["checkpoints"] = Effect.map(
      sql.unsafe(
        `SELECT r.tstamp, r.filename, c.ctx_id, c.loop_name, c.loop_iteration, c.uri, c.bytes, c.checksum, c.materialize_ms
         FROM checkpoints c JOIN runs r USING (run_id) ORDER BY r.tstamp, r.filename, c.loop_iteration`
      ).values,
      (rows) =>
        rows.map((r) => ({
          run: { tstamp: r[0] as string, filename: r[1] as string },
          checkpoint: {
            ctx: r[2] as number,
            loop: r[3] as string,
            iteration: r[4] as number,
            uri: r[5] as string,
            bytes: r[6] as number,
            checksum: r[7] as string,
            materializeMs: (r[8] as number | null) ?? 0
          }
        }))
    ).pipe(Effect.mapError(storeError("checkpoints")))

    const dropCheckpoints: Store["Type"]["dropCheckpoints"] = (key, iterations) =>
      Effect.gen(function*() {
        const runId = yield* runIdOf(key.tstamp, key.filename)
        if (runId === undefined) return
        for (const i of iterations) yield* sql`DELETE FROM checkpoints WHERE run_id = ${runId} AND loop_iteration = ${i}`
      }).pipe(sql.withTransaction, retryBusy, Effect.mapError(storeError("gc")))

    const noRun = (key: RunKey) => new Error(`no stored run ${key.tstamp} of ${key.filename}`)

    const runOf = (key: RunKey) =>
      Effect.flatMap(
        sql.unsafe(`SELECT ${RUN_COLUMNS} FROM runs WHERE tstamp = ? AND filename = ?`, [key.tstamp, key.filename]).values,
        (rows) => rows[0] === undefined ? Effect.fail(noRun(key)) : Effect.succeed(runRowOf(rows[0]))
      )

    /** `WHERE` terms and parameters selecting a run's rows in a context window (every row without one). */
    const windowed = (runId: number, window: CtxWindow | undefined): ReadonlyArray<readonly [string, Array<number>]> =>
      window === undefined
        ? [["run_id = ?", [runId]]]
        : window.filter(([from, to]) => from < to).map(([from, to]) =>
          Number.isFinite(to)
            ? ["run_id = ? AND ctx_id >= ? AND ctx_id < ?", [runId, from, to]]
            : ["run_id = ? AND ctx_id >= ?", [runId, from]]
        )

    const recorded: Store["Type"]["recorded"] = (key, window) =>
      Effect.gen(function*() {
        const run = yield* runOf(key)
        const parts = windowed(run.runId, window)
        const logs: Array<LogEntry> = []
        const loops: Array<LoopEntry> = []
        // each part in rowid order: the records of one context keep the order they were logged in
        for (const [where, params] of parts) {
          for (
            const r of yield* sql.unsafe(
              `SELECT ctx_id, value_name, value, value_type FROM logs WHERE ${where} ORDER BY rowid`,
              params
            ).values
          ) logs.push({ ctx: r[0] as number, name: r[1] as string, value: fromText(r[2] as string, r[3] as number) })
          for (
            const r of yield* sql.unsafe(
              `SELECT ctx_id, parent_ctx_id, loop_name, loop_entries, loop_iteration, loop_value FROM loops WHERE ${where}`,
              params
            ).values
          ) {
            loops.push({
              ctx: r[0] as number,
              parent: r[1] as number,
              name: r[2] as string,
              entries: r[3] as number | null,
              iteration: r[4] as number,
              value: r[5] === null ? null : JSON.parse(r[5] as string)
            })
          }
        }
        const checkpoints = (yield* sql.unsafe(
          `SELECT ctx_id, loop_name, loop_iteration, uri, bytes, checksum, materialize_ms FROM checkpoints
           WHERE run_id = ? ORDER BY loop_iteration`,
          [run.runId]
        ).values).map((r): CheckpointLine => ({
          ctx: r[0] as number,
          loop: r[1] as string,
          iteration: r[2] as number,
          uri: r[3] as string,
          bytes: r[4] as number,
          checksum: r[5] as string,
          materializeMs: (r[6] as number | null) ?? 0
        }))
        return { run, logs, loops, checkpoints }
      }).pipe(Effect.mapError(storeError("recorded")))

    const mainLoop: Store["Type"]["mainLoop"] = (key) =>
      Effect.gen(function*() {
        const runId = yield* runIdOf(key.tstamp, key.filename)
        if (runId === undefined) return yield* Effect.fail(noRun(key))
        const rows = yield* sql.unsafe(
          `SELECT p.loop_name, p.loop_iteration, p.loop_entries, p.ctx_id
           FROM logs l JOIN loops p ON p.run_id = l.run_id AND p.ctx_id = l.ctx_id
           WHERE l.value_name = 'flor.iter_s' AND l.run_id = ?
           ORDER BY p.loop_iteration, p.ctx_id`,
          [runId]
        ).values
        return rows.map((r): MainIteration => ({
          name: r[0] as string,
          iteration: r[1] as number,
          entries: r[2] as number | null,
          ctx: r[3] as number
        }))
      }).pipe(Effect.mapError(storeError("mainLoop")))

    const runs = Effect.map(
      sql.unsafe(RUN_ROWS_SQL).values,
      (rows) => rows.map(runRowOf)
    )

    /** The read-only connection of the read paths (file stores), opened on first use. */
    let reading: { readonly db: Database.Database; readonly reader: Reader } | undefined
    yield* Effect.addFinalizer(() => Effect.sync(() => reading?.db.close()))
    /**
     * Runs a synchronous read on one consistent snapshot: a read transaction on the
     * read-only connection, or, in memory, on a copy of the database.
     */
    const read = <A>(operation: string, f: (reader: Reader) => A): Effect.Effect<A, StoreError> =>
      file === ":memory:"
        ? Effect.flatMap(
          Effect.mapError(client.export, storeError(operation)),
          (bytes) =>
            Effect.try({
              try: () => {
                const db = new Database(Buffer.from(bytes), { readonly: true })
                try {
                  return f(makeReader(db))
                } finally {
                  db.close()
                }
              },
              catch: storeError(operation)
            })
        )
        : Effect.try({
          try: () => {
            if (reading === undefined) {
              const db = new Database(readFile, { readonly: true, fileMustExist: true })
              db.pragma("busy_timeout = 60000")
              reading = { db, reader: makeReader(db) }
            }
            return snapshot(reading.db, reading.reader, f)
          },
          catch: storeError(operation)
        })

    const dataframe: Store["Type"]["dataframe"] = (names) => read("dataframe", (r) => readFrame(r, names))

    const topLevel: Store["Type"]["topLevel"] = read("dataframe", readTopLevel)

    const columnNames = Effect.map(
      sql.unsafe(`SELECT DISTINCT value_name FROM logs ORDER BY value_name`).values,
      (rows) => rows.map((r) => r[0] as string)
    ).pipe(Effect.mapError(storeError("columns")))

    const query = (text: string) =>
      file === ":memory:"
        ? Effect.flatMap(
          Effect.orDie(client.export),
          (bytes) => readOnlyQuery(Buffer.from(bytes), text)
        )
        : readOnlyQuery(file, text)

    return Store.of({
      ingest,
      backfill,
      recorded,
      mainLoop,
      checkpoints,
      dropCheckpoints,
      runs: Effect.mapError(runs, storeError("runs")),
      dataframe,
      topLevel,
      columnNames,
      query
    })
  })

/**
 * Runs one SQL statement on a read-only connection (query_only, opened read-only):
 * a write or a second statement is refused before anything executes.
 */
export const readOnlyQuery = (file: string | Buffer, text: string): Effect.Effect<QueryResult, QueryError> =>
  Effect.acquireUseRelease(
    Effect.try({
      try: () => {
        const db = typeof file === "string"
          ? new Database(file, { readonly: true, fileMustExist: true })
          : new Database(file, { readonly: true })
        db.pragma("query_only = ON")
        db.pragma("busy_timeout = 60000")
        return db
      },
      catch: (e) => new QueryError({ reason: "Invalid", sql: text, detail: e instanceof Error ? e.message : String(e) })
    }),
    (db) =>
      Effect.try({
        try: () => {
          const stmt = db.prepare(text)
          if (!stmt.reader || !stmt.readonly) throw new NotReadOnly()
          stmt.raw(true)
          const columns = stmt.columns().map((c) => c.name)
          return { columns, rows: stmt.all() as Array<Array<unknown>> }
        },
        catch: (e) => classify(text, e)
      }),
    (db) => Effect.sync(() => db.close())
  )

class NotReadOnly extends Error {}

const classify = (text: string, e: unknown): QueryError => {
  const message = e instanceof Error ? e.message : String(e)
  if (e instanceof NotReadOnly || /readonly|read-only|query_only/i.test(message)) {
    return new QueryError({ reason: "NotReadOnly", sql: text, detail: "the statement would write" })
  }
  if (/more than one statement/i.test(message)) {
    return new QueryError({ reason: "MultipleStatements", sql: text, detail: message })
  }
  if (/no such column/i.test(message)) {
    return new QueryError({ reason: "UnknownColumn", sql: text, detail: message.replace(/^no such column: /, "") })
  }
  return new QueryError({ reason: "Invalid", sql: text, detail: message })
}

/** Path of a project's database under a flordb home. */
export const databasePath = (home: string, projid: string) => path.join(home, `${projid}.db`)

/** The SQLite store of project `projid` under `home`. */
export const layer = (home: string, projid: string): Layer.Layer<Store, StoreError> =>
  layerFile(databasePath(home, projid))

/** An in-memory SQLite store: the same semantics, nothing on disk. For tests. */
export const layerMemory: Layer.Layer<Store, StoreError> = Layer.suspend(() => layerFile(":memory:"))

const layerFile = (file: string): Layer.Layer<Store, StoreError> =>
  Layer.scoped(Store, make(file)).pipe(
    Layer.provide(
      Layer.unwrapEffect(Effect.try(() => {
        if (file !== ":memory:") fs.mkdirSync(path.dirname(file), { recursive: true })
        return SqliteClient.layer({ filename: file, disableWAL: true })
      }))
    ),
    Layer.provide(Reactivity.layer),
    // failures to open name the file: the message says how to repair or relocate it
    Layer.mapError((e) => {
      if (e instanceof StoreError) return e
      const { detail } = storeError("open")(e instanceof Cause.UnknownException ? e.error : e)
      return new StoreError({ operation: "open", detail: `${file} (${detail})` })
    })
  )
