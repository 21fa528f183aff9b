/**
 * Background materialization on a worker thread. `submit` builds the small
 * checkpoint header on the calling thread and transfers the part buffers to the
 * worker (zero copy); the worker writes header and parts with `writev`, hashing
 * them incrementally, into the `LocalObjectStore` layout with the same atomicity
 * (temp file, fsync, rename, directory fsync). At most `queue` snapshots are in
 * flight; `submit` waits when the queue is full.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { Worker } from "node:worker_threads"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { CheckpointError } from "../domain/Errors.js"
import type { Snapshot } from "../domain/Snapshot.js"
import { Materializer, type Materialized } from "../services/Materializer.js"
import type { CheckpointKey } from "../services/ObjectStore.js"
import { relativePath, writeChunksSync } from "./LocalObjectStore.js"

/** Options of the background materializer. */
export interface Options {
  /** Snapshots in flight (queued or being written) before `submit` waits; default 2. */
  readonly queue?: number
}

/**
 * The worker: plain CommonJS, evaluated from this string so that it runs the same
 * from TypeScript sources and from `dist`. Mirrors `LocalObjectStore.writeChunksSync`
 * with padding on.
 */
const WORKER_SOURCE = `"use strict"
const { parentPort } = require("node:worker_threads")
const fs = require("node:fs")
const path = require("node:path")
const crypto = require("node:crypto")
const { performance } = require("node:perf_hooks")
const ZEROS = new Uint8Array(8)
const IGNORED = new Set(["EINVAL", "EPERM", "EISDIR", "EBADF", "ENOTSUP"])
const inside = (root, dir) => {
  const r = fs.realpathSync(root), d = fs.realpathSync(dir)
  if (d !== r && !d.startsWith(r.endsWith(path.sep) ? r : r + path.sep)) {
    throw new Error(dir + " resolves to " + d + ", outside the object store " + r)
  }
}
const syncDir = (dir) => {
  let fd
  try { fd = fs.openSync(dir, "r"); fs.fsyncSync(fd) }
  catch (e) { if (!IGNORED.has(e && e.code)) throw e }
  finally { if (fd !== undefined) fs.closeSync(fd) }
}
const writeAll = (fd, chunks) => {
  const pending = chunks.filter((c) => c.byteLength > 0)
  let i = 0, offset = 0
  while (i < pending.length) {
    let n = fs.writevSync(fd, [pending[i].subarray(offset), ...pending.slice(i + 1, i + 1024)])
    while (n > 0 && i < pending.length) {
      const rest = pending[i].byteLength - offset
      if (n >= rest) { n -= rest; i++; offset = 0 } else { offset += n; n = 0 }
    }
  }
}
const write = (root, rel, chunks) => {
  const file = path.join(root, rel), dir = path.dirname(file)
  fs.mkdirSync(root, { recursive: true })
  let existing = dir
  while (!fs.existsSync(existing)) existing = path.dirname(existing)
  inside(root, existing)
  const made = fs.mkdirSync(dir, { recursive: true })
  inside(root, dir)
  const hash = crypto.createHash("sha256"), out = []
  let bytes = 0
  for (const c of chunks) {
    out.push(c); hash.update(c); bytes += c.byteLength
    const pad = (8 - (c.byteLength & 7)) & 7
    if (pad > 0) { const z = ZEROS.subarray(0, pad); out.push(z); hash.update(z); bytes += pad }
  }
  const tmp = path.join(dir, "." + path.basename(file) + "." + process.pid + "." + crypto.randomBytes(6).toString("hex") + ".tmp")
  const fd = fs.openSync(tmp, "wx", 0o644)
  try {
    try { writeAll(fd, out); fs.fsyncSync(fd) } finally { fs.closeSync(fd) }
    fs.renameSync(tmp, file)
  } catch (e) { fs.rmSync(tmp, { force: true }); throw e }
  syncDir(dir)
  if (made !== undefined) {
    for (let d = dir; d !== path.dirname(made) && d !== path.dirname(d);) { d = path.dirname(d); syncDir(d) }
  }
  return { bytes, checksum: hash.digest("hex") }
}
parentPort.on("message", (job) => {
  const start = performance.now()
  try {
    const r = write(job.root, job.rel, job.chunks)
    parentPort.postMessage({ kind: "done", id: job.id, bytes: r.bytes, checksum: r.checksum, ms: performance.now() - start })
  } catch (e) {
    parentPort.postMessage({ kind: "failed", id: job.id, detail: e instanceof Error ? e.message : String(e) })
  }
})
`

