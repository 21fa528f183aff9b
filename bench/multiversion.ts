/**
 * Multiversion replay (`flor replay`) on the tfjs training example (examples/train), in
 * sandbox git projects that link the built package (`dist`):
 *
 * 1. Cost estimate vs actual per scan kind: several runs of train.ts are recorded with
 *    different kwargs; after each recording today's script gets one hindsight statement
 *    per scan kind (prefix, suffix, validation, range) and `flor replay COL "tstamp = …"
 *    --yes --jobs 1` replays that run once per kind (sequential, one process). The
 *    report table's `estimate_s` is compared with its `actual_s`: median and max
 *    relative |error| per kind and overall. Each run is replayed right after it was
 *    recorded, so the profiling records the estimate comes from and the replay see
 *    about the same load on the machine. The errors are also shown against the estimate
 *    without its launcher term (estimate_s minus the bench's own launcher probe), and one
 *    replay is repeated to show the run-to-run spread of identical replays (noise floor).
 * 2. Replay time vs number of versions: 8 commits of train.ts with trivial differences
 *    (a comment and a renamed variable each), one run each; `flor replay … --jobs 1`
 *    of 1, 2, 4 and 8 of them (wall time of the whole command, and seconds/version);
 *    then the 8 with `--jobs 2` vs `--jobs 1` (alternated, A B B A). These versions are
 *    tiny: a replay is mostly process start-up, beside the command's serial start-up and
 *    planning (measured with `--dry-run`). The script's first replay, which also probes its
 *    start-up once, runs before both and is reported apart. 2b: the same `--jobs` comparison on 8 versions
 *    whose replay re-runs their training (a range scan).
 *
 * Run with `npm run build && npx tsx bench/multiversion.ts`; writes
 * `bench/results/multiversion.json`. `BENCH_MV_RUNS` (default 3) sets the runs of
 * section 1, `BENCH_MV_EPOCHS` (default 10) their epochs.
 */
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import * as Effect from "effect/Effect"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { Store } from "../src/services/Store.js"
import { makeSandbox, type Output, repoRoot, type Sandbox } from "../test/support/sandbox.js"
import { childCpuSeconds, environment, isMain, median, renderTable, round, type Table, writeResult } from "./harness.js"

const RUNS = Math.max(3, Number(process.env.BENCH_MV_RUNS ?? 3))
const EPOCHS = Math.max(2, Number(process.env.BENCH_MV_EPOCHS ?? 10))
const VERSIONS = [1, 2, 4, 8] as const
/** Repeats of one replay (section 1), for its run-to-run spread on this machine now. */
const NOISE_REPEATS = 3
const VERSION_KWARGS = ["epochs=2", "samples=1500", "hidden=32"] as const
/**
 * Section 2b: versions whose replay does real work (a range scan re-runs their training,
 * ~2 s each here), where `--jobs` has something to parallelize; section 2's tiny versions
 * replay in ~0.7 s, mostly process start-up.
 */
const TRAINING_KWARGS = ["epochs=4", "samples=16000", "hidden=64"] as const
const TARGETS = { median_error: 0.05, max_error: 0.15, jobs2_speedup: 1.7 } as const

/** Kwargs of the section-1 runs: different sizes, learning rates, optimizers and seeds. */
const RUN_KWARGS: ReadonlyArray<ReadonlyArray<string>> = [
  ["lr=0.01", "seed=1", "samples=2000", "hidden=32", "optimizer=adam"],
  ["lr=0.005", "seed=2", "samples=3000", "hidden=32", "optimizer=rmsprop"],
  ["lr=0.05", "seed=3", "samples=4000", "hidden=16", "optimizer=sgd"],
  ["lr=0.02", "seed=4", "samples=2500", "hidden=48", "optimizer=adam"],
  ["lr=0.002", "seed=5", "samples=3500", "hidden=24", "optimizer=rmsprop"],
  ["lr=0.03", "seed=6", "samples=3000", "hidden=32", "optimizer=sgd"]
]

type Kind = "prefix" | "suffix" | "validation" | "range"

/** The column each scan kind's hindsight statement logs (test/train-replay.test.ts). */
const KINDS: ReadonlyArray<readonly [Kind, string]> = [
  ["prefix", "n_train"],
  ["suffix", "final_train_acc"],
  ["validation", "train_acc"],
  ["range", "step_loss"]
]

