/**
 * `dataframe("loss")` over 10k / 100k / 1M stored records against a raw better-sqlite3
 * scan (`SELECT value_name, value, ctx_id FROM logs`, `.iterate()`, touching each row)
 * of the same rows in the same process. Times both the Store service's
 * `dataframe(["loss"])` and the typed `flor.dataframe("loss")` (which adds schema decoding).
 *
 * Each size is a fresh SQLite store populated through `Store.ingest` with synthetic
 * epoch × step runs. Run with `npx tsx bench/dataframe.ts`; writes `bench/results/dataframe.json`.
 * Besides wall time, each measurement records the process's CPU time (user + system, all
 * threads): on a loaded machine the wall-time ratios swing with the other load, the CPU ones
 * much less.
 */
import * as fs from "node:fs"
import Database from "better-sqlite3"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { tstampOf } from "../src/domain/Ids.js"
import { buildContext } from "../src/layers/TestLayer.js"
import * as Flor from "../src/dsl/Flor.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { type LogEntry, type LoopEntry, Store } from "../src/services/Store.js"
import {
  collectGarbage,
  environment,
  isMain,
  median,
  renderTable,
  round,
  type Table,
  tempDir,
  time,
  writeResult
} from "./harness.js"

const RUNS = 10
const SIZES: ReadonlyArray<{ readonly epochs: number; readonly steps: number; readonly reps: number }> = [
  { epochs: 10, steps: 100, reps: 15 }, // 10 runs × 1,000 = 10k records (more reps: ~15 ms each, noisy)
  { epochs: 100, steps: 100, reps: 7 }, // 100k
  { epochs: 100, steps: 1000, reps: 3 } // 1M
]
const TARGET_RATIO = 1.5
const PROJID = "benchdf"

const flor = Flor.make({
  columns: { loss: Schema.Number },
  loops: { epoch: Schema.Number, step: Schema.Number }
})

const build = buildContext({ cpu_model: "bench", hostname: "bench", pid: 0 })

/** One synthetic run: a loop row per epoch and per step context, a "loss" record per step. */
const syntheticRun = (epochs: number, steps: number) => {
  const logs: Array<LogEntry> = []
  const loops: Array<LoopEntry> = []
  let ctx = 0
  for (let e = 0; e < epochs; e++) {
    const epochCtx = ++ctx
    loops.push({ ctx: epochCtx, parent: 0, name: "epoch", entries: epochs, iteration: e + 1, value: e })
    for (let s = 0; s < steps; s++) {
      const stepCtx = ++ctx
      loops.push({ ctx: stepCtx, parent: epochCtx, name: "step", entries: steps, iteration: s + 1, value: s })
      logs.push({ ctx: stepCtx, name: "loss", value: s * 0.5 + e })
    }
  }
  return { logs, loops }
}

interface RawRow {
  readonly value_name: string
  readonly value: string
  readonly ctx_id: number
}

/** The raw scan: every row of `logs` through better-sqlite3's iterator, touching each field. */
const rawScan = (stmt: Database.Statement) => {
  let n = 0
  let acc = 0
  for (const row of stmt.iterate() as IterableIterator<RawRow>) {
    n++
    acc += row.ctx_id + row.value.length + row.value_name.length
  }
  return acc > 0 ? n : -n
}

/** Wall and CPU milliseconds taken by `f`. */
const timeCpu = async (f: () => unknown): Promise<[number, number]> => {
  const cpu0 = process.cpuUsage()
  const [wall] = await time(f)
  const cpu = process.cpuUsage(cpu0)
  return [wall, (cpu.user + cpu.system) / 1000]
}

