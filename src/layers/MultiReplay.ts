/**
 * Multiversion hindsight logging (`flor replay VARS [WHERE]`): find the new
 * statements in today's scripts, select the runs, estimate each replay from its
 * profiling records, then replay every run in its own version — materialized
 * into a temporary directory, the statements propagated into it, run with the
 * project's current dependencies — and backfill the original runs.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { analyze, scanKind } from "../domain/analysis/Script.js"
import { propagateImports } from "../domain/analysis/Imports.js"
import { propagate } from "../domain/analysis/Propagate.js"
import { DEFAULT_RESTORE_RATIO } from "../domain/Adaptive.js"
import { ColumnError, QueryError, ReplayError, type StoreError } from "../domain/Errors.js"
import type { Frame } from "../domain/Frame.js"
import { scriptArgv } from "../domain/Kwargs.js"
import { partition } from "../domain/Partition.js"
import type { ReplayPlan, ScanKind } from "../domain/ReplayPlan.js"
import { isBuildColumn, type RunRow } from "../domain/Run.js"
import { Project } from "../services/Project.js"
import { Store } from "../services/Store.js"
import { Versioning } from "../services/Versioning.js"
import { filterFrame, identifiersOf } from "./FrameQuery.js"
import { precompiled } from "./internal/precompile.js"
import { runReplay, type ReplaySummary, workerArgs, workerEnv } from "./ReplayRunner.js"

/** What the user asked. */
export interface ReplayRequest {
  readonly vars: ReadonlyArray<string>
  readonly where?: string | undefined
  readonly jobs: number
}

/** One run to replay, with its estimate. */
export interface PlannedRun {
  readonly run: RunRow
  readonly kind: ScanKind
  /** The lines of the new statements in today's script. */
  readonly lines: ReadonlyArray<number>
  readonly iterations: number
  readonly checkpoints: number
  readonly workers: number
  /** Estimated seconds. */
  readonly estimate: number
}

/** How a planned run ended. */
export interface Outcome {
  readonly planned: PlannedRun
  readonly result: Either.Either<ReplaySummary, string>
}

/** Restore/materialize ratio used by the estimates. */
const RestoreRatio = Config.number("FLOR_RESTORE_RATIO").pipe(Config.withDefault(DEFAULT_RESTORE_RATIO))

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0)

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const tsxCli = createRequire(import.meta.url).resolve("tsx/cli")

/**
 * Seconds the tsx launcher adds around a script's own process, for a run whose replay
 * start-up neither an earlier replay nor the probe (`probeStartup`) measured: the
 * estimate then starts from the recording's `flor.startup_s`, which counts from the
 * script process's own start, under tsx. Measured on this machine, now, by launching a
 * script that prints its own uptime the same way: wall time minus that uptime. 0 when
 * the probe fails.
 */
const launcherOverhead = Effect.sync(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flor-launch-"))
  try {
    const probe = path.join(dir, "probe.mjs")
    fs.writeFileSync(probe, "process.stdout.write(String(process.uptime()))\n")
    const started = performance.now()
    const r = spawnSync(process.execPath, [tsxCli, probe], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "ignore"]
    })
    const wall = (performance.now() - started) / 1000
    const own = Number.parseFloat(r.stdout ?? "")
    return r.status === 0 && Number.isFinite(own) ? Math.max(0, wall - own) : 0
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

/**
 * A replay's start-up, measured before any replay of the script has run: the run's
 * version is materialized as a replay would be, precompiled, and started under a
 * plan naming no stored run, so the process stops as soon as its replay layer looks
 * the run up — after the script's imports and top-level code. Wall seconds from
 * before the compile; none when the script cannot be precompiled or the probe fails
 * to start (the estimate then falls back to the recording's start-up).
 */
