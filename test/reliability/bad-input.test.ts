/**
 * Bad input: a table-driven corpus of malformed command lines, --kwargs, WHERE
 * clauses, column names, stale schemas, damaged databases and checkpoints, a
 * missing version, an unusable FLOR_HOME. Each gives a typed error as ONE line on
 * stderr naming what is wrong, a non-zero exit, and leaves every stored run intact.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeComponent } from "../../src/layers/LocalObjectStore.js"
import * as SqliteStore from "../../src/layers/SqliteStore.js"
import { Store } from "../../src/services/Store.js"
import { florBin, repoRoot, tsxBin } from "../support/sandbox.js"
import { json, pool, probeSource, type Ran, runAsync, runsOf, type Sandbox, steadySandbox } from "./support.js"

const PROJ = "badinput-project"

/** A case of the corpus. */
interface Case {
  readonly name: string
  /** Runs it; resolves with what it printed. */
  readonly run: () => Promise<Ran>
  /** The one line on stderr, without its `flor: ` prefix. */
  readonly line: RegExp
  /** Progress lines (`flor replay`) may precede the error line. */
  readonly progress?: boolean
  /** Checks after the run (e.g. that a damaged store repairs as the line says); may return more cases' output. */
  readonly after?: () => Promise<void> | void
}

/** A row of the summary table. */
interface Row {
  readonly name: string
  readonly status: number | null
  readonly first: string
}

