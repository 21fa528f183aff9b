import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DAYS, logPedestrianF1, type Result, walkthrough } from "../examples/continuous-training/walkthrough.js"
import { florBin, makeSandbox, repoRoot, type Sandbox } from "./support/sandbox.js"

const exampleDir = path.join(repoRoot, "examples/continuous-training")
/** Small size: three batches before the data shift, two after it. */
const days = DAYS.slice(0, 5)
const shiftBegins = days.findIndex((d) => d.shift > 0)
const EPOCHS = 4

type Rows = Array<Record<string, unknown>>

/** `flor dataframe COLUMNS --format json` in a project, without blocking the test worker. */
const frame = (dir: string, env: NodeJS.ProcessEnv, ...columns: Array<string>) =>
  new Promise<Rows>((resolve, reject) => {
    const child = spawn(process.execPath, [florBin, "dataframe", ...columns, "--format", "json"], { cwd: dir, env })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    child.on("error", reject)
    child.on("close", (status) =>
      status === 0 && stderr === ""
        ? resolve(JSON.parse(stdout) as Rows)
        : reject(new Error(`flor dataframe ${columns.join(" ")}: ${status} ${stderr}`)))
  })

/** `batch/epoch → value` of a per-epoch column of train.ts's runs. */
const byBatchEpoch = (rows: Rows, column: string) =>
  Object.fromEntries(
    rows.filter((r) => r.filename === "train.ts" && r[column] !== null).map((r) => [`${r.batch}/${r.epoch}`, r[column]])
  )

describe("the continuous-training walkthrough (catastrophic forgetting, hindsight f1_ped, rollback)", () => {
  let result: Result | undefined
  let truth: Sandbox | undefined
  const story: Array<string> = []
  /** One row per run (args and top-level logs, of train.ts and rollback.ts). */
  let runs: Rows = []
  /** Per-epoch metrics of the walkthrough's runs, and of the truth's. */
  let epochs: Rows = []
  let truthEpochs: Rows = []

  beforeAll(async () => {
    expect(shiftBegins).toBeGreaterThan(0)
    // The truth: today's script (the day's code changes plus the f1_ped statement) recorded from
    // the start with the same args, in a project of its own (its own chain of fine-tuned models).
    // It is recorded while the walkthrough runs: the two chains are independent.
    const today = logPedestrianF1(
      days.reduce((source, d) => d.edit?.(source) ?? source, fs.readFileSync(path.join(exampleDir, "train.ts"), "utf8"))
    )
    const sb = truth = makeSandbox("roundabouts-truth", { links: ["@tensorflow/tfjs"] })
    delete sb.env.FLOR_BACKEND
    for (const f of ["stream.ts", "registry.ts"]) fs.copyFileSync(path.join(exampleDir, f), path.join(sb.dir, f))
    fs.writeFileSync(path.join(sb.dir, "train.ts"), today)
    fs.writeFileSync(path.join(sb.dir, "stream.json"), JSON.stringify({ batch: 1, shift: 0 }))
    sb.git("add", "-A")
    sb.git("commit", "-qm", "today's script")
    const recordTruth = async () => {
      for (const d of days) {
        const r = await sb.tsxAsync("train.ts", "--kwargs", `batch=${d.batch}`, `shift=${d.shift}`, `seed=${d.seed}`)
        expect(r.stderr, `truth batch ${d.batch}`).toBe("")
        expect(r.status).toBe(0)
      }
    }
    const [walked] = await Promise.all([walkthrough({ days, print: (line) => story.push(line) }), recordTruth()])
    result = walked
    expect(result.today).toBe(today)
    const metrics = ["batch", "f1_score", "f1_round", "f1_ped"]
    ;[runs, epochs, truthEpochs] = await Promise.all([
      frame(result.dir, result.env),
      frame(result.dir, result.env, ...metrics, "vid"),
      frame(sb.dir, sb.env, ...metrics)
    ])
  }, 300_000)
  afterAll(() => {
    result?.cleanup()
    truth?.cleanup()
  })

  it("records one run per day, each a new committed version, fine-tuned from the previous run's best checkpoint", () => {
    const r = result!
    expect(r.runs.map((x) => x.day.batch)).toEqual(days.map((d) => d.batch))
    const top = runs.filter((x) => x.filename === "train.ts")
    expect(top.map((x) => x.tstamp)).toEqual(r.runs.map((x) => x.tstamp))
    expect(top.map((x) => x.shift)).toEqual(days.map((d) => d.shift))
    expect(top[0]!.parent ?? null).toBeNull() // the first run starts fresh
    for (let i = 1; i < top.length; i++) expect(top[i]!.parent).toBe(top[i - 1]!.tstamp)
    const versions = new Set(epochs.filter((x) => x.filename === "train.ts").map((x) => x.vid))
    expect(versions.size).toBe(days.length)
  })

  it("backfills f1_ped into every epoch of every run, with no divergence from the record", () => {
    const report = result!.replayReport.split("\n")
      .map((line) => line.split("│").map((c) => c.trim()).filter((c) => c !== ""))
      .filter((cells) => cells.length === 8 && cells[2] === "validation")
    expect(report).toHaveLength(days.length)
    for (const cells of report) {
      expect(Number(cells[5])).toBeGreaterThanOrEqual(EPOCHS) // written (f1_ped per epoch, plus profiling records)
      expect(cells[6]).toBe("0") // divergences
      expect(cells[7]).toBe("ok")
    }
    const got = byBatchEpoch(epochs, "f1_ped")
    expect(Object.keys(got)).toHaveLength(days.length * EPOCHS)
    for (const v of Object.values(got)) expect(Number.isFinite(v)).toBe(true)
  })

  it("the backfilled values equal a recording of today's script with the same args", () => {
    for (const column of ["f1_ped", "f1_score", "f1_round"]) {
      const want = byBatchEpoch(truthEpochs, column)
      expect(Object.keys(want)).toHaveLength(days.length * EPOCHS)
      expect(byBatchEpoch(epochs, column), column).toEqual(want)
    }
  })

  it("pedestrian F1 collapses when the shift begins while roundabout F1 improves; the regression and the rollback are found", () => {
    const r = result!
    const last = epochs.filter((x) => x.filename === "train.ts" && x.epoch === EPOCHS)
    const ped = last.map((x) => x.f1_ped as number)
    expect(Math.min(...ped.slice(0, shiftBegins))).toBeGreaterThan(0.5)
    expect(Math.max(...ped.slice(shiftBegins))).toBeLessThan(0.5)
    expect(last.at(-1)!.f1_round as number).toBeGreaterThan((last[0]!.f1_round as number) + 0.2)

    expect(r.regressionAt).toBe(r.runs[shiftBegins]!.tstamp)
    expect(r.rollbackTo).toBe(r.runs[shiftBegins - 1]!.tstamp)
    expect(r.rollbackEpoch).toBe(EPOCHS)
    const rollback = runs.find((x) => x.filename === "rollback.ts")
    expect(rollback?.restored_f1_ped).toBe(ped[shiftBegins - 1]) // the loaded model is the one measured in hindsight
    expect(story.join("\n")).toContain(`the regression began with batch ${days[shiftBegins]!.batch}`)
  })
})
