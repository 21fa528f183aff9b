/**
 * Shared helpers of the benchmarks: timing, medians, temp directories, a plain-text
 * table renderer and the results directory.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as v8 from "node:v8"
import * as vm from "node:vm"

/** A table: a title, column headers and rows of cells. */
export interface Table {
  readonly title: string
  readonly headers: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null>>
  readonly notes?: ReadonlyArray<string>
}

/** The median of a non-empty list. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Rounds to `digits` decimals. */
export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** Milliseconds taken by `f`, and its result. */
export const time = async <A>(f: () => A | Promise<A>): Promise<[number, A]> => {
  const t0 = performance.now()
  const a = await f()
  return [performance.now() - t0, a]
}

const gc: (() => void) | undefined = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (exposed !== undefined) return exposed
  try {
    v8.setFlagsFromString("--expose-gc")
    return vm.runInNewContext("gc") as () => void
  } catch {
    return undefined
  }
})()

/** A full garbage collection between measurements, so one variant's garbage is not billed to the next. */
export const collectGarbage = (): void => {
  if (gc !== undefined) gc()
}

/** A fresh temporary directory (realpath'ed). */
export const tempDir = (prefix: string): string => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)))

/** Runs git in `cwd`. */
export const git = (cwd: string, ...args: Array<string>): string => execFileSync("git", args, { cwd, encoding: "utf8" })

/** A temp git repository with one small committed file. */
export const tempRepo = (prefix: string): string => {
  const root = tempDir(prefix)
  git(root, "-c", "init.defaultBranch=main", "init", "-q")
  git(root, "config", "user.name", "Bench")
  git(root, "config", "user.email", "bench@localhost")
  git(root, "config", "commit.gpgsign", "false")
  fs.writeFileSync(path.join(root, "train.ts"), "// a training script\nexport {}\n")
  git(root, "add", "-A")
  git(root, "commit", "-qm", "init")
  return root
}

/** Renders a table as aligned plain text. */
export const renderTable = (table: Table): string => {
  const cells = [table.headers, ...table.rows.map((r) => r.map((c) => (c === null ? "-" : String(c))))]
  const widths = table.headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)))
  const line = (r: ReadonlyArray<string>) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  const rule = widths.map((w) => "-".repeat(w)).join("  ")
  const out = [`== ${table.title} ==`, line(cells[0]!), rule, ...cells.slice(1).map(line)]
  for (const note of table.notes ?? []) out.push(`  ${note}`)
  return out.join("\n")
}

/** The results directory, `bench/results`. */
export const resultsDir = fileURLToPath(new URL("./results/", import.meta.url))

/** Writes `bench/results/<name>.json`; returns its path. */
export const writeResult = (name: string, value: unknown): string => {
  fs.mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, `${name}.json`)
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
  return file
}

/** True when the module at `url` is the process's entry script. */
export const isMain = (url: string): boolean =>
  process.argv[1] !== undefined && url === pathToFileURL(path.resolve(process.argv[1])).href

/** Environment facts recorded with every result. */
export const environment = () => ({
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: os.cpus().length,
  cpu_model: os.cpus()[0]?.model ?? "unknown",
  date: new Date().toISOString()
})

const clockTicks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/**
 * Seconds of CPU used by this process's reaped children so far (Linux's cutime + cstime:
 * terminated, waited-for children and their waited-for descendants); undefined off Linux.
 */
export const childCpuSeconds = (): number | undefined => {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[13]) + Number(fields[14])) / clockTicks // fields 16 and 17 of proc(5)
  } catch {
    return undefined
  }
}
