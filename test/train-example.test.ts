import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeSandbox, repoRoot, type Sandbox } from "./support/sandbox.js"

const exampleDir = path.join(repoRoot, "examples/train")

describe("the train example, installed into another project", () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = makeSandbox("train-project", { links: ["@tensorflow/tfjs"] })
    delete sb.env.FLOR_BACKEND
    const files = fs.readdirSync(exampleDir).filter((f) => f.endsWith(".ts"))
    for (const f of files) fs.copyFileSync(path.join(exampleDir, f), path.join(sb.dir, f))
    sb.git("add", ".gitignore", "package.json", ...files)
    sb.git("commit", "-qm", "init")
  })
  afterAll(() => sb.cleanup())

  const json = (...args: Array<string>) => {
    const r = sb.flor(...args, "--format", "json")
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    return JSON.parse(r.stdout) as Array<Record<string, unknown>>
  }

  it("trains, logs a loss per step and an accuracy per epoch, and records the backend", () => {
    const out = sb.tsx("train.ts", "--kwargs", "epochs=2")
    expect(out.stderr).toBe("")
    expect(out.status).toBe(0)

    // 3000 samples, 70% for training, batches of 32: 66 steps per epoch
    const rows = json("dataframe", "loss", "acc")
    expect(rows).toHaveLength(2 * 66)
    expect(rows[0]).toMatchObject({ projid: "train-project", filename: "train.ts", epoch: 1, step: 1 })
    expect(rows.at(-1)).toMatchObject({ epoch: 2, step: 66 })
    for (const row of rows) {
      expect(typeof row.loss).toBe("number")
      expect(row.acc).toBeGreaterThan(0.5)
      expect(row.acc).toBeLessThanOrEqual(1)
    }

    const top = json("dataframe", "test_acc", "epochs", "optimizer", "backend")
    expect(top).toHaveLength(1)
    expect(top[0]).toMatchObject({ epochs: 2, optimizer: "adam", backend: "wasm" })
    expect(top[0]!.test_acc).toBeGreaterThan(0.5)
  })
})
