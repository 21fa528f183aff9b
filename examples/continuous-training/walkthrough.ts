/**
 * The continuous-training walkthrough (thesis §5.2, Figs. 5.1–5.4, at small size),
 * in a sandbox git repository under a temporary directory:
 *
 * 1. seven "days" of continuous training: each day a new labeled batch arrives
 *    (a committed `stream.json`), once with a small code change, and `train.ts`
 *    fine-tunes the model the previous run published. From batch 4 on, a new
 *    labeling campaign focuses on roundabouts (`shift` 0.95: almost no
 *    pedestrians); roundabout F1 improves, the global F1 barely moves;
 * 2. a colleague reports missed pedestrians. Nobody logged a pedestrian metric:
 *    add `log("f1_ped", …)` to today's script, commit it, and
 *    `flor replay f1_ped "tstamp >= '<first run>'" --yes` backfills it into every
 *    past run, each in its own version of the code;
 * 3. the table (Fig. 5.4) shows when the regression began, and `rollback.ts`
 *    loads the model published by the last run before it.
 *
 *   npm run build && npx tsx examples/continuous-training/walkthrough.ts
 *
 * The test (test/continuous-training.test.ts) runs `walkthrough()` quietly.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { isEntry, project } from "../shared/sandbox.js"

const here = path.dirname(fileURLToPath(import.meta.url))

/** One day of the stream: the batch that arrived, its data shift, the run's seed, and maybe a code change. */
export interface Day {
  readonly batch: number
  readonly shift: number
  readonly seed: number
  readonly message: string
  readonly edit?: (source: string) => string
}

/** Replaces `from` by `to` in `source`; throws when `from` is not there (the example changed). */
const replaceOnce = (source: string, from: string, to: string): string => {
  if (!source.includes(from)) throw new Error(`walkthrough: cannot find ${JSON.stringify(from)} in train.ts`)
  return source.replace(from, to)
}

/** Day 3's small code change: log the accuracy per epoch too. */
export const logAccuracy = (source: string): string =>
  replaceOnce(
    replaceOnce(source, "    f1_round: Schema.Number,\n", "    f1_round: Schema.Number,\n    acc: Schema.Number,\n"),
    "        yield* flor.log(\"f1_round\", report.f1.roundabout)\n",
    "        yield* flor.log(\"f1_round\", report.f1.roundabout)\n        yield* flor.log(\"acc\", report.accuracy)\n"
  )

/** The hindsight logging statement: the pedestrian F1 of every epoch. */
export const logPedestrianF1 = (source: string): string =>
  replaceOnce(
    replaceOnce(source, "    f1_round: Schema.Number,\n", "    f1_round: Schema.Number,\n    f1_ped: Schema.Number,\n"),
    "        yield* flor.log(\"f1_round\", report.f1.roundabout)\n",
    "        yield* flor.log(\"f1_round\", report.f1.roundabout)\n        yield* flor.log(\"f1_ped\", report.f1.pedestrian)\n"
  )

/** The stream as it happened: the shift begins with batch 4. */
export const DAYS: ReadonlyArray<Day> = [
  { batch: 1, shift: 0, seed: 81, message: "batch 1: train the detector" },
  { batch: 2, shift: 0, seed: 63, message: "batch 2 arrived" },
  { batch: 3, shift: 0, seed: 157, message: "batch 3 arrived; also log the accuracy", edit: logAccuracy },
  { batch: 4, shift: 0.95, seed: 42, message: "batch 4 arrived: the new labeling campaign focuses on roundabouts" },
  { batch: 5, shift: 0.95, seed: 213, message: "batch 5 arrived" },
  { batch: 6, shift: 0.95, seed: 12, message: "batch 6 arrived" },
  { batch: 7, shift: 0.95, seed: 333, message: "batch 7 arrived" }
]

/** Options of `walkthrough`. */
export interface Options {
  /** Where each line of the story goes (default: the console). */
  readonly print?: (line: string) => void
  /** The days to record (default: `DAYS`). */
  readonly days?: ReadonlyArray<Day>
  /** The alert threshold on f1_ped (default 0.5). */
  readonly alertBelow?: number
}

