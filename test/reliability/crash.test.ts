/**
 * Crashes: kill -9 mid-epoch, torn journals, partial and corrupt checkpoints,
 * SIGINT/SIGTERM. Nothing flushed is lost; nothing partial is read as valid.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeComponent } from "../../src/layers/LocalObjectStore.js"
import { runReplay } from "../../src/layers/ReplayRunner.js"
import * as SqliteStore from "../../src/layers/SqliteStore.js"
import { Store } from "../../src/services/Store.js"
import {
  expectContiguous,
  headerOf,
  json,
  journals,
  probeSource,
  runsOf,
  seqLines,
  seqOf,
  sleep,
  start,
  steadySandbox
} from "./support.js"

const PROJ = "crash-project"
const STEPS = 40
const ARGS = ["--kwargs", "epochs=1000", `steps=${STEPS}`, "ms=4"]

describe("crashes", () => {
  const sb = steadySandbox(PROJ)
  const tally = { injected: 0, survived: 0 }
  afterAll(() => {
    console.log(`[reliability] crashes injected: ${tally.injected}, survived: ${tally.survived}`)
    sb.cleanup()
  })
  beforeAll(() => {
    // today's script has a hindsight statement; the recorded version does not
    fs.writeFileSync(path.join(sb.dir, "probe.ts"), probeSource)
  })

  const storeRun = <A, E>(effect: Effect.Effect<A, E, Store>) =>
    Effect.runPromise(Effect.provide(effect, SqliteStore.layer(sb.home, PROJ)))

  const checkpointsOf = (tstamp: string) =>
    json(sb.flor(
      "query",
      `SELECT c.loop_iteration AS i, c.uri FROM checkpoints c JOIN runs r USING (run_id) WHERE r.tstamp = '${tstamp}' ORDER BY i`,
      "--format",
      "json"
    )) as Array<{ i: number; uri: string }>

  let crashed = ""

  it("kill -9 mid-epoch: the run is crashed, every record flushed before the kill is stored (≤ 1 s lost)", async () => {
    const run = start(sb, "steady.ts", ARGS)
    await run.reach(6 * STEPS + STEPS / 2)
    // and at least two checkpoints have been on disk for more than a second
    const dir = path.join(sb.home, "obj_store", PROJ, encodeComponent(headerOf([...journals(sb, PROJ).values()][0]!).tstamp), "steady.ts")
    const written = (before: number) =>
      (fs.existsSync(dir) ? fs.readdirSync(dir) : []).filter((f) => /^epoch-\d+\.ckpt$/.test(f))
        .filter((f) => fs.statSync(path.join(dir, f)).mtimeMs <= before)
        .map((f) => Number(/\d+/.exec(f)![0])).sort((a, b) => a - b)
    for (let waited = 0; written(Date.now() - 1100).length < 2; waited += 20) {
      expect(waited, "checkpoints are written").toBeLessThan(60_000)
      await sleep(20)
    }
    // mid-epoch
    while (run.last() % STEPS < STEPS / 4 || run.last() % STEPS > (3 * STEPS) / 4) await sleep(2)
    // what reached the disk just before the kill
    const [[file, text]] = [...journals(sb, PROJ)] as [[string, string]]
    const flushed = seqLines(text)
    const killedAt = Date.now()
    const onDisk = written(killedAt - 1000)
    process.kill(-run.child.pid!, "SIGKILL")
    tally.injected++
    await run.exited
    const mustHave = run.seen.filter(([t]) => t <= killedAt - 1000).at(-1)?.[1] ?? 0
    console.log(`[reliability] kill -9 at seq ${run.last()} (epoch ${Math.ceil(run.last() / STEPS)}), ${flushed} on disk`)
    expect(fs.existsSync(file), "the journal outlives the process").toBe(true)
    crashed = headerOf(text).tstamp

    const runs = runsOf(sb)
    expect(runs.find((r) => r.tstamp === crashed)).toMatchObject({ status: "crashed", filename: "steady.ts" })
    expect(fs.existsSync(file), "recovered journals are removed").toBe(false)
    const seq = seqOf(sb, crashed)
    expectContiguous(seq)
    expect(seq.length).toBeGreaterThanOrEqual(flushed)
    expect(seq.length).toBeGreaterThanOrEqual(mustHave)
    expect(seq.length).toBeLessThanOrEqual(run.last() + 1)
    // the replays below need epochs 1-4 whole
    expect(seq.length).toBeGreaterThanOrEqual(4 * STEPS)
    // completed epochs have their per-epoch value
    const acc = json(sb.flor("dataframe", "acc", "--where", `tstamp = '${crashed}'`, "--format", "json"))
    const epochs = Math.floor(seq.length / STEPS)
    expect(acc.length).toBeLessThanOrEqual(epochs)
    expect(acc.length).toBeGreaterThanOrEqual(seq.length % STEPS === 0 ? epochs - 1 : epochs)
    // every checkpoint file written a second before the kill is referenced by the run
    expect(onDisk.length).toBeGreaterThanOrEqual(2)
    const referenced = checkpointsOf(crashed).map((c) => c.i)
    expect(referenced.slice(0, onDisk.length)).toEqual(onDisk)
    tally.survived++
  }, 120_000)

  const replay = (from: number, to: number) =>
    storeRun(runReplay({
      script: path.join(sb.dir, "probe.ts"),
      cwd: sb.dir,
      argv: [],
      plan: { projid: PROJ, tstamp: crashed, filename: "steady.ts", kind: "range", probes: ["probe"], from, to },
      workers: 1,
      env: sb.env
    }))

  /** The backfilled probes of epochs [from, to) equal 2 × the recorded seq at the same coordinates. */
  const expectProbes = (from: number, to: number) => {
    const rows = json(sb.flor("dataframe", "seq", "probe", "--where", `tstamp = '${crashed}'`, "--format", "json"))
    const probed = rows.filter((r) => r.probe !== null)
    expect(probed).toHaveLength((to - from) * STEPS)
    for (const r of probed) {
      expect(r.epoch as number).toBeGreaterThanOrEqual(from)
      expect(r.epoch as number).toBeLessThan(to)
      expect(r.probe).toBe(2 * (r.seq as number))
    }
  }

  it("checkpoints written before the kill restore a range replay of the crashed run", async () => {
    expect(crashed).not.toBe("")
    const summary = await replay(3, 5)
    expect(summary).toMatchObject({ restores: 1, outer: 2, divergences: 0 })
    expect(summary.written).toBeGreaterThanOrEqual(2 * STEPS)
    expect(summary.compared).toBeGreaterThanOrEqual(2 * STEPS)
    expectProbes(3, 5)
  }, 120_000)

  it("a corrupt checkpoint (one byte flipped) is not restored: replay falls back to the one before", async () => {
    const obj = path.join(sb.home, "obj_store")
    const second = path.join(obj, checkpointsOf(crashed)[1]!.uri)
    const bytes = fs.readFileSync(second)
    bytes[bytes.length >> 1] ^= 0xff
    fs.writeFileSync(second, bytes)
    tally.injected++
    const summary = await replay(3, 5)
    // epoch 2 re-executed from epoch 1's checkpoint: three outer iterations, still exact
    expect(summary).toMatchObject({ restores: 1, outer: 3, divergences: 0 })
    expectProbes(3, 5)
    tally.survived++
  }, 120_000)

  it("a truncated checkpoint and a complete-looking temp file beside it are not read: replay starts over", async () => {
    const obj = path.join(sb.home, "obj_store")
    const first = path.join(obj, checkpointsOf(crashed)[0]!.uri)
    const bytes = fs.readFileSync(first)
    // a write killed before its rename leaves a temp file; a torn file is shorter than its checksum says
    fs.writeFileSync(path.join(path.dirname(first), `.${path.basename(first)}.4242.0123456789ab.tmp`), bytes)
    fs.writeFileSync(first, bytes.subarray(0, bytes.length >> 1))
    tally.injected++
    const summary = await replay(3, 5)
    expect(summary).toMatchObject({ restores: 0, outer: 4, divergences: 0 })
    expectProbes(3, 5)
    tally.survived++
  }, 120_000)

  it("a journal torn mid-line is recovered up to its last whole line; the stored log is whole lines only", async () => {
    const run = start(sb, "steady.ts", ARGS)
    await run.reach(STEPS + 5)
    process.kill(-run.child.pid!, "SIGKILL")
    tally.injected++
    await run.exited
    const [[file, text]] = [...journals(sb, PROJ)] as [[string, string]]
    const lastLine = text.lastIndexOf("\n", text.length - 2) + 1
    const torn = text.slice(0, lastLine + 4) // the last record cut after 4 bytes
    fs.writeFileSync(file, torn)
    const expected = seqLines(torn)
    // journals whose header never reached the disk: an old one is deleted, a fresh one left alone
    const dir = path.dirname(file)
    fs.writeFileSync(path.join(dir, "2001-01-01T00:00:00.000Z.jsonl"), "{\"flor\":1,\"hea")
    fs.utimesSync(path.join(dir, "2001-01-01T00:00:00.000Z.jsonl"), new Date(2001, 0, 1), new Date(2001, 0, 1))
    fs.writeFileSync(path.join(dir, "2002-01-01T00:00:00.000Z.jsonl"), "\u0000\u0000garbage")
    const tstamp = headerOf(text).tstamp

    const runs = runsOf(sb)
    const recovered = runs.find((r) => r.tstamp === tstamp)
    expect(recovered).toMatchObject({ status: "crashed" })
    expect(runs.filter((r) => String(r.tstamp).startsWith("200"))).toEqual([])
    expect(fs.readdirSync(dir)).toEqual(["2002-01-01T00:00:00.000Z.jsonl"])
    fs.rmSync(path.join(dir, "2002-01-01T00:00:00.000Z.jsonl"))
    const seq = seqOf(sb, tstamp)
    expectContiguous(seq)
    expect(seq).toHaveLength(expected)
    // the run log committed on the shadow branch: whole JSON lines, the end marker last
    const log = sb.git("show", `${recovered!.vid as string}:.flor/logs/${tstamp}.jsonl`).trimEnd().split("\n")
    for (const line of log) expect(() => JSON.parse(line), line).not.toThrow()
    expect(log.at(-1)).toMatch(/^\[2,"crashed",\d+\]$/)
    tally.survived++
  }, 120_000)

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal}: finalizers run, the run is committed as interrupted with everything logged so far`, async () => {
      const run = start(sb, "steady.ts", ARGS, "node")
      await run.reach(STEPS + 7)
      const before = new Set(journals(sb, PROJ).keys())
      expect(before.size).toBe(1)
      const tstamp = headerOf([...journals(sb, PROJ).values()][0]!).tstamp
      process.kill(run.child.pid!, signal)
      tally.injected++
      expect(await run.exited).toBe(130)
      expect(run.stderr()).toBe("")
      // committed by the process itself, not left for recovery
      expect([...journals(sb, PROJ).keys()]).toEqual([])
      expect(runsOf(sb).find((r) => r.tstamp === tstamp)).toMatchObject({ status: "interrupted" })
      const seq = seqOf(sb, tstamp)
      expectContiguous(seq)
      expect(seq.length).toBeGreaterThanOrEqual(run.last())
      expect(seq.length).toBeLessThanOrEqual(run.last() + 1)
      tally.survived++
    }, 120_000)
  }
})