/** The hindsight edit: one statement per scan kind, as in test/train-replay.test.ts. */
const edit = (source: string): string => {
  const edits: ReadonlyArray<readonly [string, string]> = [
    [
      "columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number }",
      "columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number, n_train: Schema.Number, " +
      "train_acc: Schema.Number, step_loss: Schema.Number, final_train_acc: Schema.Number }"
    ],
    ["const data = makeData(seed, { samples })", "const data = makeData(seed, { samples })\n  yield* flor.log(\"n_train\", data.train.n)"],
    ["(loss) => flor.log(\"loss\", loss)", "(loss) => Effect.zipRight(flor.log(\"loss\", loss), flor.log(\"step_loss\", loss * 2))"],
    [
      "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))",
      "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))\n" +
      "        yield* flor.log(\"train_acc\", yield* Effect.sync(() => accuracy(net, data, data.train)))"
    ],
    [
      "yield* flor.log(\"test_acc\", yield* Effect.sync(() => accuracy(net, data, data.test)))",
      "yield* flor.log(\"test_acc\", yield* Effect.sync(() => accuracy(net, data, data.test)))\n" +
      "  yield* flor.log(\"final_train_acc\", yield* Effect.sync(() => accuracy(net, data, data.train)))"
    ]
  ]
  let out = source
  for (const [from, to] of edits) {
    if (!out.includes(from)) throw new Error(`examples/train/train.ts changed: cannot find ${JSON.stringify(from)}`)
    out = out.replace(from, to)
  }
  return out
}

/** Version k of train.ts (k = 1 … 8): a comment, and from k = 2 on the shuffler renamed. */
const versionOf = (source: string, k: number): string => {
  const renamed = k === 1 ? source : source.replaceAll("shuffler", `shuffler${k}`)
  if (k > 1 && !renamed.includes(`shuffler${k}`)) throw new Error("examples/train/train.ts changed: no 'shuffler' to rename")
  return `// version ${k} of the training script\n${renamed}`
}

type Row = Record<string, unknown>

const num = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) ? x : 0)
const load = () => round(os.loadavg()[0] ?? 0, 2)
const pct = (x: number) => round(x * 100, 1)

// ---------------------------------------------------------------------------------------------
// CPU time of reaped children (Linux): the replay workers are the flor process's children.

interface Timed {
  readonly out: Output
  readonly seconds: number
  readonly cpu: number | null
  readonly load: number
}

const timed = async (f: () => Promise<Output>): Promise<Timed> => {
  const l = load()
  const c0 = childCpuSeconds()
  const t0 = performance.now()
  const out = await f()
  const seconds = (performance.now() - t0) / 1000
  const c1 = childCpuSeconds()
  return { out, seconds, cpu: c0 === undefined || c1 === undefined ? null : round(c1 - c0, 2), load: l }
}

// ---------------------------------------------------------------------------------------------
// sandbox helpers

const newSandbox = (name: string, source: string): Sandbox => {
  const sb = makeSandbox(name, { links: ["@tensorflow/tfjs"] })
  for (const k of ["FLOR_BACKEND", "FLOR_DISABLE", "FLOR_REPLAY", "FLOR_EPSILON", "FLOR_RESTORE_RATIO"]) delete sb.env[k]
  fs.writeFileSync(path.join(sb.dir, "train.ts"), source)
  fs.copyFileSync(path.join(repoRoot, "examples/train/model.ts"), path.join(sb.dir, "model.ts"))
  sb.git("add", "-A")
  sb.git("commit", "-qm", "train example")
  return sb
}

const florJson = (sb: Sandbox, ...args: Array<string>): Array<Row> => {
  const r = sb.flor(...args, "--format", "json")
  if (r.status !== 0) throw new Error(`flor ${args.join(" ")}: ${r.stderr.trim()}`)
  const parsed: unknown = JSON.parse(r.stdout)
  if (!Array.isArray(parsed)) throw new Error(`flor ${args.join(" ")}: not a JSON array`)
  return parsed as Array<Row>
}

const tstamps = (sb: Sandbox): Set<string> => new Set(florJson(sb, "runs").map((r) => String(r["tstamp"])))

/** Records one run of train.ts; returns its tstamp and wall seconds. */
const record = async (sb: Sandbox, kwargs: ReadonlyArray<string>): Promise<{ tstamp: string; seconds: number }> => {
  const before = tstamps(sb)
  const t = await timed(() => sb.tsxAsync("train.ts", "--kwargs", ...kwargs))
  if (t.out.status !== 0 || t.out.stderr.trim() !== "") {
    throw new Error(`train.ts ${kwargs.join(" ")} exited with ${t.out.status}: ${t.out.stderr.trim().split("\n").at(-1) ?? ""}`)
  }
  const fresh = [...tstamps(sb)].filter((s) => !before.has(s))
  if (fresh.length !== 1) throw new Error(`expected one new run, found ${fresh.length}`)
  return { tstamp: fresh[0]!, seconds: t.seconds }
}

