/**
 * `log` throughput in an epoch × step loop under the real record layer (SQLite store,
 * git shadow branch, file journal), against (a) the same Effect loop pushing plain
 * objects into an array and (b) a plain JS nested for-loop doing the same push.
 *
 * Only the loop is timed; the final commit (journal → SQLite + shadow commit) is
 * reported separately. Run with `npx tsx bench/log.ts`; writes `bench/results/log.json`.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import { PerformanceObserver } from "node:perf_hooks"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Flor from "../src/dsl/Flor.js"
import { recordFor } from "../src/layers/Live.js"
import { databasePath } from "../src/layers/SqliteStore.js"
import type { Project } from "../src/services/Project.js"
import {
  collectGarbage,
  environment,
  isMain,
  median,
  renderTable,
  round,
  type Table,
  tempDir,
  tempRepo,
  time,
  writeResult
} from "./harness.js"

const SIZES: ReadonlyArray<{ readonly epochs: number; readonly steps: number }> = [
  { epochs: 100, steps: 1000 },
  { epochs: 1000, steps: 1000 }
]
const REPS = Number(process.env.BENCH_REPS ?? 3)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3)
const TARGET_RATIO = 5
const TARGET_CALLS_PER_SEC = 1_000_000

const flor = Flor.make({
  columns: { loss: Schema.Number },
  loops: { epoch: Schema.Number, step: Schema.Number }
})

interface Pushed {
  readonly name: string
  readonly value: number
  readonly epoch: number
  readonly step: number
}

/** A timed run of `f` with the GC pause time and the process CPU time (all threads) spent in it. */
const measured = async (f: () => Promise<unknown>) => {
  const pauses: Array<{ start: number; duration: number }> = []
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ start: e.startTime, duration: e.duration })
  })
  observer.observe({ entryTypes: ["gc"] })
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await f()
  const t1 = performance.now()
  const cpu = process.cpuUsage(cpu0)
  // GC entries are delivered asynchronously
  await new Promise((resolve) => setTimeout(resolve, 20))
  observer.disconnect()
  const gcMs = pauses.filter((p) => p.start >= t0 && p.start < t1).reduce((sum, p) => sum + p.duration, 0)
  return { ms: t1 - t0, gcMs, cpuMs: (cpu.user + cpu.system) / 1000 }
}

/** One recorded run: layer start-up and final commit outside the timed loop. */
const flordbOnce = async (root: string, epochs: number, steps: number) => {
  const home = tempDir("flordb-bench-home-")
  try {
    const project: Project["Type"] = { projid: "benchlog", root, filename: "train.ts", argv: [], home }
    const program = flor.loop("epoch", Flor.range(epochs), () =>
      flor.loop("step", Flor.range(steps), (s) => flor.log("loss", s * 0.5)))
    const scope = await Effect.runPromise(Scope.make())
    const [startMs, context] = await time(() => Effect.runPromise(Layer.buildWithScope(recordFor(project), scope)))
    const provided = Effect.provide(program, context)
    const loop = await measured(() => Effect.runPromise(provided))
    const [commitMs] = await time(() => Effect.runPromise(Scope.close(scope, Exit.void)))
    const db = new Database(databasePath(home, project.projid), { readonly: true })
    try {
      const stored = (db.prepare("SELECT count(*) AS n FROM logs WHERE value_name = 'loss'").get() as { n: number }).n
      if (stored !== epochs * steps) throw new Error(`expected ${epochs * steps} stored records, found ${stored}`)
    } finally {
      db.close()
    }
    return { loopMs: loop.ms, loopGcMs: loop.gcMs, loopCpuMs: loop.cpuMs, commitMs, startMs }
  } finally {
    fs.rmSync(home, { recursive: true, force: true })
  }
}

/** Baseline (a): the same Effect loop structure, pushing plain objects. */
const effectOnce = async (epochs: number, steps: number) => {
  const arr: Array<Pushed> = []
  const program = Effect.forEach(
    Flor.range(epochs),
    (e) =>
      Effect.forEach(
        Flor.range(steps),
        (s) => Effect.sync(() => arr.push({ name: "loss", value: s * 0.5, epoch: e, step: s })),
        { discard: true }
      ),
    { discard: true }
  )
  const run = await measured(() => Effect.runPromise(program))
  if (arr.length !== epochs * steps) throw new Error("baseline (a) lost records")
  return run
}

/** Baseline (b): a plain nested for-loop pushing the same objects. */
const plainOnce = async (epochs: number, steps: number) => {
  const arr: Array<Pushed> = []
  const [ms] = await time(() => {
    for (let e = 0; e < epochs; e++) {
      for (let s = 0; s < steps; s++) arr.push({ name: "loss", value: s * 0.5, epoch: e, step: s })
    }
  })
  if (arr.length !== epochs * steps) throw new Error("baseline (b) lost records")
  return ms
}

const perCall = (ms: number, calls: number) => (ms * 1e6) / calls

