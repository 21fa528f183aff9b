/**
 * Security: user SQL runs on read-only connections; replay workers are spawned
 * with argument arrays, never through a shell; no column, loop, file or run name
 * reaches outside the object store directory.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { filterFrame } from "../../src/layers/FrameQuery.js"
import { relativePath, resolveUri } from "../../src/layers/LocalObjectStore.js"
import { runReplay } from "../../src/layers/ReplayRunner.js"
import * as SqliteStore from "../../src/layers/SqliteStore.js"
import { Store } from "../../src/services/Store.js"
import { repoRoot } from "../support/sandbox.js"
import { json, probeSource, replayTemps, runsOf, type Sandbox, steadySandbox } from "./support.js"

/** Every better-sqlite3 connection src opens, with what was done on it, in order. */
const recorded = vi.hoisted(() => [] as Array<{ file: unknown; options: unknown; calls: Array<string> }>)
/** Every process src spawns: command, arguments, options. */
const spawned = vi.hoisted(() => [] as Array<{ command: unknown; args: unknown; options: unknown }>)

vi.mock("better-sqlite3", async (importOriginal) => {
  const actual = (await importOriginal<{ default: typeof Database }>()).default
  function Recording(file: unknown, options: unknown) {
    const db = new actual(file as string, options as Database.Options)
    const entry = { file, options, calls: [] as Array<string> }
    recorded.push(entry)
    const pragma = db.pragma.bind(db)
    const prepare = db.prepare.bind(db)
    const exec = db.exec.bind(db)
    Object.assign(db, {
      pragma: (source: string, o?: Database.PragmaOptions) => (entry.calls.push(`pragma ${source}`), pragma(source, o)),
      prepare: (source: string) => (entry.calls.push(`prepare ${source}`), prepare(source)),
      exec: (source: string) => (entry.calls.push(`exec ${source}`), exec(source))
    })
    return db
  }
  return { default: Recording }
})

vi.mock("node:child_process", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:child_process")>()
  return {
    ...actual,
    spawn: (command: string, args: ReadonlyArray<string>, options: import("node:child_process").SpawnOptions) => {
      spawned.push({ command, args, options })
      return actual.spawn(command, args, options)
    }
  }
})

const PROJ = "security-project"

/** Every TypeScript source file under src/. */
const sources = (): Array<[string, string]> => {
  const out: Array<[string, string]> = []
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith(".ts")) out.push([path.relative(repoRoot, p), fs.readFileSync(p, "utf8")])
    }
  }
  walk(path.join(repoRoot, "src"))
  return out
}

