/**
 * Exactness of checkpoint/restore: training interrupted after k epochs (process A), restored into
 * fresh objects in another process (B) and continued, logs exactly what an uninterrupted run (C) logs.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { repoRoot, tsxBin } from "./support/sandbox.js"

interface Output {
  readonly backend: string
  readonly values: ReadonlyArray<{ readonly epoch: number; readonly loss: ReadonlyArray<string>; readonly acc: string }>
}

const fixture = path.join(repoRoot, "test/fixtures/train-resume.ts")
const dirs: Array<string> = []
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

const run = (...args: Array<string>): Output => {
  const r = spawnSync(tsxBin, [fixture, ...args], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 })
  expect(r.stderr).toBe("")
  expect(r.status).toBe(0)
  return JSON.parse(r.stdout) as Output
}

const K = 2
const N = 4

describe("a resumed training run is bit-identical to an uninterrupted one", () => {
  it.each(["adam", "sgd", "rmsprop"])("%s", (optimizerName) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flordb-exact-"))
    dirs.push(dir)
    const a = run("first", String(K), dir, optimizerName)
    const b = run("resume", String(K), String(N), dir, optimizerName)
    const c = run("full", String(N), optimizerName)
    expect(c.backend).toBe("wasm")
    expect(c.values.map((v) => v.epoch)).toEqual([0, 1, 2, 3])
    expect([...a.values, ...b.values]).toEqual(c.values)
    // the resumed epochs must differ from the first ones (the test would be vacuous otherwise)
    expect(b.values[0]!.loss).not.toEqual(c.values[0]!.loss)
  }, 180_000)
})
