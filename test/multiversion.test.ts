import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeSandbox, repoRoot, type Sandbox } from "./support/sandbox.js"

const v1 = fs.readFileSync(path.join(repoRoot, "examples/train/train.ts"), "utf8")
/** v2: a renamed variable. */
const v2 = v1.replaceAll("net", "network").replace("const network = makeModel", "const network = makeModel")
/** v3: an extra metric. */
const v3 = v2
  .replace("columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number }",
    "columns: { loss: Schema.Number, acc: Schema.Number, test_acc: Schema.Number, train_acc: Schema.Number }")
  .replace("yield* flor.log(\"test_acc\", yield* Effect.sync(() => accuracy(network, data, data.test)))",
    "yield* flor.log(\"test_acc\", yield* Effect.sync(() => accuracy(network, data, data.test)))\n  yield* flor.log(\"train_acc\", yield* Effect.sync(() => accuracy(network, data, data.train)))")
/** v4: the step loop moved into a helper function. */
const v4 = v3
  .replace(
    "        yield* flor.loop(\"step\", range(batches.length), (step) =>\n          Effect.flatMap(\n            Effect.sync(() => trainStep(network, opt, data, batches[step]!)),\n            (loss) => flor.log(\"loss\", loss)\n          ))",
    "        yield* trainEpoch(batches)"
  )
  .replace(
    "  yield* checkpointing(",
    "  const trainEpoch = (batches: Array<Int32Array>) =>\n    flor.loop(\"step\", range(batches.length), (step) =>\n      Effect.flatMap(\n        Effect.sync(() => trainStep(network, opt, data, batches[step]!)),\n        (loss) => flor.log(\"loss\", loss)\n      ))\n\n  yield* checkpointing("
  )
/** Today: v4 plus an epoch-level and a step-level hindsight statement. */
const today = v4
  .replace("test_acc: Schema.Number, train_acc: Schema.Number }",
    "test_acc: Schema.Number, train_acc: Schema.Number, grad_norm: Schema.Number, step_loss: Schema.Number }")
  .replace("import { accuracy, epochBatches,", "import { accuracy, epochBatches, gradNorm,")
  .replace("        (loss) => flor.log(\"loss\", loss)\n      ))",
    "        (loss) => Effect.zipRight(flor.log(\"loss\", loss), flor.log(\"step_loss\", loss * 2))\n      ))")
  .replace("yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(network, data, data.val)))",
    "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(network, data, data.val)))\n        yield* flor.log(\"grad_norm\", yield* Effect.sync(() => gradNorm(network, data, data.val)))")

const KW = (lr: string, seed: number) => ["--kwargs", `lr=${lr}`, `seed=${seed}`, "epochs=3", "samples=600", "hidden=16"]

/** Hashes the user's files, index, HEAD and refs (not the shadow branch). */
const snapshotOf = (sb: Sandbox) => {
  const h = createHash("sha256")
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === "node_modules" || (d === sb.dir && e.name === ".git")) continue
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else h.update(p).update(fs.readFileSync(p))
    }
  }
  walk(sb.dir)
  for (const f of ["index", "HEAD"]) h.update(fs.readFileSync(path.join(sb.dir, ".git", f)))
  h.update(sb.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/main", "refs/tags"))
  h.update(sb.git("status", "--porcelain"))
  return h.digest("hex")
}

