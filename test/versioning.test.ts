import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { findRoot, make } from "../src/layers/GitVersioning.js"

const git = (cwd: string, ...args: Array<string>) => execFileSync("git", args, { cwd, encoding: "utf8" })
const gitBytes = (cwd: string, ...args: Array<string>) => execFileSync("git", args, { cwd })

const put = (dir: string, rel: string, content: string | Uint8Array) => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
  fs.writeFileSync(path.join(dir, rel), content)
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "flordb-versioning-")))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A fresh repository on branch `branch` with a local identity. */
const tempRepo = (branch = "main") =>
  Effect.map(tempDir, (dir) => {
    git(dir, "-c", `init.defaultBranch=${branch}`, "init", "-q")
    git(dir, "config", "user.name", "Ada Test")
    git(dir, "config", "user.email", "ada@test.invalid")
    git(dir, "config", "commit.gpgsign", "false")
    return dir
  })

/** Every working-tree file (symlinks as their target), `.git` excluded. */
const workingTree = (dir: string, rel = ""): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel === "" ? d.name : `${rel}/${d.name}`
    if (d.name === ".git") continue
    if (d.isSymbolicLink()) out[child] = `link:${fs.readlinkSync(path.join(dir, child))}`
    else if (d.isDirectory()) Object.assign(out, workingTree(dir, child))
    else out[child] = fs.readFileSync(path.join(dir, child)).toString("base64")
  }
  return out
}

const lsTree = (dir: string, rev: string) => git(dir, "ls-tree", "-r", rev).trim().split("\n")
const paths = (lines: ReadonlyArray<string>) => lines.map((l) => l.split("\t")[1])

const bytes = (s: string) => new TextEncoder().encode(s)

