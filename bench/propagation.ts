/**
 * Statement propagation accuracy: every version pair of test/fixtures/versions,
 * propagated with GumTree (`propagate`) and with the plain line diff baseline
 * (`lineDiffPropagate`). A case passes when the result equals `expected.ts` byte
 * for byte. Also reports the time per propagation (median of REPS).
 *
 * Run with `npx tsx bench/propagation.ts`; writes `bench/results/propagation.json`.
 */
import * as fs from "node:fs"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as Either from "effect/Either"
import { syntaxErrors } from "../src/domain/analysis/Ast.js"
import { lineDiffPropagate, propagate } from "../src/domain/analysis/Propagate.js"
import { environment, isMain, median, renderTable, round, type Table, writeResult } from "./harness.js"

const REPS = Number(process.env.BENCH_REPS ?? 3)
const root = fileURLToPath(new URL("../test/fixtures/versions/", import.meta.url))

interface Case {
  readonly case: string
  readonly lines: ReadonlyArray<number>
  readonly description: string
}

type Outcome = "pass" | "misplaced" | "broken" | `error: ${string}`

const outcome = (method: typeof propagate, c: Case): { readonly outcome: Outcome; readonly ms: number } => {
  const read = (f: string) => fs.readFileSync(`${root}${c.case}/${f}`, "utf8")
  const newer = read("newer.ts")
  const expected = read("expected.ts")
  const times: Array<number> = []
  let result: Outcome = "pass"
  for (let rep = 0; rep < REPS; rep++) {
    let source = read("older.ts")
    let error: string | undefined
    const t0 = performance.now()
    for (const line of c.lines) {
      const r = method(newer, line, source)
      if (Either.isLeft(r)) {
        error = r.left.reason
        break
      }
      source = r.right.source
    }
    times.push((performance.now() - t0) / c.lines.length)
    result = error !== undefined
      ? `error: ${error}`
      : source === expected
      ? "pass"
      : syntaxErrors(source).length > 0
      ? "broken"
      : "misplaced"
  }
  return { outcome: result, ms: median(times) }
}

/** Runs every version pair with both methods; prints and writes the pass-rate table. */
export const runPropagationBench = async (): Promise<Record<string, unknown>> => {
  const cases = JSON.parse(fs.readFileSync(`${root}cases.json`, "utf8")) as ReadonlyArray<Case>
  const rows = cases.map((c) => {
    const gum = outcome(propagate, c)
    const diff = outcome(lineDiffPropagate, c)
    return { case: c.case, description: c.description, statements: c.lines.length, gumtree: gum, lineDiff: diff }
  })
  const passed = (k: "gumtree" | "lineDiff") => rows.filter((r) => r[k].outcome === "pass").length
  const table: Table = {
    title: `statement propagation: ${rows.length} version pairs (pass = byte-identical to expected.ts)`,
    headers: ["case", "gumtree", "ms", "line-diff", "ms"],
    rows: [
      ...rows.map((r) => [r.case, r.gumtree.outcome, round(r.gumtree.ms, 1), r.lineDiff.outcome, round(r.lineDiff.ms, 1)]),
      ["total", `${passed("gumtree")}/${rows.length}`, round(median(rows.map((r) => r.gumtree.ms)), 1), `${passed("lineDiff")}/${rows.length}`, round(median(rows.map((r) => r.lineDiff.ms)), 1)]
    ],
    notes: [
      "ms: per propagated statement, median of reps (total row: median over cases); both parse the two versions with the TypeScript compiler",
      "misplaced: parses but differs from expected.ts; broken: does not parse; error: the method refused (reason)"
    ]
  }
  const result = {
    environment: environment(),
    reps: REPS,
    cases: rows.length,
    gumtree: { passed: passed("gumtree"), rate: round(passed("gumtree") / rows.length, 3) },
    lineDiff: { passed: passed("lineDiff"), rate: round(passed("lineDiff") / rows.length, 3) },
    rows,
    table
  }
  console.log(renderTable(table))
  const file = writeResult("propagation", result)
  console.log(`\nwrote ${file}`)
  return result
}

if (isMain(import.meta.url)) await runPropagationBench()
