/**
 * Replay isolation: single-run and multiversion replays with uncommitted edits,
 * staged and untracked files, a detached HEAD or another branch checked out leave
 * the user's files, index, HEAD and branches byte-identical. Ctrl-C during a
 * multiversion replay removes its temporary directories, writes nothing, and the
 * next replay resumes cleanly.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runReplay } from "../../src/layers/ReplayRunner.js"
import * as SqliteStore from "../../src/layers/SqliteStore.js"
import { florBin } from "../support/sandbox.js"
import {
  json,
  probeSource,
  replayTemps,
  runsOf,
  type Sandbox,
  sleep,
  steadySandbox,
  steadySource,
  userState
} from "./support.js"

const PROJ = "isolation-project"

/** Pids of processes whose working directory is under `dir` (replay workers run in version directories). */
const processesUnder = (dir: string) =>
  fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readlinkSync(`/proc/${p}/cwd`).startsWith(dir)
    } catch {
      return false
    }
  })

describe("replay never touches the user's tree", () => {
  let sb: Sandbox & { readonly tmp: string }
  const runs: Array<string> = []
  beforeAll(async () => {
    sb = steadySandbox(PROJ)
    const record = async (...kwargs: Array<string>) => {
      const before = new Set(runsOf(sb).map((r) => r.tstamp as string))
      const r = await sb.tsxAsync("steady.ts", "--kwargs", ...kwargs)
      expect(r.stderr).toBe("")
      runs.push(runsOf(sb).map((r) => r.tstamp as string).find((t) => !before.has(t))!)
    }
    await record("epochs=3", "steps=5", "ms=1")
    // a second version of the script
    fs.writeFileSync(path.join(sb.dir, "steady.ts"), steadySource.replace("const state = {", "// v2\nconst state = {"))
    sb.git("commit", "-qam", "v2")
    await record("epochs=3", "steps=6", "ms=1")
    await record("epochs=4", "steps=30", "ms=1")
    // today: an uncommitted hindsight statement, an untracked file, a staged one
    fs.writeFileSync(path.join(sb.dir, "steady.ts"), probeSource)
    fs.writeFileSync(path.join(sb.dir, "notes.txt"), "untracked\n")
    fs.writeFileSync(path.join(sb.dir, "staged.txt"), "staged\n")
    sb.git("add", "staged.txt")
  }, 120_000)
  afterAll(() => sb.cleanup())

  /** The probes of run `t`: every step's probe is 2 × its recorded seq. */
  const expectProbes = (t: string) => {
    const rows = json(sb.flor("dataframe", "seq", "probe", "--where", `tstamp = '${t}'`, "--format", "json"))
    expect(rows.length).toBeGreaterThan(0)
    for (const r of rows) expect(r.probe, JSON.stringify(r)).toBe(2 * (r.seq as number))
  }
  const probeCount = (t: string) =>
    json(sb.flor(
      "query",
      `SELECT count(*) AS n FROM log_records WHERE value_name = 'probe' AND tstamp = '${t}'`,
      "--format",
      "json"
    ))[0]!.n

  const multiversion = async (t: string) => {
    const r = await sb.florAsync("replay", "probe", `tstamp = '${t}'`, "--yes", "--jobs", "1")
    expect(r.stderr).not.toContain("FAILED")
    expect(r.status, r.stderr).toBe(0)
    expect(replayTemps(sb.tmp)).toEqual([])
    expectProbes(t)
  }

  it("single-run replay (runReplay) with uncommitted, staged and untracked changes", async () => {
    const before = userState(sb)
    const summary = await Effect.runPromise(Effect.provide(
      runReplay({
        script: path.join(sb.dir, "steady.ts"),
        cwd: sb.dir,
        argv: [],
        plan: { projid: PROJ, tstamp: runs[0]!, filename: "steady.ts", kind: "range", probes: ["probe"] },
        workers: 2,
        env: sb.env
      }),
      SqliteStore.layer(sb.home, PROJ)
    ))
    expect(summary).toMatchObject({ divergences: 0, workers: 2 })
    expect(userState(sb)).toBe(before)
    expectProbes(runs[0]!)
  }, 120_000)

  it("flor replay across versions on a dirty working tree", async () => {
    const before = userState(sb)
    await multiversion(runs[1]!)
    expect(userState(sb)).toBe(before)
  }, 120_000)

  it("flor replay with a detached HEAD", async () => {
    fs.writeFileSync(path.join(sb.dir, "steady.ts"), steadySource.replace("const state = {", "// v2\nconst state = {"))
    sb.git("checkout", "-q", "--detach", "HEAD~1")
    fs.writeFileSync(path.join(sb.dir, "steady.ts"), probeSource)
    expect(sb.git("rev-parse", "--abbrev-ref", "HEAD").trim()).toBe("HEAD")
    const before = userState(sb)
    await multiversion(runs[1]!)
    expect(userState(sb)).toBe(before)
  }, 120_000)

  it("flor replay with another branch checked out", async () => {
    fs.writeFileSync(path.join(sb.dir, "steady.ts"), steadySource)
    sb.git("checkout", "-q", "-b", "feature")
    fs.writeFileSync(path.join(sb.dir, "feature.txt"), "feature\n")
    sb.git("add", "feature.txt")
    sb.git("commit", "-qm", "feature")
    fs.writeFileSync(path.join(sb.dir, "steady.ts"), probeSource)
    const before = userState(sb)
    await multiversion(runs[0]!)
    expect(userState(sb)).toBe(before)
    expect(sb.git("rev-parse", "--abbrev-ref", "HEAD").trim()).toBe("feature")
  }, 120_000)

  /** Starts a slow multiversion replay of `target` and interrupts it once its workers run. */
  const interrupted = async (target: string, signal: "SIGINT" | "SIGTERM", group: boolean) => {
    // each replayed step takes 25 ms more, so the replay is still running when interrupted
    const child = spawn(process.execPath, [florBin, "replay", "probe", `tstamp = '${target}'`, "--yes", "--jobs", "2"], {
      cwd: sb.dir,
      env: { ...sb.env, STEADY_EXTRA_MS: "25" },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    child.stdout.resume()
    const exited = new Promise<number | string>((resolve) => child.on("close", (c, s) => resolve(c ?? s ?? -1)))
    for (let waited = 0; !replayTemps(sb.tmp).some((n) => n.startsWith("flor-replay-")); waited += 20) {
      if (waited > 60_000 || child.exitCode !== null) throw new Error(`the replay did not start: ${stderr}`)
      await sleep(20)
    }
    expect(replayTemps(sb.tmp).some((n) => n.startsWith("flor-version-"))).toBe(true)
    await sleep(1500) // the workers are replaying
    process.kill(group ? -child.pid! : child.pid!, signal)
    expect(await exited).toBe(130)
    expect(stderr).not.toMatch(/unexpected|Error:/)
    // nothing left behind once flor has exited: no temp dirs, no worker still running
    expect(replayTemps(sb.tmp)).toEqual([])
    expect(processesUnder(sb.tmp)).toEqual([])
    expect(probeCount(target)).toBe(0)
  }

  it("Ctrl-C or SIGTERM during a multiversion replay: temp dirs removed, nothing backfilled, the next replay resumes", async () => {
    const target = runs[2]!
    expect(probeCount(target)).toBe(0)
    const before = userState(sb)
    await interrupted(target, "SIGTERM", false) // `kill PID`: flor alone, it must stop its workers
    expect(userState(sb)).toBe(before)
    await interrupted(target, "SIGINT", true) // a terminal's Ctrl-C: the whole process group
    expect(userState(sb)).toBe(before)
    // the next replay runs from scratch and completes
    await multiversion(target)
    expect(probeCount(target)).toBe(4 * 30)
    expect(userState(sb)).toBe(before)
  }, 240_000)
})
