/**
 * Concurrency: 8 processes record into one project while a reader runs
 * `flor dataframe` in a loop. Nothing is lost, nothing is busy, and readers only
 * ever see whole runs.
 */
import * as Effect from "effect/Effect"
import { afterAll, describe, expect, it } from "vitest"
import { tstampOf } from "../../src/domain/Ids.js"
import type { RunHeader } from "../../src/domain/Run.js"
import * as FileJournal from "../../src/layers/FileJournal.js"
import { buildContext } from "../../src/layers/TestLayer.js"
import * as SqliteStore from "../../src/layers/SqliteStore.js"
import { Store } from "../../src/services/Store.js"
import { expectContiguous, json, journals, runsOf, start, steadySandbox } from "./support.js"

const PROJ = "concurrent-project"
const WRITERS = 8
const EPOCHS = 4
const STEPS = 100
const SEQ = EPOCHS * STEPS

describe("concurrency", () => {
  const sb = steadySandbox(PROJ)
  afterAll(() => sb.cleanup())

  it(`${WRITERS} processes record at once while a reader loops: every record stored, no SQLITE_BUSY, whole runs only`, async () => {
    const writers = Array.from({ length: WRITERS }, () =>
      start(sb, "steady.ts", ["--kwargs", `epochs=${EPOCHS}`, `steps=${STEPS}`, "ms=4"]))
    let done = false
    const codes = Promise.all(writers.map((w) => w.exited)).finally(() => {
      done = true
    })
    const reads: Array<Map<string, number>> = []
    const problems: Array<string> = []
    const reader = (async () => {
      for (let i = 0; !done || i < 2; i++) {
        // alternate the pivoted dataframe and a raw SQL count (its own read-only connection)
        const r = i % 2 === 0
          ? await sb.florAsync("dataframe", "seq", "--format", "json")
          : await sb.florAsync(
            "query",
            "SELECT r.tstamp, count(*) AS n FROM logs l JOIN runs r USING (run_id) WHERE l.value_name = 'seq' GROUP BY r.tstamp",
            "--format",
            "json"
          )
        if (i % 2 === 0 && r.status === 1 && /^flor: unknown column 'seq'/.test(r.stderr)) {
          reads.push(new Map()) // nothing stored yet
          continue
        }
        if (r.status !== 0 || r.stderr !== "") {
          problems.push(`read ${i}: exit ${r.status}: ${r.stderr}`)
          continue
        }
        const counts = new Map<string, number>()
        for (const row of JSON.parse(r.stdout) as Array<Record<string, unknown>>) {
          const t = row.tstamp as string
          counts.set(t, (counts.get(t) ?? 0) + (i % 2 === 0 ? 1 : row.n as number))
        }
        reads.push(counts)
      }
    })()
    // and the store's own read path in this process, as fast as it goes
    const inProcess = Effect.gen(function*() {
      const store = yield* Store
      const seen: Array<Map<string, number>> = []
      while (!done) {
        const frame = yield* store.dataframe(["seq"])
        const counts = new Map<string, number>()
        for (const row of frame.rows) counts.set(row.tstamp as string, (counts.get(row.tstamp as string) ?? 0) + 1)
        seen.push(counts)
        yield* Effect.sleep("50 millis")
      }
      return seen
    }).pipe(Effect.provide(SqliteStore.layer(sb.home, PROJ)), Effect.runPromise)
    expect(await codes).toEqual(Array(WRITERS).fill(0))
    await reader
    const fast = await inProcess
    expect(fast.length).toBeGreaterThanOrEqual(10)
    for (const counts of fast) for (const [t, n] of counts) expect(n, `run ${t} seen partially`).toBe(SEQ)
    console.log(
      `[reliability] in-process reads: ${fast.length}, runs seen: ${[...new Set(fast.map((r) => r.size))].join(" ")}`
    )
    for (const w of writers) expect(w.stderr()).toBe("")
    expect(problems).toEqual([])
    expect(reads.length).toBeGreaterThanOrEqual(2)
    // a run is absent or whole in every read
    for (const counts of reads) for (const [t, n] of counts) expect(n, `run ${t} seen partially`).toBe(SEQ)
    console.log(
      `[reliability] concurrent reads: ${reads.length}, runs seen per read: ${reads.map((r) => r.size).join(" ")}`
    )

    const runs = runsOf(sb)
    expect(runs).toHaveLength(WRITERS)
    expect(new Set(runs.map((r) => r.tstamp)).size).toBe(WRITERS)
    expect(runs.every((r) => r.status === "committed")).toBe(true)
    expect(journals(sb, PROJ).size).toBe(0)
    const frame = json(sb.flor("dataframe", "seq", "--format", "json"))
    let lost = 0
    for (const run of runs) {
      const seq = frame.filter((r) => r.tstamp === run.tstamp).map((r) => r.seq as number)
      lost += SEQ - seq.length
      expectContiguous(seq)
    }
    console.log(`[reliability] concurrent runs: ${WRITERS}, records: ${frame.length}, lost: ${lost}`)
    expect(lost).toBe(0)
    expect(frame).toHaveLength(WRITERS * SEQ)
    // each run's log is on the shadow branch exactly once
    const logs = sb.git("log", "--format=", "--name-only", "refs/heads/flor.shadow").split("\n").filter((l) =>
      l.startsWith(".flor/logs/")
    )
    expect(logs.sort()).toEqual(runs.map((r) => `.flor/logs/${r.tstamp}.jsonl`).sort())
  }, 200_000)

  it("runs started in the same millisecond get distinct tstamps", async () => {
    const journal = FileJournal.make(sb.home)
    const now = Date.now()
    const header = (pid: number): RunHeader => ({
      projid: "same-ms",
      tstamp: tstampOf(now),
      filename: "steady.ts",
      start_time: now,
      tree: null,
      build: buildContext({ mem_total: 1, pid })
    })
    const tstamps = await Effect.runPromise(
      Effect.scoped(Effect.forEach(
        Array.from({ length: 16 }, (_, i) => i),
        (i) => Effect.map(journal.open(header(i)), ([, h]) => h.tstamp),
        { concurrency: "unbounded" }
      ))
    )
    expect(new Set(tstamps).size).toBe(16)
    expect(tstamps).toContain(tstampOf(now))
    expect(journals(sb, "same-ms").size).toBe(16)
  })
})