describe("GitVersioning", () => {
  it.scoped("snapshot + commit leave HEAD, branch, index and working tree untouched", () =>
    Effect.gen(function*() {
      const dir = yield* tempRepo()
      put(dir, "train.ts", "console.log('train')\n")
      put(dir, "tracked.txt", "v1\n")
      put(dir, "staged.txt", "s1\n")
      put(dir, ".gitignore", "*.log\n")
      git(dir, "add", "-A")
      git(dir, "commit", "-qm", "init")
      put(dir, "tracked.txt", "v2 dirty\n") // dirty, unstaged
      put(dir, "staged.txt", "s2 staged\n")
      git(dir, "add", "staged.txt")
      put(dir, "staged.txt", "s3 on disk\n") // staged and then dirty again
      put(dir, "notes/new.txt", "untracked\n")
      put(dir, "debug.log", "ignored\n")
      put(dir, "node_modules/pkg/index.js", "module.exports = 1\n")
      put(dir, "sub/node_modules/x.js", "nested node_modules\n")
      put(dir, ".flor/journal.jsonl", "not versioned\n")

      const state = () => ({
        status: git(dir, "status", "--porcelain", "--untracked-files=all"),
        head: git(dir, "rev-parse", "HEAD"),
        branch: git(dir, "symbolic-ref", "--short", "HEAD"),
        refs: git(dir, "for-each-ref", "--format=%(refname) %(objectname)").split("\n")
          .filter((l) => !l.startsWith("refs/heads/flor.shadow")),
        index: fs.readFileSync(path.join(dir, ".git", "index")).toString("base64"),
        files: workingTree(dir)
      })
      const before = state()

      const v = yield* make(dir)
      const tree = yield* v.snapshot
      const logPath = ".flor/logs/2026-01-01T00:00:00.000Z__train.ts.jsonl"
      const log = new Uint8Array([0x7b, 0x7d, 0x0a, 0xff, 0x00, 0xfe, 0x0a])
      const vid = yield* v.commit(tree, logPath, log, "flor: train.ts")

      expect(state()).toEqual(before)
      expect(vid).toMatch(/^[0-9a-f]{40}$/)
      expect(git(dir, "rev-parse", "flor.shadow").trim()).toBe(vid)
      const listed = paths(lsTree(dir, "flor.shadow"))
      expect(listed.sort()).toEqual(
        [".gitignore", logPath, "notes/new.txt", "staged.txt", "tracked.txt", "train.ts"].sort()
      )
      expect(git(dir, "show", "flor.shadow:tracked.txt")).toBe("v2 dirty\n")
      expect(git(dir, "show", "flor.shadow:staged.txt")).toBe("s3 on disk\n")
      expect(new Uint8Array(gitBytes(dir, "show", `flor.shadow:${logPath}`))).toEqual(log)
      // the snapshot itself is the working tree without the log
      expect(git(dir, "rev-parse", "flor.shadow^{tree}").trim()).not.toBe(tree)
      expect(paths(lsTree(dir, tree))).not.toContain(logPath)
      expect(git(dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%P|%s", "flor.shadow").trim())
        .toBe("Ada Test <ada@test.invalid>|Ada Test <ada@test.invalid>||flor: train.ts")
      git(dir, "fsck", "--strict", "--no-dangling") // throws on a malformed object
      expect(fs.existsSync(path.join(dir, ".git", "refs", "heads", "flor.shadow.lock"))).toBe(false)
    }))

  it.scoped("snapshot equals what git add -A && git write-tree would produce", () =>
    Effect.gen(function*() {
      const dir = yield* tempRepo()
      put(dir, ".gitignore", "*.log\nbuild/\n/rootonly.txt\n")
      for (const name of ["a.b", "a-b", "a0", "a/x.txt", "a/b/y.txt", "é.txt", "rootonly.txt", "sub/rootonly.txt"]) {
        put(dir, name, `${name}\n`)
      }
      put(dir, "build/out.js", "ignored dir\n")
      put(dir, "sub/build", "a file named build is not matched by build/\n")
      put(dir, "sub/.gitignore", "!keep.log\n*.tmp\n")
      put(dir, "sub/keep.log", "re-included\n")
      put(dir, "sub/drop.log", "still ignored\n")
      put(dir, "sub/deep/x.tmp", "ignored by sub/.gitignore\n")
      put(dir, "other/x.tmp", "not ignored here\n")
      put(dir, "secret.txt", "excluded via info/exclude\n")
      fs.appendFileSync(path.join(dir, ".git", "info", "exclude"), "secret.txt\n")
      put(dir, "bin/run.sh", "#!/bin/sh\n")
      fs.chmodSync(path.join(dir, "bin/run.sh"), 0o755)
      fs.symlinkSync("../a/x.txt", path.join(dir, "bin/link"))
      fs.mkdirSync(path.join(dir, "empty/nested"), { recursive: true })

      const tree = yield* Effect.flatMap(make(dir), (v) => v.snapshot)
      const index = path.join(dir, ".git", "tmp-index")
      const env = { ...process.env, GIT_INDEX_FILE: index }
      execFileSync("git", ["add", "-A"], { cwd: dir, env })
      const expected = execFileSync("git", ["write-tree"], { cwd: dir, env, encoding: "utf8" }).trim()
      fs.rmSync(index)
      expect(paths(lsTree(dir, tree))).toEqual(paths(lsTree(dir, expected)))
      expect(tree).toBe(expected)
    }))

  it.scoped("a second commit's parent is the first; logs returns both, oldest first", () =>
    Effect.gen(function*() {
      const dir = yield* tempRepo()
      put(dir, "train.ts", "v1\n")
      const v = yield* make(dir)
      expect(yield* v.logs).toEqual([])
      const first = yield* v.commit(yield* v.snapshot, ".flor/logs/t1__train.ts.jsonl", bytes("first log\n"), "run 1")
      put(dir, "train.ts", "v2\n")
      const second = yield* v.commit(yield* v.snapshot, ".flor/logs/t2__train.ts.jsonl", bytes("second log\n"), "run 2")

      expect(git(dir, "rev-parse", `${second}^`).trim()).toBe(first)
      expect(git(dir, "rev-list", "--count", "flor.shadow").trim()).toBe("2")
      expect(git(dir, "show", `${first}:train.ts`)).toBe("v1\n")
      expect(git(dir, "show", `${second}:train.ts`)).toBe("v2\n")
      // each commit carries only its own log
      expect(paths(lsTree(dir, second)).filter((p) => p?.startsWith(".flor/"))).toEqual([".flor/logs/t2__train.ts.jsonl"])

      const logs = yield* v.logs
      expect(logs.map((l) => ({ ...l, content: new TextDecoder().decode(l.content) }))).toEqual([
        { vid: first, path: ".flor/logs/t1__train.ts.jsonl", content: "first log\n" },
        { vid: second, path: ".flor/logs/t2__train.ts.jsonl", content: "second log\n" }
      ])
      // a fresh instance (another process) sees the same history
      expect((yield* Effect.flatMap(make(dir), (w) => w.logs)).map((l) => l.vid)).toEqual([first, second])
    }))

  it.scoped("the stat cache skips unchanged files; a change alters only its blob", () =>
    Effect.gen(function*() {
      const dir = yield* tempRepo()
      for (const name of ["a.txt", "b.txt", "c.txt", "d/e.txt", "d/f/g.txt"]) put(dir, name, `${name} v1\n`)
      const past = 1_600_000_000 // whole seconds: restored exactly by utimes
      fs.utimesSync(path.join(dir, "c.txt"), past, past)
      const v = yield* make(dir)
      const t1 = yield* v.snapshot
      const cacheFile = path.join(dir, ".git", "flor", "stat-cache.json")
      expect(fs.readFileSync(cacheFile, "utf8")).toContain("d/f/g.txt")
      expect(yield* v.snapshot).toBe(t1)

      put(dir, "d/f/g.txt", "d/f/g.txt v2 changed\n")
      // same size, same mtime, same inode: the cache trusts it (as git's index does), proving it is not re-read
      put(dir, "c.txt", "C.TXT V1\n")
      fs.utimesSync(path.join(dir, "c.txt"), past, past)
      const t2 = yield* v.snapshot
      const [l1, l2] = [lsTree(dir, t1), lsTree(dir, t2)]
      expect(l2.filter((l) => !l1.includes(l))).toHaveLength(1)
      expect(l1.filter((l) => !l2.includes(l))).toHaveLength(1)
      expect(l2.filter((l) => !l1.includes(l))[0]).toMatch(/\td\/f\/g\.txt$/)
      expect(git(dir, "show", `${t2}:d/f/g.txt`)).toBe("d/f/g.txt v2 changed\n")
      expect(git(dir, "show", `${t2}:c.txt`)).toBe("c.txt v1\n")

      // a mode change is seen; without the cache, c.txt is re-read
      fs.chmodSync(path.join(dir, "b.txt"), 0o755)
      fs.rmSync(cacheFile)
      const t3 = yield* v.snapshot
      expect(git(dir, "show", `${t3}:c.txt`)).toBe("C.TXT V1\n")
      expect(lsTree(dir, t3).find((l) => l.endsWith("\tb.txt"))).toMatch(/^100755 /)
      // changed ignore rules apply to paths the cache knows
      put(dir, ".gitignore", "a.txt\n")
      put(dir, "d/f/.gitignore", "g.txt\n")
      expect(paths(lsTree(dir, yield* v.snapshot))).toEqual([".gitignore", "b.txt", "c.txt", "d/e.txt", "d/f/.gitignore"])
      fs.rmSync(path.join(dir, ".gitignore"))
      fs.writeFileSync(path.join(dir, "d/f/.gitignore"), "# nothing\n")
      expect(paths(lsTree(dir, yield* v.snapshot))).toEqual(["a.txt", "b.txt", "c.txt", "d/e.txt", "d/f/.gitignore", "d/f/g.txt"])
      // deletions are seen
      fs.rmSync(path.join(dir, "d"), { recursive: true })
      expect(paths(lsTree(dir, yield* v.snapshot))).toEqual(["a.txt", "b.txt", "c.txt"])
    }))

  it.scoped("executable bits and symlinks are preserved; empty dirs are skipped", () =>
    Effect.gen(function*() {
      const dir = yield* tempRepo()
      put(dir, "run.sh", "#!/bin/sh\necho hi\n")
      fs.chmodSync(path.join(dir, "run.sh"), 0o755)
      put(dir, "plain.txt", "plain\n")
      fs.symlinkSync("target/path.txt", path.join(dir, "link"))
      fs.mkdirSync(path.join(dir, "empty", "deeper"), { recursive: true })
      const v = yield* make(dir)
      yield* v.commit(yield* v.snapshot, ".flor/logs/x.jsonl", bytes("{}\n"), "run")
      const lines = git(dir, "ls-tree", "-r", "-t", "flor.shadow").trim().split("\n")
      const entry = (p: string) => lines.find((l) => l.endsWith(`\t${p}`))?.split(/\s+/)
      expect(entry("run.sh")?.[0]).toBe("100755")
      expect(entry("plain.txt")?.[0]).toBe("100644")
      expect(entry("link")?.[0]).toBe("120000")
      expect(git(dir, "cat-file", "-p", entry("link")?.[2] ?? "")).toBe("target/path.txt")
      expect(lines.some((l) => l.includes("empty"))).toBe(false)
    }))

  it.scopedLive("concurrent commits from 8 processes and 8 fibers all land on the first-parent chain", () =>
    Effect.gen(function*() {
      const dir = yield* tempRepo()
      put(dir, "train.ts", "train\n")
      git(dir, "add", "-A")
      git(dir, "commit", "-qm", "init")
      const module = fileURLToPath(new URL("../src/layers/GitVersioning.ts", import.meta.url))
      const script = `
        import { Effect } from "effect"
        import { make } from ${JSON.stringify(module)}
        const i = process.env.FLOR_I
        const v = await Effect.runPromise(make(process.env.FLOR_DIR))
        const tree = await Effect.runPromise(v.snapshot)
        console.log(await Effect.runPromise(v.commit(tree, ".flor/logs/p" + i + ".jsonl", new TextEncoder().encode("process " + i + "\\n"), "run " + i)))
      `
      const run = (i: number) =>
        Effect.promise(() =>
          promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
            cwd: fileURLToPath(new URL("..", import.meta.url)),
            env: { ...process.env, FLOR_DIR: dir, FLOR_I: String(i) }
          })
        ).pipe(Effect.map(({ stdout }) => stdout.trim()))
      const fromProcesses = yield* Effect.all(Array.from({ length: 8 }, (_, i) => run(i)), { concurrency: "unbounded" })
      expect(git(dir, "rev-list", "--first-parent", "--count", "flor.shadow").trim()).toBe("8")
      expect(new Set(git(dir, "rev-list", "--first-parent", "flor.shadow").trim().split("\n")))
        .toEqual(new Set(fromProcesses))

      const fromFibers = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) =>
          Effect.gen(function*() {
            const v = yield* make(dir)
            return yield* v.commit(yield* v.snapshot, `.flor/logs/f${i}.jsonl`, bytes(`fiber ${i}\n`), `fiber ${i}`)
          })),
        { concurrency: "unbounded" }
      )
      const chain = git(dir, "rev-list", "--first-parent", "flor.shadow").trim().split("\n")
      expect(chain).toHaveLength(16)
      expect(new Set(chain)).toEqual(new Set([...fromProcesses, ...fromFibers]))
      const logs = yield* Effect.flatMap(make(dir), (v) => v.logs)
      expect(logs.map((l) => new TextDecoder().decode(l.content)).sort()).toEqual(
        [...Array.from({ length: 8 }, (_, i) => `fiber ${i}\n`), ...Array.from({ length: 8 }, (_, i) => `process ${i}\n`)]
          .sort()
      )
      expect(logs.map((l) => l.vid)).toEqual([...chain].reverse())
      expect(fs.existsSync(path.join(dir, ".git", "refs", "heads", "flor.shadow.lock"))).toBe(false)
      git(dir, "fsck", "--strict", "--no-dangling")
    }))

  it.scoped("findRoot fails outside a repository and finds the root from a subdirectory", () =>
    Effect.gen(function*() {
      const outside = yield* tempDir
      const error = yield* Effect.flip(findRoot(outside))
      expect(error._tag).toBe("NotAGitRepository")
      expect(error.path).toBe(outside)
      expect((yield* Effect.flip(make(outside)))._tag).toBe("NotAGitRepository")

      const dir = yield* tempRepo()
      fs.mkdirSync(path.join(dir, "a", "b"), { recursive: true })
      expect(yield* findRoot(path.join(dir, "a", "b"))).toBe(dir)
    }))

  it.scoped("a repository without commits works; a detached HEAD has no branch", () =>
    Effect.gen(function*() {
      const dir = yield* tempRepo("trunk")
      put(dir, "train.ts", "x\n")
      const v = yield* make(dir)
      expect(yield* v.head).toEqual({ branch: "trunk", head: null })
      expect(yield* v.logs).toEqual([])
      const vid = yield* v.commit(yield* v.snapshot, ".flor/logs/a/b/c.jsonl", bytes("nested\n"), "run")
      expect(git(dir, "show", `${vid}:.flor/logs/a/b/c.jsonl`)).toBe("nested\n")
      expect(yield* v.head).toEqual({ branch: "trunk", head: null })
      expect(git(dir, "status", "--porcelain")).toBe("?? train.ts\n")

      git(dir, "add", "-A")
      git(dir, "commit", "-qm", "first")
      const head = git(dir, "rev-parse", "HEAD").trim()
      expect(yield* v.head).toEqual({ branch: "trunk", head })
      git(dir, "checkout", "-q", "--detach")
      expect(yield* v.head).toEqual({ branch: null, head })

      const bad = yield* Effect.flip(v.commit(yield* v.snapshot, "../escape.jsonl", bytes(""), "bad"))
      expect(bad._tag).toBe("VersioningError")
      expect(bad.operation).toBe("commit")
    }))
})
