/**
 * Versioning on git: the working tree is written as git objects and committed, with each
 * run's log, onto `refs/heads/flor.shadow`. The user's HEAD, branches, index and working
 * tree are never touched.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import git from "isomorphic-git"
import { NotAGitRepository, VersioningError } from "../domain/Errors.js"
import { type HeadInfo, type ShadowLog, Versioning } from "../services/Versioning.js"
import {
  gitDirs,
  globalConfigFiles,
  readGitConfig,
  type Repo,
  snapshotTree,
  type TreeEntry,
  treeBody,
  writeObject
} from "./internal/gitTree.js"

const SHADOW = "refs/heads/flor.shadow"
const LOGS_DIR = ".flor/logs"

const detail = (e: unknown) => (e instanceof Error ? e.message : String(e))
const fail = (operation: string) => (e: unknown) => new VersioningError({ operation, detail: detail(e) })
const errCode = (e: unknown) => (e instanceof Error && "code" in e ? e.code : undefined)

/** The oid `ref` points to, or null when it does not exist. */
const resolveOid = async (gitdir: string, ref: string): Promise<string | null> => {
  try {
    return await git.resolveRef({ fs, gitdir, ref })
  } catch (e) {
    if (errCode(e) === "NotFoundError") return null
    throw e
  }
}

/** Waits up to ~10 s for the ref lock, backing off from 2 ms to at most 50 ms. */
const lockSchedule = Schedule.exponential("2 millis", 1.5).pipe(
  Schedule.union(Schedule.spaced("50 millis")),
  Schedule.jittered,
  Schedule.upTo("10 seconds")
)

const gitTimezone = (millis: number) => {
  const off = -new Date(millis).getTimezoneOffset()
  const abs = Math.abs(off)
  return `${off < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`
}

/** The root of the git working tree that contains `dir`. */
export const findRoot = (dir: string): Effect.Effect<string, NotAGitRepository> =>
  Effect.tryPromise({
    try: () => git.findRoot({ fs, filepath: path.resolve(dir) }),
    catch: () => new NotAGitRepository({ path: dir })
  })