/** What the walkthrough leaves behind, for a test to check. */
export interface Result {
  /** The sandbox project (a git repository) and its FLOR_HOME. */
  readonly dir: string
  readonly home: string
  readonly env: NodeJS.ProcessEnv
  /** The runs of train.ts, oldest first, with their day. */
  readonly runs: ReadonlyArray<{ readonly tstamp: string; readonly day: Day }>
  /** Today's script (with the f1_ped statement). */
  readonly today: string
  /** What `flor replay` printed on stdout (the plan and the report). */
  readonly replayReport: string
  /** rollback.ts's logged decision. */
  readonly regressionAt: string | null
  readonly rollbackTo: string | null
  readonly rollbackEpoch: number | null
  readonly seconds: number
  /** Deletes the sandbox. */
  readonly cleanup: () => void
}

/** Records the story; see the module comment. */
export const walkthrough = async (options: Options = {}): Promise<Result> => {
  const print = options.print ?? ((line: string) => console.log(line))
  const days = options.days ?? DAYS
  const alertBelow = options.alertBelow ?? 0.5
  const started = performance.now()
  const p = project({
    name: "roundabouts",
    files: Object.fromEntries(["train.ts", "stream.ts", "registry.ts", "rollback.ts"].map((f) => [f, path.join(here, f)])),
    links: ["@tensorflow/tfjs"],
    author: "alice",
    print
  })
  const { dir, env, flor, florJson, git, home, tsx, write } = p
  const step = (text: string) => print(`\n== ${text}`)

  try {
    step(`a sandbox git repository with flordb installed: ${dir}`)
    await git("init", "-q", "-b", "main")

    step("continuous training: each day a labeled batch arrives (stream.json), is committed, and train.ts fine-tunes the published model")
    const runs: Array<{ tstamp: string; day: Day }> = []
    for (const day of days) {
      print("")
      if (day.edit !== undefined) write("train.ts", day.edit(p.read("train.ts")))
      write("stream.json", `${JSON.stringify({ batch: day.batch, shift: day.shift })}\n`)
      await git("add", "-A")
      await git("commit", "-qm", day.message)
      const out = await tsx("train.ts", "--kwargs", `seed=${day.seed}`)
      const tstamp = /^run (\S+),/.exec(out.stdout)?.[1]
      if (tstamp === undefined) throw new Error(`train.ts did not print its run: ${out.stdout}`)
      runs.push({ tstamp, day })
    }
    const first = runs[0]!.tstamp
    const epochs = 4
    print("")
    await flor("dataframe", "batch", "shift", "seed", "f1_score", "f1_round", "--where", `epoch = ${epochs}`)
    print("f1_round climbs as roundabouts get labeled; the global f1_score hardly moves.")

    step("Bob: \"the new models miss pedestrians\". Nobody logged a pedestrian metric; add one to today's script")
    const today = logPedestrianF1(p.read("train.ts"))
    write("train.ts", today)
    await git("diff", "-U0", "train.ts")
    await git("commit", "-qam", "log the pedestrian F1")

    step("hindsight logging: replay every past run (each in its own version of the code) with the new statement")
    const replay = await flor("replay", "f1_ped", `tstamp >= '${first}'`, "--yes")

    step("the dataframe of Fig. 5.4: f1_ped is filled in for every run, as if it had been logged all along")
    await flor("dataframe", "batch", "shift", "seed", "f1_score", "f1_round", "f1_ped", "--where", `epoch = ${epochs}`)

    step(`when did the regression begin, and which model do we roll back to? (alert when f1_ped < ${alertBelow})`)
    await tsx("rollback.ts", "--kwargs", `alert_below=${alertBelow}`)
    const decision = (await florJson("dataframe", "regression_at", "rollback_to", "rollback_epoch")).find((r) =>
      r.filename === "rollback.ts"
    )
    const str = (v: unknown) => (typeof v === "string" ? v : null)
    const seconds = (performance.now() - started) / 1000
    print(`\nDone in ${seconds.toFixed(0)} s. Explore: cd ${dir} && FLOR_HOME=${home} npx flor --help`)
    return {
      dir,
      home,
      env,
      runs,
      today,
      replayReport: replay.stdout,
      regressionAt: str(decision?.regression_at),
      rollbackTo: str(decision?.rollback_to),
      rollbackEpoch: typeof decision?.rollback_epoch === "number" ? decision.rollback_epoch : null,
      seconds,
      cleanup: p.cleanup
    }
  } catch (e) {
    print(`walkthrough failed; the sandbox is kept at ${dir}`)
    throw e
  }
}

if (isEntry(import.meta.url)) await walkthrough()
