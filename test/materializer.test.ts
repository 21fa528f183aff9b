import { execFileSync } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { CheckpointError } from "../src/domain/Errors.js"
import * as Snapshot from "../src/domain/Snapshot.js"
import * as LocalObjectStore from "../src/layers/LocalObjectStore.js"
import * as WorkerMaterializer from "../src/layers/WorkerMaterializer.js"
import { Materializer } from "../src/services/Materializer.js"
import type { CheckpointKey } from "../src/services/ObjectStore.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "flordb-mat-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const key = (iteration: number, over: Partial<CheckpointKey> = {}): CheckpointKey => ({
  projid: "proj",
  tstamp: "2024-05-01T10:00:00.000Z",
  filename: "src/train.ts",
  loop: "epoch",
  iteration,
  ...over
})

const sha256 = (data: Uint8Array) => crypto.createHash("sha256").update(data).digest("hex")

const fileOf = (root: string, k: CheckpointKey) => path.join(root, Either.getOrThrow(LocalObjectStore.relativePath(k)))

/** Parts with odd sizes, a view on a larger buffer, an empty part and unicode metadata. */
const mixedSnapshot = (seed: number): Snapshot.Snapshot => {
  const weights = new Float32Array(1001)
  for (let i = 0; i < weights.length; i++) weights[i] = Math.sin(i + seed)
  const big = new Uint8Array(64)
  for (let i = 0; i < big.length; i++) big[i] = (i + seed) & 0xff
  return {
    meta: { step: seed, name: "modèle 🚀", nested: { a: [1, 2, 3] } },
    parts: [
      { name: "dense/kernel", dtype: "float32", shape: [7, 11, 13], data: new Uint8Array(weights.buffer) },
      { name: "odd", dtype: "bytes", shape: [3], data: new Uint8Array([seed, 2, 3]) },
      { name: "view", dtype: "uint8", shape: [5], data: big.subarray(10, 15) },
      { name: "empty", dtype: "int32", shape: [0], data: new Uint8Array(0) },
      { name: "bool", dtype: "bool", shape: [9], data: new Uint8Array([1, 0, 1, 1, 0, 0, 1, 0, seed & 1]) }
    ]
  }
}

/** Deep copy, so the expected encoding survives the transfer of the original's buffers. */
const copyOf = (s: Snapshot.Snapshot): Snapshot.Snapshot => ({
  meta: s.meta,
  parts: s.parts.map((p) => ({ ...p, data: p.data.slice() }))
})

const largeSnapshot = (bytes: number, seed = 0): Snapshot.Snapshot => {
  const data = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i += 4096) data[i] = (i / 4096 + seed) & 0xff
  return { meta: { seed }, parts: [{ name: "weights", dtype: "float32", shape: [bytes / 4], data }] }
}

