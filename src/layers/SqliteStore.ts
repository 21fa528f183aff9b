/**
 * The store on SQLite (`$FLOR_HOME/<projid>.db`): WAL, a busy timeout, migrations,
 * batched writes, whole runs per transaction, and a separate read-only connection
 * for user SQL.
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
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { QueryError, StoreError } from "../domain/Errors.js"
import type { ColumnRecords, FrameRun, LoopCoord, LoopPath } from "../domain/Frame.js"
import { pivot } from "../domain/Frame.js"
import { BuildContext, buildValue, isBuildColumn, type RunRow, type RunStatus } from "../domain/Run.js"
import { fromText, toText, typeOf } from "../domain/Value.js"
import { type BackfillRecord, type LogEntry, type LoopEntry, type QueryResult, Store } from "../services/Store.js"
import type { CheckpointLine } from "../domain/LogFile.js"
import { latestMigration, migrations } from "./internal/migrations.js"

const CHUNK = 200

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

interface Loaded {
  readonly parent: Array<number>
  readonly name: Array<string>
  readonly iteration: Array<number>
  readonly value: Array<unknown>
}

/** The store service over an open SQLite client at `file`. */
export const make = (file: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const client = yield* SqliteClient.SqliteClient
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
        const written = new Set<string>()
        for (const l of logs) {
          const k = `${l.ctx}\u0000${l.name}`
          if (written.has(k)) continue
          written.add(k)
          yield* sql`DELETE FROM logs WHERE run_id = ${runId} AND ctx_id = ${l.ctx} AND value_name = ${l.name}`
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

    const recorded: Store["Type"]["recorded"] = (key) =>
      Effect.gen(function*() {
        const all = yield* runs
        const run = all.find((r) => r.tstamp === key.tstamp && r.filename === key.filename)
        if (run === undefined) {
          return yield* Effect.fail(new Error(`no stored run ${key.tstamp} of ${key.filename}`))
        }
        const logs = (yield* sql.unsafe(
          `SELECT ctx_id, value_name, value, value_type FROM logs WHERE run_id = ? ORDER BY rowid`,
          [run.runId]
        ).values).map((r): LogEntry => ({
          ctx: r[0] as number,
          name: r[1] as string,
          value: fromText(r[2] as string, r[3] as number)
        }))
        const loops = (yield* sql.unsafe(
          `SELECT ctx_id, parent_ctx_id, loop_name, loop_entries, loop_iteration, loop_value FROM loops WHERE run_id = ?`,
          [run.runId]
        ).values).map((r): LoopEntry => ({
          ctx: r[0] as number,
          parent: r[1] as number,
          name: r[2] as string,
          entries: r[3] as number | null,
          iteration: r[4] as number,
          value: r[5] === null ? null : JSON.parse(r[5] as string)
        }))
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

    const runs = Effect.map(
      sql.unsafe(
        `SELECT run_id, projid, tstamp, filename, status, vid, start_time, end_time, build
         FROM runs ORDER BY tstamp, filename`
      ).values,
      (rows) =>
        rows.map((r): RunRow => ({
          runId: r[0] as number,
          projid: r[1] as string,
          tstamp: r[2] as string,
          filename: r[3] as string,
          status: r[4] as RunStatus,
          vid: r[5] as string | null,
          startTime: r[6] as number,
          endTime: r[7] as number | null,
          build: decodeBuild(r[8])
        }))
    )

    const loadLoops = (runId: number) =>
      Effect.map(
        sql.unsafe(
          `SELECT ctx_id, parent_ctx_id, loop_name, loop_iteration, loop_value FROM loops WHERE run_id = ?`,
          [runId]
        ).values,
        (rows) => {
          const loaded: Loaded = { parent: [], name: [], iteration: [], value: [] }
          for (const r of rows) {
            const ctx = r[0] as number
            loaded.parent[ctx] = r[1] as number
            loaded.name[ctx] = r[2] as string
            loaded.iteration[ctx] = r[3] as number
            loaded.value[ctx] = r[4] === null ? null : JSON.parse(r[4] as string)
          }
          return loaded
        }
      )

    const dataframe: Store["Type"]["dataframe"] = (names) =>
      Effect.gen(function*() {
        const all = yield* runs
        const order = new Map<number, number>()
        all.forEach((r, i) => order.set(r.runId, i))
        const frameRuns: Array<FrameRun> = all.map((r) => ({ projid: r.projid, tstamp: r.tstamp, filename: r.filename }))
        const needLoops = new Set<number>()
        const columns: Array<ColumnRecords> = []
        for (const name of names) {
          if (isBuildColumn(name)) {
            columns.push({
              name,
              run: all.map((_, i) => i),
              ctx: all.map(() => 0),
              value: all.map((r) => buildValue(r, name))
            })
            continue
          }
          const rows = yield* sql.unsafe(
            `SELECT run_id, ctx_id, value, value_type FROM logs WHERE value_name = ? ORDER BY run_id, ctx_id`,
            [name]
          ).values
          // Rows come grouped by run_id; lay the groups out in run display order.
          const groups: Array<[number, number, number]> = []
          for (let i = 0; i < rows.length;) {
            const runId = rows[i]![0] as number
            let j = i
            while (j < rows.length && rows[j]![0] === runId) j++
            groups.push([order.get(runId) ?? -1, i, j])
            i = j
          }
          groups.sort((a, b) => a[0] - b[0])
          const run: Array<number> = []
          const ctx: Array<number> = []
          const value: Array<unknown> = []
          for (const [idx, from, to] of groups) {
            if (idx < 0) continue
            for (let i = from; i < to; i++) {
              const r = rows[i]!
              const c = r[1] as number
              run.push(idx)
              ctx.push(c)
              value.push(fromText(r[2] as string, r[3] as number))
              if (c !== 0) needLoops.add(idx)
            }
          }
          columns.push({ name, run, ctx, value })
        }
        const loaded = new Map<number, Loaded>()
        for (const idx of needLoops) loaded.set(idx, yield* loadLoops(all[idx]!.runId))
        const memo = new Map<number, Array<LoopPath>>()
        const path = (run: number, ctx: number): LoopPath => {
          if (ctx === 0) return []
          let paths = memo.get(run)
          if (paths === undefined) memo.set(run, paths = [])
          const known = paths[ctx]
          if (known !== undefined) return known
          const l = loaded.get(run)!
          const name = l.name[ctx]
          if (name === undefined) return (paths[ctx] = [])
          const coord: LoopCoord = { ctx, name, iteration: l.iteration[ctx]!, value: l.value[ctx] }
          const parent = l.parent[ctx]!
          return (paths[ctx] = parent === 0 ? [coord] : [...path(run, parent), coord])
        }
        return pivot({ runs: frameRuns, columns, path })
      }).pipe(Effect.mapError(storeError("dataframe")))

    const topLevel: Store["Type"]["topLevel"] = Effect.gen(function*() {
      const all = yield* runs
      const order = new Map<number, number>()
      all.forEach((r, i) => order.set(r.runId, i))
      const rows = yield* sql.unsafe(
        `SELECT run_id, value_name, value, value_type FROM logs WHERE ctx_id = 0 ORDER BY run_id, rowid`
      ).values
      const names: Array<string> = []
      const seen = new Set<string>()
      const values = all.map(() => new Map<string, unknown>())
      for (const r of rows) {
        const name = r[1] as string
        if (!seen.has(name)) {
          seen.add(name)
          names.push(name)
        }
        const idx = order.get(r[0] as number)
        if (idx !== undefined) values[idx]!.set(name, fromText(r[2] as string, r[3] as number))
      }
      const out = all.map((run, i) => {
        const row: Record<string, unknown> = { projid: run.projid, tstamp: run.tstamp, filename: run.filename }
        for (const name of names) row[name] = values[i]!.has(name) ? values[i]!.get(name) : null
        return row
      })
      return { columns: ["projid", "tstamp", "filename", ...names], rows: out }
    }).pipe(Effect.mapError(storeError("dataframe")))

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
  Layer.effect(Store, make(file)).pipe(
    Layer.provide(
      Layer.unwrapEffect(Effect.sync(() => {
        if (file !== ":memory:") fs.mkdirSync(path.dirname(file), { recursive: true })
        return SqliteClient.layer({ filename: file, disableWAL: true })
      }))
    ),
    Layer.provide(Reactivity.layer),
    Layer.mapError((e) => e instanceof StoreError ? e : storeError("open")(e))
  )
