/**
 * Run journals as files under `$FLOR_HOME/journal/<projid>/<tstamp>.jsonl`:
 * appended and fdatasync'ed on every flush, created exclusively so two runs never
 * share a tstamp.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { JournalError } from "../domain/Errors.js"
import { tstampOf } from "../domain/Ids.js"
import { endLine, headerLine, parseLog } from "../domain/LogFile.js"
import type { RunHeader } from "../domain/Run.js"
import { Journal, type JournalWriter, type OrphanJournal } from "../services/Journal.js"

const fail = (file: string) => (cause: unknown) =>
  new JournalError({ path: file, detail: cause instanceof Error ? cause.message : String(cause) })

const bootMillis = (): number | undefined => {
  try {
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"))
    return btime ? Number(btime[1]) * 1000 : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether the process that started a run at `startedAt` still runs. On Linux a
 * zombie counts as dead, and so does a process that started after the run did
 * (its pid was reused).
 */
const isAlive = (pid: number, startedAt: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return true
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  if (fields[0] === "Z" || fields[0] === "X") return false
  const boot = bootMillis()
  const ticks = Number(fields[19])
  if (boot === undefined || !Number.isFinite(ticks)) return true
  return boot + (ticks * 1000) / 100 <= startedAt + 1000
}

const openExclusive = (dir: string, header: RunHeader) =>
  Effect.try({
    try: () => {
      fs.mkdirSync(dir, { recursive: true })
      let millis = Date.parse(header.tstamp)
      for (;;) {
        const tstamp = tstampOf(millis)
        const file = path.join(dir, `${tstamp}.jsonl`)
        try {
          const fd = fs.openSync(file, "wx")
          return { fd, file, header: { ...header, tstamp } }
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
          millis += 1
        }
      }
    },
    catch: fail(dir)
  })

/** Journals rooted at `home`. */
export const make = (home: string): Journal["Type"] => {
  const dirOf = (projid: string) => path.join(home, "journal", projid)
  return {
    open: (header) =>
      Effect.gen(function*() {
        const opened = yield* Effect.acquireRelease(
          openExclusive(dirOf(header.projid), header),
          ({ fd }) => Effect.sync(() => fs.closeSync(fd))
        )
        const { fd, file } = opened
        const write = (text: string) =>
          Effect.try({
            try: () => {
              fs.writeSync(fd, text)
              fs.fdatasyncSync(fd)
            },
            catch: fail(file)
          })
        yield* write(headerLine(opened.header))
        const writer: JournalWriter = {
          path: file,
          append: write,
          end: (status, endTime) => write(endLine(status, endTime)),
          contents: Effect.try({ try: () => new Uint8Array(fs.readFileSync(file)), catch: fail(file) }),
          remove: Effect.try({ try: () => fs.rmSync(file, { force: true }), catch: fail(file) })
        }
        return [writer, opened.header] as const
      }),
    orphans: (projid) =>
      Effect.try({
        try: () => {
          const dir = dirOf(projid)
          if (!fs.existsSync(dir)) return []
          const found: Array<OrphanJournal> = []
          for (const name of fs.readdirSync(dir).sort()) {
            if (!name.endsWith(".jsonl")) continue
            const file = path.join(dir, name)
            const bytes = new Uint8Array(fs.readFileSync(file))
            const parsed = parseLog(Buffer.from(bytes).toString("utf8"))
            if (Either.isLeft(parsed)) {
              // A journal whose header never reached the disk holds no records.
              if (Date.now() - fs.statSync(file).mtimeMs > 60_000) fs.rmSync(file, { force: true })
              continue
            }
            const { header } = parsed.right
            const sameHost = header.build.hostname === os.hostname()
            // A live process owns its journal, ended or not: between the end marker and the
            // journal's removal it is committing the run itself.
            if (sameHost && isAlive(header.build.pid, header.start_time)) continue
            if (!sameHost && parsed.right.end === null) continue
            found.push({ path: file, contents: parsed.right, bytes })
          }
          return found
        },
        catch: fail(dirOf(projid))
      }),
    remove: (file) => Effect.try({ try: () => fs.rmSync(file, { force: true }), catch: fail(file) })
  }
}

/** File journals under a flordb home. */
export const layer = (home: string): Layer.Layer<Journal> => Layer.succeed(Journal, make(home))