describe("security", () => {
  let sb: Sandbox & { readonly tmp: string }
  let base: string
  /** Script argv words a shell would act on. */
  const hostile = (dir: string) => [`$(touch ${dir}/PWNED1)`, `; touch ${dir}/PWNED2`, `\`touch ${dir}/PWNED3\``, "a b|c&d>e"]

  beforeAll(async () => {
    sb = steadySandbox(PROJ)
    base = path.dirname(sb.dir)
    // a script in a subdirectory whose main loop has a name made to climb out of the object store
    fs.mkdirSync(path.join(sb.dir, "deep", "dir"), { recursive: true })
    fs.writeFileSync(
      path.join(sb.dir, "deep", "dir", "evil.ts"),
      fs.readFileSync(path.join(sb.dir, "steady.ts"), "utf8")
        .replace(`loops: { epoch: Schema.Number, step: Schema.Number }`, `loops: { "../../../../escape": Schema.Number, step: Schema.Number }`)
        .replace(`flor.loop("epoch"`, `flor.loop("../../../../escape"`)
    )
    sb.git("add", "-A")
    sb.git("commit", "-qm", "evil")
    for (const r of await Promise.all([
      sb.tsxAsync("steady.ts", ...hostile(base), "--kwargs", "epochs=2", "steps=2"),
      sb.tsxAsync("deep/dir/evil.ts", "--kwargs", "epochs=2", "steps=2")
    ])) expect(r.stderr).toBe("")
    fs.writeFileSync(path.join(sb.dir, "steady.ts"), probeSource)
  }, 120_000)
  afterAll(() => sb.cleanup())

  const provide = <A, E>(effect: Effect.Effect<A, E, Store>) =>
    Effect.runPromise(Effect.provide(effect, SqliteStore.layer(sb.home, PROJ)))

  it("`flor query` runs on a connection opened read-only, query_only, before the statement is prepared", async () => {
    recorded.length = 0
    const result = await provide(Effect.flatMap(Store, (s) => s.query("SELECT count(*) AS n FROM runs")))
    expect(result.rows).toEqual([[2]])
    const conn = recorded.find((c) => c.calls.some((x) => x.includes("SELECT count(*) AS n FROM runs")))!
    expect(conn.options).toMatchObject({ readonly: true, fileMustExist: true })
    expect(conn.calls.indexOf("pragma query_only = ON")).toBeGreaterThanOrEqual(0)
    expect(conn.calls.indexOf("pragma query_only = ON")).toBeLessThan(conn.calls.indexOf("prepare SELECT count(*) AS n FROM runs"))
    // and such a connection refuses writes by itself, whatever statement gets through
    const db = new Database(SqliteStore.databasePath(sb.home, PROJ), { readonly: true, fileMustExist: true })
    db.pragma("query_only = ON")
    expect(() => db.exec("DELETE FROM logs")).toThrow(/readonly|read-only/i)
    db.close()
    const refused = await provide(Effect.flip(Effect.flatMap(Store, (s) => s.query("DELETE FROM logs"))))
    expect(refused._tag === "QueryError" ? refused.reason : refused._tag).toBe("NotReadOnly")
    expect(json(sb.flor("query", "SELECT count(*) AS n FROM logs", "--format", "json"))[0]!.n).toBeGreaterThan(0)
  })

  it("a WHERE clause runs on a private in-memory copy, query_only", async () => {
    recorded.length = 0
    const frame = { columns: ["x"], rows: [{ x: 1 }, { x: 2 }] }
    expect((await Effect.runPromise(filterFrame(frame, "x > 1"))).rows).toEqual([{ x: 2 }])
    expect(recorded).toHaveLength(1)
    expect(recorded[0]!.file).toBe(":memory:")
    const calls = recorded[0]!.calls
    const clause = calls.findIndex((c) => c.startsWith("prepare SELECT rowid FROM df WHERE"))
    expect(calls.indexOf("pragma query_only = ON")).toBeGreaterThanOrEqual(0)
    expect(calls.indexOf("pragma query_only = ON")).toBeLessThan(clause)
  })

  it("processes are spawned with argument arrays, never a shell (source inspection)", () => {
    const all = sources()
    const offenders: Array<string> = []
    for (const [file, text] of all) {
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "")
      if (/\bshell\s*:/.test(code)) offenders.push(`${file}: a shell option`)
      for (const m of code.matchAll(/import\s*\{([^}]*)\}\s*from\s*"(?:node:)?child_process"/g)) {
        const names = m[1]!.split(",").map((n) => n.trim().replace(/^type\s+/, "")).filter((n) => n !== "")
        for (const n of names) {
          if (!["spawn", "spawnSync", "execFile", "execFileSync"].includes(n.split(/\s+as\s+/)[0]!)) {
            offenders.push(`${file}: imports ${n} from child_process`)
          }
        }
      }
      if (/from\s*"(?:node:)?child_process"/.test(code) && /import\s+\*\s+as\s+\w+\s+from\s*"(?:node:)?child_process"/.test(code)) {
        offenders.push(`${file}: imports all of child_process`)
      }
      for (const m of code.matchAll(/\b(spawn|spawnSync|execFile|execFileSync)\(([^,()]+),\s*([^\s])/g)) {
        if (m[3] !== "[") offenders.push(`${file}: ${m[1]}(${m[2]}, ...) without an argument array`)
      }
    }
    expect(offenders).toEqual([])
    // the inspection does see the spawns there are
    expect(all.some(([, t]) => /spawn\(process\.execPath, \[/.test(t))).toBe(true)
  })

  it("replay workers get the recorded argv as an array: shell words stay words", async () => {
    spawned.length = 0
    const run = runsOf(sb).find((r) => r.filename === "steady.ts")!
    const argv = hostile(base)
    const summary = await provide(runReplay({
      script: path.join(sb.dir, "steady.ts"),
      cwd: sb.dir,
      argv,
      plan: { projid: PROJ, tstamp: run.tstamp as string, filename: "steady.ts", kind: "range", probes: ["probe"] },
      workers: 1,
      env: sb.env
    }))
    expect(summary.divergences).toBe(0)
    expect(spawned).toHaveLength(1)
    expect(spawned[0]!.command).toBe(process.execPath)
    expect(Array.isArray(spawned[0]!.args)).toBe(true)
    expect((spawned[0]!.args as Array<string>).slice(-argv.length)).toEqual(argv)
    expect(spawned[0]!.options).not.toHaveProperty("shell")
    // and through `flor replay`, which passes each run's recorded argv to its workers
    const r = await sb.florAsync("replay", "probe", `tstamp = '${run.tstamp as string}'`, "--yes", "--jobs", "1")
    expect(r.status, r.stderr).toBe(0)
    for (const n of ["PWNED1", "PWNED2", "PWNED3"]) {
      for (const dir of [base, sb.dir, sb.tmp]) expect(fs.existsSync(path.join(dir, n)), `${dir}/${n}`).toBe(false)
    }
    expect(replayTemps(sb.tmp)).toEqual([])
  }, 120_000)

  it("no loop, file or run name leads outside the object store", async () => {
    const store = path.join(sb.home, "obj_store")
    const files: Array<string> = []
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.name === "node_modules" || e.name === ".git") continue
        const p = path.join(dir, e.name)
        if (e.isDirectory()) walk(p)
        else files.push(p)
      }
    }
    walk(base)
    const ckpts = files.filter((f) => f.endsWith(".ckpt"))
    expect(ckpts.length).toBeGreaterThanOrEqual(4)
    for (const f of ckpts) expect(f.startsWith(store + path.sep), f).toBe(true)
    expect(files.filter((f) => f.includes("escape") && !f.startsWith(store + path.sep))).toEqual([])
    // each name is one encoded path component: 4 levels under the store, never more, never fewer
    for (const f of ckpts) expect(path.relative(store, f).split(path.sep)).toHaveLength(4)
    // uris that point elsewhere are refused, whatever put them in the store
    const key = { projid: "p/../..", tstamp: "..", filename: "../../x.ts", loop: "/etc/passwd", iteration: 1 }
    const rel = relativePath(key)
    expect(rel._tag).toBe("Right")
    if (rel._tag === "Right") {
      expect(rel.right.split("/")).toHaveLength(4)
      expect(resolveUri(store, rel.right)._tag).toBe("Right")
    }
    for (const uri of ["../victim.txt", "/etc/passwd", "a/../../../victim.txt", "a/b/c/../../../../victim", "file:///etc/passwd"]) {
      expect(resolveUri(store, uri)._tag, uri).toBe("Left")
    }
  })

  it("a checkpoint uri tampered to point outside is refused by gc; the file it names survives", () => {
    const victim = path.join(sb.home, "victim.txt")
    fs.writeFileSync(victim, "keep me")
    const evil = runsOf(sb).find((r) => r.filename === "deep/dir/evil.ts")!
    const db = new Database(SqliteStore.databasePath(sb.home, PROJ))
    db.prepare(
      `UPDATE checkpoints SET uri = '../victim.txt'
       WHERE loop_iteration = 1 AND run_id = (SELECT run_id FROM runs WHERE tstamp = ?)`
    ).run(evil.tstamp)
    db.close()
    const r = sb.flor("gc", "--keep", "1")
    expect(r.status).not.toBe(0)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/not a checkpoint of this object store/)
    expect(fs.readFileSync(victim, "utf8")).toBe("keep me")
  })
})