/** The tables a `flor` command printed (cli-table3 with │ borders): headers and cell rows. */
const tablesOf = (stdout: string): Array<{ headers: Array<string>; rows: Array<Array<string>> }> => {
  const tables: Array<{ headers: Array<string>; rows: Array<Array<string>> }> = []
  let current: { headers: Array<string>; rows: Array<Array<string>> } | undefined
  for (const line of stdout.split("\n")) {
    if (line.startsWith("┌")) current = undefined
    else if (line.startsWith("│")) {
      const cells = line.split("│").slice(1, -1).map((c) => c.trim())
      if (current === undefined) {
        current = { headers: cells, rows: [] }
        tables.push(current)
      } else current.rows.push(cells)
    }
  }
  return tables
}

interface Reported {
  readonly tstamp: string
  readonly scan: string
  readonly estimate: number
  readonly actual: number | null
  readonly written: number | null
  readonly divergences: number | null
  readonly status: string
}

/** The report table of `flor replay … --yes`. */
const reportOf = (stdout: string): Array<Reported> => {
  const t = tablesOf(stdout).find((x) => x.headers.includes("actual_s"))
  if (t === undefined) throw new Error(`no report table in:\n${stdout}`)
  const at = (r: Array<string>, h: string) => r[t.headers.indexOf(h)] ?? ""
  const n = (s: string) => (s === "" ? null : Number(s))
  return t.rows.map((r) => ({
    tstamp: at(r, "tstamp"),
    scan: at(r, "scan"),
    estimate: Number(at(r, "estimate_s")),
    actual: n(at(r, "actual_s")),
    written: n(at(r, "written")),
    divergences: n(at(r, "divergences")),
    status: at(r, "status")
  }))
}

const replay = async (sb: Sandbox, column: string, where: string, jobs: number) => {
  const t = await timed(() => sb.florAsync("replay", column, where, "--yes", "--jobs", String(jobs)))
  if (t.out.status !== 0) throw new Error(`flor replay ${column} "${where}" --jobs ${jobs} failed:\n${t.out.stderr}\n${t.out.stdout}`)
  const report = reportOf(t.out.stdout)
  for (const r of report) {
    if (r.status !== "ok") throw new Error(`replay of ${r.tstamp} (${r.scan}) failed: ${r.status}`)
    if (r.divergences !== 0) console.error(`(replay of ${r.tstamp} ${r.scan}: ${r.divergences} divergences)`)
  }
  return { ...t, report }
}

/** The profiling terms the estimate reads, for one run (`flor.restore_s` appears after its first restore). */
const profileOf = (sb: Sandbox, tstamp: string) => {
  const logs = florJson(
    sb,
    "query",
    "SELECT l.value_name AS name, l.value AS value FROM logs l JOIN runs r USING (run_id) " +
      `WHERE r.tstamp = '${tstamp}' AND r.filename = 'train.ts' AND l.value_name LIKE 'flor.%'`
  )
  const values = (name: string) => logs.filter((r) => r["name"] === name).map((r) => Number(r["value"]))
  const one = (name: string) => values(name).at(-1) ?? null
  const sum = (name: string) => values(name).reduce((a, b) => a + b, 0)
  const ckpts = florJson(
    sb,
    "query",
    `SELECT c.materialize_ms AS ms FROM checkpoints c JOIN runs r USING (run_id) WHERE r.tstamp = '${tstamp}'`
  )
  const r3 = (x: number | null) => (x === null ? null : round(x, 3))
  return {
    startup_s: r3(one("flor.startup_s")),
    prefix_s: r3(one("flor.prefix_s")),
    iter_s: round(sum("flor.iter_s"), 3),
    nested_s: round(sum("flor.nested_s"), 3),
    suffix_s: r3(one("flor.suffix_s")),
    restore_s: one("flor.restore_s") === null ? null : round(one("flor.restore_s")!, 4),
    iterations: values("flor.iter_s").length,
    checkpoints: ckpts.length,
    materialize_ms: ckpts.length === 0 ? null : round(median(ckpts.map((c) => num(c["ms"]))), 2)
  }
}

/**
 * What the replay launcher (`node tsx/cli script`, as `runReplay` starts a worker) adds around the
 * script's own process: wall time of a script that prints its own uptime, minus that uptime.
 */