const probeStartup = (run: RunRow, lines: ReadonlyArray<number>) =>
  Effect.scoped(Effect.gen(function*() {
    const project = yield* Project
    const dir = yield* materialize(run, lines)
    const script = path.join(dir, run.filename)
    const started = performance.now()
    const compiled = yield* precompiled(script, { debug: false })
    if (Option.isNone(compiled)) return Option.none<number>()
    const plan: ReplayPlan = {
      projid: project.projid,
      tstamp: "flor-startup-probe",
      filename: run.filename,
      kind: "prefix",
      probes: []
    }
    const r = spawnSync(process.execPath, [...workerArgs(script, scriptArgv(run.build.argv), compiled)], {
      cwd: dir,
      env: workerEnv(process.env, plan),
      stdio: "ignore",
      timeout: 120_000
    })
    return r.error === undefined && r.signal === null
      ? Option.some((performance.now() - started) / 1000)
      : Option.none<number>()
  })).pipe(Effect.catchAll(() => Effect.succeed(Option.none<number>())))

/** Estimated seconds of a replay of `[from, to)` from the run's profiling records. */
export const estimate = (p: {
  readonly kind: ScanKind
  /** Seconds the launcher adds around the script's process (not in `startup`). */
  readonly launch: number
  readonly startup: number
  readonly prefix: number
  readonly suffix: number
  readonly iter: ReadonlyArray<number>
  readonly nested: ReadonlyArray<number>
  /** Restore seconds of each checkpointed iteration (1-based), absent when missing. */
  readonly restore: ReadonlyMap<number, number>
  readonly from: number
  readonly to: number
}): number => {
  const base = p.launch + p.startup + p.prefix
  const iter = (i: number) => p.iter[i - 1] ?? 0
  const nearest = (i: number) => {
    for (let j = i; j >= 1; j--) if (p.restore.has(j)) return j
    return 0
  }
  const position = (i: number) => {
    const j = nearest(i)
    let t = j > 0 ? p.restore.get(j)! : 0
    for (let k = j + 1; k <= i; k++) t += iter(k)
    return t
  }
  switch (p.kind) {
    case "prefix":
      return base
    case "suffix":
      return base + position(p.iter.length) + p.suffix
    case "validation": {
      let t = base
      let valid = p.from - 1
      for (let i = p.from; i < p.to; i++) {
        const outer = iter(i) - (p.nested[i - 1] ?? 0)
        if (p.restore.has(i)) t += outer + p.restore.get(i)!
        else {
          if (valid !== i - 1) t += position(i - 1)
          t += iter(i)
        }
        valid = i
      }
      return t
    }
    case "range": {
      let t = base + position(p.from - 1)
      for (let i = p.from; i < p.to; i++) t += iter(i)
      return t
    }
  }
}

