/**
 * The `flor` command line: read, query and maintain a project's runs.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as Prompt from "@effect/cli/Prompt"
import * as fs from "node:fs"
import * as os from "node:os"
import * as Either from "effect/Either"
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
import { ColumnError, ReplayError, UsageError } from "../domain/Errors.js"
import { DIMENSIONS } from "../domain/Run.js"

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
      if ((DIMENSIONS as ReadonlyArray<string>).includes(name)) {
        return yield* Effect.fail(
          new ColumnError({ reason: "Unknown", column: name, detail: "it is a dimension column, always shown: leave it out" })
        )
      }
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
    if (o.keep < 0) {
      return yield* Effect.fail(new UsageError({ detail: `--keep ${o.keep}: keep 0 or more checkpoints per run`, help: "flor gc --help" }))
    }
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
        // forget them first: a failure or Ctrl-C midway leaves unreferenced files, never references to deleted ones
        yield* store.dropCheckpoints(list[0]!.run, drop.map((c) => c.checkpoint.iteration))
        for (const c of drop) freed += yield* objects.remove(c.checkpoint.uri)
      } else freed += drop.reduce((a, c) => a + c.checkpoint.bytes, 0)
      removed += drop.length
    }
    yield* Console.log(
      `${o.dryRun ? "would remove" : "removed"} ${removed} checkpoint${removed === 1 ? "" : "s"} of ${byRun.size} run${
        byRun.size === 1 ? "" : "s"
      }, ${freed} bytes ${o.dryRun ? "to free" : "freed"}`
    )
  })).pipe(Command.withDescription("delete checkpoints, keeping N evenly spaced per run plus the last"))

const replayArgs = Args.text({ name: "VARS [WHERE]" }).pipe(
  Args.withDescription("columns to backfill, optionally followed by a SQL condition selecting runs, e.g. f1_ped \"tstamp >= '2026-06-23'\""),
  Args.repeated
)
const yes = Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("do not ask for confirmation"))
const dryRun = Options.boolean("dry-run").pipe(Options.withDescription("print the plan only"))
const jobs = Options.integer("jobs").pipe(
  Options.withDefault(os.cpus().length),
  Options.withDescription("replay processes at once (default: cores)")
)

/**
 * Replay and propagation load the TypeScript compiler (script analysis): imported
 * when those commands run, so `flor dataframe` and the others start twice as fast.
 */
const loadMultiReplay = Effect.promise(() => import("../layers/MultiReplay.js"))

const isIdentifier = (s: string) => /^[A-Za-z_][\w.]*$/.test(s)

const replay = Command.make(
  "replay",
  { words: replayArgs, where, yes, dryRun, jobs },
  (o) =>
    Effect.gen(function*() {
      const vars = o.words.filter(isIdentifier)
      const positional = o.words.filter((w) => !isIdentifier(w))
      if (vars.length === 0) {
        return yield* Effect.fail(new ReplayError({ tstamp: "", filename: "", detail: "name at least one column to backfill" }))
      }
      if (positional.length > 1 || (positional.length === 1 && Option.isSome(o.where))) {
        return yield* Effect.fail(new ReplayError({ tstamp: "", filename: "", detail: "give one WHERE condition (quote it)" }))
      }
      const request = {
        vars,
        where: positional[0] ?? Option.getOrUndefined(o.where),
        jobs: Math.max(1, o.jobs)
      }
      const MultiReplay = yield* loadMultiReplay
      const planned = yield* MultiReplay.plan(request)
      if (planned.length === 0) {
        yield* Console.log(`nothing to replay: no selected run lacks ${vars.join(", ")}`)
        return
      }
      const rows = planned.map((p) => [
        p.run.tstamp,
        p.run.filename,
        p.run.vid?.slice(0, 10) ?? null,
        p.kind,
        Number(p.estimate.toFixed(2)),
        p.checkpoints,
        p.workers
      ])
      const total = planned.reduce((a, p) => a + p.estimate, 0)
      yield* Effect.sync(() =>
        process.stdout.write(
          render(["tstamp", "filename", "version", "scan", "estimate_s", "checkpoints", "workers"], rows, "table") +
            `total ${total.toFixed(1)}s of replay on up to ${request.jobs} process${request.jobs === 1 ? "" : "es"}\n`
        )
      )
      if (o.dryRun) return
      if (!o.yes) {
        if (!process.stdin.isTTY) {
          return yield* Effect.fail(
            new ReplayError({
              tstamp: "",
              filename: "",
              detail: "refusing to replay without confirmation: there is no terminal to ask; pass --yes"
            })
          )
        }
        const go = yield* Prompt.confirm({ message: `Replay ${planned.length} run${planned.length === 1 ? "" : "s"}?` })
        if (!go) return
      }
      const outcomes = yield* MultiReplay.execute(planned, request, (line) => Console.error(line))
      const report = outcomes.map((o) => [
        o.planned.run.tstamp,
        o.planned.run.filename,
        o.planned.kind,
        Number(o.planned.estimate.toFixed(2)),
        Either.isRight(o.result) ? Number(o.result.right.seconds.toFixed(2)) : null,
        Either.isRight(o.result) ? o.result.right.written : null,
        Either.isRight(o.result) ? o.result.right.divergences : null,
        Either.isRight(o.result) ? "ok" : `failed: ${o.result.left}`
      ])
      yield* Effect.sync(() =>
        process.stdout.write(
          render(["tstamp", "filename", "scan", "estimate_s", "actual_s", "written", "divergences", "status"], report, "table")
        )
      )
      const failures = outcomes.flatMap((o) => Either.isLeft(o.result) ? [o.result.left] : [])
      if (failures.length > 0) {
        return yield* Effect.fail(
          new ReplayError({
            tstamp: "",
            filename: "",
            detail: `${failures.length} of ${outcomes.length} runs failed (see the report); first: ${failures[0]}`
          })
        )
      }
    })
).pipe(Command.withDescription("backfill columns into past runs by replaying them with today's log statements"))