const tsxCli = createRequire(import.meta.url).resolve("tsx/cli")
const launcherProbe = (dir: string): number | null => {
  const probe = path.join(dir, "launch-probe.mjs")
  fs.writeFileSync(probe, "process.stdout.write(String(process.uptime()))\n")
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [tsxCli, probe], { cwd: dir, encoding: "utf8", timeout: 60_000 })
  const wall = (performance.now() - t0) / 1000
  fs.rmSync(probe, { force: true })
  const own = Number.parseFloat(r.stdout)
  return r.status === 0 && Number.isFinite(own) ? wall - own : null
}

/** Milliseconds to load a recorded run from the store (what a replay worker does first), and its records. */
const recordedLoad = async (sb: Sandbox, projid: string, tstamp: string) => {
  const program = Effect.flatMap(Store, (store) =>
    Effect.gen(function*() {
      const t0 = performance.now()
      const recorded = yield* store.recorded({ tstamp, filename: "train.ts" })
      return { ms: round(performance.now() - t0, 1), logs: recorded.logs.length, loops: recorded.loops.length }
    }))
  return Effect.runPromise(Effect.provide(program, SqliteStore.layer(sb.home, projid)))
}

interface Sample {
  readonly run: number
  readonly tstamp: string
  readonly kwargs: string
  readonly kind: Kind
  readonly estimate_s: number
  readonly actual_s: number
  readonly error: number
  /** The error of `estimate_s - launcher_s`: the estimate as it was before the launcher term. */
  readonly error_without_launch: number
  readonly command_s: number
  readonly load: number
  readonly written: number | null
  readonly profile: ReturnType<typeof profileOf>
  /** The launcher probe right after the run was recorded (seconds; null if it failed). */
  readonly launcher_s: number | null
  readonly recorded_load: { readonly ms: number; readonly logs: number; readonly loops: number }
}

const errorStats = (xs: ReadonlyArray<Sample>) => {
  const abs = xs.map((s) => Math.abs(s.error))
  return {
    n: xs.length,
    median_abs_error: abs.length === 0 ? null : median(abs),
    max_abs_error: abs.length === 0 ? null : Math.max(...abs),
    median_signed_error: xs.length === 0 ? null : median(xs.map((s) => s.error)),
    median_estimate_s: xs.length === 0 ? null : median(xs.map((s) => s.estimate_s)),
    median_actual_s: xs.length === 0 ? null : median(xs.map((s) => s.actual_s)),
    // the same replays against the estimate without the launcher term (before it was added), for comparison
    median_abs_error_without_launch: xs.length === 0 ? null : median(xs.map((s) => Math.abs(s.error_without_launch))),
    median_signed_error_without_launch: xs.length === 0 ? null : median(xs.map((s) => s.error_without_launch))
  }
}

// ---------------------------------------------------------------------------------------------

