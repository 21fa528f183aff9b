/**
 * Run journals as files under `$FLOR_HOME/journal/<projid>/<tstamp>.jsonl`:
 * appended and fdatasync'ed on every flush (after a run's first flush by a writer
 * thread, so the recording loop does not wait for the disk), created exclusively so two runs
 * never share a tstamp.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Worker } from "node:worker_threads"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { JournalError } from "../domain/Errors.js"
import { tstampOf } from "../domain/Ids.js"
import {
  batchEncoder,
  endLine,
  headerLine,
  LOG_WIDTH,
  LOOP_WIDTH,
  parseLog,
  type RecordBatch
} from "../domain/LogFile.js"
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

/**
 * A batch with at least this many records starts the journal's writer thread, and so
 * does a run's second batch: a script that records for longer than one flush interval
 * never waits for the disk on its own thread, and one that ends sooner never starts a thread.
 */
const THREAD_THRESHOLD = 4096
/**
 * Jobs handed to the writer thread and not durable yet beyond which `appendBatch`
 * waits: one batch is written while the next interval's records are buffered, so a
 * record waits at most one flush interval plus two batch writes to be durable.
 */
const QUEUED = 1

/**
 * The writer thread: plain CommonJS evaluated from this string (it runs the same
 * from TypeScript sources and from `dist`). It encodes each batch straight into a
 * reused byte buffer, giving exactly the bytes of `LogFile.batchEncoder` (and so of
 * `logLine`/`loopLine`; keep them in step), appends them and fdatasyncs. Bytes it
 * could not write are kept and retried with the next job.
 */
const WORKER_SOURCE = `"use strict"
const { parentPort, workerData } = require("node:worker_threads")
const fs = require("node:fs")
const fd = workerData.fd
const names = workerData.names.map((name) => Buffer.from(JSON.stringify(name)))
let pending = workerData.pending.map((b) => Buffer.from(b))
let dirty = false
let out = Buffer.allocUnsafe(1 << 16)
const grow = (buf, used, need) => {
  let size = buf.length * 2
  while (size < used + need) size *= 2
  const bigger = Buffer.allocUnsafe(size)
  buf.copy(bigger, 0, 0, used)
  return bigger
}
const ascii = (buf, p, s) => { for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i); return p }
const bytes = (buf, p, b) => { for (let i = 0; i < b.length; i++) buf[p++] = b[i]; return p }
// as String(v): integers digit by digit, other numbers through the engine
const num = (buf, p, v) => {
  if (v >= 0 && v <= 2147483647 && (v | 0) === v) {
    let x = v | 0
    let end = p + (x < 10 ? 1 : x < 100 ? 2 : x < 1000 ? 3 : x < 10000 ? 4 : x < 100000 ? 5 : x < 1000000 ? 6 : x < 10000000 ? 7 : x < 100000000 ? 8 : x < 1000000000 ? 9 : 10)
    const next = end
    do { const q = (x / 10) | 0; buf[--end] = 48 + x - q * 10; x = q } while (x !== 0)
    return next
  }
  if (Number.isInteger(v) && v < 1e15 && v > -1e15) {
    if (v < 0) { buf[p++] = 45; v = -v }
    let end = p + 1
    for (let t = 10; t <= v; t *= 10) end++
    const next = end
    do { const q = Math.floor(v / 10); buf[--end] = 48 + v - q * 10; v = q } while (end > p)
    return next
  }
  return ascii(buf, p, String(v))
}
const NULL = "null"
const encode = (batch) => {
  for (let i = 0; i < batch.names.length; i++) names[batch.nameBase + i] = Buffer.from(JSON.stringify(batch.names[i]))
  const extras = batch.extras
  let buf = out
  let p = 0
  if (batch.head.length * 3 > buf.length) buf = grow(buf, 0, batch.head.length * 3)
  if (batch.head.length > 0) p = buf.write(batch.head, 0, "utf8")
  for (const chunk of batch.loops) {
    for (let i = 0; i < chunk.length; i += ${LOOP_WIDTH}) {
      const tag = chunk[i + 2], kind = tag % 4, name = names[(tag - kind) / 4], entries = chunk[i + 3], v = chunk[i + 5]
      const extra = kind === 1 ? extras[v] : NULL
      if (p + 160 + name.length + extra.length * 3 > buf.length) buf = grow(buf, p, 160 + name.length + extra.length * 3)
      buf[p++] = 91; buf[p++] = 49; buf[p++] = 44
      p = num(buf, p, chunk[i]); buf[p++] = 44
      p = num(buf, p, chunk[i + 1]); buf[p++] = 44
      p = bytes(buf, p, name); buf[p++] = 44
      p = entries < 0 ? ascii(buf, p, NULL) : num(buf, p, entries); buf[p++] = 44
      p = num(buf, p, chunk[i + 4]); buf[p++] = 44
      if (kind === 0 && Number.isFinite(v)) p = num(buf, p, v)
      else if (kind === 1) p += buf.write(extra, p, "utf8")
      else p = ascii(buf, p, NULL)
      buf[p++] = 93; buf[p++] = 10
    }
  }
  for (const chunk of batch.logs) {
    for (let i = 0; i < chunk.length; i += ${LOG_WIDTH}) {
      const tag = chunk[i + 1], kind = tag % 4, name = names[(tag - kind) / 4], v = chunk[i + 2]
      const extra = kind === 1 ? extras[v] : NULL
      if (p + 120 + name.length + extra.length * 3 > buf.length) buf = grow(buf, p, 120 + name.length + extra.length * 3)
      const finite = kind !== 0 || Number.isFinite(v)
      buf[p++] = 91; buf[p++] = finite ? 48 : 51; buf[p++] = 44
      p = num(buf, p, chunk[i]); buf[p++] = 44
      p = bytes(buf, p, name); buf[p++] = 44
      if (kind === 0) {
        if (finite) p = num(buf, p, v)
        else { buf[p++] = 34; p = ascii(buf, p, String(v)); buf[p++] = 34 }
      } else if (kind === 1) p += buf.write(extra, p, "utf8")
      else p = ascii(buf, p, NULL)
      buf[p++] = 93; buf[p++] = 10
    }
  }
  out = buf
  return buf.subarray(0, p)
}
const writePending = () => {
  while (pending.length > 0) {
    let left = fs.writevSync(fd, pending.slice(0, 1024))
    dirty = true
    while (left > 0) {
      const head = pending[0]
      if (left >= head.byteLength) { left -= head.byteLength; pending.shift() }
      else { pending[0] = head.subarray(left); left = 0 }
    }
  }
  if (dirty) { fs.fdatasyncSync(fd); dirty = false }
}
const message = (e) => (e instanceof Error ? e.message : String(e))
parentPort.on("message", (job) => {
  let fresh
  try {
    fresh = job.batch !== undefined ? encode(job.batch) : Buffer.from(job.text)
  } catch (e) {
    parentPort.postMessage({ error: "cannot encode records: " + message(e), lost: true })
    return
  }
  try {
    if (fresh.length > 0) pending.push(fresh)
    writePending()
    parentPort.postMessage({})
  } catch (e) {
    // the encoder reuses its buffer: keep copies of what is still unwritten
    pending = pending.map((b) => Buffer.from(b))
    parentPort.postMessage({ error: message(e) })
  }
})
`

