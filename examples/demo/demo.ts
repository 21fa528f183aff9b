/**
 * `npm run demo`: a newcomer's tour on the embedded default (SQLite + local object
 * store), in a sandbox git repository under a temporary directory.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const base = fs.mkdtempSync(path.join(os.tmpdir(), "flordb-demo-"))
const dir = path.join(base, "demo-project")
const env = {
  ...process.env,
  FLOR_HOME: path.join(base, "flor-home"),
  GIT_AUTHOR_NAME: "demo",
  GIT_AUTHOR_EMAIL: "demo@localhost",
  GIT_COMMITTER_NAME: "demo",
  GIT_COMMITTER_EMAIL: "demo@localhost"
}

const step = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`)
const sh = (cmd: string, args: Array<string>, shown = `${path.basename(cmd)} ${args.join(" ")}`) => {
  console.log(`$ ${shown}`)
  const out = execFileSync(cmd, args, { cwd: dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  if (out.trim()) console.log(out.trimEnd())
}
const flor = (...args: Array<string>) => sh(process.execPath, [path.join(repo, "dist/cli/bin.js"), ...args], `flor ${args.join(" ")}`)
const tsx = (...args: Array<string>) => sh(path.join(repo, "node_modules/.bin/tsx"), args, `npx tsx ${args.join(" ")}`)

step(`a sandbox git repository at ${dir}, with flordb installed`)
fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true })
fs.symlinkSync(repo, path.join(dir, "node_modules/flordb"), "dir")
fs.symlinkSync(path.join(repo, "node_modules/effect"), path.join(dir, "node_modules/effect"), "dir")
fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "demo-project", type: "module" }, null, 2))
fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules/\n")
fs.copyFileSync(path.join(repo, "examples/quickstart/hello.ts"), path.join(dir, "hello.ts"))
sh("git", ["init", "-q", "-b", "main"])
sh("git", ["add", "-A"])
sh("git", ["commit", "-qm", "hello"])

step("record two runs with different hyper-parameters")
tsx("hello.ts", "--kwargs", "name=world")
tsx("hello.ts", "--kwargs", "name=flordb")

step("every run, with its status and the shadow commit of its code")
flor("runs")

step("one row per run with its args and top-level values")
flor("dataframe")

step("the loss of the newest run, pivoted over its loops")
flor("dataframe", "loss", "--latest")

step("your branch is untouched; the code of each run lives on flor.shadow")
sh("git", ["status", "--short", "--branch"])
sh("git", ["log", "--oneline", "flor.shadow"])

console.log(`\nDone. Explore it: cd ${dir} && FLOR_HOME=${env.FLOR_HOME} npx flor --help`)