interface Job {
  readonly id: number
  readonly root: string
  readonly rel: string
  readonly chunks: ReadonlyArray<Uint8Array>
}

type Reply =
  | { readonly kind: "done"; readonly id: number; readonly bytes: number; readonly checksum: string; readonly ms: number }
  | { readonly kind: "failed"; readonly id: number; readonly detail: string }
  | { readonly kind: "exit"; readonly detail: string }

interface Pending {
  readonly key: CheckpointKey
  readonly uri: string
  readonly file: string
}

const MAGIC = 0x4b434c46 // "FLCK" little-endian
const VERSION = 1
const align = (n: number) => (n + 7) & ~7
const encoder = new TextEncoder()

/**
 * The chunks of a snapshot's encoding: the header (magic, version, length, JSON)
 * then each part's bytes; each chunk padded with zeros to a multiple of 8 gives
 * exactly `Snapshot.encode(snapshot)`. Nothing is concatenated or copied.
 */
export const frame = (snapshot: Snapshot): ReadonlyArray<Uint8Array> => {
  let offset = 0
  const parts = snapshot.parts.map((p) => {
    const entry = { name: p.name, dtype: p.dtype, shape: p.shape, offset, bytes: p.data.byteLength }
    offset = align(offset + p.data.byteLength)
    return entry
  })
  const header = encoder.encode(JSON.stringify({ meta: snapshot.meta ?? null, parts }))
  const head = new Uint8Array(12 + header.byteLength)
  const view = new DataView(head.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, VERSION, true)
  view.setUint32(8, header.byteLength, true)
  head.set(header, 12)
  return [head, ...snapshot.parts.map((p) => p.data)]
}

/**
 * Chunks ready to post, and the buffers to transfer: a chunk that is the whole of
 * a plain `ArrayBuffer` is transferred as is; any other (a view on a larger
 * buffer, a `SharedArrayBuffer`) is copied first.
 */
const transferable = (chunks: ReadonlyArray<Uint8Array>) => {
  const transfer = new Set<ArrayBuffer>()
  const out = chunks.map((chunk) => {
    const buffer = chunk.buffer
    if (
      buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength &&
      chunk.byteLength > 0
    ) {
      transfer.add(buffer)
      return chunk
    }
    const copy = chunk.slice()
    transfer.add(copy.buffer)
    return copy
  })
  return { chunks: out, transfer: [...transfer] }
}

const messageOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

const writeError = (key: CheckpointKey, file: string, detail: string) =>
  new CheckpointError({
    reason: "Write",
    tstamp: key.tstamp,
    filename: key.filename,
    loop: key.loop,
    iteration: key.iteration,
    path: file,
    detail
  })

/**
 * Writes a snapshot on the calling thread, exactly as the worker would (same
 * bytes, layout and atomicity). Runs synchronously (`Effect.runSync` works).
 */
export const writeSync = (
  root: string,
  key: CheckpointKey,
  snapshot: Snapshot
): Effect.Effect<Materialized, CheckpointError> =>
  Effect.gen(function*() {
    const start = performance.now()
    const uri = yield* relativePath(key)
    const base = path.resolve(root)
    const written = yield* Effect.try({
      try: () => writeChunksSync(base, uri, frame(snapshot), true),
      catch: (cause) => writeError(key, path.join(base, uri), messageOf(cause))
    })
    return { key, uri, bytes: written.bytes, checksum: written.checksum, materializeMs: performance.now() - start }
  })

/**
 * A materializer writing under the object store `root`. The worker starts now and
 * is terminated when the scope closes, after every submitted snapshot is written.
 */
