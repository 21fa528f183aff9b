import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeSandbox, repoRoot, type Sandbox, tsxBin } from "./support/sandbox.js"

const json = (out: { stdout: string }) => JSON.parse(out.stdout) as Array<Record<string, unknown>>

describe("flor CLI", () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = makeSandbox("cli-project")
    fs.copyFileSync(path.join(repoRoot, "test/fixtures/nested.ts"), path.join(sb.dir, "train.ts"))
    sb.git("add", "-A")
    sb.git("commit", "-qm", "init")
    for (const lr of ["0.1", "0.2"]) {
      const r = sb.tsx("train.ts", "--kwargs", `lr=${lr}`)
      expect(r.stderr).toBe("")
      expect(r.status).toBe(0)
    }
  })
  afterAll(() => sb.cleanup())

  it("runs: a line per run with tstamp, filename, status, vid, duration", () => {
    const r = sb.flor("runs", "--format", "json")
    expect(r.status).toBe(0)
    const runs = json(r)
    expect(runs).toHaveLength(2)
    for (const run of runs) {
      expect(run).toMatchObject({ filename: "train.ts", status: "committed" })
      expect(run.vid).toMatch(/^[0-9a-f]{10}$/)
      expect(typeof run.duration_s).toBe("number")
    }
    const table = sb.flor("runs")
    expect(table.stdout).toContain("committed")
    expect(table.stdout).toContain("2 rows")
  })

  it("dataframe joins depths, filters with --where, keeps --latest", () => {
    const all = json(sb.flor("dataframe", "loss", "acc", "lr", "--format", "json"))
    expect(all).toHaveLength(12)
    expect(Object.keys(all[0]!)).toEqual([
      "projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss", "acc", "lr"
    ])
    const where = json(sb.flor("dataframe", "loss", "acc", "lr", "--where", "epoch = 2 AND lr > 0.15", "--format", "json"))
    expect(where.map((r) => [r.epoch, r.step, r.loss, r.acc, r.lr])).toEqual([
      [2, 1, 0.4, 0.25, 0.2],
      [2, 2, 0.6000000000000001, 0.25, 0.2]
    ])
    const latest = json(sb.flor("dataframe", "acc", "--latest", "--format", "json"))
    expect(latest.map((r) => r.acc)).toEqual([0, 0.25, 0.5])
    expect(new Set(latest.map((r) => r.tstamp)).size).toBe(1)
    const csv = sb.flor("dataframe", "--format", "csv").stdout.trim().split("\n")
    expect(csv[0]).toBe("projid,tstamp,filename,lr,crash,note")
    expect(csv).toHaveLength(3)
  })

  it("build context is queryable as columns", () => {
    const rows = json(sb.flor("dataframe", "acc", "node_version", "git_branch", "status", "--latest", "--format", "json"))
    expect(rows[0]).toMatchObject({ node_version: process.version, git_branch: "main", status: "committed" })
  })

  it("errors: unknown column, bad WHERE, write query, multi-statement — one line, non-zero", () => {
    const cases: Array<[Array<string>, RegExp]> = [
      [["dataframe", "los"], /unknown column 'los'/],
      [["dataframe", "loss", "--where", "nosuch > 1"], /unknown column in query: nosuch/],
      [["dataframe", "loss", "--where", "1=1; DELETE FROM df"], /exactly one SQL statement/],
      [["query", "DELETE FROM logs"], /read-only/],
      [["query", "SELECT 1; SELECT 2"], /exactly one SQL statement/],
      [["query", "CREATE TABLE x (a)"], /read-only/],
      [["query", "ATTACH DATABASE 'x.db' AS x"], /read-only|invalid/]
    ]
    for (const [args, expected] of cases) {
      const r = sb.flor(...args)
      expect(r.status, args.join(" ")).not.toBe(0)
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
      expect(r.stderr, args.join(" ")).toMatch(expected)
    }
    const count = sb.flor("query", "SELECT count(*) AS n FROM logs", "--format", "json")
    // per run: 3 top-level values, 6 losses, 3 accs, and the flor.startup_s profiling record
    expect(json(count)).toEqual([{ n: 2 * (3 + 6 + 3 + 1) }])
  })

  it("--help describes every command", () => {
    const help = sb.flor("--help")
    expect(help.status).toBe(0)
    for (const cmd of ["dataframe", "query", "runs", "unpack"]) expect(help.stdout).toContain(cmd)
    const df = sb.flor("dataframe", "--help")
    expect(df.status).toBe(0)
    expect(df.stdout).toContain("--where")
  })

  it("unpack rebuilds the database from the shadow branch with an identical dataframe", () => {
    const before = sb.flor("dataframe", "loss", "acc", "lr", "--format", "json").stdout
    const runsBefore = json(sb.flor("runs", "--format", "json"))
    fs.rmSync(path.join(sb.home, "cli-project.db"))
    for (const ext of ["-wal", "-shm"]) fs.rmSync(path.join(sb.home, `cli-project.db${ext}`), { force: true })
    expect(json(sb.flor("runs", "--format", "json"))).toEqual([])
    const r = sb.flor("unpack")
    expect(r.status).toBe(0)
    expect(r.stdout).toContain("unpacked 2 runs")
    expect(sb.flor("dataframe", "loss", "acc", "lr", "--format", "json").stdout).toBe(before)
    expect(json(sb.flor("runs", "--format", "json"))).toEqual(runsBefore)
  })

  it("a killed run is recovered as crashed with its flushed records", async () => {
    // tsx runs the script in a child process: kill the whole process group, as `kill -9` of a job would
    const child = spawn(tsxBin, ["train.ts", "--kwargs", "crash=1"], { cwd: sb.dir, env: sb.env, detached: true })
    const journals = path.join(sb.home, "journal", "cli-project")
    const lines = () =>
      fs.existsSync(journals)
        ? fs.readdirSync(journals).reduce(
          (n, f) => n + fs.readFileSync(path.join(journals, f), "utf8").split("\n").length,
          0
        )
        : 0
    for (let waited = 0; lines() < 2000 && waited < 60_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    process.kill(-child.pid!, "SIGKILL")
    await new Promise((resolve) => child.once("exit", resolve))
    const runs = json(sb.flor("runs", "--format", "json"))
    const crashed = runs.filter((r) => r.status === "crashed")
    expect(crashed).toHaveLength(1)
    const df = sb.flor("dataframe", "loss", "--where", `tstamp = '${crashed[0]!.tstamp}'`, "--format", "json")
    expect(df.stderr).toBe("")
    const ticks = json(df)
    expect(ticks.length).toBeGreaterThan(100)
    // every flushed record is there, in order, without gaps
    expect(ticks.map((r) => r.loss)).toEqual(ticks.map((_, i) => i + 1))
    expect(crashed[0]!.vid).toMatch(/^[0-9a-f]{10}$/)
  })
})