/** Plans `flor replay`: the runs to replay, their scan kinds and estimates. */
export const plan = (request: ReplayRequest) =>
  Effect.gen(function*() {
    const project = yield* Project
    const store = yield* Store
    const restoreRatio = yield* Effect.orDie(RestoreRatio)
    const runs = yield* store.runs
    const fail = (detail: string) => new ReplayError({ tstamp: "", filename: "", detail })

    // 1. The new statements in today's scripts.
    const scripts = new Map<string, { readonly kind: ScanKind; readonly lines: ReadonlyArray<number> }>()
    const problems: Array<string> = []
    for (const filename of new Set(runs.map((r) => r.filename))) {
      const file = path.join(project.root, filename)
      if (!fs.existsSync(file)) continue
      const info = analyze(fs.readFileSync(file, "utf8"), filename)
      if (Either.isLeft(info)) {
        problems.push(`${filename}: ${info.left.message}`)
        continue
      }
      const logs = info.right.logs.filter((l) => request.vars.includes(l.column))
      if (logs.length === 0) continue
      const kind = scanKind(info.right, request.vars)
      if (Either.isLeft(kind)) return yield* Effect.fail(fail(`${filename}: ${kind.left.message}`))
      scripts.set(filename, { kind: kind.right.kind, lines: logs.map((l) => l.line) })
    }
    if (scripts.size === 0) {
      return yield* Effect.fail(
        fail(
          `no script in the working tree logs ${request.vars.join(", ")}: add the log statement to today's script first` +
            (problems.length > 0 ? ` (${problems.join("; ")})` : "")
        )
      )
    }

    // 2. Run selection.
    let selected = runs.filter((r) => scripts.has(r.filename))
    if (request.where !== undefined && request.where.trim() !== "") {
      const known = new Set(yield* store.columnNames)
      const named = identifiersOf(request.where).filter((n) => known.has(n) || isBuildColumn(n))
      const frame: Frame<Record<string, unknown>> = named.length > 0
        ? yield* store.dataframe(named)
        : { columns: ["projid", "tstamp", "filename"], rows: runs.map((r) => ({ projid: r.projid, tstamp: r.tstamp, filename: r.filename })) }
      const kept = yield* filterFrame(frame, request.where)
      const keys = new Set(kept.rows.map((r) => `${r.tstamp}\u0000${r.filename}`))
      selected = selected.filter((r) => keys.has(`${r.tstamp}\u0000${r.filename}`))
    } else {
      const have = yield* store.dataframe(request.vars)
      const done = new Set(
        have.rows.filter((r) => request.vars.some((v) => r[v] !== null && r[v] !== undefined)).map((r) =>
          `${r.tstamp}\u0000${r.filename}`
        )
      )
      selected = selected.filter((r) => !done.has(`${r.tstamp}\u0000${r.filename}`))
    }
    selected = selected.filter((r) => r.vid !== null)

    // 3. Estimates from profiling records.
    const profile = yield* store.dataframe(["flor.iter_s", "flor.nested_s"])
    const top = yield* store.dataframe(["flor.startup_s", "flor.prefix_s", "flor.suffix_s", "flor.restore_s", "flor.replay_startup_s"])
    const checkpoints = yield* store.checkpoints
    // A replay's start-up, as measured by earlier replays of the same script in this project,
    // beats the recording's own (which ran under other loaders and opened a journal); a script
    // never replayed yet is probed on its newest selected run's version. Every run keeps its
    // latest replay's; their median serves all runs of the script, the run's own included: one
    // measurement jitters by ~10% here, and start-up differs little between versions.
    const replayStartups = new Map<string, number>()
    for (const filename of new Set(selected.map((r) => r.filename))) {
      const seen = top.rows.filter((r) => r.filename === filename).map((r) => num(r["flor.replay_startup_s"])).filter((x) => x > 0)
      const startup = seen.length > 0
        ? Option.some(median(seen))
        : yield* probeStartup(selected.filter((r) => r.filename === filename).at(-1)!, scripts.get(filename)!.lines)
      if (Option.isSome(startup)) replayStartups.set(filename, startup.value)
    }
    const launch = selected.some((r) => !replayStartups.has(r.filename)) ? yield* launcherOverhead : 0
    const perRun = Math.max(1, Math.floor(request.jobs / Math.max(1, selected.length)))
    const startupOf = (filename: string, t: Record<string, unknown>) => {
      const seen = replayStartups.get(filename)
      return seen !== undefined ? { launch: 0, startup: seen } : { launch, startup: num(t["flor.startup_s"]) }
    }
    return selected.map((run): PlannedRun => {
      const script = scripts.get(run.filename)!
      const mine = (r: Record<string, unknown>) => r.tstamp === run.tstamp && r.filename === run.filename
      const iterRows = profile.rows.filter(mine)
      const iter = iterRows.map((r) => num(r["flor.iter_s"]))
      const nested = iterRows.map((r) => num(r["flor.nested_s"]))
      const t = top.rows.find(mine) ?? {}
      const measured = num(t["flor.restore_s"])
      const restore = new Map(
        checkpoints.filter((c) => c.run.tstamp === run.tstamp && c.run.filename === run.filename).map((c) => [
          c.checkpoint.iteration,
          measured > 0 ? measured : (restoreRatio * c.checkpoint.materializeMs) / 1000
        ])
      )
      const n = iter.length
      const parallel = script.kind === "range" || script.kind === "validation"
      const workers = parallel ? Math.max(1, Math.min(perRun, n)) : 1
      const parts = parallel ? partition(1, n + 1, workers) : [[1, n + 1] as const]
      const est = Math.max(
        ...parts.map(([from, to]) =>
          estimate({
            kind: script.kind,
            ...startupOf(run.filename, t),
            prefix: num(t["flor.prefix_s"]),
            suffix: num(t["flor.suffix_s"]),
            iter,
            nested,
            restore,
            from,
            to
          })
        ),
        0
      )
      return {
        run,
        kind: script.kind,
        lines: script.lines,
        iterations: n,
        checkpoints: restore.size,
        workers,
        estimate: est
      }
    })
  })