const propagateCmd = Command.make(
  "propagate",
  {
    newer: Args.file({ name: "NEWER", exists: "yes" }).pipe(Args.withDescription("the script with the statement")),
    line: Args.integer({ name: "LINE" }).pipe(Args.withDescription("line of the statement in NEWER")),
    older: Args.file({ name: "OLDER", exists: "yes" }).pipe(Args.withDescription("the older version to insert it into")),
    out: Options.file("out").pipe(Options.optional, Options.withDescription("write here instead of stdout"))
  },
  (o) =>
    Effect.gen(function*() {
      const { propagate } = yield* Effect.promise(() => import("../domain/analysis/Propagate.js"))
      const result = propagate(fs.readFileSync(o.newer, "utf8"), o.line, fs.readFileSync(o.older, "utf8"))
      if (Either.isLeft(result)) {
        return yield* Effect.fail(new ReplayError({ tstamp: "", filename: o.older, detail: result.left.message }))
      }
      if (Option.isSome(o.out)) fs.writeFileSync(o.out.value, result.right.source)
      else yield* Effect.sync(() => process.stdout.write(result.right.source))
    })
).pipe(Command.withDescription("insert the statement at LINE of NEWER into OLDER, aligning the two versions (GumTree)"))

/** The root command. The project (a git repository, its store) is opened only by the commands that read it. */
export const flor = Command.make("flor").pipe(
  Command.withDescription("flordb: hindsight logging for machine learning"),
  Command.withSubcommands([
    Command.provide(dataframe, projectLayer),
    Command.provide(query, projectLayer),
    Command.provide(runs, projectLayer),
    Command.provide(unpack, projectLayer),
    Command.provide(gc, projectLayer),
    Command.provide(replay, projectLayer),
    propagateCmd
  ])
)

const subcommands = ["dataframe", "query", "runs", "unpack", "gc", "replay", "propagate"]

/** A help doc as one line of plain text. */
const oneLine = (doc: HelpDoc.HelpDoc) =>
  HelpDoc.toAnsiText(doc).replace(/\u001b\[[0-9;]*m/g, "").replace(/\s+/g, " ").trim()

/**
 * Parses argv first, so that a malformed command line is one typed error naming
 * the help to read (@effect/cli would print its own multi-line report).
 */
const validate = (argv: ReadonlyArray<string>) => {
  const args = argv.slice(2)
  const sub = args.find((a) => subcommands.includes(a))
  const usage = (detail: string) => new UsageError({ detail, help: sub === undefined ? "flor --help" : `flor ${sub} --help` })
  return Descriptor.parse(flor.descriptor, ["flor", ...args], CliConfig.defaultConfig).pipe(
    Effect.mapError((e) => usage(oneLine(e.error))),
    Effect.flatMap((directive) =>
      directive._tag === "UserDefined" && directive.leftover.length > 0
        ? Effect.fail(usage(`unknown argument '${directive.leftover[0]}'`))
        : Effect.void
    )
  )
}

/** Parses argv and runs the command. */
export const cli = (argv: ReadonlyArray<string>) =>
  Effect.zipRight(validate(argv), Command.run(flor, { name: "flor", version: "0.1.0" })(argv))