describe("flor replay across versions", () => {
  let sb: Sandbox
  const json = (...args: Array<string>) => JSON.parse(sb.flor(...args, "--format", "json").stdout) as Array<Record<string, unknown>>

  beforeAll(async () => {
    sb = makeSandbox("mv-project", { links: ["@tensorflow/tfjs"] })
    delete sb.env.FLOR_BACKEND
    Object.assign(sb.env, { FLOR_EPSILON: "1e9", FLOR_RESTORE_RATIO: "0" })
    fs.copyFileSync(path.join(repoRoot, "examples/train/model.ts"), path.join(sb.dir, "model.ts"))
    const record = async (source: string, message: string, lr: string, seed: number) => {
      fs.writeFileSync(path.join(sb.dir, "train.ts"), source)
      sb.git("add", "-A")
      sb.git("commit", "-qm", message)
      const r = await sb.tsxAsync("train.ts", ...KW(lr, seed))
      expect(r.stderr, message).toBe("")
    }
    expect(v4).toContain("yield* trainEpoch(batches)")
    await record(v1, "v1", "0.01", 1)
    await record(v2, "v2 rename", "0.02", 2)
    await record(v3, "v3 extra metric", "0.01", 3)
    await record(v4, "v4 moved block", "0.03", 4)
    // the truth: today's script recorded from the start with the same kwargs
    fs.writeFileSync(path.join(sb.dir, "truth.ts"), today)
    for (const [lr, seed] of [["0.01", 1], ["0.02", 2], ["0.01", 3], ["0.03", 4]] as const) {
      expect((await sb.tsxAsync("truth.ts", ...KW(lr, seed))).stderr).toBe("")
    }
    fs.writeFileSync(path.join(sb.dir, "train.ts"), today) // uncommitted edit, as a user would have
    fs.writeFileSync(path.join(sb.dir, "notes.txt"), "untracked\n")
    sb.git("add", "truth.ts") // a staged change too
  }, 300_000)
  afterAll(() => sb.cleanup())

  const byRun = (rows: Array<Record<string, unknown>>, col: string) =>
    rows.filter((r) => r[col] !== null).map((r) => `${r.lr}/${r.seed}/${r.epoch}/${r.step ?? ""}=${r[col]}`).sort()

  it("plans with scan kinds and estimates; --dry-run writes nothing; no TTY without --yes refuses", () => {
    const dry = sb.flor("replay", "grad_norm", "--dry-run")
    expect(dry.status).toBe(0)
    expect(dry.stdout).toContain("validation")
    expect(dry.stdout).toMatch(/4 rows/)
    const refused = sb.flor("replay", "grad_norm")
    expect(refused.status).not.toBe(0)
    expect(refused.stderr).toContain("--yes")
    expect(json("dataframe", "grad_norm").filter((r) => r.filename === "train.ts")).toEqual([])
  })

  it("backfills an epoch-level statement into the runs a WHERE clause selects, across 4 versions", async () => {
    const before = snapshotOf(sb)
    const r = await sb.florAsync("replay", "grad_norm", "lr < 0.025 AND filename = 'train.ts'", "--yes", "--jobs", "2")
    expect(r.stderr).not.toContain("FAILED")
    expect(r.status).toBe(0)
    expect(snapshotOf(sb)).toBe(before)
    const rows = json("dataframe", "lr", "seed", "grad_norm")
    const got = byRun(rows.filter((r) => r.filename === "train.ts"), "grad_norm")
    const truth = byRun(rows.filter((r) => r.filename === "truth.ts" && (r.lr as number) < 0.025), "grad_norm")
    expect(got).toHaveLength(3 * 3)
    expect(got).toEqual(truth)
    // each replayed run keeps its measured replay start-up for the next estimates, and nothing else new
    const startups = json("dataframe", "lr", "flor.replay_startup_s").filter((r) => r.filename === "train.ts" && (r.lr as number) < 0.025)
    expect(startups.map((r) => typeof r["flor.replay_startup_s"])).toEqual(["number", "number", "number"])
    expect(startups.every((r) => (r["flor.replay_startup_s"] as number) > 0)).toBe(true)
  }, 300_000)

  it("backfills a step-level statement (range scans) keyed to the original loop coordinates; re-running writes no duplicates", async () => {
    const before = snapshotOf(sb)
    const where = "seed >= 3 AND filename = 'train.ts'"
    expect((await sb.florAsync("replay", "step_loss", where, "--yes")).status).toBe(0)
    expect((await sb.florAsync("replay", "step_loss", where, "--yes")).status).toBe(0)
    expect(snapshotOf(sb)).toBe(before)
    const rows = json("dataframe", "lr", "seed", "step_loss")
    const got = byRun(rows.filter((r) => r.filename === "train.ts"), "step_loss")
    const truth = byRun(rows.filter((r) => r.filename === "truth.ts" && (r.seed as number) >= 3), "step_loss")
    expect(got.length).toBeGreaterThan(3 * 2 * 2)
    expect(got).toEqual(truth)
  }, 300_000)

  it("a WHERE clause that writes, has two statements or names an unknown column is refused", () => {
    for (const [where, msg] of [["1=1; DELETE FROM df", /one SQL statement/], ["nosuch > 1", /unknown column/]] as const) {
      const r = sb.flor("replay", "grad_norm", where, "--yes")
      expect(r.status).not.toBe(0)
      expect(r.stderr).toMatch(msg)
    }
  })
})
