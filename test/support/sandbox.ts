/** Helpers for end-to-end tests: temporary git projects that link the built package. */
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The flordb repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
/** The built CLI. */
export const florBin = path.join(repoRoot, "dist/cli/bin.js")
/** tsx from the repository's dependencies. */
export const tsxBin = path.join(repoRoot, "node_modules/.bin/tsx")

/** A temporary git project with flordb and effect linked into its node_modules. */
export interface Sandbox {
  readonly dir: string
  readonly home: string
  readonly env: NodeJS.ProcessEnv
  readonly git: (...args: Array<string>) => string
  readonly tsx: (script: string, ...args: Array<string>) => SpawnSyncReturns<string>
  readonly flor: (...args: Array<string>) => SpawnSyncReturns<string>
  /** Like `tsx` and `flor`, without blocking the test worker's event loop (for long runs). */
  readonly tsxAsync: (script: string, ...args: Array<string>) => Promise<Output>
  readonly florAsync: (...args: Array<string>) => Promise<Output>
  readonly cleanup: () => void
}

/** Options of `makeSandbox`. */
export interface SandboxOptions {
  /** More packages of the repository's node_modules to link in, e.g. `["@tensorflow/tfjs"]`. */
  readonly links?: ReadonlyArray<string>
}

/** What an asynchronous run printed. */
export interface Output {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Creates a sandbox project named `name` (its projid), linking flordb, effect and `options.links`. */
export const makeSandbox = (name = "sandbox", options: SandboxOptions = {}): Sandbox => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "flordb-"))
  const dir = path.join(base, name)
  const home = path.join(base, "flor-home")
  fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true })
  for (const pkg of ["flordb", "effect", ...(options.links ?? [])]) {
    const target = pkg === "flordb" ? repoRoot : path.join(repoRoot, "node_modules", pkg)
    const link = path.join(dir, "node_modules", pkg)
    fs.mkdirSync(path.dirname(link), { recursive: true }) // scoped names: node_modules/@scope/
    fs.symlinkSync(target, link, "dir")
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, type: "module", private: true }))
  fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules/\n")
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLOR_HOME: home,
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@t",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@t"
  }
  const git = (...args: Array<string>) => execFileSync("git", args, { cwd: dir, env, encoding: "utf8" })
  git("init", "-q", "-b", "main")
  const runAsync = (cmd: string, args: Array<string>) =>
    new Promise<Output>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
      child.on("error", reject)
      child.on("close", (status) => resolve({ status, stdout, stderr }))
    })
  const run = (cmd: string, args: Array<string>) =>
    spawnSync(cmd, args, { cwd: dir, env, encoding: "utf8", timeout: 120_000, maxBuffer: 1 << 28 })
  return {
    dir,
    home,
    env,
    git,
    tsx: (script, ...args) => run(tsxBin, [script, ...args]),
    tsxAsync: (script, ...args) => runAsync(tsxBin, [script, ...args]),
    florAsync: (...args) => runAsync(process.execPath, [florBin, ...args]),
    flor: (...args) => run(process.execPath, [florBin, ...args]),
    cleanup: () => fs.rmSync(base, { recursive: true, force: true })
  }
}