/**
 * Materializes a run's version into a temporary directory, with the new statements (at
 * `lines` of today's script) propagated into its script.
 */
const materialize = (run: RunRow, lines: ReadonlyArray<number>) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "flor-version-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.tap((dir) =>
    Effect.gen(function*() {
      const project = yield* Project
      const versioning = yield* Versioning
      const fail = (detail: string) => new ReplayError({ tstamp: run.tstamp, filename: run.filename, detail })
      yield* Effect.mapError(versioning.checkout(run.vid!, dir), (e) => fail(e.message))
      const modules = path.join(project.root, "node_modules")
      if (fs.existsSync(modules) && !fs.existsSync(path.join(dir, "node_modules"))) {
        fs.symlinkSync(modules, path.join(dir, "node_modules"), "dir")
      }
      const newer = fs.readFileSync(path.join(project.root, run.filename), "utf8")
      const target = path.join(dir, run.filename)
      if (!fs.existsSync(target)) return yield* Effect.fail(fail(`${run.filename} is not in version ${run.vid}`))
      let older = fs.readFileSync(target, "utf8")
      if (older === newer) return
      // Newer lines shift as statements are inserted into the older file, not the newer: propagate from the bottom up.
      for (const line of [...lines].sort((a, b) => b - a)) {
        const done = propagate(newer, line, older)
        if (Either.isLeft(done)) return yield* Effect.fail(fail(`cannot propagate line ${line}: ${done.left.message}`))
        older = propagateImports(newer, done.right.source, done.right.unresolved)
      }
      fs.writeFileSync(target, older)
    })
  ))

/** Replays every planned run (in parallel, `jobs` processes in all); a failure does not stop the others. */
export const execute = (
  planned: ReadonlyArray<PlannedRun>,
  request: ReplayRequest,
  progress: (line: string) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function*() {
    const project = yield* Project
    let done = 0
    return yield* Effect.forEach(
      planned,
      (p) =>
        Effect.scoped(Effect.gen(function*() {
          const dir = yield* materialize(p.run, p.lines)
          return yield* runReplay({
            script: path.join(dir, p.run.filename),
            cwd: dir,
            argv: scriptArgv(p.run.build.argv),
            plan: {
              projid: project.projid,
              tstamp: p.run.tstamp,
              filename: p.run.filename,
              kind: p.kind,
              probes: request.vars
            },
            workers: p.workers
          })
        })).pipe(
          Effect.either,
          Effect.map((r): Outcome => ({ planned: p, result: Either.mapLeft(r, (e) => e.message) })),
          Effect.tap((o) =>
            Effect.suspend(() => {
              done++
              const what = Either.match(o.result, {
                onLeft: (e) => `FAILED: ${e}`,
                onRight: (s) => `done in ${s.seconds.toFixed(1)}s (estimated ${p.estimate.toFixed(1)}s)`
              })
              return progress(`[${done}/${planned.length}] ${p.run.filename} ${p.run.tstamp} ${p.kind}: ${what}`)
            })
          )
        ),
      { concurrency: Math.max(1, Math.min(request.jobs, planned.length)) }
    )
  })

export type { StoreError, QueryError, ColumnError }