export const make = (
  root: string,
  options: Options = {}
): Effect.Effect<Materializer["Type"], never, Scope.Scope> =>
  Effect.gen(function*() {
    const base = path.resolve(root)
    const capacity = Number.isFinite(options.queue) ? Math.max(1, Math.floor(options.queue ?? 2)) : 2
    const permits = yield* Effect.makeSemaphore(capacity)
    const replies = yield* Queue.unbounded<Reply>()
    const outstanding = new Map<number, Pending>()
    let written: Array<Materialized> = []
    let failure: CheckpointError | undefined
    let nextId = 0
    let closing = false

    const spawn = (): Worker => {
      const started = new Worker(WORKER_SOURCE, { eval: true })
      let crash = ""
      started.on("message", (reply: Reply) => Queue.unsafeOffer(replies, reply))
      started.on("error", (e) => {
        crash = messageOf(e)
      })
      started.on("exit", (code) => {
        if (!closing && worker === started) {
          Queue.unsafeOffer(replies, { kind: "exit", detail: `the materializer worker exited (code ${code})${crash ? `: ${crash}` : ""}` })
        }
      })
      return started
    }
    let worker: Worker = yield* Effect.acquireRelease(
      Effect.sync(spawn),
      () =>
        Effect.promise(() => {
          closing = true
          return worker.terminate()
        })
    )

    const settle = (reply: Reply) =>
      Effect.suspend(() => {
        if (reply.kind === "exit") {
          for (const job of outstanding.values()) failure ??= writeError(job.key, job.file, reply.detail)
          const lost = outstanding.size
          outstanding.clear()
          worker = spawn()
          return permits.release(lost)
        }
        const job = outstanding.get(reply.id)
        if (job === undefined) return Effect.void
        outstanding.delete(reply.id)
        if (reply.kind === "done") {
          written.push({ key: job.key, uri: job.uri, bytes: reply.bytes, checksum: reply.checksum, materializeMs: reply.ms })
        } else {
          failure ??= writeError(job.key, job.file, reply.detail)
        }
        return permits.release(1)
      })
    yield* Queue.take(replies).pipe(Effect.flatMap(settle), Effect.forever, Effect.forkScoped)
    // Runs before the reply fiber is interrupted and the worker terminated.
    yield* Effect.addFinalizer(() => permits.withPermits(capacity)(Effect.void))

    const post = (pending: Pending, chunks: ReadonlyArray<Uint8Array>, transfer: ReadonlyArray<ArrayBuffer>) =>
      Effect.suspend(() => {
        const id = nextId++
        outstanding.set(id, pending)
        const job: Job = { id, root: base, rel: pending.uri, chunks }
        try {
          try {
            worker.postMessage(job, transfer)
          } catch {
            // Some buffer could not be transferred (e.g. marked untransferable): copy all.
            const copies = chunks.map((c) => c.slice())
            worker.postMessage({ ...job, chunks: copies }, copies.map((c) => c.buffer))
          }
          return Effect.void
        } catch (e) {
          outstanding.delete(id)
          failure ??= writeError(pending.key, pending.file, `cannot hand the snapshot to the worker: ${messageOf(e)}`)
          return permits.release(1)
        }
      })

    const submit = Effect.fn("Materializer.submit")(function*(key: CheckpointKey, snapshot: Snapshot) {
      const uri = relativePath(key)
      if (Either.isLeft(uri)) {
        const error = uri.left
        return yield* Effect.sync(() => {
          failure ??= error
        })
      }
      const pending: Pending = { key, uri: uri.right, file: path.join(base, uri.right) }
      const { chunks, transfer } = transferable(frame(snapshot))
      yield* Effect.uninterruptibleMask((restore) =>
        restore(permits.take(1)).pipe(Effect.zipRight(post(pending, chunks, transfer)))
      )
    })

    // Takes every permit, so it waits for all in-flight writes. On a failure the
    // successes are kept and returned by the next drain.
    const drain = permits.withPermits(capacity)(
      Effect.suspend(() => {
        if (failure !== undefined) {
          const error = failure
          failure = undefined
          return Effect.fail(error)
        }
        const out = written
        written = []
        return Effect.succeed(out)
      })
    ).pipe(Effect.withSpan("Materializer.drain"))

    const poll = Effect.sync(() => {
      const out = written
      written = []
      return out as ReadonlyArray<Materialized>
    })

    return { submit, drain, poll }
  })

/**
 * Background materialization into the object store at `root` (typically
 * `$FLOR_HOME/obj_store`). Scoped: the worker lives as long as the layer and is
 * terminated after draining.
 */
export const layer = (root: string, options: Options = {}): Layer.Layer<Materializer> =>
  Layer.scoped(Materializer, make(root, options))
