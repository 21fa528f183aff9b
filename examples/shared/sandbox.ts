/**
 * What the walkthroughs share: a sandbox git project under a temporary directory
 * with flordb (this checkout) installed by symlink, and a shell that shows each
 * command and its output as it runs, without blocking the event loop (so a test
 * can drive a walkthrough for minutes).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

/** The flordb checkout the examples run from. */
export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** What a command printed. */
export interface Output {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A sandbox project and a shell in it. */
export interface Project {
  readonly dir: string
  /** Its FLOR_HOME. */
  readonly home: string
  readonly env: NodeJS.ProcessEnv
  /** Runs `cmd args` in the project, shown as `$ shown` with its output; rejects on a non-zero exit. */
  readonly run: (cmd: string, args: ReadonlyArray<string>, shown: string, show?: boolean) => Promise<Output>
  readonly git: (...args: Array<string>) => Promise<Output>
  readonly tsx: (...args: Array<string>) => Promise<Output>
  readonly flor: (...args: Array<string>) => Promise<Output>
  /** `flor ARGS --format json`, quietly, parsed. */
  readonly florJson: (...args: Array<string>) => Promise<Array<Record<string, unknown>>>
  readonly write: (file: string, text: string) => void
  readonly read: (file: string) => string
  readonly cleanup: () => void
}

/** Options of `project`. */
export interface ProjectOptions {
  /** The project's directory name, hence its projid. */
  readonly name: string
  /** Files copied into the project: destination name → source path. */
  readonly files: Readonly<Record<string, string>>
  /** Packages of this checkout's node_modules linked in besides flordb and effect. */
  readonly links?: ReadonlyArray<string>
  readonly print: (line: string) => void
  /** Git identity of the project's commits. */
  readonly author?: string
}

const quote = (a: string) => (/[\s'"<>|&;()]/.test(a) ? `"${a}"` : a)

/** Creates a sandbox git project (no commit yet) with flordb installed. */
export const project = (options: ProjectOptions): Project => {
  const { name, print } = options
  const author = options.author ?? "demo"
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `flordb-${name}-`))
  const dir = path.join(base, name)
  const home = path.join(base, "flor-home")
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLOR_HOME: home,
    GIT_AUTHOR_NAME: author,
    GIT_AUTHOR_EMAIL: `${author}@localhost`,
    GIT_COMMITTER_NAME: author,
    GIT_COMMITTER_EMAIL: `${author}@localhost`
  }
  delete env.FLOR_BACKEND // each run records the backend it picked
  fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true })
  for (const pkg of ["flordb", "effect", ...(options.links ?? [])]) {
    const link = path.join(dir, "node_modules", pkg)
    fs.mkdirSync(path.dirname(link), { recursive: true })
    fs.symlinkSync(pkg === "flordb" ? repo : path.join(repo, "node_modules", pkg), link, "dir")
  }
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    fs.writeFileSync(path.join(dir, file), text)
  }
  write("package.json", `${JSON.stringify({ name, type: "module", private: true }, null, 2)}\n`)
  write(".gitignore", "node_modules/\n")
  for (const [to, from] of Object.entries(options.files)) write(to, fs.readFileSync(from, "utf8"))

  const run = (cmd: string, args: ReadonlyArray<string>, shown: string, show = true) =>
    new Promise<Output>((resolve, reject) => {
      if (show) print(`$ ${shown}`)
      const child = spawn(cmd, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      /** Shows a stream line by line as it comes (`flor replay` reports progress on stderr). */
      const lines = () => {
        let pending = ""
        return {
          push: (d: string) => {
            pending += d
            const complete = pending.split("\n")
            pending = complete.pop()!
            if (show) for (const line of complete) print(line)
          },
          end: () => show && pending !== "" && print(pending)
        }
      }
      const out = lines()
      const err = lines()
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d
        out.push(d)
      })
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d
        err.push(d)
      })
      child.on("error", reject)
      child.on("close", (status) => {
        out.end()
        err.end()
        if (status === 0) resolve({ status, stdout, stderr })
        else reject(new Error(`${shown} exited with ${status}:\n${stderr}`))
      })
    })
  const florBin = path.join(repo, "dist/cli/bin.js")
  return {
    dir,
    home,
    env,
    run,
    git: (...args) => run("git", args, `git ${args.map(quote).join(" ")}`),
    tsx: (...args) => run(path.join(repo, "node_modules/.bin/tsx"), args, `npx tsx ${args.map(quote).join(" ")}`),
    flor: (...args) => run(process.execPath, [florBin, ...args], `npx flor ${args.map(quote).join(" ")}`),
    florJson: async (...args) =>
      JSON.parse((await run(process.execPath, [florBin, ...args, "--format", "json"], "", false)).stdout) as Array<
        Record<string, unknown>
      >,
    write,
    read: (file) => fs.readFileSync(path.join(dir, file), "utf8"),
    cleanup: () => fs.rmSync(base, { recursive: true, force: true })
  }
}

/** True when `moduleUrl` is the script node was started with (run directly, not imported by a test). */
export const isEntry = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && moduleUrl === pathToFileURL(path.resolve(process.argv[1])).href