/** Section 1: estimate vs actual per scan kind. */
const estimateSection = async (original: string) => {
  const sb = newSandbox("mv-estimate", original)
  try {
    const today = edit(original)
    // warm-up: the OS page cache of tfjs and the wasm binary, tsx's compile cache of model.ts
    sb.env["FLOR_DISABLE"] = "1"
    await sb.tsxAsync("train.ts", "--kwargs", "epochs=1", "samples=200")
    delete sb.env["FLOR_DISABLE"]
    const samples: Array<Sample> = []
    for (let i = 0; i < RUNS; i++) {
      const kwargs = [...RUN_KWARGS[i % RUN_KWARGS.length]!, `epochs=${EPOCHS}`]
      fs.writeFileSync(path.join(sb.dir, "train.ts"), original)
      const rec = await record(sb, kwargs)
      fs.writeFileSync(path.join(sb.dir, "train.ts"), today) // today's script: uncommitted, as a user would have it
      const launcher = launcherProbe(sb.dir)
      const loaded = await recordedLoad(sb, "mv-estimate", rec.tstamp)
      console.log(
        `  run ${i + 1}/${RUNS} ${kwargs.join(" ")}: recorded in ${round(rec.seconds, 1)} s (load ${load()}); ` +
          `launcher probe ${launcher === null ? "failed" : `${round(launcher, 3)} s`}, ` +
          `loading the run (${loaded.logs} records) ${loaded.ms} ms`
      )
      for (const [kind, column] of KINDS) {
        const profile = profileOf(sb, rec.tstamp) // what the estimate reads (restore_s appears after the first restore)
        const r = await replay(sb, column, `tstamp = '${rec.tstamp}'`, 1)
        const row = r.report[0]
        if (r.report.length !== 1 || row === undefined || row.scan !== kind || row.actual === null) {
          throw new Error(`replay ${column}: expected one ${kind} replay of ${rec.tstamp}, got ${JSON.stringify(r.report)}`)
        }
        const s: Sample = {
          run: i + 1,
          tstamp: rec.tstamp,
          kwargs: kwargs.join(" "),
          kind,
          estimate_s: row.estimate,
          actual_s: row.actual,
          error: (row.estimate - row.actual) / row.actual,
          error_without_launch: (row.estimate - (launcher ?? 0) - row.actual) / row.actual,
          command_s: round(r.seconds, 2),
          load: r.load,
          written: row.written,
          profile,
          launcher_s: launcher === null ? null : round(launcher, 3),
          recorded_load: loaded
        }
        samples.push(s)
        console.log(
          `    ${kind.padEnd(10)} estimate ${row.estimate.toFixed(2)} s, actual ${row.actual.toFixed(2)} s ` +
            `(${s.error >= 0 ? "+" : ""}${pct(s.error)}%), command ${s.command_s} s, load ${s.load}`
        )
      }
    }
    // the noise floor: the same replay (the last run's prefix scan) again, back to back
    const last = samples.at(-1)!
    const repeats: Array<{ estimate_s: number; actual_s: number; load: number }> = []
    for (let k = 0; k < NOISE_REPEATS; k++) {
      const r = await replay(sb, "n_train", `tstamp = '${last.tstamp}'`, 1)
      const row = r.report[0]!
      repeats.push({ estimate_s: row.estimate, actual_s: row.actual ?? Number.NaN, load: r.load })
    }
    const prior = samples.find((s) => s.tstamp === last.tstamp && s.kind === "prefix")!
    const actuals = [prior.actual_s, ...repeats.map((r) => r.actual_s)]
    const noise = {
      tstamp: last.tstamp,
      actual_s: actuals,
      estimate_s: [prior.estimate_s, ...repeats.map((r) => r.estimate_s)],
      spread: round((Math.max(...actuals) - Math.min(...actuals)) / median(actuals), 3),
      max_abs_deviation_from_median: round(Math.max(...actuals.map((a) => Math.abs(a - median(actuals)))) / median(actuals), 3)
    }
    console.log(`  the same prefix replay ${actuals.length} times: ${actuals.join(" / ")} s (spread ${pct(noise.spread)}% of the median)`)
    return { samples, noise }
  } finally {
    sb.cleanup()
  }
}

/**
 * What `--jobs 2` can reach on this machine: with `--jobs 1` the command already keeps
 * C1 / T1 cores busy (V8's GC and compiler threads, esbuild, the command itself), so the
 * machine's cores bound the speedup at cores / (C1 / T1), and at 2 for two jobs.
 */
const ceiling = (t1: number, c1: number | null, t2: number) => {
  if (c1 === null) return { cores_busy_jobs1: null, speedup_ceiling: null, of_ceiling: null }
  const busy = c1 / t1
  const bound = Math.min(2, os.cpus().length / busy)
  return { cores_busy_jobs1: round(busy, 2), speedup_ceiling: round(bound, 2), of_ceiling: round(t1 / t2 / bound, 3) }
}

const ceilingNote = (jobs: ReturnType<typeof ceiling>) =>
  jobs.speedup_ceiling === null
    ? "ceiling unknown (no CPU times)"
    : `--jobs 1 keeps ${jobs.cores_busy_jobs1} cores busy, so ${os.cpus().length} cores bound --jobs 2 at ` +
      `${jobs.speedup_ceiling}x; reached ${pct(jobs.of_ceiling ?? 0)}% of that`

/** How section 2 replays its versions: their size, the column (hence the scan), and which counts. */
interface VersionsSetup {
  readonly kwargs: ReadonlyArray<string>
  readonly column: string
  readonly counts: ReadonlyArray<number>
}