/** Runs the benchmark; prints its table and writes `bench/results/log.json`. */
export const runLogBench = async (): Promise<Record<string, unknown>> => {
  const load0 = os.loadavg()
  const root = tempRepo("flordb-bench-log-")
  try {
    // warm-up: every variant WARMUP times at the smallest size (the JIT keeps improving
    // the record path over the first runs; a single warm-up billed that to the 100k figures)
    const warm = SIZES[0]!
    for (let i = 0; i < WARMUP; i++) {
      await flordbOnce(root, warm.epochs, warm.steps)
      await effectOnce(warm.epochs, warm.steps)
      await plainOnce(warm.epochs, warm.steps)
    }

    const sizes: Array<Record<string, unknown>> = []
    const rows: Array<Array<string | number | null>> = []
    for (const { epochs, steps } of SIZES) {
      const calls = epochs * steps
      const flordb: Array<number> = []
      const flordbGc: Array<number> = []
      const flordbCpu: Array<number> = []
      const effectGc: Array<number> = []
      const commit: Array<number> = []
      const start: Array<number> = []
      const effect: Array<number> = []
      const plain: Array<number> = []
      for (let rep = 0; rep < REPS; rep++) {
        // rotate the order so no variant always runs right after another's garbage
        const order = [0, 1, 2].map((k) => (k + rep) % 3)
        for (const k of order) {
          collectGarbage()
          if (k === 0) {
            const r = await flordbOnce(root, epochs, steps)
            flordb.push(r.loopMs)
            flordbGc.push(r.loopGcMs)
            flordbCpu.push(r.loopCpuMs)
            commit.push(r.commitMs)
            start.push(r.startMs)
          } else if (k === 1) {
            const r = await effectOnce(epochs, steps)
            effect.push(r.ms)
            effectGc.push(r.gcMs)
          }
          else plain.push(await plainOnce(epochs, steps))
        }
      }
      const f = median(flordb)
      const a = median(effect)
      const b = median(plain)
      const nsF = perCall(f, calls)
      const nsA = perCall(a, calls)
      const nsB = perCall(b, calls)
      const callsPerSec = calls / (f / 1000)
      const label = `${epochs}x${steps}`
      rows.push(
        [label, "flordb log (record layer)", round(f, 1), round(nsF, 1), Math.round(callsPerSec), round(nsF / nsA), round(nsF / nsB)],
        [label, "(a) Effect.forEach + push", round(a, 1), round(nsA, 1), Math.round(calls / (a / 1000)), 1, round(nsA / nsB)],
        [label, "(b) plain for + push", round(b, 1), round(nsB, 1), Math.round(calls / (b / 1000)), null, 1],
        [label, "flordb final commit", round(median(commit), 1), round(perCall(median(commit), calls), 1), null, null, null],
        [label, "flordb layer start-up", round(median(start), 1), null, null, null, null]
      )
      sizes.push({
        epochs,
        steps,
        calls,
        flordb_loop_ms: flordb.map((x) => round(x)),
        baseline_effect_ms: effect.map((x) => round(x)),
        baseline_plain_ms: plain.map((x) => round(x)),
        final_commit_ms: commit.map((x) => round(x)),
        layer_start_ms: start.map((x) => round(x)),
        flordb_gc_ms: flordbGc.map((x) => round(x)),
        flordb_cpu_ms: flordbCpu.map((x) => round(x)),
        baseline_effect_gc_ms: effectGc.map((x) => round(x)),
        flordb_median_ms: round(f),
        flordb_gc_share: round(median(flordbGc) / f, 3),
        baseline_effect_gc_share: round(median(effectGc) / a, 3),
        baseline_effect_median_ms: round(a),
        baseline_plain_median_ms: round(b),
        final_commit_median_ms: round(median(commit)),
        flordb_ns_per_call: round(nsF),
        baseline_effect_ns_per_call: round(nsA),
        baseline_plain_ns_per_call: round(nsB),
        flordb_calls_per_sec: Math.round(callsPerSec),
        ratio_vs_effect: round(nsF / nsA),
        ratio_vs_plain: round(nsF / nsB),
        target_ratio_vs_effect_met: nsF / nsA <= TARGET_RATIO,
        target_ratio_vs_plain_met: nsF / nsB <= TARGET_RATIO,
        target_calls_per_sec_met: callsPerSec >= TARGET_CALLS_PER_SEC
      })
    }
    const table: Table = {
      title: `log throughput (median of ${REPS} after ${WARMUP} warm-up rounds)`,
      headers: ["size", "variant", "ms", "ns/call", "calls/s", "x (a)", "x (b)"],
      rows,
      notes: [
        `targets: flordb ns/call <= ${TARGET_RATIO}x the push baseline, >= ${TARGET_CALLS_PER_SEC} calls/s`,
        ...sizes.map((s) =>
          `${String(s["epochs"])}x${String(s["steps"])}: ${TARGET_RATIO}x vs (a) ${s["target_ratio_vs_effect_met"] ? "met" : "MISSED"}, ` +
          `${TARGET_RATIO}x vs (b) ${s["target_ratio_vs_plain_met"] ? "met" : "MISSED"}, ` +
          `1M calls/s ${s["target_calls_per_sec_met"] ? "met" : "MISSED"}`
        ),
        "final commit: journal flush + parse + shadow commit + SQLite ingest, at scope close; ns/call column = per record",
        ...sizes.map((s) =>
          `${String(s["epochs"])}x${String(s["steps"])}: GC pauses ${
            Math.round(Number(s["flordb_gc_share"]) * 100)
          }% of the flordb loop (${Math.round(Number(s["baseline_effect_gc_share"]) * 100)}% of (a))`
        ),
        `load average at start ${load0.map((x) => x.toFixed(2)).join(" ")}, at end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`
      ]
    }
    const result = {
      benchmark: "log",
      repetitions: REPS,
      warmup_rounds: WARMUP,
      targets: { ratio: TARGET_RATIO, calls_per_sec: TARGET_CALLS_PER_SEC },
      sizes,
      table,
      environment: { ...environment(), load_average_start: load0.map((x) => round(x)), load_average_end: os.loadavg().map((x) => round(x)) }
    }
    console.log(renderTable(table))
    writeResult("log", result)
    return result
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

if (isMain(import.meta.url)) await runLogBench()
