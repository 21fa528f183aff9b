/**
 * Recovery of runs whose process died: their journals are versioned and stored
 * with status `crashed` (or the status their end marker names), never half-visible.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { endLine, parseLog } from "../domain/LogFile.js"
import { Journal, type OrphanJournal } from "../services/Journal.js"
import { Store } from "../services/Store.js"
import { Versioning } from "../services/Versioning.js"

/**
 * The lines of a journal that were read, each ending in a newline: a torn last write
 * (the process died mid-line) is dropped, so the committed log holds what was stored.
 */
const wholeLines = (orphan: OrphanJournal): string => {
  const lines = Buffer.from(orphan.bytes).toString("utf8").split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  return lines.slice(0, lines.length - orphan.contents.torn).map((l) => `${l}\n`).join("")
}

/** Stores every orphaned journal of `projid`; returns how many runs were recovered. */
export const recover = (projid: string) =>
  Effect.gen(function*() {
    const journal = yield* Journal
    const store = yield* Store
    const versioning = yield* Versioning
    const orphans = yield* journal.orphans(projid)
    if (orphans.length === 0) return 0
    const stored = new Map((yield* store.runs).map((r) => [`${r.tstamp}\u0000${r.filename}`, r]))
    // A journal with an end marker is a run that died inside its commit: its log may
    // already be on the shadow branch (reuse that commit), and its store row may name a
    // commit the branch does not hold. Only then are the branch's logs read, once.
    let onShadow: ReadonlyMap<string, string> | undefined
    const shadowVid = (logPath: string) =>
      Effect.map(
        onShadow !== undefined
          ? Effect.succeed(onShadow)
          : Effect.map(versioning.logs, (logs) => (onShadow = new Map(logs.map((l) => [l.path, l.vid])))),
        (vids) => vids.get(logPath)
      )
    let recovered = 0
    for (const orphan of orphans) {
      const { header, end, logs, loops, checkpoints } = orphan.contents
      const known = stored.get(`${header.tstamp}\u0000${header.filename}`)
      const logPath = `.flor/logs/${header.tstamp}.jsonl`
      const committed = end === null ? undefined : yield* shadowVid(logPath)
      if (known !== undefined && known.vid !== null && known.vid === committed) {
        yield* journal.remove(orphan.path)
        continue
      }
      const status = end?.status ?? "crashed"
      const endTime = end?.endTime ?? null
      const bytes = end === null ? Buffer.from(wholeLines(orphan) + endLine(status, Date.now())) : orphan.bytes
      const vid = committed ?? (header.tree === null ? null : yield* versioning.commit(
        header.tree,
        logPath,
        new Uint8Array(bytes),
        `flor: ${header.filename} ${header.tstamp} (${status}, recovered)`
      ))
      yield* store.ingest({ header, status, vid, endTime, logs, loops, checkpoints })
      yield* journal.remove(orphan.path)
      recovered++
    }
    return recovered
  })

/**
 * Rebuilds the store from the run logs on the shadow branch (the source of truth):
 * every run is re-ingested under its original key. Returns the number of runs.
 */
export const unpack = Effect.gen(function*() {
  const store = yield* Store
  const versioning = yield* Versioning
  const logs = yield* versioning.logs
  let runs = 0
  for (const log of logs) {
    const parsed = parseLog(new TextDecoder().decode(log.content))
    if (Either.isLeft(parsed)) continue
    const { header, end, logs: records, loops, checkpoints } = parsed.right
    yield* store.ingest({
      header,
      status: end?.status ?? "crashed",
      vid: log.vid,
      endTime: end?.endTime ?? null,
      logs: records,
      loops,
      checkpoints
    })
    runs++
  }
  return runs
})