/** Section 2: replay time vs number of versions, and --jobs 2 vs --jobs 1. */
const versionsSection = async (original: string, setup: VersionsSetup) => {
  const sb = newSandbox("mv-versions", versionOf(original, 1))
  try {
    const n = Math.max(...VERSIONS)
    const recorded: Array<{ version: number; tstamp: string; seconds: number }> = []
    for (let k = 1; k <= n; k++) {
      const source = versionOf(original, k)
      fs.writeFileSync(path.join(sb.dir, "train.ts"), source)
      if (k > 1) {
        sb.git("add", "-A")
        sb.git("commit", "-qm", `version ${k}`)
      }
      const rec = await record(sb, [...setup.kwargs, `seed=${k}`])
      recorded.push({ version: k, ...rec })
    }
    const vids = new Set(florJson(sb, "runs").map((r) => String(r["vid"])))
    console.log(`  recorded ${n} runs of ${n} versions (${vids.size} distinct vids), load ${load()}`)
    fs.writeFileSync(path.join(sb.dir, "train.ts"), edit(versionOf(original, n))) // today's script
    const column = setup.column
    // The script's first replay in the project also probes its start-up (once); it is timed on its
    // own, so the series below and the serial part measure what every later command does.
    const first = await replay(sb, column, "seed <= 1", 1)
    console.log(`  first replay of the script (1 version, with the start-up probe): ${round(first.seconds, 1)} s`)
    // the serial part of every command: start-up and planning, no replay
    const dry = await timed(() => sb.florAsync("replay", column, `seed <= ${n}`, "--dry-run"))
    if (dry.out.status !== 0) throw new Error(`flor replay --dry-run failed: ${dry.out.stderr}`)

    const counts: Array<Record<string, unknown>> = []
    let jobs1At8: Awaited<ReturnType<typeof replay>> | undefined
    for (const k of setup.counts) {
      const r = await replay(sb, column, `seed <= ${k}`, 1)
      if (r.report.length !== k) throw new Error(`expected ${k} replays, got ${r.report.length}`)
      if (k === n) jobs1At8 = r
      const actual = r.report.reduce((a, x) => a + (x.actual ?? 0), 0)
      counts.push({
        versions: k,
        command_s: round(r.seconds, 2),
        per_version_s: round(r.seconds / k, 2),
        sum_actual_s: round(actual, 2),
        sum_estimate_s: round(r.report.reduce((a, x) => a + x.estimate, 0), 2),
        cpu_s: r.cpu,
        load: r.load
      })
      console.log(`  ${k} version(s), --jobs 1: ${round(r.seconds, 1)} s (${round(r.seconds / k, 2)} s/version), load ${r.load}`)
    }
    // least-squares line through (versions, seconds)
    const xs = counts.map((c) => num(c["versions"]))
    const ys = counts.map((c) => num(c["command_s"]))
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length
    const my = ys.reduce((a, b) => a + b, 0) / ys.length
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0)
    const intercept = my - slope * mx
    const ssRes = ys.reduce((a, y, i) => a + (y - (intercept + slope * xs[i]!)) ** 2, 0)
    const ssTot = ys.reduce((a, y) => a + (y - my) ** 2, 0)
    const r2 = xs.length < 2 ? null : ssTot === 0 ? 1 : 1 - ssRes / ssTot

    // --jobs 2 vs --jobs 1 on all versions, A B B A (the first A is the 8-version run above, if any)
    const jobs1 = jobs1At8 === undefined ? [await replay(sb, column, `seed <= ${n}`, 1)] : [jobs1At8]
    const jobs2: Array<Awaited<ReturnType<typeof replay>>> = []
    for (const jobs of [2, 2, 1]) {
      const r = await replay(sb, column, `seed <= ${n}`, jobs)
      ;(jobs === 1 ? jobs1 : jobs2).push(r)
      console.log(`  ${n} versions, --jobs ${jobs}: ${round(r.seconds, 1)} s, load ${r.load}`)
    }
    const t1 = median(jobs1.map((r) => r.seconds))
    const t2 = median(jobs2.map((r) => r.seconds))
    const cpu = (rs: ReadonlyArray<Timed>) => {
      const known = rs.map((r) => r.cpu).filter((c): c is number => c !== null)
      return known.length === 0 ? null : round(median(known), 2)
    }
    return {
      recorded: recorded.map((r) => ({ ...r, seconds: round(r.seconds, 2) })),
      distinct_versions: vids.size,
      counts,
      fit: { slope_s_per_version: round(slope, 3), intercept_s: round(intercept, 3), r2: r2 === null ? null : round(r2, 4) },
      first_replay_s: round(first.seconds, 2),
      dry_run_s: round(dry.seconds, 2),
      jobs: {
        versions: n,
        jobs1_s: jobs1.map((r) => round(r.seconds, 2)),
        jobs2_s: jobs2.map((r) => round(r.seconds, 2)),
        jobs1_median_s: round(t1, 2),
        jobs2_median_s: round(t2, 2),
        jobs1_cpu_s: cpu(jobs1),
        jobs2_cpu_s: cpu(jobs2),
        load: [...jobs1, ...jobs2].map((r) => r.load),
        speedup: round(t1 / t2, 2),
        target_met: t1 / t2 >= TARGETS.jobs2_speedup,
        ...ceiling(t1, cpu(jobs1), t2)
      }
    }
  } finally {
    sb.cleanup()
  }
}

