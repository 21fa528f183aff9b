/**
 * Runs every benchmark in sequence in this one process, prints their tables and
 * writes `bench/results/summary.json` (each benchmark also writes its own JSON).
 *
 * `npm run bench` (builds first) or `npx tsx bench/run.ts`.
 */
import { performance } from "node:perf_hooks"
import { runCommitBench } from "./commit.js"
import { runDataframeBench } from "./dataframe.js"
import { environment, renderTable, round, type Table, writeResult } from "./harness.js"
import { runLogBench } from "./log.js"
import { runReplayBench } from "./replay.js"

const benches: ReadonlyArray<readonly [string, () => Promise<Record<string, unknown>>]> = [
  ["log", runLogBench],
  ["dataframe", runDataframeBench],
  // Run-end cost (bench/commit.ts, owned by another helper). Its runner neither prints nor writes its JSON.
  ["commit", runCommitBench],
  // Replay: record overhead, replay vs re-execution, parallel efficiency on examples/train (bench/replay.ts).
  ["replay", runReplayBench]
]

const isTable = (x: unknown): x is Table =>
  typeof x === "object" && x !== null && "title" in x && "headers" in x && "rows" in x

/** A table for a result that brings none: its scalar fields. */
const scalarTable = (name: string, result: Record<string, unknown>): Table => ({
  title: name,
  headers: ["field", "value"],
  rows: Object.entries(result)
    .filter(([, v]) => typeof v === "number" || typeof v === "string" || typeof v === "boolean")
    .map(([k, v]) => [k, v as string | number | boolean])
})

const tableOf = (name: string, result: Record<string, unknown>): Table =>
  isTable(result["table"]) ? result["table"] : scalarTable(name, result)

const t0 = performance.now()
const results: Record<string, Record<string, unknown>> = {}
const timings: Record<string, number> = {}
for (const [name, run] of benches) {
  console.log(`\n### ${name}`)
  const start = performance.now()
  const result = await run()
  timings[name] = round((performance.now() - start) / 1000, 1)
  results[name] = result
  if (name === "commit") {
    console.log(renderTable(tableOf(name, result)))
    writeResult("commit", result)
  }
  console.log(`(${name}: ${timings[name]} s)`)
}

console.log("\n################ summary ################\n")
for (const [name, result] of Object.entries(results)) console.log(`${renderTable(tableOf(name, result))}\n`)
const totalSeconds = round((performance.now() - t0) / 1000, 1)
const file = writeResult("summary", {
  total_seconds: totalSeconds,
  seconds: timings,
  results,
  environment: environment()
})
console.log(`total ${totalSeconds} s; wrote ${file}`)
