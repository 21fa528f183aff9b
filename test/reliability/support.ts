/** Shared helpers of the reliability suite: sandboxes with the steady fixture, spawned runs, state fingerprints. */
import { type ChildProcessByStdio, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { pathToFileURL } from "node:url"
import { expect } from "vitest"
import { makeSandbox, repoRoot, type Sandbox, type SandboxOptions, tsxBin } from "../support/sandbox.js"

export { repoRoot, type Sandbox }

/** The steady fixture: logs `seq` = 1, 2, 3, ... one per step, printing each on stdout. */
export const steadySource = fs.readFileSync(path.join(repoRoot, "test/reliability/fixtures/steady.ts"), "utf8")
/** The steady fixture with a hindsight statement at PROBE: `probe` = 2 × seq. */
export const probeSource = steadySource.replace("/*PROBE*/", "yield* flor.log(\"probe\", state.n * 2)")

/** tsx's loader, to run a script in one node process (no tsx parent relaying signals). */
const tsxLoader = pathToFileURL(path.join(repoRoot, "node_modules/tsx/dist/loader.mjs")).href

/** A sandbox with the steady fixture committed as `steady.ts`, checkpoints at every epoch, a private TMPDIR. */
export const steadySandbox = (name: string, options: SandboxOptions = {}): Sandbox & { readonly tmp: string } => {
  const sb = makeSandbox(name, options)
  const tmp = path.join(path.dirname(sb.dir), "tmp")
  fs.mkdirSync(tmp)
  Object.assign(sb.env, { FLOR_EPSILON: "1e9", FLOR_RESTORE_RATIO: "0", TMPDIR: tmp })
  delete sb.env.FLOR_DEBUG
  fs.writeFileSync(path.join(sb.dir, "steady.ts"), steadySource)
  sb.git("add", "-A")
  sb.git("commit", "-qm", "steady")
  return Object.assign(sb, { tmp })
}

/** A running script whose stdout counts records: `last` is the newest `seq` printed, `seen` when each arrived. */
export interface Running {
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  readonly seen: Array<readonly [number, number]>
  readonly last: () => number
  readonly stderr: () => string
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>
  /** Waits until `seq` reaches `n` (or fails after `timeoutMs`). */
  readonly reach: (n: number, timeoutMs?: number) => Promise<void>
}

/**
 * Starts `script` in the sandbox. `via: "tsx"` is how users run scripts (a tsx
 * parent process and the script in a child, one process group: `detached` lets a
 * test signal the group like a terminal does); `via: "node"` runs it in one node
 * process with tsx's loader.
 */
export const start = (sb: Sandbox, script: string, args: ReadonlyArray<string>, via: "tsx" | "node" = "tsx"): Running => {
  const [cmd, argv] = via === "tsx"
    ? [tsxBin, [script, ...args]]
    : [process.execPath, ["--import", tsxLoader, script, ...args]]
  const child = spawn(cmd, argv, { cwd: sb.dir, env: sb.env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
  const seen: Array<readonly [number, number]> = []
  let buffered = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    buffered += d
    const lines = buffered.split("\n")
    buffered = lines.pop()!
    const now = Date.now()
    for (const line of lines) if (/^\d+$/.test(line)) seen.push([now, Number(line)])
  })
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
  const exited = new Promise<number | string>((resolve) => child.on("close", (code, signal) => resolve(code ?? signal ?? -1)))
  const last = () => seen.at(-1)?.[1] ?? 0
  const reach = async (n: number, timeoutMs = 90_000) => {
    const until = Date.now() + timeoutMs
    while (last() < n) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${script} exited early: ${stderr}`)
      if (Date.now() > until) throw new Error(`${script} did not reach ${n} (at ${last()}): ${stderr}`)
      await sleep(10)
    }
  }
  return { child, seen, last, stderr: () => stderr, exited, reach }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The run journals of a project, path → contents. */
export const journals = (sb: Sandbox, projid: string): Map<string, string> => {
  const dir = path.join(sb.home, "journal", projid)
  const out = new Map<string, string>()
  if (!fs.existsSync(dir)) return out
  for (const name of fs.readdirSync(dir).sort()) out.set(path.join(dir, name), fs.readFileSync(path.join(dir, name), "utf8"))
  return out
}

/** The header of a journal. */
export const headerOf = (text: string) =>
  (JSON.parse(text.split("\n", 1)[0]!) as { header: { tstamp: string; build: { pid: number } } }).header

/** Complete `seq` record lines in a journal text. */
export const seqLines = (text: string) => text.split("\n").filter((l) => /^\[0,\d+,"seq",\d+\]$/.test(l)).length

/** Parses a command's JSON output (fails the test with its stderr when it is not JSON). */
export const json = (out: { readonly stdout: string; readonly stderr: string; readonly status: number | null }) => {
  expect(out.status, out.stderr).toBe(0)
  return JSON.parse(out.stdout) as Array<Record<string, unknown>>
}

/** The `seq` values of one run, in loop order. */
export const seqOf = (sb: Sandbox, tstamp: string) =>
  json(sb.flor("dataframe", "seq", "--where", `tstamp = '${tstamp}'`, "--format", "json")).map((r) => r.seq as number)

/** Asserts `values` is exactly 1, 2, ..., n. */
export const expectContiguous = (values: ReadonlyArray<number>) => {
  const bad = values.findIndex((v, i) => v !== i + 1)
  expect(bad, `seq is not 1..${values.length} (first gap at index ${bad}: ${values[bad]})`).toBe(-1)
}

/** The runs of a project as `flor runs` lists them. */
export const runsOf = (sb: Sandbox) => json(sb.flor("runs", "--format", "json"))

/**
 * A fingerprint of what the user owns: every file of the working tree (not
 * node_modules), the index, HEAD, config, every ref but the shadow branch, and
 * `git status`.
 */
export const userState = (sb: Sandbox): string => {
  const h = createHash("sha256")
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === "node_modules" || (d === sb.dir && e.name === ".git")) continue
      const p = path.join(d, e.name)
      const st = fs.lstatSync(p)
      h.update(`${path.relative(sb.dir, p)} ${st.mode} ${st.mtimeMs}\n`)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) h.update(fs.readFileSync(p))
    }
  }
  walk(sb.dir)
  for (const f of ["index", "HEAD", "config", "packed-refs"]) {
    const p = path.join(sb.dir, ".git", f)
    h.update(`${f}:`).update(fs.existsSync(p) ? fs.readFileSync(p) : "-")
  }
  h.update(
    sb.git("for-each-ref", "--format=%(refname) %(objectname)").split("\n").filter((l) =>
      !l.startsWith("refs/heads/flor.shadow ")
    ).join("\n")
  )
  // --no-optional-locks: status must not refresh (rewrite) the index it is checking
  h.update(sb.git("--no-optional-locks", "status", "--porcelain=v2", "--branch", "--untracked-files=all"))
  h.update(sb.git("stash", "list"))
  return h.digest("hex")
}

/** Temporary directories flordb makes for replays, left in `tmp`. */
export const replayTemps = (tmp: string) => fs.readdirSync(tmp).filter((n) => /^flor-(version|replay)-/.test(n))

/** What a finished command printed. */
export interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command without blocking the test's event loop. */
export const runAsync = (cmd: string, args: ReadonlyArray<string>, options: { cwd: string; env: NodeJS.ProcessEnv }) =>
  new Promise<Ran>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

/** Runs `tasks` with at most `limit` at once; results in order. */
export const pool = async <A>(limit: number, tasks: ReadonlyArray<() => Promise<A>>): Promise<Array<A>> => {
  const out: Array<A> = new Array(tasks.length)
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++
      out[i] = await tasks[i]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return out
}
