/**
 * `npm run demo`: hindsight logging end to end, on the embedded default (SQLite +
 * local object store), in a sandbox git repository under a temporary directory.
 *
 * 1. record three training runs with different hyper-parameters;
 * 2. weeks later, add `log("grad_norm", …)` to today's script and commit it;
 * 3. `flor replay grad_norm --yes` backfills the column into the three past runs;
 * 4. the dataframe shows it, as if it had been logged all along.
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
const started = performance.now()

const step = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`)
const sh = (cmd: string, args: Array<string>, shown = `${path.basename(cmd)} ${args.join(" ")}`) => {
  console.log(`$ ${shown}`)
  const out = execFileSync(cmd, args, { cwd: dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  if (out.trim()) console.log(out.trimEnd())
}
const flor = (...args: Array<string>) =>
  sh(process.execPath, [path.join(repo, "dist/cli/bin.js"), ...args], `npx flor ${args.map((a) => (a.includes(" ") ? `"${a}"` : a)).join(" ")}`)
const tsx = (...args: Array<string>) => sh(path.join(repo, "node_modules/.bin/tsx"), args, `npx tsx ${args.join(" ")}`)

step(`a sandbox git repository with flordb installed: ${dir}`)
fs.mkdirSync(path.join(dir, "node_modules/@tensorflow"), { recursive: true })
fs.symlinkSync(repo, path.join(dir, "node_modules/flordb"), "dir")
fs.symlinkSync(path.join(repo, "node_modules/effect"), path.join(dir, "node_modules/effect"), "dir")
fs.symlinkSync(path.join(repo, "node_modules/@tensorflow/tfjs"), path.join(dir, "node_modules/@tensorflow/tfjs"), "dir")
fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "demo-project", type: "module" }, null, 2))
fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules/\n")
for (const f of ["train.ts", "model.ts"]) fs.copyFileSync(path.join(repo, "examples/train", f), path.join(dir, f))
sh("git", ["init", "-q", "-b", "main"])
sh("git", ["add", "-A"])
sh("git", ["commit", "-qm", "train a classifier"])

step("record three training runs (a tfjs classifier on generated data; loss per step, acc per epoch)")
for (const kwargs of [["lr=0.01", "hidden=16", "seed=1"], ["lr=0.003", "hidden=32", "seed=2"], ["lr=0.03", "hidden=8", "seed=3"]]) {
  tsx("train.ts", "--kwargs", ...kwargs, "epochs=4", "samples=1500")
}
flor("dataframe", "lr", "hidden", "test_acc")

step("weeks later: what did the gradient norm do each epoch? Add one log statement to today's script")
const source = fs.readFileSync(path.join(dir, "train.ts"), "utf8")
const edited = source
  .replace("columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number }",
    "columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number, grad_norm: Schema.Number }")
  .replace("import { accuracy, epochBatches,", "import { accuracy, epochBatches, gradNorm,")
  .replace(
    "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))",
    "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))\n" +
      "        yield* flor.log(\"grad_norm\", yield* Effect.sync(() => gradNorm(net, data, data.val)))"
  )
if (edited === source || !edited.includes("\"grad_norm\", yield*")) throw new Error("the demo could not edit train.ts")
fs.writeFileSync(path.join(dir, "train.ts"), edited)
sh("git", ["diff", "--stat"])
sh("git", ["commit", "-qam", "log the gradient norm"])

step("replay the three past runs with the new statement: only the epoch loop's body runs, each epoch restored from its checkpoint")
flor("replay", "grad_norm", "--yes")

step("the past runs now have grad_norm, as if it had been logged all along")
flor("dataframe", "lr", "hidden", "acc", "grad_norm")

step("your branch is untouched; the code of every run lives on flor.shadow")
sh("git", ["status", "--short", "--branch"])
sh("git", ["log", "--oneline", "-3", "flor.shadow"])

console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(0)} s. Explore: cd ${dir} && FLOR_HOME=${env.FLOR_HOME} npx flor --help`)