/** The outcome of one job: durable, or not yet (`error`, kept and retried), or never (`lost`). */
interface Reply {
  readonly error?: string
  readonly lost?: boolean
}

const transferList = (batch: RecordBatch): Array<ArrayBuffer> => {
  const out = new Set<ArrayBuffer>()
  for (const chunk of batch.logs) if (chunk.buffer instanceof ArrayBuffer) out.add(chunk.buffer)
  for (const chunk of batch.loops) if (chunk.buffer instanceof ArrayBuffer) out.add(chunk.buffer)
  return [...out]
}

/**
 * The writer of one open journal. A run's first batch, when small, is encoded, written
 * and fdatasync'ed on the calling thread; the next batch (or a first large one) starts
 * a writer thread that does all of that for every later write, in order, so a
 * recording loop does not wait for the disk (unless more than `QUEUED` jobs are still
 * being written).
 */
const openWriter = (fd: number, file: string) =>
  Effect.gen(function*() {
    const error = (detail: string) => new JournalError({ path: file, detail })
    const known: Array<string> = []
    let encode = batchEncoder()
    /** Bytes not written yet after a failed write on this thread. */
    let pending: Array<Buffer> = []
    let dirty = false
    /** The writer thread's last outcome: a failure means it holds bytes it could not write yet. */
    let failure: JournalError | undefined
    /** Set when the writer thread died with jobs in hand: the run cannot be stored whole. */
    let lost: JournalError | undefined
    let worker: Worker | undefined
    let inFlight = 0
    let waiting: Array<() => void> = []
    let closing = false
    /** False once a writer thread could not be started: everything is written here. */
    let threads = true
    /** Batches written on this thread. */
    let batchesHere = 0

    const wake = () => {
      const resume = waiting
      waiting = []
      for (const f of resume) f()
    }
    /** Waits until at most `n` jobs handed to the writer thread are not durable yet. */
    const atMost = (n: number): Effect.Effect<void> =>
      Effect.suspend(() =>
        inFlight <= n ? Effect.void : Effect.zipRight(
          Effect.async<void>((resume) => {
            waiting.push(() => resume(Effect.void))
          }),
          atMost(n)
        )
      )

    /** Starts the writer thread with whatever this thread could not write yet; undefined when none can start. */
    const spawn = (): Worker | undefined => {
      let started: Worker
      try {
        started = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd, names: known, pending } })
      } catch {
        threads = false
        return undefined
      }
      pending = []
      let crash = ""
      started.on("message", (reply: Reply) => {
        // the thread writes in order: a success means everything before is durable too
        failure = reply.error === undefined ? undefined : error(reply.error)
        if (reply.lost === true) lost ??= failure
        inFlight--
        wake()
      })
      started.on("error", (e) => {
        crash = e.message
      })
      started.on("exit", (code) => {
        if (closing || worker !== started) return
        worker = undefined
        encode = batchEncoder(known)
        if (inFlight > 0 || failure !== undefined) {
          lost ??= error(`the journal writer thread exited (code ${code})${crash ? `: ${crash}` : ""} with records in hand`)
        }
        inFlight = 0
        wake()
      })
      return started
    }
    // Runs before the file is closed.
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        atMost(0),
        Effect.promise(async () => {
          closing = true
          if (worker !== undefined) await worker.terminate()
        })
      )
    )

    /** Writes `bytes` after anything pending, and makes it durable, on this thread. */
    const writeHere = (bytes: Buffer | undefined) =>
      Effect.try({
        try: () => {
          if (bytes !== undefined && bytes.byteLength > 0) pending.push(bytes)
          while (pending.length > 0) {
            let left = fs.writevSync(fd, pending.slice(0, 1024))
            dirty = true
            while (left > 0) {
              const head = pending[0]!
              if (left >= head.byteLength) {
                left -= head.byteLength
                pending.shift()
              } else {
                pending[0] = head.subarray(left)
                left = 0
              }
            }
          }
          if (dirty) {
            fs.fdatasyncSync(fd)
            dirty = false
          }
        },
        catch: fail(file)
      })

    const checked = Effect.suspend(() => {
      const e = lost ?? failure
      return e === undefined ? Effect.void : Effect.fail(e)
    })

    /** Waits until the writer thread has finished every job handed to it. */
    const idle = atMost(0)

    /** Hands a job to the writer thread, in order, then waits while more than `QUEUED` are in hand. */
    const post = (
      thread: Worker,
      job: { readonly batch: RecordBatch } | { readonly text: string },
      transfer: ReadonlyArray<ArrayBuffer>
    ) =>
      Effect.suspend(() => {
        try {
          thread.postMessage(job, transfer)
        } catch {
          // cannot be handed over: write it here, after everything handed over before
          const bytes = Buffer.from("batch" in job ? batchEncoder(known)(job.batch) : job.text)
          return Effect.zipRight(idle, writeHere(bytes))
        }
        inFlight++
        return atMost(QUEUED)
      })

    const append = (text: string): Effect.Effect<void, JournalError> =>
      Effect.suspend(() =>
        worker === undefined
          ? Effect.zipRight(writeHere(Buffer.from(text)), checked)
          : Effect.zipRight(Effect.zipRight(post(worker, { text }, []), idle), checked)
      )

    // an empty job makes the thread retry whatever it holds
    const sync: Effect.Effect<void, JournalError> = append("")

    const appendBatch = (batch: RecordBatch): Effect.Effect<void, JournalError> =>
      Effect.suspend(() => {
        for (let i = 0; i < batch.names.length; i++) known[batch.nameBase + i] = batch.names[i]!
        if (worker === undefined && threads && lost === undefined && (batch.size >= THREAD_THRESHOLD || batchesHere > 0)) {
          worker = spawn()
        }
        if (worker === undefined) {
          batchesHere++
          return Effect.zipRight(writeHere(Buffer.from(encode(batch))), checked)
        }
        return Effect.zipRight(post(worker, { batch }, transferList(batch)), checked)
      })

    return { append, appendBatch, sync, idle }
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
        const { append, appendBatch, sync, idle } = yield* openWriter(fd, file)
        yield* append(headerLine(opened.header))
        const writer: JournalWriter = {
          path: file,
          append,
          appendBatch,
          sync,
          end: (status, endTime) => append(endLine(status, endTime)),
          contents: Effect.zipRight(
            idle,
            Effect.try({ try: () => new Uint8Array(fs.readFileSync(file)), catch: fail(file) })
          ),
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