/** Versioning for the git repository containing `dir`; commits as the user's git identity, else flordb. */
export const make = (dir: string): Effect.Effect<Versioning["Type"], NotAGitRepository> =>
  Effect.gen(function*() {
    const root = yield* findRoot(dir)
    const { gitdir, common } = yield* Effect.try({
      try: () => gitDirs(root),
      catch: () => new NotAGitRepository({ path: dir })
    })
    const config = readGitConfig([...globalConfigFiles, path.join(common, "config")])
    const excludes = config.get("core.excludesfile")?.replace(/^~(?=\/|$)/, os.homedir())
    const repo: Repo = {
      root,
      gitdir,
      common,
      ignoreCase: config.get("core.ignorecase") === "true",
      excludesFile: excludes ?? path.join(os.homedir(), ".config", "git", "ignore")
    }
    const clean = (s: string) => s.replace(/[<>\n]/g, "").trim()
    const name = clean(config.get("user.name") ?? "") || "flordb"
    const email = clean(config.get("user.email") ?? "") || "flordb@localhost"
    const lockFile = path.join(common, `${SHADOW}.lock`)

    // The last snapshot's root entries, so `commit` need not re-read the tree it extends.
    let last: { readonly oid: string; readonly entries: ReadonlyArray<TreeEntry> } | undefined

    const readEntries = async (oid: string): Promise<ReadonlyArray<TreeEntry>> => {
      if (last?.oid === oid) return last.entries
      const { tree } = await git.readTree({ fs, gitdir: common, oid })
      return tree.map((e) => ({ mode: e.mode === "040000" ? "40000" : e.mode, name: e.path, oid: e.oid }))
    }

    /** Writes `tree` with the blob `blob` at `parts`, creating subtrees; returns the new tree. */
    const insert = async (tree: string | undefined, parts: ReadonlyArray<string>, blob: string): Promise<string> => {
      const [head = "", ...rest] = parts
      const entries = tree === undefined ? [] : await readEntries(tree)
      const existing = entries.find((e) => e.name === head)
      const entry: TreeEntry = rest.length === 0
        ? { mode: "100644", name: head, oid: blob }
        : { mode: "40000", name: head, oid: await insert(existing?.mode === "40000" ? existing.oid : undefined, rest, blob) }
      return writeObject(common, "tree", treeBody([...entries.filter((e) => e.name !== head), entry]))
    }

    /** Under the ref lock: reads the tip, writes the commit on it, moves the ref (git's lock protocol). */
    const advanceShadow = (tree: string, millis: number, message: string) =>
      Effect.suspend(() => {
        const state = { closed: false, renamed: false }
        return Effect.acquireUseRelease(
          Effect.try({ try: () => fs.openSync(lockFile, "wx"), catch: (e) => e }).pipe(
            Effect.retry({ schedule: lockSchedule, while: (e) => errCode(e) === "EEXIST" }),
            Effect.mapError((e) =>
              new VersioningError({
                operation: "commit",
                detail: errCode(e) === "EEXIST"
                  ? `${lockFile} is held by another process (waited 10 s); remove it if no flor process is running`
                  : detail(e)
              })
            )
          ),
          (fd) =>
            Effect.tryPromise({
              try: async () => {
                const parent = await resolveOid(common, SHADOW)
                const sig = `${name} <${email}> ${Math.floor(millis / 1000)} ${gitTimezone(millis)}`
                const body = `tree ${tree}\n${parent === null ? "" : `parent ${parent}\n`}author ${sig}\ncommitter ${sig}\n\n${
                  message.endsWith("\n") ? message : `${message}\n`
                }`
                const oid = writeObject(common, "commit", Buffer.from(body))
                fs.writeSync(fd, `${oid}\n`)
                fs.closeSync(fd)
                state.closed = true
                try {
                  const reflog = path.join(common, "logs", SHADOW)
                  fs.mkdirSync(path.dirname(reflog), { recursive: true })
                  const summary = message.split("\n", 1)[0]
                  fs.appendFileSync(reflog, `${parent ?? "0".repeat(40)} ${oid} ${sig}\tcommit: ${summary}\n`)
                } catch {
                  // the reflog is a convenience
                }
                fs.renameSync(lockFile, path.join(common, SHADOW))
                state.renamed = true
                return oid
              },
              catch: fail("commit")
            }),
          (fd) =>
            Effect.sync(() => {
              if (!state.closed) fs.closeSync(fd)
              if (!state.renamed) fs.rmSync(lockFile, { force: true })
            })
        )
      })

    /** Files under `.flor/logs` of a commit's tree, path → blob oid. */
    const logFiles = async (tree: string, cache: object): Promise<Map<string, string>> => {
      const out = new Map<string, string>()
      const walk = async (oid: string, prefix: string): Promise<void> => {
        for (const e of (await git.readTree({ fs, gitdir: common, oid, cache })).tree) {
          if (e.type === "tree") await walk(e.oid, `${prefix}/${e.path}`)
          else if (e.type === "blob") out.set(`${prefix}/${e.path}`, e.oid)
        }
      }
      try {
        const logs = await git.readTree({ fs, gitdir: common, oid: tree, filepath: LOGS_DIR, cache })
        await walk(logs.oid, LOGS_DIR)
      } catch (e) {
        if (errCode(e) !== "NotFoundError") throw e
      }
      return out
    }

    const snapshot = Effect.try({
      try: () => {
        last = snapshotTree(repo)
        return last.oid
      },
      catch: fail("snapshot")
    }).pipe(Effect.withSpan("Versioning.snapshot"))

    const commit = Effect.fn("Versioning.commit")(
      function*(tree: string, logPath: string, log: Uint8Array, message: string) {
        const parts = logPath.split("/")
        if (parts.some((p) => p === "" || p === "." || p === ".." || p === ".git")) {
          return yield* new VersioningError({ operation: "commit", detail: `invalid log path '${logPath}'` })
        }
        const millis = yield* Clock.currentTimeMillis
        const withLog = yield* Effect.tryPromise({
          try: () => insert(tree, parts, writeObject(common, "blob", log)),
          catch: fail("commit")
        })
        return yield* advanceShadow(withLog, millis, message)
      }
    )

    const logs = Effect.tryPromise({
      try: async (): Promise<ReadonlyArray<ShadowLog>> => {
        const cache = {}
        const chain: Array<{ readonly oid: string; readonly tree: string }> = []
        for (let oid = await resolveOid(common, SHADOW); oid !== null;) {
          const { commit } = await git.readCommit({ fs, gitdir: common, oid, cache })
          chain.push({ oid, tree: commit.tree })
          oid = commit.parent[0] ?? null
        }
        const out: Array<ShadowLog> = []
        let previous = new Map<string, string>()
        for (const { oid, tree } of chain.reverse()) {
          const files = await logFiles(tree, cache)
          for (const [file, blob] of files) {
            if (previous.has(file)) continue
            const { blob: content } = await git.readBlob({ fs, gitdir: common, oid: blob, cache })
            out.push({ vid: oid, path: file, content })
          }
          previous = files
        }
        return out
      },
      catch: fail("logs")
    }).pipe(Effect.withSpan("Versioning.logs"))

    const head = Effect.tryPromise({
      try: async (): Promise<HeadInfo> => {
        const text = fs.readFileSync(path.join(gitdir, "HEAD"), "utf8").trim()
        if (!text.startsWith("ref: ")) return { branch: null, head: text }
        const ref = text.slice(5)
        return { branch: ref.replace(/^refs\/heads\//, ""), head: await resolveOid(common, ref) }
      },
      catch: fail("head")
    }).pipe(Effect.withSpan("Versioning.head"))

    const checkout = (vid: string, dir: string) =>
      Effect.tryPromise({
        try: async () => {
          const cache = {}
          const { commit: c } = await git.readCommit({ fs, gitdir: common, oid: vid, cache })
          const write = async (tree: string, into: string): Promise<void> => {
            fs.mkdirSync(into, { recursive: true })
            for (const e of (await git.readTree({ fs, gitdir: common, oid: tree, cache })).tree) {
              const target = path.join(into, e.path)
              if (e.type === "tree") {
                if (into === dir && e.path === ".flor") continue
                await write(e.oid, target)
              } else if (e.type === "blob") {
                const { blob } = await git.readBlob({ fs, gitdir: common, oid: e.oid, cache })
                if (e.mode === "120000") fs.symlinkSync(Buffer.from(blob).toString("utf8"), target)
                else fs.writeFileSync(target, blob, { mode: e.mode === "100755" ? 0o755 : 0o644 })
              }
            }
          }
          await write(c.tree, dir)
        },
        catch: (e) =>
          new VersioningError({
            operation: "checkout",
            detail: errCode(e) === "NotFoundError" ? `version ${vid} is not in this repository` : detail(e)
          })
      }).pipe(Effect.withSpan("Versioning.checkout"))

    return Versioning.of({ snapshot, commit, logs, head, checkout })
  })

/** The Versioning service for the git repository containing `dir`. */
export const layer = (dir: string): Layer.Layer<Versioning, NotAGitRepository> => Layer.effect(Versioning, make(dir))
