import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { makeSandbox } from "./support/sandbox.js"

/** A long-lived process (a web app, a notebook) commits many times: each commit is a run of its own. */
const script = `import * as Effect from "effect/Effect"
import { commit, log, loop, main, range } from "flordb"

main(Effect.gen(function*() {
  for (let round = 1; round <= 5; round++) {
    yield* loop("page", range(3), (p) => log("page_color", round * 10 + p))
    yield* commit
    console.log("committed " + round)
  }
  yield* log("page_color", -1)
}))
`

describe("commit, many times in one process, under the record layer", () => {
  const sb = makeSandbox("commits")
  afterAll(() => sb.cleanup())

  it("stores every round as its own run, in order, with its own records", async () => {
    fs.writeFileSync(path.join(sb.dir, "app.ts"), script)
    sb.git("add", "-A")
    sb.git("commit", "-qm", "app")
    const r = await sb.tsxAsync("app.ts")
    expect(r.stderr).toBe("")
    expect(r.stdout.trim().split("\n")).toEqual([1, 2, 3, 4, 5].map((i) => `committed ${i}`))
    expect(r.status).toBe(0)
    const runs = JSON.parse((await sb.florAsync("runs", "--format", "json")).stdout) as Array<{ tstamp: string; status: string }>
    expect(runs).toHaveLength(6)
    expect(runs.every((x) => x.status === "committed")).toBe(true)
    expect(new Set(runs.map((x) => x.tstamp)).size).toBe(6)
    const rows = JSON.parse((await sb.florAsync("dataframe", "page_color", "--format", "json")).stdout) as Array<
      { tstamp: string; page: number | null; page_color: number }
    >
    const byRun = new Map<string, Array<number>>()
    for (const row of rows) byRun.set(row.tstamp, [...(byRun.get(row.tstamp) ?? []), row.page_color])
    expect([...byRun.keys()].sort()).toEqual(runs.map((x) => x.tstamp).sort())
    expect([...byRun.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v)).toEqual([
      [10, 11, 12],
      [20, 21, 22],
      [30, 31, 32],
      [40, 41, 42],
      [50, 51, 52],
      [-1]
    ])
  }, 120_000)
})