describe("WorkerMaterializer", () => {
  it.scopedLive("writes exactly Snapshot.encode's bytes, readable through LocalObjectStore.get", () =>
    Effect.gen(function*() {
      const root = path.join(yield* tempDir, "obj_store")
      const snapshots = [1, 2, 3].map(mixedSnapshot)
      const expected = snapshots.map((s) => Snapshot.encode(copyOf(s)))
      const kernel = snapshots[0]!.parts[0]!.data
      const view = snapshots[0]!.parts[2]!.data
      const written = yield* Effect.gen(function*() {
        const materializer = yield* Materializer
        for (const [i, s] of snapshots.entries()) yield* materializer.submit(key(i + 1), s)
        // Whole buffers are transferred (detached here); a view on a larger buffer is copied.
        expect(kernel.byteLength).toBe(0)
        expect(view.byteLength).toBe(5)
        expect(view.buffer.byteLength).toBe(64)
        return yield* materializer.drain
      }).pipe(Effect.provide(WorkerMaterializer.layer(root)))

      expect(written.map((m) => m.key.iteration)).toEqual([1, 2, 3])
      const store = LocalObjectStore.make(root)
      for (const [i, m] of written.entries()) {
        const bytes = expected[i]!
        expect(m.uri).toBe(Either.getOrThrow(LocalObjectStore.relativePath(key(i + 1))))
        expect(m.bytes).toBe(bytes.byteLength)
        expect(m.checksum).toBe(sha256(bytes))
        expect(m.materializeMs).toBeGreaterThanOrEqual(0)
        expect(new Uint8Array(fs.readFileSync(path.join(root, m.uri)))).toEqual(bytes)
        const back = yield* store.get(m.key, m.uri, m.checksum)
        expect(back).toEqual(bytes)
        expect(Snapshot.decode(back)).toEqual(Snapshot.decode(bytes))
      }
      expect(fs.readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".tmp"))).toEqual([])
    }))

  it.scopedLive("writeSync writes the same bytes on the calling thread", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const snapshot = mixedSnapshot(7)
      const expected = Snapshot.encode(snapshot)
      const stored = Effect.runSync(WorkerMaterializer.writeSync(root, key(7), snapshot))
      expect(stored.bytes).toBe(expected.byteLength)
      expect(stored.checksum).toBe(sha256(expected))
      expect(yield* LocalObjectStore.make(root).get(key(7), stored.uri, stored.checksum)).toEqual(expected)
      // The caller keeps its buffers.
      expect(snapshot.parts[0]!.data.byteLength).toBe(1001 * 4)
      const failed = yield* Effect.flip(WorkerMaterializer.writeSync(root, key(-1), snapshot))
      expect(failed.reason).toBe("Write")
    }))

  it.scopedLive("back-pressure: with queue=1 the second submit returns only after the first write is done", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const materializer = yield* WorkerMaterializer.make(root, { queue: 1 })
      const first = key(1)
      yield* materializer.submit(first, largeSnapshot(96 * 2 ** 20))
      const firstWrittenAtSubmit = fs.existsSync(fileOf(root, first))
      const second = yield* Effect.fork(materializer.submit(key(2), largeSnapshot(1024, 1)))
      yield* Effect.yieldNow()
      const secondReturnedEarly = Option.isSome(yield* Fiber.poll(second))
      const firstWrittenThen = fs.existsSync(fileOf(root, first))
      yield* Fiber.join(second)
      const firstWrittenWhenSecondReturned = fs.existsSync(fileOf(root, first))
      console.log(
        `back-pressure: first written when its submit returned: ${firstWrittenAtSubmit}; ` +
          `second submit still waiting right after fork: ${!secondReturnedEarly}`
      )
      // The invariant, at every observation: the second submit has returned only if the first is on disk.
      expect(firstWrittenWhenSecondReturned).toBe(true)
      if (secondReturnedEarly) expect(firstWrittenThen).toBe(true)
      const done = yield* materializer.drain
      expect(done.map((m) => m.key.iteration)).toEqual([1, 2])
    }))

  it.scopedLive("a write failure surfaces at drain as a CheckpointError; earlier and later checkpoints are fine", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const materializer = yield* WorkerMaterializer.make(root, { queue: 2 })
      const store = LocalObjectStore.make(root)
      yield* materializer.submit(key(1), largeSnapshot(4096, 1))
      const before = yield* materializer.drain
      // A regular file where the project's directory must go: mkdir fails in the worker.
      fs.writeFileSync(path.join(root, "blocked"), "not a directory")
      yield* materializer.submit(key(2, { projid: "blocked" }), largeSnapshot(4096, 2))
      yield* materializer.submit(key(3), largeSnapshot(4096, 3))
      const error = yield* Effect.flip(materializer.drain)
      expect(error).toBeInstanceOf(CheckpointError)
      expect(error.reason).toBe("Write")
      expect(error.iteration).toBe(2)
      expect(error.filename).toBe("src/train.ts")
      expect(error.path).toBe(fileOf(root, key(2, { projid: "blocked" })))
      expect(error.message).toContain("could not be written")
      // Successes next to the failure are reported by the next drain.
      const alongside = yield* materializer.drain
      expect(alongside.map((m) => m.key.iteration)).toEqual([3])
      for (const m of [...before, ...alongside]) {
        expect(yield* store.get(m.key, m.uri, m.checksum)).toEqual(Snapshot.encode(largeSnapshot(4096, m.key.iteration)))
      }
      // Later submits still work.
      yield* materializer.submit(key(4), largeSnapshot(4096, 4))
      const after = yield* materializer.drain
      expect(after.map((m) => m.key.iteration)).toEqual([4])
      expect(yield* store.get(after[0]!.key, after[0]!.uri, after[0]!.checksum)).toEqual(
        Snapshot.encode(largeSnapshot(4096, 4))
      )
      // An invalid key is a Write error at drain too.
      yield* materializer.submit(key(-1), largeSnapshot(8))
      expect((yield* Effect.flip(materializer.drain)).reason).toBe("Write")
      expect(yield* materializer.drain).toEqual([])
    }))

  it.scopedLive("a root that is a file fails every write with a typed error", () =>
    Effect.gen(function*() {
      const root = path.join(yield* tempDir, "store-is-a-file")
      fs.writeFileSync(root, "")
      const materializer = yield* WorkerMaterializer.make(root)
      yield* materializer.submit(key(1), largeSnapshot(1024))
      const error = yield* Effect.flip(materializer.drain)
      expect(error._tag).toBe("CheckpointError")
      expect(error.reason).toBe("Write")
      expect(error.path.startsWith(root)).toBe(true)
    }))

  it.scopedLive("a read-only root fails writes; stored checkpoints stay readable", (ctx) =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const materializer = yield* WorkerMaterializer.make(root)
      yield* materializer.submit(key(1), largeSnapshot(1024, 1))
      const [stored] = yield* materializer.drain
      const dir = path.dirname(fileOf(root, key(1)))
      if (process.getuid?.() === 0) {
        // root ignores file modes: make the directory a read-only bind mount instead
        try {
          execFileSync("mount", ["--bind", dir, dir], { stdio: "ignore" })
        } catch {
          return ctx.skip("root without mount rights: no way to make a directory read-only")
        }
        yield* Effect.addFinalizer(() => Effect.sync(() => execFileSync("umount", [dir])))
        execFileSync("mount", ["-o", "remount,ro,bind", dir])
      } else {
        fs.chmodSync(dir, 0o555)
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.chmodSync(dir, 0o755)))
      }
      yield* materializer.submit(key(2), largeSnapshot(1024, 2))
      expect((yield* Effect.flip(materializer.drain)).reason).toBe("Write")
      expect(yield* LocalObjectStore.make(root).get(stored!.key, stored!.uri, stored!.checksum)).toEqual(
        Snapshot.encode(largeSnapshot(1024, 1))
      )
    }))

  it.scopedLive("closing the scope waits for pending writes", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      yield* Effect.scoped(
        Effect.flatMap(WorkerMaterializer.make(root), (m) => m.submit(key(1), largeSnapshot(8 * 2 ** 20)))
      )
      expect(fs.statSync(fileOf(root, key(1))).size).toBe(Snapshot.encode(largeSnapshot(8 * 2 ** 20)).byteLength)
    }))

  it.scopedLive("main-thread time: submit of a 50 MB snapshot vs a synchronous save", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const size = 50 * 2 ** 20
      const materializer = yield* WorkerMaterializer.make(root)
      // Warm up the worker and the code paths.
      yield* materializer.submit(key(0), largeSnapshot(1024))
      yield* materializer.drain
      Effect.runSync(WorkerMaterializer.writeSync(root, key(0, { projid: "sync" }), largeSnapshot(1024)))

      const rounds = 3
      const submitMs: Array<number> = []
      const syncMs: Array<number> = []
      const workerMs: Array<number> = []
      for (let i = 1; i <= rounds; i++) {
        const background = largeSnapshot(size, i)
        const t0 = performance.now()
        yield* materializer.submit(key(i), background)
        submitMs.push(performance.now() - t0)
        const [done] = yield* materializer.drain
        workerMs.push(done!.materializeMs)

        const foreground = largeSnapshot(size, i)
        const t1 = performance.now()
        Effect.runSync(WorkerMaterializer.writeSync(root, key(i, { projid: "sync" }), foreground))
        syncMs.push(performance.now() - t1)
      }
      const fmt = (xs: ReadonlyArray<number>) => xs.map((x) => x.toFixed(2)).join(", ")
      console.log(
        `50 MB snapshot, main-thread ms — submit: [${fmt(submitMs)}]; writeSync: [${fmt(syncMs)}]; ` +
          `worker materializeMs: [${fmt(workerMs)}]`
      )
    }))
})
