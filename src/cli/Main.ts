/**
 * The `flor` command line: read, query and maintain a project's runs.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { isBuildColumn } from "../domain/Run.js"
import { type Frame, latest } from "../domain/Frame.js"
import { filterFrame } from "../layers/FrameQuery.js"
import { storage } from "../layers/Live.js"
import * as ProjectLive from "../layers/ProjectLive.js"
import { recover, unpack as unpackRuns } from "../layers/Recovery.js"
import { Project } from "../services/Project.js"
import { Store } from "../services/Store.js"
import { ObjectStore } from "../services/ObjectStore.js"
import { keepEvenly } from "../domain/Retention.js"
import { type Format, render, renderObjects } from "./Format.js"
import { ColumnError } from "../domain/Errors.js"

/** The project of the working directory with its storage; orphaned runs are recovered first. */
export const projectLayer = Layer.unwrapEffect(
  Effect.map(
    ProjectLive.make({ cwd: process.cwd(), argv: [] }),
    (project) => {
      const base = Layer.merge(storage(project), Layer.succeed(Project, project))
      return Layer.effectDiscard(Effect.asVoid(recover(project.projid))).pipe(Layer.provideMerge(base))
    }
  )
)

const format = Options.choice("format", ["table", "csv", "json"]).pipe(
  Options.withDefault("table" as const),
  Options.withDescription("output format: a readable table, or exact csv / json")
)

const cols = Args.text({ name: "COLUMN" }).pipe(
  Args.withDescription("columns to show (none: one row per run with its top-level values)"),
  Args.repeated
)
const where = Options.text("where").pipe(
  Options.withDescription("SQL condition over the dataframe's columns, e.g. \"lr > 0.01 AND epoch = 3\""),
  Options.optional
)
const latestFlag = Options.boolean("latest").pipe(Options.withDescription("keep only the newest run"))

/** Checks that every asked column exists in the store (or is a build column). */
const checkColumns = (names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = yield* Store
    const known = new Set(yield* store.columnNames)
    for (const name of names) {
      if (!known.has(name) && !isBuildColumn(name)) {
        return yield* Effect.fail(
          new ColumnError({ reason: "Unknown", column: name, detail: "no run has logged it (see `flor dataframe`)" })
        )
      }
    }
  })

const dataframe = Command.make(
  "dataframe",
  { cols, where, latest: latestFlag, format },
  (o) =>
    Effect.gen(function*() {
      const store = yield* Store
      yield* checkColumns(o.cols)
      let frame: Frame<Record<string, unknown>> = o.cols.length === 0
        ? yield* store.topLevel
        : yield* store.dataframe(o.cols)
      if (Option.isSome(o.where)) frame = yield* filterFrame(frame, o.where.value)
      if (o.latest) frame = latest(frame as Frame<Record<string, unknown> & { tstamp: string }>)
      yield* Effect.sync(() => process.stdout.write(renderObjects(frame.columns, frame.rows, o.format as Format)))
    })
).pipe(Command.withDescription("print the pivoted dataframe of the given columns"))

const query = Command.make(
  "query",
  { sql: Args.text({ name: "SQL" }).pipe(Args.withDescription("one read-only SQL statement")), format },
  (o) =>
    Effect.gen(function*() {
      const store = yield* Store
      const result = yield* store.query(o.sql)
      yield* Effect.sync(() => process.stdout.write(render(result.columns, result.rows, o.format as Format)))
    })
).pipe(Command.withDescription("run one read-only SQL statement over the store (tables runs, logs, loops, log_records)"))

const runs = Command.make("runs", { format }, (o) =>
  Effect.gen(function*() {
    const store = yield* Store
    const all = yield* store.runs
    const rows = all.map((r) => [
      r.tstamp,
      r.filename,
      r.status,
      r.vid === null ? null : r.vid.slice(0, 10),
      r.endTime === null ? null : Number(((r.endTime - r.startTime) / 1000).toFixed(3))
    ])
    yield* Effect.sync(() =>
      process.stdout.write(render(["tstamp", "filename", "status", "vid", "duration_s"], rows, o.format as Format))
    )
  })).pipe(Command.withDescription("list runs: tstamp, filename, status, version and duration"))

const unpack = Command.make("unpack", {}, () =>
  Effect.gen(function*() {
    const n = yield* unpackRuns
    yield* Console.log(`unpacked ${n} run${n === 1 ? "" : "s"} from the flor.shadow branch`)
  })).pipe(Command.withDescription("rebuild the database from the run logs on the flor.shadow branch"))

const keep = Options.integer("keep").pipe(
  Options.withDescription("checkpoints to keep per run, evenly spaced (the last is always kept)")
)

const gc = Command.make("gc", { keep, dryRun: Options.boolean("dry-run").pipe(Options.withDescription("only report")) }, (o) =>
  Effect.gen(function*() {
    const store = yield* Store
    const objects = yield* ObjectStore
    const all = yield* store.checkpoints
    const byRun = new Map<string, Array<(typeof all)[number]>>()
    for (const c of all) {
      const k = `${c.run.tstamp}\u0000${c.run.filename}`
      byRun.set(k, [...(byRun.get(k) ?? []), c])
    }
    let freed = 0
    let removed = 0
    for (const list of byRun.values()) {
      const kept = keepEvenly(list.map((c) => c.checkpoint.iteration), Math.max(0, o.keep))
      const drop = list.filter((c) => !kept.has(c.checkpoint.iteration))
      if (drop.length === 0) continue
      if (!o.dryRun) {
        for (const c of drop) freed += yield* objects.remove(c.checkpoint.uri)
        yield* store.dropCheckpoints(list[0]!.run, drop.map((c) => c.checkpoint.iteration))
      } else freed += drop.reduce((a, c) => a + c.checkpoint.bytes, 0)
      removed += drop.length
    }
    yield* Console.log(
      `${o.dryRun ? "would remove" : "removed"} ${removed} checkpoint${removed === 1 ? "" : "s"} of ${byRun.size} run${
        byRun.size === 1 ? "" : "s"
      }, ${freed} bytes ${o.dryRun ? "to free" : "freed"}`
    )
  })).pipe(Command.withDescription("delete checkpoints, keeping N evenly spaced per run plus the last"))

/** The root command. */
export const flor = Command.make("flor").pipe(
  Command.withDescription("flordb: hindsight logging for machine learning"),
  Command.withSubcommands([dataframe, query, runs, unpack, gc])
)

/** Parses argv and runs the command, with the project's storage provided. */
export const cli = (argv: ReadonlyArray<string>) =>
  Command.run(flor, { name: "flor", version: "0.1.0" })(argv).pipe(Effect.provide(projectLayer))
