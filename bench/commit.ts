/**
 * Run-end cost: flordb's `snapshot` + `commit` (warm stat cache) against `git add -A && git commit`
 * in an identical 1,000-file repository, 10 files changed per repetition.
 *
 * Run with `npx tsx bench/commit.ts`; writes `bench/results/commit.json`.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Effect from "effect/Effect"
import { make } from "../src/layers/GitVersioning.js"

const FILES = 1000
const CHANGED = 10
const REPS = 5

const git = (cwd: string, ...args: Array<string>) => execFileSync("git", args, { cwd, encoding: "utf8" })

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const round = (x: number) => Math.round(x * 100) / 100

/** `pkgA/modB/fileN.ts`: 10 × 10 directories of 10 files. */
const fileOf = (i: number) => `pkg${i % 10}/mod${Math.floor(i / 10) % 10}/file${i}.ts`

/** ~2 KB of source text. */
const contentOf = (i: number, rev: number) =>
  `// file ${i}, revision ${rev}\n` +
  Array.from({ length: 40 }, (_, l) => `export const value_${l} = ${i * 1000 + l + rev} // padding text\n`).join("")

const time = async <A>(f: () => Promise<A>): Promise<[number, A]> => {
  const t0 = performance.now()
  const a = await f()
  return [performance.now() - t0, a]
}

/** Runs the benchmark and returns its results (medians in ms, ratio = flordb / git). */
export const runCommitBench = async (): Promise<Record<string, unknown>> => {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "flordb-bench-commit-")))
  try {
    const ours = path.join(tmp, "ours")
    const theirs = path.join(tmp, "git")
    fs.mkdirSync(ours)
    git(ours, "-c", "init.defaultBranch=main", "init", "-q")
    git(ours, "config", "user.name", "Bench")
    git(ours, "config", "user.email", "bench@localhost")
    git(ours, "config", "commit.gpgsign", "false")
    for (let i = 0; i < FILES; i++) {
      fs.mkdirSync(path.join(ours, path.dirname(fileOf(i))), { recursive: true })
      fs.writeFileSync(path.join(ours, fileOf(i)), contentOf(i, 0))
    }
    fs.writeFileSync(path.join(ours, ".gitignore"), "*.log\n")
    git(ours, "add", "-A")
    git(ours, "commit", "-qm", "init")
    fs.cpSync(ours, theirs, { recursive: true })
    git(theirs, "status", "--porcelain") // refresh the copied index's stat data

    const versioning = await Effect.runPromise(make(ours))
    const [coldSnapshot] = await time(() => Effect.runPromise(versioning.snapshot))
    const log = new TextEncoder().encode(`${JSON.stringify({ type: "header", script: "train.ts" })}\n`.repeat(50))

    const oursMs: Array<number> = []
    const snapshotMs: Array<number> = []
    const gitMs: Array<number> = []
    for (let rep = 0; rep < REPS; rep++) {
      for (let k = 0; k < CHANGED; k++) {
        const i = (rep * CHANGED + k * 97) % FILES
        for (const root of [ours, theirs]) fs.writeFileSync(path.join(root, fileOf(i)), contentOf(i, rep + 1))
      }
      const [total, snap] = await time(async () => {
        const [s, tree] = await time(() => Effect.runPromise(versioning.snapshot))
        await Effect.runPromise(versioning.commit(tree, `.flor/logs/run${rep}__train.ts.jsonl`, log, `run ${rep}`))
        return s
      })
      oursMs.push(total)
      snapshotMs.push(snap)
      const [g] = await time(async () => execFileSync("sh", ["-c", "git add -A && git commit -qm x"], { cwd: theirs }))
      gitMs.push(g)
    }
    const changedInShadow = git(ours, "diff", "--no-renames", "--name-only", "flor.shadow~1", "flor.shadow").trim().split("\n").length
    if (changedInShadow !== CHANGED + 2) throw new Error(`unexpected shadow diff: ${changedInShadow} paths`)

    const oursMedian = median(oursMs)
    const gitMedian = median(gitMs)
    return {
      benchmark: "commit",
      files: FILES,
      changed: CHANGED,
      repetitions: REPS,
      flordb_ms: oursMs.map(round),
      flordb_snapshot_ms: snapshotMs.map(round),
      git_ms: gitMs.map(round),
      flordb_median_ms: round(oursMedian),
      flordb_snapshot_median_ms: round(median(snapshotMs)),
      git_median_ms: round(gitMedian),
      ratio: round(oursMedian / gitMedian),
      target_ratio: 2,
      cold_snapshot_ms: round(coldSnapshot),
      node: process.version,
      git: git(ours, "--version").trim(),
      date: new Date().toISOString()
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runCommitBench()
  console.table({
    "flordb snapshot+commit": { "median ms": result["flordb_median_ms"] },
    "  of which snapshot": { "median ms": result["flordb_snapshot_median_ms"] },
    "git add -A && git commit": { "median ms": result["git_median_ms"] },
    "ratio (flordb / git)": { "median ms": result["ratio"] }
  })
  const out = fileURLToPath(new URL("./results/commit.json", import.meta.url))
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`cold snapshot (no stat cache): ${String(result["cold_snapshot_ms"])} ms; wrote ${out}`)
}