/** Runs both sections; prints their tables and writes `bench/results/multiversion.json`. */
export const runMultiversionBench = async (): Promise<Record<string, unknown>> => {
  const started = performance.now()
  const original = fs.readFileSync(path.join(repoRoot, "examples/train/train.ts"), "utf8")
  edit(original) // fail early if the example changed
  const loadStart = os.loadavg().map((x) => round(x, 2))
  console.log(`multiversion bench: load average ${loadStart.join(", ")} on ${os.cpus().length} cpus`)

  console.log(`1. estimate vs actual: ${RUNS} runs x ${KINDS.length} scan kinds, epochs=${EPOCHS}`)
  const { samples, noise } = await estimateSection(original)
  const byKind = Object.fromEntries(KINDS.map(([k]) => [k, errorStats(samples.filter((s) => s.kind === k))]))
  const overall = errorStats(samples)
  const met = (s: ReturnType<typeof errorStats>) => ({
    median: s.median_abs_error !== null && s.median_abs_error <= TARGETS.median_error,
    max: s.max_abs_error !== null && s.max_abs_error <= TARGETS.max_error
  })
  const statRow = (name: string, s: ReturnType<typeof errorStats>) => [
    name,
    s.n,
    s.median_estimate_s === null ? null : round(s.median_estimate_s, 2),
    s.median_actual_s === null ? null : round(s.median_actual_s, 2),
    s.median_signed_error === null ? null : pct(s.median_signed_error),
    s.median_abs_error === null ? null : pct(s.median_abs_error),
    s.max_abs_error === null ? null : pct(s.max_abs_error),
    met(s).median && met(s).max ? "met" : "MISSED",
    s.median_signed_error_without_launch === null ? null : pct(s.median_signed_error_without_launch),
    s.median_abs_error_without_launch === null ? null : pct(s.median_abs_error_without_launch)
  ]
  const loads = samples.map((s) => s.load)
  const launchers = [...new Map(samples.map((s) => [s.run, s.launcher_s])).values()].filter((x): x is number => x !== null)
  const table1: Table = {
    title: `1. flor replay cost estimate vs actual (--jobs 1), ${samples.length} replays of ${RUNS} runs, epochs=${EPOCHS}`,
    headers: [
      "scan",
      "replays",
      "median est s",
      "median actual s",
      "median err %",
      "median |err| %",
      "max |err| %",
      "targets",
      "w/o launch: err %",
      "|err| %"
    ],
    rows: [...KINDS.map(([k]) => statRow(k, byKind[k]!)), statRow("overall", overall)],
    notes: [
      `error = (estimate_s - actual_s) / actual_s from the report table; targets: median |err| <= ${pct(TARGETS.median_error)}%, ` +
      `max |err| <= ${pct(TARGETS.max_error)}%`,
      `overall: median ${met(overall).median ? "met" : "MISSED"}, max ${met(overall).max ? "met" : "MISSED"}; ` +
      `load average during the replays: median ${round(median(loads), 2)}, min ${Math.min(...loads)}, max ${Math.max(...loads)} ` +
      `on ${os.cpus().length} cpus`,
      `launcher (node tsx/cli around the script's process) per run: ${launchers.map((x) => round(x, 2)).join(" / ")} s; ` +
      `loading a recorded run: ${[...new Set(samples.map((s) => s.recorded_load.ms))].join(" / ")} ms ` +
      `(${samples[0]?.recorded_load.logs ?? 0}+ records)`,
      `"w/o launch": the same replays against estimate_s minus the launcher probe, i.e. the estimate before the launcher term`,
      `noise floor: one prefix replay ${noise.actual_s.length} times in a row: ${noise.actual_s.join(" / ")} s, ` +
      `spread (max-min)/median ${pct(noise.spread)}%`
    ]
  }
  const tableRuns: Table = {
    title: "1b. every replay",
    headers: ["run", "scan", "estimate s", "actual s", "err %", "command s", "load", "startup s", "iter s", "restore s"],
    rows: samples.map((s) => [
      s.run,
      s.kind,
      s.estimate_s,
      s.actual_s,
      pct(s.error),
      s.command_s,
      s.load,
      s.profile.startup_s,
      s.profile.iter_s,
      s.profile.restore_s
    ])
  }
  console.log(renderTable(table1))
  console.log(renderTable(tableRuns))

  console.log(`2. replay time vs number of versions (${VERSION_KWARGS.join(" ")}, validation scan)`)
  const versions = await versionsSection(original, { kwargs: VERSION_KWARGS, column: "train_acc", counts: VERSIONS })
  const first = versions.counts[0]!
  const last = versions.counts.at(-1)!
  const table2: Table = {
    title: "2. flor replay train_acc (validation) vs number of versions, one run each",
    headers: ["versions", "jobs", "command s", "s/version", "sum actual_s", "cpu s", "load"],
    rows: [
      ...versions.counts.map((c) => [
        num(c["versions"]),
        1,
        num(c["command_s"]),
        num(c["per_version_s"]),
        num(c["sum_actual_s"]),
        c["cpu_s"] === null ? null : num(c["cpu_s"]),
        num(c["load"])
      ]),
      [
        versions.jobs.versions,
        "1 (median)",
        versions.jobs.jobs1_median_s,
        round(versions.jobs.jobs1_median_s / versions.jobs.versions, 2),
        null,
        versions.jobs.jobs1_cpu_s,
        null
      ],
      [
        versions.jobs.versions,
        "2 (median)",
        versions.jobs.jobs2_median_s,
        round(versions.jobs.jobs2_median_s / versions.jobs.versions, 2),
        null,
        versions.jobs.jobs2_cpu_s,
        null
      ]
    ],
    notes: [
      `linear fit: ${versions.fit.slope_s_per_version} s/version + ${versions.fit.intercept_s} s (r^2 ${versions.fit.r2}); ` +
      `s/version ${num(first["per_version_s"])} at 1 version, ${num(last["per_version_s"])} at ${num(last["versions"])}`,
      `--jobs 2 vs --jobs 1 on ${versions.jobs.versions} versions: ${versions.jobs.speedup}x ` +
      `(jobs 1: ${versions.jobs.jobs1_s.join(" / ")} s; jobs 2: ${versions.jobs.jobs2_s.join(" / ")} s); ` +
      `target >= ${TARGETS.jobs2_speedup}x ${versions.jobs.target_met ? "met" : "MISSED"}; load ${versions.jobs.load.join(", ")}`,
      `serial part of every command (start-up and planning, \`--dry-run\` of the 8): ${versions.dry_run_s} s; ` +
      `the script's first replay in the project (1 version, with its one-off start-up probe): ${versions.first_replay_s} s`,
      ceilingNote(versions.jobs)
    ]
  }
  console.log(renderTable(table2))

  console.log(`2b. --jobs 2 vs --jobs 1 on versions that train (${TRAINING_KWARGS.join(" ")}, range scan)`)
  const training = await versionsSection(original, { kwargs: TRAINING_KWARGS, column: "step_loss", counts: [] })
  const table2b: Table = {
    title: `2b. flor replay step_loss (range scan: the whole training) of ${training.jobs.versions} versions, --jobs 2 vs --jobs 1`,
    headers: ["jobs", "command s (median)", "runs s", "cpu s", "speedup", "target", "verdict"],
    rows: [
      [1, training.jobs.jobs1_median_s, training.jobs.jobs1_s.join(" / "), training.jobs.jobs1_cpu_s, null, null, null],
      [
        2,
        training.jobs.jobs2_median_s,
        training.jobs.jobs2_s.join(" / "),
        training.jobs.jobs2_cpu_s,
        training.jobs.speedup,
        `>= ${TARGETS.jobs2_speedup}`,
        training.jobs.target_met ? "met" : "MISSED"
      ]
    ],
    notes: [
      `A B B A; load ${training.jobs.load.join(", ")} on ${os.cpus().length} cpus; ` +
      `serial part (start-up and planning, \`--dry-run\`): ${training.dry_run_s} s`,
      ceilingNote(training.jobs)
    ]
  }
  console.log(renderTable(table2b))

  const result = {
    benchmark: "multiversion",
    targets: TARGETS,
    load_average_start: loadStart,
    load_average_end: os.loadavg().map((x) => round(x, 2)),
    estimate: {
      runs: RUNS,
      epochs: EPOCHS,
      replays: samples.length,
      by_kind: byKind,
      overall,
      noise_floor: noise,
      targets_met: { median: met(overall).median, max: met(overall).max },
      samples: samples.map((s) => ({ ...s, error: round(s.error, 4), error_without_launch: round(s.error_without_launch, 4) }))
    },
    versions,
    training_versions: { kwargs: TRAINING_KWARGS, ...training },
    table: table1,
    tables: [table1, tableRuns, table2, table2b],
    seconds: round((performance.now() - started) / 1000, 1),
    environment: environment()
  }
  writeResult("multiversion", result)
  console.log(`(multiversion: ${result.seconds} s)`)
  return result
}

if (isMain(import.meta.url)) await runMultiversionBench()
