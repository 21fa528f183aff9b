/**
 * A crash inside commit: the run's end marker, its shadow commit and its store
 * row are three writes. A crash between any two leaves a state that the next
 * command repairs: the run visible once, in the store and on the shadow branch,
 * and `flor unpack` rebuilds the same store.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tstampOf } from "../../src/domain/Ids.js"
import { logLine, loopLine, parseLog } from "../../src/domain/LogFile.js"
import * as FileJournal from "../../src/layers/FileJournal.js"
import { buildContext } from "../../src/layers/TestLayer.js"
import * as GitVersioning from "../../src/layers/GitVersioning.js"
import * as SqliteStore from "../../src/layers/SqliteStore.js"
import { Store } from "../../src/services/Store.js"
import { json, journals, runsOf, type Sandbox, steadySandbox } from "./support.js"

const PROJ = "commit-project"

/** Where the crash happens, in commit order; "reverse" is a store row whose shadow commit was lost. */
type Stop = "after end marker" | "after shadow commit" | "after store write" | "reverse: store written, shadow not"

describe("a crash during commit", () => {
  let sb: Sandbox
  const tally = { injected: 0, survived: 0 }
  beforeAll(async () => {
    sb = steadySandbox(PROJ)
    const r = await sb.tsxAsync("steady.ts", "--kwargs", "epochs=2", "steps=3")
    expect(r.stderr).toBe("")
  }, 60_000)
  afterAll(() => {
    console.log(`[reliability] commit crashes injected: ${tally.injected}, survived: ${tally.survived}`)
    sb.cleanup()
  })

  /** Writes a run the way the recorder's commit does, stopping (crashing) at `stop`. */
  const crashIn = (stop: Stop) =>
    Effect.gen(function*() {
      const versioning = yield* GitVersioning.make(sb.dir)
      const journal = FileJournal.make(sb.home)
      const store = yield* Store
      const tree = yield* versioning.snapshot
      const head = yield* versioning.head
      const dead = spawnSync("true").pid!
      const build = buildContext({
        argv: ["--kwargs", "epochs=1"],
        mem_total: 1,
        hostname: "reliability-test",
        pid: dead,
        git_branch: head.branch,
        git_head: head.head
      })
      const now = Date.now()
      const [writer, header] = yield* journal.open({
        projid: PROJ,
        tstamp: tstampOf(now),
        filename: "steady.ts",
        start_time: now,
        tree,
        build
      })
      yield* writer.append(
        logLine(0, "epochs", 1) + loopLine(1, 0, "epoch", 1, 1, 0) + loopLine(2, 1, "step", 3, 1, 0) +
          logLine(2, "seq", 1) + loopLine(3, 1, "step", 3, 2, 1) + logLine(3, "seq", 2) + logLine(1, "acc", 0.5)
      )
      yield* writer.end("committed", now + 5)
      tally.injected++
      if (stop === "after end marker") return header.tstamp
      const bytes = yield* writer.contents
      const parsed = Either.getOrThrow(parseLog(new TextDecoder().decode(bytes)))
      const vid = yield* versioning.commit(tree, `.flor/logs/${header.tstamp}.jsonl`, bytes, `flor: test ${stop}`)
      if (stop === "after shadow commit") return header.tstamp
      const { logs, loops, checkpoints } = parsed
      yield* store.ingest({ header, status: "committed", vid, endTime: now + 5, logs, loops, checkpoints })
      if (stop === "reverse: store written, shadow not") sb.git("update-ref", "refs/heads/flor.shadow", `${vid}~1`)
      return header.tstamp
    }).pipe(Effect.scoped, Effect.provide(SqliteStore.layer(sb.home, PROJ)), Effect.runPromise)

  const shadowLogs = () =>
    sb.git("log", "--format=%H", "refs/heads/flor.shadow").trim().split("\n").map((oid) =>
      sb.git("ls-tree", "-r", "--name-only", oid, ".flor/logs").trim()
    )

  const stops: ReadonlyArray<Stop> = [
    "after end marker",
    "after shadow commit",
    "after store write",
    "reverse: store written, shadow not"
  ]
  for (const stop of stops) {
    it(`${stop}: the next command stores the run once, in the store and on the shadow branch`, async () => {
      const tstamp = await crashIn(stop)
      expect(journals(sb, PROJ).size).toBe(1)
      const runs = runsOf(sb) // the next command
      expect(journals(sb, PROJ).size, "the journal is removed once the run is stored").toBe(0)
      const mine = runs.filter((r) => r.tstamp === tstamp)
      expect(mine).toHaveLength(1)
      expect(mine[0]).toMatchObject({ status: "committed", filename: "steady.ts" })
      // the store's vid is a shadow commit holding this run's log, and the log is there exactly once
      const vid = mine[0]!.vid as string
      expect(sb.git("merge-base", "--is-ancestor", vid, "refs/heads/flor.shadow")).toBe("")
      const log = sb.git("show", `${vid}:.flor/logs/${tstamp}.jsonl`)
      expect(log.trimEnd().split("\n").at(-1)).toMatch(/^\[2,"committed",\d+\]$/)
      expect(shadowLogs().filter((files) => files.includes(tstamp))).toHaveLength(1)
      const seq = json(sb.flor("dataframe", "seq", "acc", "--where", `tstamp = '${tstamp}'`, "--format", "json"))
      expect(seq.map((r) => [r.seq, r.acc])).toEqual([[1, 0.5], [2, 0.5]])
      tally.survived++
    }, 60_000)
  }

  it("afterwards, `flor unpack` rebuilds an identical store from the shadow branch", () => {
    const runs = sb.flor("runs", "--format", "json").stdout
    const frame = sb.flor("dataframe", "seq", "acc", "epochs", "--format", "json").stdout
    for (const ext of ["", "-wal", "-shm"]) fs.rmSync(path.join(sb.home, `${PROJ}.db${ext}`), { force: true })
    const r = sb.flor("unpack")
    expect(r.stderr).toBe("")
    expect(r.stdout).toContain(`unpacked ${stops.length + 1} runs`)
    expect(sb.flor("runs", "--format", "json").stdout).toBe(runs)
    expect(sb.flor("dataframe", "seq", "acc", "epochs", "--format", "json").stdout).toBe(frame)
  }, 60_000)
})