describe("bad input", () => {
  let sb: Sandbox
  let base: string
  let baseline: { readonly tstamps: ReadonlySet<string>; readonly columns: ReadonlyArray<string>; readonly state: string }
  const rows: Array<Row> = []
  const mounts: Array<string> = []

  const flor = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = sb.env, cwd = sb.dir) =>
    runAsync(process.execPath, [florBin, ...args], { cwd, env })
  const tsx = (script: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = sb.env, cwd = sb.dir) =>
    runAsync(tsxBin, [script, ...args], { cwd, env })

  /** The stored runs of the baseline and their values, as a string (run ids and new runs left out). */
  const stateOf = (home: string, options: { readonly vids?: boolean } = {}) =>
    Effect.gen(function*() {
      const store = yield* Store
      const mine = (r: { readonly [k: string]: unknown }) => baseline.tstamps.has(r.tstamp as string)
      const runs = (yield* store.runs).filter((r) => baseline.tstamps.has(r.tstamp)).map(({ runId: _, vid, ...r }) => ({
        ...r,
        vid: options.vids === false ? null : vid
      }))
      const frame = (yield* store.dataframe(baseline.columns)).rows.filter(mine)
      const top = (yield* store.topLevel).rows.filter(mine).map((r) =>
        Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null))
      )
      return JSON.stringify({ runs, frame, top })
    }).pipe(Effect.provide(SqliteStore.layer(home, PROJ)), Effect.runPromise)

  /** A copy of FLOR_HOME for a case that damages it. */
  const homeCopy = (name: string, into?: string) => {
    const home = into ?? path.join(base, `home-${name}`)
    fs.mkdirSync(home, { recursive: true })
    fs.cpSync(sb.home, home, { recursive: true })
    return { home, env: { ...sb.env, FLOR_HOME: home } }
  }

  /** Mounts a tmpfs (root only); undefined where mounting is not allowed. */
  const tmpfs = (name: string, size: string): string | undefined => {
    const dir = path.join(base, name)
    fs.mkdirSync(dir)
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" })
      mounts.push(dir)
      return dir
    } catch {
      return undefined
    }
  }

  beforeAll(async () => {
    sb = steadySandbox(PROJ)
    base = path.dirname(sb.dir)
    for (const f of ["names.ts", "load.ts"]) {
      fs.copyFileSync(path.join(repoRoot, "test/reliability/fixtures", f), path.join(sb.dir, f))
    }
    sb.git("add", "-A")
    sb.git("commit", "-qm", "fixtures")
    for (const r of await Promise.all([
      sb.tsxAsync("steady.ts", "--kwargs", "epochs=2", "steps=3"),
      sb.tsxAsync("steady.ts", "--kwargs", "epochs=3", "steps=2")
    ])) expect(r.stderr).toBe("")
    expect((await sb.tsxAsync("names.ts")).stderr).toBe("")
    // today's script has a hindsight statement (for `flor replay probe ...`)
    fs.writeFileSync(path.join(sb.dir, "steady.ts"), probeSource)
    const runs = runsOf(sb)
    expect(runs).toHaveLength(3)
    const columns = json(sb.flor("query", "SELECT DISTINCT value_name AS n FROM logs ORDER BY n", "--format", "json"))
      .map((r) => r.n as string)
    baseline = { tstamps: new Set(runs.map((r) => r.tstamp as string)), columns, state: "" }
    baseline = { ...baseline, state: await stateOf(sb.home) }
  }, 120_000)

  afterAll(() => {
    for (const dir of mounts) {
      try {
        execFileSync("umount", ["-l", dir], { stdio: "ignore" })
      } catch {
        // already gone
      }
    }
    sb.cleanup()
  })

  const steadyRun = () => [...baseline.tstamps].sort()[0]!

  /** Checks one case's output; records its row. */
  const check = (c: Case, r: Ran) => {
    const lines = r.stderr.split("\n").filter((l) => l.trim() !== "")
    const errors = c.progress === true ? lines.filter((l) => l.startsWith("flor: ")) : lines
    const first = errors[0] ?? lines[0] ?? ""
    rows.push({ name: c.name, status: r.status, first })
    expect(r.status, `${c.name}: exit code (stderr: ${r.stderr})`).not.toBe(0)
    expect(r.status, `${c.name}: killed`).not.toBeNull()
    expect(errors, `${c.name}: one line on stderr, got: ${r.stderr}`).toHaveLength(1)
    if (c.progress === true) expect(lines.at(-1), c.name).toBe(first)
    expect(first, c.name).toMatch(/^flor: /)
    expect(first.slice(6), c.name).toMatch(c.line)
    expect(first, `${c.name}: a typed error, not a defect`).not.toMatch(/unexpected error|\[object Object\]|^\s+at /)
  }

  const runCases = async (cases: ReadonlyArray<Case>, concurrency: number) => {
    const results = await pool(concurrency, cases.map((c) => () => c.run()))
    const failures: Array<string> = []
    for (const [i, c] of cases.entries()) {
      try {
        check(c, results[i]!)
        await c.after?.()
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e))
      }
    }
    expect(failures).toEqual([])
  }

  const cli = (name: string, args: ReadonlyArray<string>, line: RegExp, extra: Partial<Case> = {}): Case => ({
    name: `flor ${name}`,
    run: () => flor(args),
    line,
    ...extra
  })

  it("command lines, WHERE clauses, `flor query` and column names", async () => {
    const vacuumed = path.join(base, "vacuumed.db")
    const cases: Array<Case> = [
      // flags and arguments
      cli("bogus", ["bogus"], /Invalid subcommand .*\(see `flor --help`\)/),
      cli("dataframe --format xml", ["dataframe", "--format", "xml"], /table, csv, json .*flor dataframe --help/),
      cli("gc (no --keep)", ["gc"], /--keep.*flor gc --help/),
      cli("gc --keep abc", ["gc", "--keep", "abc"], /'abc' is not a integer/),
      cli("gc --keep -1", ["gc", "--keep", "-1"], /--keep -1: keep 0 or more/),
      cli("replay --jobs x", ["replay", "seq", "--jobs", "x"], /'x' is not a integer.*flor replay --help/),
      cli("runs --nosuch", ["runs", "--nosuch"], /unknown argument '--nosuch'/),
      cli("query (no SQL)", ["query"], /Missing argument <SQL>/),
      cli("propagate missing file", ["propagate", "nosuch.ts", "3", "steady.ts"], /nosuch\.ts' must exist/),
      cli("propagate line out of range", ["propagate", "steady.ts", "9999", "steady.ts"], /line 9999 is not in the file/),
      cli("replay (no column)", ["replay"], /name at least one column/),
      cli("replay unknown column", ["replay", "nosuchcol", "--yes"], /no script in the working tree logs nosuchcol/),
      // WHERE clauses
      cli("--where second statement", ["dataframe", "seq", "--where", "1=1; DELETE FROM df"], /exactly one SQL statement/),
      cli("--where write after a condition", ["dataframe", "seq", "--where", "seq > 0; DROP TABLE df"], /exactly one SQL/),
      cli("--where a write as a value", ["dataframe", "seq", "--where", "(DELETE FROM df) IS NULL"], /invalid query/),
      cli("--where comment cutting the clause", ["dataframe", "seq", "--where", "seq > 1) --"], /parentheses/),
      cli("--where unterminated comment", ["dataframe", "seq", "--where", "seq > 1 /*"], /invalid query/),
      cli("--where unknown column", ["dataframe", "seq", "--where", "nosuch > 1"], /unknown column in query: nosuch/),
      cli(
        "--where UNION injection",
        ["dataframe", "seq", "--where", "1=1) UNION SELECT name FROM sqlite_master --"],
        /invalid query/
      ),
      cli("--where store tables", ["dataframe", "seq", "--where", "seq > (SELECT count(*) FROM logs)"], /no such table/),
      cli("--where load_extension", ["dataframe", "seq", "--where", "load_extension('/tmp/x.so')"], /refused|not authorized/),
      cli("--where empty", ["dataframe", "seq", "--where", ""], /incomplete/),
      cli("--where unterminated string", ["dataframe", "seq", "--where", "seq = 'abc"], /unrecognized token: "'abc"$/),
      cli("replay WHERE second statement", ["replay", "probe", "1=1; DELETE FROM df", "--yes"], /exactly one SQL/),
      cli("replay WHERE unknown column", ["replay", "probe", "nosuch > 1", "--yes"], /unknown column/),
      // flor query
      cli("query DELETE", ["query", "DELETE FROM logs"], /read-only/),
      cli("query two statements", ["query", "SELECT 1; SELECT 2"], /exactly one SQL statement/),
      cli("query DROP", ["query", "DROP TABLE runs"], /read-only/),
      cli("query UPDATE", ["query", "UPDATE runs SET status = 'x'"], /read-only/),
      cli("query ATTACH", ["query", "ATTACH DATABASE 'x.db' AS x"], /read-only/),
      cli("query VACUUM INTO", ["query", `VACUUM INTO '${vacuumed}'`], /read-only/, {
        after: () => expect(fs.existsSync(vacuumed)).toBe(false)
      }),
      cli("query PRAGMA write", ["query", "PRAGMA query_only = OFF"], /read-only/),
      cli("query CREATE TEMP", ["query", "CREATE TEMP TABLE t (a)"], /read-only/),
      cli("query unknown table", ["query", "SELECT * FROM nosuch"], /no such table: nosuch/),
      cli("query unknown column", ["query", "SELECT nosuch FROM runs"], /unknown column in query: nosuch/),
      // column names
      cli("dataframe tstamp (a dimension)", ["dataframe", "tstamp"], /'tstamp': it is a dimension column/),
      cli("dataframe unlogged name", ["dataframe", "ctx_id_x"], /unknown column 'ctx_id_x'/),
      cli("dataframe name with spaces", ["dataframe", "a b c"], /unknown column 'a b c'/),
      cli("dataframe empty name", ["dataframe", ""], /unknown column ''/),
      cli("dataframe injection name", ["dataframe", "x'); DROP TABLE logs;--"], /unknown column 'x'\); DROP TABLE logs;--'/),
      cli("dataframe path name", ["dataframe", "../../etc/passwd"], /unknown column '\.\.\/\.\.\/etc\/passwd'/)
    ]
    await runCases(cases, 3)
    expect(await stateOf(sb.home)).toBe(baseline.state)
    expect(runsOf(sb)).toHaveLength(3)
  }, 240_000)

  it("awkward names and clauses that are fine are not refused", async () => {
    const ok = async (args: ReadonlyArray<string>) => {
      const r = await flor([...args, "--format", "json"])
      expect(r.stderr, args.join(" ")).toBe("")
      expect(r.status).toBe(0)
      return JSON.parse(r.stdout) as Array<Record<string, unknown>>
    }
    const awkward = ["it's", "a b", "ünïcødé", "\"q\"", "select", "order", "value", "value_name", "run_id", "ctx_id"]
    const [all, semicolon, quoted, comment] = await Promise.all([
      ok(["dataframe", ...awkward]),
      ok(["dataframe", "seq", "--where", "filename = 'a;b'"]),
      ok(["dataframe", "select", "a b", "--where", "\"select\" = 5 AND \"a b\" = 2"]),
      ok(["dataframe", "seq", "--where", "seq > 1 -- a comment; with a semicolon"])
    ])
    expect(all).toHaveLength(1)
    expect(awkward.map((n) => all[0]![n])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(semicolon).toEqual([])
    expect(quoted).toHaveLength(1)
    expect(comment.length).toBeGreaterThan(0)
    // a script whose own argv has flor's command words
    const words = await tsx("steady.ts", ["replay", "query", "dataframe", "--kwargs", "epochs=1", "steps=2"])
    expect(words.stderr).toBe("")
    const argv = await ok(["dataframe", "argv", "--latest"])
    const recorded = argv[0]!.argv
    expect(typeof recorded === "string" ? JSON.parse(recorded) : recorded)
      .toEqual(["replay", "query", "dataframe", "--kwargs", "epochs=1", "steps=2"])
    // help outside any repository
    const outside = path.join(base, "outside")
    fs.mkdirSync(outside, { recursive: true })
    const help = await flor(["--help"], sb.env, outside)
    expect(help.status).toBe(0)
    expect(help.stdout).toContain("dataframe")
  }, 120_000)

  it("--kwargs, reserved names, stale schemas, damaged checkpoints, FLOR_REPLAY, no repository", async () => {
    // each script case runs its own copy of a script, so its runs are told apart by filename
    const script = (file: string, source: string) => {
      fs.writeFileSync(path.join(sb.dir, file), source)
      return file
    }
    const steady = fs.readFileSync(path.join(sb.dir, "steady.ts"), "utf8")
    const names = fs.readFileSync(path.join(sb.dir, "names.ts"), "utf8")
    const load = fs.readFileSync(path.join(sb.dir, "load.ts"), "utf8")
    const decode = `import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Flor, main } from "flordb"
const flor = Flor.make({ columns: { seq: Schema.String } })
main(Effect.asVoid(flor.dataframe("seq")))
`
    // checkpoints: one run's files deleted or altered in copies of FLOR_HOME
    const t = steadyRun()
    const ckptDir = (home: string) => path.join(home, "obj_store", PROJ, encodeComponent(t), "steady.ts")
    const missing = homeCopy("missing-ckpt")
    fs.rmSync(path.join(ckptDir(missing.home), "epoch-1.ckpt"))
    const corrupt = homeCopy("corrupt-ckpt")
    const ckpt = path.join(ckptDir(corrupt.home), "epoch-2.ckpt")
    fs.writeFileSync(ckpt, Buffer.concat([fs.readFileSync(ckpt).subarray(0, 16), Buffer.from("garbage")]))
    const namesRun = [...baseline.tstamps].find((x) => x !== t && runsOf(sb).find((r) => r.tstamp === x)?.filename === "names.ts")!
    // outside any git repository
    const nogit = path.join(base, "nogit")
    fs.mkdirSync(path.join(nogit, "node_modules"), { recursive: true })
    for (const pkg of ["flordb", "effect"]) {
      fs.symlinkSync(pkg === "flordb" ? repoRoot : path.join(repoRoot, "node_modules", pkg), path.join(nogit, "node_modules", pkg))
    }
    fs.writeFileSync(path.join(nogit, "package.json"), JSON.stringify({ type: "module" }))
    fs.writeFileSync(path.join(nogit, "steady.ts"), steady)

    const kw = (name: string, args: ReadonlyArray<string>, line: RegExp): Case => ({
      name: `--kwargs ${name}`,
      run: () => tsx(script(`kw-${name.replace(/\W+/g, "-")}.ts`, steady), ["--kwargs", ...args]),
      line
    })
    const cases: Array<Case> = [
      kw("missing =", ["epochs"], /'epochs' is not of the form name=value/),
      kw("several =", ["epochs=2=3"], /epochs=2=3 is not a valid number/),
      kw("empty pair", [""], /'' is not of the form name=value/),
      kw("empty name", ["=3"], /'=3' is not of the form name=value/),
      kw("wrong type", ["epochs=abc"], /epochs=abc is not a valid number/),
      kw("empty value", ["epochs="], /epochs= is not a valid number/),
      kw("given twice", ["epochs=1", "epochs=2"], /'epochs' is given more than once/),
      {
        name: "untyped log under a dimension name",
        run: () => tsx(script("log-tstamp.ts", names), [], { ...sb.env, NAMES: "ok,tstamp" }),
        line: /log\("tstamp", …\): column 'tstamp' collides with a dimension column/
      },
      {
        name: "untyped log under a build column name",
        run: () => tsx(script("log-hostname.ts", names), [], { ...sb.env, NAMES: "hostname" }),
        line: /column 'hostname' collides with a build-context column/
      },
      {
        name: "untyped arg under a dimension name",
        run: () => tsx(script("arg-filename.ts", names), [], { ...sb.env, NAMES: "", ARGS: "filename" }),
        line: /arg\("filename", …\): column 'filename' collides with a dimension column/
      },
      {
        name: "value that no longer decodes",
        run: () => tsx(script("decode.ts", decode), []),
        line: /column 'seq' of run .* holds 1, which does not decode with today's schema: expected string/
      },
      {
        name: "loading a missing checkpoint",
        run: () => tsx(script("load-missing.ts", load), [], { ...missing.env, TSTAMP: t, EPOCH: "1" }),
        line: /checkpoint of steady\.ts .* epoch=1 is missing/
      },
      {
        name: "loading a corrupt checkpoint",
        run: () => tsx(script("load-corrupt.ts", load), [], { ...corrupt.env, TSTAMP: t, EPOCH: "2" }),
        line: /checkpoint of steady\.ts .* epoch=2 is corrupt .*truncated or altered/
      },
      {
        name: "loading from a run without checkpoints",
        run: () => tsx(script("load-none.ts", load), [], { ...sb.env, TSTAMP: namesRun, FILENAME: "names.ts" }),
        line: /checkpoint of names\.ts .* is missing .*: the run has no checkpoints/
      },
      {
        name: "FLOR_REPLAY that is not a plan",
        run: () => tsx(script("bad-plan.ts", steady), [], { ...sb.env, FLOR_REPLAY: "{not json" }),
        line: /FLOR_REPLAY does not hold a replay plan.*unset it/
      },
      {
        name: "script outside a git repository",
        run: () => tsx("steady.ts", [], sb.env, nogit),
        line: /is not inside a git repository: run `git init` there/
      },
      {
        name: "flor outside a git repository",
        run: () => flor(["runs"], sb.env, nogit),
        line: /is not inside a git repository: run `git init` there/
      }
    ]
    await runCases(cases, 3)
    // stored runs intact; the scripts that failed left at most a run of their own, marked failed
    expect(await stateOf(sb.home)).toBe(baseline.state)
    for (const home of [missing.home, corrupt.home]) expect(await stateOf(home)).toBe(baseline.state)
    const extra = runsOf(sb).filter((r) => !baseline.tstamps.has(r.tstamp as string) && r.filename !== "steady.ts")
    for (const r of extra) expect(r, "a failing script's own run").toMatchObject({ status: "failed" })
    expect(fs.existsSync(path.join(nogit, ".git"))).toBe(false)
  }, 240_000)

  it("a damaged or truncated database, a missing version, a read-only or full FLOR_HOME", async () => {
    const garbage = homeCopy("garbage-db")
    fs.writeFileSync(path.join(garbage.home, `${PROJ}.db`), Buffer.alloc(8192, 0x5a))
    const truncated = homeCopy("truncated-db")
    const db = path.join(truncated.home, `${PROJ}.db`)
    fs.truncateSync(db, Math.floor(fs.statSync(db).size / 2))
    for (const home of [garbage.home, truncated.home]) {
      for (const ext of ["-wal", "-shm"]) fs.rmSync(path.join(home, `${PROJ}.db${ext}`), { force: true })
    }
    /** Does what the error line says: move the database away, `flor unpack`. */
    const repair = (home: { home: string; env: NodeJS.ProcessEnv }) => async () => {
      fs.renameSync(path.join(home.home, `${PROJ}.db`), path.join(home.home, `${PROJ}.db.damaged`))
      for (const ext of ["-wal", "-shm"]) fs.rmSync(path.join(home.home, `${PROJ}.db${ext}`), { force: true })
      const r = await flor(["unpack"], home.env)
      expect(r.stderr).toBe("")
      expect(await stateOf(home.home)).toBe(baseline.state)
    }
    // a run whose version is not in the repository
    const lost = homeCopy("missing-version")
    const t = steadyRun()
    const sqlite = new Database(path.join(lost.home, `${PROJ}.db`))
    sqlite.prepare("UPDATE runs SET vid = ? WHERE tstamp = ?").run("0123456789abcdef0123456789abcdef01234567", t)
    sqlite.close()
    // read-only: a read-only mount where allowed, else a FLOR_HOME under a regular file
    const roMount = tmpfs("ro-home", "4m")
    const readonly = roMount === undefined
      ? { home: path.join(sb.dir, "steady.ts", "home"), env: { ...sb.env, FLOR_HOME: path.join(sb.dir, "steady.ts", "home") } }
      : homeCopy("ro", roMount)
    if (roMount !== undefined) execFileSync("mount", ["-o", "remount,ro", roMount])
    // full: a small mount filled up
    const fullMount = tmpfs("full-home", "1m")
    const full = fullMount === undefined ? undefined : homeCopy("full", fullMount)
    if (full !== undefined) {
      try {
        fs.writeFileSync(path.join(full.home, "filler"), Buffer.alloc(4 << 20))
      } catch {
        // the disk is full now
      }
    }

    const cases: Array<Case> = [
      {
        name: "damaged database (not a database)",
        run: () => flor(["runs"], garbage.env),
        line: /the database .*badinput-project\.db .* is damaged: move it away and run `flor unpack`/,
        after: repair(garbage)
      },
      {
        name: "recording into a damaged database",
        run: () => tsx("steady.ts", ["--kwargs", "epochs=1"], garbage.env),
        line: /is damaged: move it away and run `flor unpack`/
      },
      {
        name: "truncated database",
        run: () => flor(["dataframe", "seq"], truncated.env),
        line: /the database .* is damaged: move it away and run `flor unpack`/,
        after: repair(truncated)
      },
      {
        name: "replay of a run whose version is missing",
        run: () => flor(["replay", "probe", `tstamp = '${t}'`, "--yes", "--jobs", "1"], lost.env),
        line: /1 of 1 runs failed .*version 0123456789abcdef0123456789abcdef01234567 is not in this repository/,
        progress: true,
        after: async () => expect(await stateOf(lost.home, { vids: false })).toBe(await stateOf(sb.home, { vids: false }))
      },
      {
        name: roMount === undefined ? "FLOR_HOME not a directory" : "read-only FLOR_HOME (flor runs)",
        run: () => flor(["runs"], readonly.env),
        line: /cannot open the database .*: set FLOR_HOME to a writable directory/
      },
      {
        name: roMount === undefined ? "recording into FLOR_HOME not a directory" : "recording into a read-only FLOR_HOME",
        run: () => tsx("steady.ts", ["--kwargs", "epochs=1"], readonly.env),
        line: /cannot open the database .*: set FLOR_HOME to a writable directory/
      },
      ...(full === undefined ? [] : [{
        name: "recording into a full FLOR_HOME",
        run: () => tsx("steady.ts", ["--kwargs", "epochs=2", "steps=2"], full.env),
        line: /FLOR_HOME|no space|disk|full|ENOSPC/i,
        after: async () => {
          fs.rmSync(path.join(full.home, "filler"))
          expect(await stateOf(full.home)).toBe(baseline.state)
        }
      } satisfies Case])
    ]
    await runCases(cases, 2)
    if (roMount !== undefined) {
      execFileSync("mount", ["-o", "remount,rw", roMount])
      expect(await stateOf(readonly.home)).toBe(baseline.state)
    }
    expect(await stateOf(sb.home)).toBe(baseline.state)
    if (fullMount === undefined || roMount === undefined) rows.push({ name: "(tmpfs mounts not allowed here)", status: null, first: "read-only/full FLOR_HOME simulated without mounts" })
  }, 240_000)

  it("an unknown --kwargs name fails the process after the run is stored, naming the likely arg", async () => {
    const file = "kw-unknown.ts"
    fs.writeFileSync(path.join(sb.dir, file), fs.readFileSync(path.join(sb.dir, "steady.ts"), "utf8"))
    const r = await tsx(file, ["--kwargs", "epochz=2", "steps=1", "epochs=1"])
    const lines = r.stderr.split("\n").filter((l) => l !== "")
    rows.push({ name: "--kwargs unknown name", status: r.status, first: lines[0] ?? "" })
    expect(r.status).not.toBe(0)
    expect(lines).toEqual([
      "flor: --kwargs epochz was given but no arg() read it (did you mean epochs?); the run was recorded: fix the name and run again (FLOR_UNUSED_KWARGS=warn only warns)"
    ])
  }, 60_000)

  it("prints the corpus", () => {
    const width = Math.max(...rows.map((r) => r.name.length))
    const table = rows.map((r) =>
      `${r.name.padEnd(width)}  ${String(r.status).padStart(4)}  ${r.first.length > 110 ? `${r.first.slice(0, 107)}...` : r.first}`
    )
    const errors = rows.filter((r) => r.status !== null && r.status !== 0).length
    console.log(
      [`[reliability] bad-input corpus: ${rows.length} cases, ${errors} refused with one line and a non-zero exit`,
        `${"case".padEnd(width)}  exit  first stderr line`, ...table].join("\n")
    )
    expect(rows.length).toBeGreaterThanOrEqual(40)
  })
})
