/**
 * `npm run demo`: hindsight logging end to end, on the embedded default (SQLite +
 * local object store), in a sandbox git repository under a temporary directory.
 *
 * 1. record three training runs with different hyper-parameters;
 * 2. weeks later, add `log("grad_norm", …)` to today's script and commit it;
 * 3. `flor replay grad_norm --yes` backfills the column into the three past runs;
 * 4. the dataframe shows it, as if it had been logged all along.
 *
 * `test/demo.test.ts` runs `demo()` quietly and checks the backfilled values.
 */
import * as path from "node:path"
import { isEntry, type Project, project, repo } from "../shared/sandbox.js"

/** The three recorded runs' hyper-parameters. */
export const KWARGS: ReadonlyArray<ReadonlyArray<string>> = [
  ["lr=0.01", "hidden=16", "seed=1"],
  ["lr=0.003", "hidden=32", "seed=2"],
  ["lr=0.03", "hidden=8", "seed=3"]
].map((kwargs) => [...kwargs, "epochs=4", "samples=1500"])

/** Today's script: `train.ts` with a hindsight `log("grad_norm", …)` in the epoch loop. */
export const addGradNorm = (source: string): string => {
  const edited = source
    .replace(
      "columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number }",
      "columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number, grad_norm: Schema.Number }"
    )
    .replace("import { accuracy, epochBatches,", "import { accuracy, epochBatches, gradNorm,")
    .replace(
      "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))",
      "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))\n" +
        "        yield* flor.log(\"grad_norm\", yield* Effect.sync(() => gradNorm(net, data, data.val)))"
    )
  if (edited === source || !edited.includes("\"grad_norm\", yield*")) {
    throw new Error("the demo could not edit train.ts (examples/train/train.ts changed?)")
  }
  return edited
}

/** What the demo leaves behind: the sandbox project and the replay's report. */
export interface Result {
  readonly project: Project
  readonly tstamps: ReadonlyArray<string>
  readonly replayReport: string
  readonly seconds: number
}

/** Runs the demo; `print` receives every line it shows. */
export const demo = async (print: (line: string) => void = (line) => console.log(line)): Promise<Result> => {
  const started = performance.now()
  const step = (text: string) => print(`\n\x1b[1m== ${text}\x1b[0m`)
  const train = path.join(repo, "examples/train")
  const p = project({
    name: "demo-project",
    files: { "train.ts": path.join(train, "train.ts"), "model.ts": path.join(train, "model.ts") },
    links: ["@tensorflow/tfjs"],
    print
  })
  try {
    step(`a sandbox git repository with flordb installed: ${p.dir}`)
    await p.git("init", "-q", "-b", "main")
    await p.git("add", "-A")
    await p.git("commit", "-qm", "train a classifier")

    step("record three training runs (a tfjs classifier on generated data; loss per step, acc per epoch)")
    for (const kwargs of KWARGS) await p.tsx("train.ts", "--kwargs", ...kwargs)
    await p.flor("dataframe", "lr", "hidden", "test_acc")
    const tstamps = (await p.florJson("runs")).map((r) => String(r.tstamp))

    step("weeks later: what did the gradient norm do each epoch? Add one log statement to today's script")
    p.write("train.ts", addGradNorm(p.read("train.ts")))
    await p.git("diff", "--stat")
    await p.git("commit", "-qam", "log the gradient norm")

    step("replay the three past runs with the new statement: only the epoch loop's body runs, each epoch restored from its checkpoint")
    const replay = await p.flor("replay", "grad_norm", "--yes")

    step("the past runs now have grad_norm, as if it had been logged all along")
    await p.flor("dataframe", "lr", "hidden", "acc", "grad_norm")

    step("your branch is untouched; the code of every run lives on flor.shadow")
    await p.git("status", "--short", "--branch")
    await p.git("log", "--oneline", "-3", "flor.shadow")

    const seconds = (performance.now() - started) / 1000
    print(`\nDone in ${seconds.toFixed(0)} s. Explore: cd ${p.dir} && FLOR_HOME=${p.home} npx flor --help`)
    return { project: p, tstamps, replayReport: replay.stdout, seconds }
  } catch (e) {
    print(`the demo failed; its sandbox is kept at ${p.dir}`)
    throw e
  }
}

if (isEntry(import.meta.url)) await demo()
