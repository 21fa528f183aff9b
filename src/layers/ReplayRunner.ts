/**
 * Runs a replay plan against a script in worker processes: the script runs
 * unchanged with `FLOR_REPLAY` set; range and validation scans are split into G
 * contiguous, balanced partitions that pseudoresume independently. Results are
 * merged and backfilled in one transaction only when every worker succeeded.
 * Workers run the script precompiled, under plain `node` (no loader hooks), when
 * it allows (`internal/precompile.ts`), else under tsx.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ReplayError } from "../domain/Errors.js"
import { partition } from "../domain/Partition.js"
import { type Divergence, type ReplayPlan, ReplayPlanJson, type ReplayResult, ReplayResultJson } from "../domain/ReplayPlan.js"
import { Store } from "../services/Store.js"
import { type Compiled, precompiled } from "./internal/precompile.js"

/** What to replay and how. */
export interface ReplayJob {
  /** Absolute path of the script to run (the run's version of it, with the new statements). */
  readonly script: string
  readonly cwd: string
  /** The script's own argv as recorded (kwargs are not passed: args take their recorded values). */
  readonly argv: ReadonlyArray<string>
  readonly plan: ReplayPlan
  /** Worker processes for range and validation scans. */
  readonly workers: number
  readonly env?: NodeJS.ProcessEnv
}

/** The outcome of a replay. */
export interface ReplaySummary {
  readonly written: number
  readonly divergence: Divergence | null
  readonly divergences: number
  readonly compared: number
  readonly outer: number
  readonly inner: number
  readonly restores: number
  readonly workers: number
  readonly seconds: number
}

const tsxCli = createRequire(import.meta.url).resolve("tsx/cli")

/** The command line of a worker (after `node`): the precompiled script, or the script under tsx. */
export const workerArgs = (
  script: string,
  argv: ReadonlyArray<string>,
  compiled: Option.Option<Compiled>
): Array<string> =>
  Option.match(compiled, {
    onNone: () => [tsxCli, script, ...argv],
    onSome: (c) => [...c.execArgv, c.entry, ...argv]
  })

/** The environment of a worker: `base` with the plan in `FLOR_REPLAY`. */
export const workerEnv = (base: NodeJS.ProcessEnv, plan: ReplayPlan): NodeJS.ProcessEnv => ({
  ...base,
  FLOR_REPLAY: Schema.encodeSync(ReplayPlanJson)(plan)
})

/** Runs one worker process; fails with the last line of its stderr. */
const runWorker = (job: ReplayJob, plan: ReplayPlan, args: ReadonlyArray<string>) =>
  Effect.async<void, string>((resume) => {
    const child = spawn(process.execPath, [...args], {
      cwd: job.cwd,
      env: workerEnv(job.env ?? process.env, plan),
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-64_000)
    })
    child.on("error", (e) => resume(Effect.fail(e.message)))
    child.on("exit", (code, signal) => {
      if (code === 0) return resume(Effect.void)
      const lines = stderr.trim().split("\n").filter((l) => !l.includes("replay divergence"))
      resume(Effect.fail(lines.at(-1) ?? `exited with ${signal ?? code}`))
    })
    // Interrupted (Ctrl-C): stop the worker and wait until it is gone, so nothing runs or
    // writes into the temporary directories once they are removed.
    return Effect.async<void>((gone) => {
      if (child.exitCode !== null || child.signalCode !== null) return gone(Effect.void)
      const force = setTimeout(() => child.kill("SIGKILL"), 5_000)
      child.once("exit", () => {
        clearTimeout(force)
        gone(Effect.void)
      })
      child.kill("SIGTERM")
    })
  })

/** Replays a recorded run with `job.workers` processes; backfills only if all succeed. */
export const runReplay = (job: ReplayJob): Effect.Effect<ReplaySummary, ReplayError, Store> =>
  Effect.gen(function*() {
    const store = yield* Store
    const key = { tstamp: job.plan.tstamp, filename: job.plan.filename }
    const fail = (detail: string) => new ReplayError({ ...key, detail })
    const parallel = job.plan.kind === "range" || job.plan.kind === "validation"
    // The main loop's length (from its profiling records) bounds a partitioned scan without an end;
    // the query also fails as a missing run does.
    const length = Effect.map(store.mainLoop(key), (main) => main[0]?.entries ?? main.length)
    const n = yield* Effect.mapError(length, (e) => fail(e.message))
    const started = performance.now()
    const ranges = parallel
      ? partition(job.plan.from ?? 1, job.plan.to ?? n + 1, job.workers)
      : [[job.plan.from ?? 1, job.plan.to ?? n + 1] as const]
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flor-replay-"))
    const plans = ranges.map(([from, to], i): ReplayPlan => ({
      ...job.plan,
      ...(parallel ? { from, to } : {}),
      output: path.join(dir, `worker-${i}.json`)
    }))
    const debug = (job.env ?? process.env).FLOR_DEBUG !== undefined
    const outcomes = yield* Effect.flatMap(precompiled(job.script, { debug }), (compiled) =>
      Effect.forEach(
        plans,
        (plan, i) =>
          Effect.mapError(runWorker(job, plan, workerArgs(job.script, job.argv, compiled)), (e) => fail(`worker ${i + 1}/${plans.length}: ${e}`))
            .pipe(
              Effect.zipRight(Effect.try({
                try: () => {
                  const wall = (performance.now() - started) / 1000
                  const result = Schema.decodeUnknownSync(ReplayResultJson)(fs.readFileSync(plan.output!, "utf8"))
                  return { result, startup: Math.max(0, wall - result.seconds) }
                },
                catch: (e) => fail(`worker ${i + 1}/${plans.length} left no readable result: ${e}`)
              }))
            ),
        { concurrency: "unbounded" }
      )).pipe(
        Effect.scoped,
        Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      )
    const startups = outcomes.map((o) => o.startup).sort((a, b) => a - b)
    const results = outcomes.map((o) => o.result)
    const restores = results.flatMap((r: ReplayResult) => r.restores.map((x) => x.seconds))
    // What only a replay measures, kept with the run for the cost model: the mean restore time, and
    // the replay's own start-up (compile, process start, module loading, reading the record), which
    // differs from the recording's.
    const profile = [
      ...(restores.length > 0
        ? [{ path: [], name: "flor.restore_s", value: restores.reduce((a, b) => a + b, 0) / restores.length }]
        : []),
      { path: [], name: "flor.replay_startup_s", value: startups[Math.floor(startups.length / 2)] ?? 0 }
    ]
    const records = [...results.flatMap((r: ReplayResult) => r.records), ...profile]
    const stored = yield* Effect.mapError(store.backfill(key, records), (e) => fail(e.message))
    const written = stored - profile.length
    const first = results.find((r) => r.divergence !== null)
    return {
      written,
      divergence: first?.divergence ?? null,
      divergences: results.reduce((a, r) => a + r.divergences, 0),
      compared: results.reduce((a, r) => a + r.compared, 0),
      outer: results.reduce((a, r) => a + r.outer, 0),
      inner: results.reduce((a, r) => a + r.inner, 0),
      restores: results.reduce((a, r) => a + r.restores.length, 0),
      workers: plans.length,
      seconds: (performance.now() - started) / 1000
    }
  })