/** Runs the benchmark; prints its table and writes `bench/results/dataframe.json`. */
export const runDataframeBench = async (): Promise<Record<string, unknown>> => {
  const sizes: Array<Record<string, unknown>> = []
  const rows: Array<Array<string | number | null>> = []
  for (const { epochs, steps, reps } of SIZES) {
    const records = RUNS * epochs * steps
    const home = tempDir("flordb-bench-df-")
    const scope = await Effect.runPromise(Scope.make())
    try {
      const context = await Effect.runPromise(Layer.buildWithScope(SqliteStore.layer(home, PROJID), scope))
      const store = Context.get(context, Store)
      const base = Date.UTC(2025, 0, 1)
      const [ingestMs] = await time(async () => {
        for (let r = 0; r < RUNS; r++) {
          const { logs, loops } = syntheticRun(epochs, steps)
          const start = base + r * 60_000
          await Effect.runPromise(store.ingest({
            header: { projid: PROJID, tstamp: tstampOf(start), filename: "train.ts", start_time: start, tree: null, build },
            status: "committed",
            vid: null,
            endTime: start + 1000,
            logs,
            loops,
            checkpoints: []
          }))
        }
      })

      const db = new Database(SqliteStore.databasePath(home, PROJID), { readonly: true })
      try {
        const stmt = db.prepare("SELECT value_name, value, ctx_id FROM logs")
        const storeFrame = () => Effect.runPromise(store.dataframe(["loss"]))
        const typedFrame = () => Effect.runPromise(Effect.provide(flor.dataframe("loss"), context))
        const check = (n: number, what: string) => {
          if (n !== records) throw new Error(`${what}: expected ${records} rows, got ${n}`)
        }

        // warm-up (also checks the row counts and the decoded shape)
        check(rawScan(stmt), "raw scan")
        check((await storeFrame()).rows.length, "store.dataframe")
        const typed = await typedFrame()
        check(typed.rows.length, "flor.dataframe")
        const first = typed.rows[0]!
        if (first.epoch !== 1 || first.step !== 1 || first.loss !== 0) {
          throw new Error(`unexpected first row ${JSON.stringify(first)}`)
        }

        const raw: Array<number> = []
        const storeMs: Array<number> = []
        const typedMs: Array<number> = []
        const rawCpu: Array<number> = []
        const storeCpu: Array<number> = []
        const typedCpu: Array<number> = []
        for (let rep = 0; rep < reps; rep++) {
          const order = [0, 1, 2].map((k) => (k + rep) % 3)
          for (const k of order) {
            collectGarbage()
            if (k === 0) {
              const [w, c] = await timeCpu(() => check(rawScan(stmt), "raw scan"))
              raw.push(w)
              rawCpu.push(c)
            } else if (k === 1) {
              const [w, c] = await timeCpu(async () => check((await storeFrame()).rows.length, "store"))
              storeMs.push(w)
              storeCpu.push(c)
            } else {
              const [w, c] = await timeCpu(async () => check((await typedFrame()).rows.length, "flor"))
              typedMs.push(w)
              typedCpu.push(c)
            }
          }
        }
        const r = median(raw)
        const s = median(storeMs)
        const t = median(typedMs)
        const rc = median(rawCpu)
        const sc = median(storeCpu)
        const tc = median(typedCpu)
        const label = `${records / 1000}k`
        rows.push(
          [label, "raw better-sqlite3 scan", round(r, 1), round((r * 1e6) / records), 1, round(rc, 1), 1],
          [label, "store.dataframe([\"loss\"])", round(s, 1), round((s * 1e6) / records), round(s / r), round(sc, 1), round(sc / rc)],
          [label, "flor.dataframe(\"loss\")", round(t, 1), round((t * 1e6) / records), round(t / r), round(tc, 1), round(tc / rc)],
          [label, "(populate: 10 x Store.ingest)", round(ingestMs, 1), round((ingestMs * 1e6) / records), null, null, null]
        )
        sizes.push({
          records,
          runs: RUNS,
          epochs,
          steps,
          repetitions: reps,
          ingest_ms: round(ingestMs),
          raw_scan_ms: raw.map((x) => round(x)),
          store_dataframe_ms: storeMs.map((x) => round(x)),
          flor_dataframe_ms: typedMs.map((x) => round(x)),
          raw_scan_median_ms: round(r),
          store_dataframe_median_ms: round(s),
          flor_dataframe_median_ms: round(t),
          store_ratio: round(s / r),
          flor_ratio: round(t / r),
          raw_scan_cpu_ms: rawCpu.map((x) => round(x)),
          store_dataframe_cpu_ms: storeCpu.map((x) => round(x)),
          flor_dataframe_cpu_ms: typedCpu.map((x) => round(x)),
          store_cpu_ratio: round(sc / rc),
          flor_cpu_ratio: round(tc / rc),
          store_target_met: s / r <= TARGET_RATIO,
          flor_target_met: t / r <= TARGET_RATIO
        })
      } finally {
        db.close()
      }
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      fs.rmSync(home, { recursive: true, force: true })
    }
  }
  const table: Table = {
    title: "dataframe(\"loss\") vs raw SQLite scan (median after warm-up)",
    headers: ["records", "variant", "ms", "ns/row", "x raw", "cpu ms", "cpu x raw"],
    rows,
    notes: [
      `target: <= ${TARGET_RATIO}x the raw scan`,
      ...sizes.map((s) =>
        `${String(s["records"])}: store ${s["store_target_met"] ? "met" : "MISSED"} (${String(s["store_ratio"])}x), ` +
        `flor ${s["flor_target_met"] ? "met" : "MISSED"} (${String(s["flor_ratio"])}x); ` +
        `cpu: store ${String(s["store_cpu_ratio"])}x, flor ${String(s["flor_cpu_ratio"])}x`
      )
    ]
  }
  const result = {
    benchmark: "dataframe",
    target_ratio: TARGET_RATIO,
    sizes,
    table,
    environment: environment()
  }
  console.log(renderTable(table))
  writeResult("dataframe", result)
  return result
}

if (isMain(import.meta.url)) await runDataframeBench()
