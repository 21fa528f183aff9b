import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { CheckpointError } from "../src/domain/Errors.js"
import * as LocalObjectStore from "../src/layers/LocalObjectStore.js"
import { type CheckpointKey, ObjectStore } from "../src/services/ObjectStore.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "flordb-obj-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const key = (iteration: number, over: Partial<CheckpointKey> = {}): CheckpointKey => ({
  projid: "proj",
  tstamp: "2024-05-01T10:00:00.000Z",
  filename: "train.ts",
  loop: "epoch",
  iteration,
  ...over
})

const bytesOf = (n: number, seed = 1) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

const sha256 = (data: Uint8Array) => crypto.createHash("sha256").update(data).digest("hex")

const insideRoot = (root: string, file: string) => {
  const realRoot = fs.realpathSync(root)
  return fs.realpathSync(file).startsWith(realRoot + path.sep)
}

const tempFilesUnder = (dir: string): Array<string> =>
  fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => path.basename(f).endsWith(".tmp"))

describe("LocalObjectStore", () => {
  it.scopedLive("round trip: put then get returns the same bytes, atomically written", () =>
    Effect.gen(function*() {
      const root = path.join(yield* tempDir, "obj_store")
      const store = LocalObjectStore.make(root)
      const data = bytesOf(100_003)
      const stored = yield* store.put(key(3), data)
      expect(stored.uri).toBe("proj/2024-05-01T10%3A00%3A00.000Z/train.ts/epoch-3.ckpt")
      expect(stored.bytes).toBe(data.byteLength)
      expect(stored.checksum).toBe(sha256(data))
      expect(new Uint8Array(fs.readFileSync(path.join(root, stored.uri)))).toEqual(data)
      const back = yield* store.get(key(3), stored.uri, stored.checksum)
      expect(back).toEqual(data)
      expect(tempFilesUnder(root)).toEqual([])
      // Overwriting is atomic too and the new content wins.
      const again = yield* store.put(key(3), bytesOf(10, 7))
      expect(yield* store.get(key(3), again.uri, again.checksum)).toEqual(bytesOf(10, 7))
    }))

  it.scopedLive("works through the layer", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const result = yield* Effect.gen(function*() {
        const store = yield* ObjectStore
        const stored = yield* store.put(key(1), bytesOf(64))
        return yield* store.get(key(1), stored.uri, stored.checksum)
      }).pipe(Effect.provide(LocalObjectStore.layer(root)))
      expect(result).toEqual(bytesOf(64))
    }))

  it.scopedLive("a flipped byte is Corrupt, naming run, iteration and path", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const store = LocalObjectStore.make(root)
      const stored = yield* store.put(key(2), bytesOf(4096))
      const file = path.join(root, stored.uri)
      const raw = fs.readFileSync(file)
      raw[1000] = raw[1000]! ^ 0x01
      fs.writeFileSync(file, raw)
      const error = yield* Effect.flip(store.get(key(2), stored.uri, stored.checksum))
      expect(error).toBeInstanceOf(CheckpointError)
      expect(error.reason).toBe("Corrupt")
      expect(error.tstamp).toBe("2024-05-01T10:00:00.000Z")
      expect(error.filename).toBe("train.ts")
      expect(error.loop).toBe("epoch")
      expect(error.iteration).toBe(2)
      expect(error.path).toBe(path.resolve(file))
      expect(error.message).toContain("train.ts 2024-05-01T10:00:00.000Z epoch=2 is corrupt")
    }))

  it.scopedLive("a truncated file is Corrupt", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const store = LocalObjectStore.make(root)
      const stored = yield* store.put(key(4), bytesOf(4096))
      fs.truncateSync(path.join(root, stored.uri), 4000)
      const error = yield* Effect.flip(store.get(key(4), stored.uri, stored.checksum))
      expect(error.reason).toBe("Corrupt")
      expect(error.detail).toContain("4000 bytes on disk")
      fs.truncateSync(path.join(root, stored.uri), 0)
      expect((yield* Effect.flip(store.get(key(4), stored.uri, stored.checksum))).reason).toBe("Corrupt")
    }))

  it.scopedLive("a missing object is Missing; remove frees its bytes once", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const store = LocalObjectStore.make(root)
      const never = Either.getOrThrow(LocalObjectStore.relativePath(key(9)))
      const missing = yield* Effect.flip(store.get(key(9), never, sha256(new Uint8Array())))
      expect(missing.reason).toBe("Missing")
      expect(missing.iteration).toBe(9)
      expect(missing.path).toBe(path.join(path.resolve(root), never))
      const stored = yield* store.put(key(5), bytesOf(777))
      expect(yield* store.remove(stored.uri)).toBe(777)
      expect(yield* store.remove(stored.uri)).toBe(0)
      expect((yield* Effect.flip(store.get(key(5), stored.uri, stored.checksum))).reason).toBe("Missing")
    }))

  it.scopedLive("hostile key components stay inside the root and round-trip", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const root = path.join(base, "obj_store")
      const store = LocalObjectStore.make(root)
      const hostile: Array<CheckpointKey> = [
        key(1, { projid: "..", tstamp: "../..", filename: "../../../etc/passwd" }),
        key(2, { projid: ".", tstamp: "", filename: "/abs/path/train.ts", loop: "" }),
        key(3, { filename: "src/models/train.ts", loop: "a/b\\c" }),
        key(4, { filename: `it's "quoted" and spaced.ts`, loop: "epoch name" }),
        key(5, { projid: "проект", tstamp: "2024 05 01", filename: "训练 🚀.ts", loop: "épоque" }),
        key(6, { projid: "...", filename: ".hidden", loop: "..", tstamp: "a\0b" }),
        key(7, { filename: "x".repeat(400), loop: "%2e%2E" }),
        key(8, { filename: "x".repeat(399) + "y" }),
        key(9, { filename: "train.ts", loop: "epoch-1" })
      ]
      const uris = new Set<string>()
      for (const [i, k] of hostile.entries()) {
        const data = bytesOf(50 + i, i)
        const stored = yield* store.put(k, data)
        uris.add(stored.uri)
        const file = path.join(root, stored.uri)
        expect(insideRoot(root, file)).toBe(true)
        expect(stored.uri.split("/")).toHaveLength(4)
        for (const part of stored.uri.split("/")) {
          expect(part).not.toMatch(/^\.|^$/)
          expect(Buffer.byteLength(part)).toBeLessThan(256)
        }
        expect(yield* store.get(k, stored.uri, stored.checksum)).toEqual(data)
      }
      expect(uris.size).toBe(hostile.length)
      // Nothing was created next to the root.
      expect(fs.readdirSync(base)).toEqual(["obj_store"])
    }))

  it.scopedLive("keys that cannot name a file are refused", () =>
    Effect.gen(function*() {
      const store = LocalObjectStore.make(yield* tempDir)
      for (const iteration of [-1, 1.5, Number.NaN]) {
        const error = yield* Effect.flip(store.put(key(iteration), bytesOf(8)))
        expect(error.reason).toBe("Write")
      }
      expect((yield* Effect.flip(store.put(key(1, { loop: "\uD800" }), bytesOf(8)))).reason).toBe("Write")
    }))

  it.scopedLive("a uri resolving outside the root is refused by get and remove", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const root = path.join(base, "obj_store")
      const store = LocalObjectStore.make(root)
      yield* store.put(key(1), bytesOf(16))
      const outside = path.join(base, "secret.ckpt")
      fs.writeFileSync(outside, bytesOf(16))
      const checksum = sha256(bytesOf(16))
      const refused = [
        "../secret.ckpt",
        outside,
        "proj/../../secret.ckpt",
        "a/b/../../../secret.ckpt",
        "proj/x/y/../../../../secret.ckpt",
        `file://${outside}`,
        "proj\\..\\..\\secret.ckpt",
        "proj/t/f/.epoch-1.ckpt.1.abc.tmp",
        "./proj/t/f/e-1.ckpt",
        "proj//f/e-1.ckpt",
        ""
      ]
      for (const uri of refused) {
        const error = yield* Effect.flip(store.get(key(1), uri, checksum))
        expect(error).toBeInstanceOf(CheckpointError)
        expect(error.reason).toBe("Corrupt")
        const removeError = yield* Effect.flip(store.remove(uri))
        expect(removeError.reason).toBe("Write")
      }
      expect(fs.existsSync(outside)).toBe(true)

      // A symlink planted inside the root does not lead reads or writes outside it.
      const elsewhere = path.join(base, "elsewhere")
      fs.mkdirSync(path.join(elsewhere, "f"), { recursive: true })
      fs.writeFileSync(path.join(elsewhere, "f", "e-1.ckpt"), bytesOf(16))
      fs.symlinkSync(elsewhere, path.join(root, "proj", "t"))
      const viaLink = yield* Effect.flip(store.get(key(1), "proj/t/f/e-1.ckpt", checksum))
      expect(viaLink.reason).toBe("Corrupt")
      expect(viaLink.detail).toContain("outside the object store")
      expect((yield* Effect.flip(store.remove("proj/t/f/e-1.ckpt"))).reason).toBe("Write")
      expect(fs.existsSync(path.join(elsewhere, "f", "e-1.ckpt"))).toBe(true)
      const put = yield* Effect.flip(store.put(key(1, { tstamp: "t", filename: "g", loop: "e" }), bytesOf(16)))
      expect(put.reason).toBe("Write")
      expect(fs.readdirSync(elsewhere)).toEqual(["f"])
    }))

  it.scopedLive("a temp file left by a crash is never read and is swept once stale", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const store = LocalObjectStore.make(root)
      const kept = yield* store.put(key(1), bytesOf(128))
      // A crash while writing iteration 2 leaves only its temp file.
      const uri2 = Either.getOrThrow(LocalObjectStore.relativePath(key(2)))
      const dir = path.dirname(path.join(root, uri2))
      const stale = path.join(dir, `.${path.basename(uri2)}.4242.0123456789ab.tmp`)
      const fresh = path.join(dir, `.${path.basename(uri2)}.4243.ba9876543210.tmp`)
      fs.writeFileSync(stale, bytesOf(64))
      fs.writeFileSync(fresh, bytesOf(64))
      const old = new Date(Date.now() - 3_600_000)
      fs.utimesSync(stale, old, old)

      expect((yield* Effect.flip(store.get(key(2), uri2, sha256(bytesOf(64))))).reason).toBe("Missing")
      const tempUri = path.relative(root, stale).split(path.sep).join("/")
      expect((yield* Effect.flip(store.get(key(2), tempUri, sha256(bytesOf(64))))).reason).toBe("Corrupt")

      expect(yield* LocalObjectStore.sweepTemp(root, 60_000)).toBe(1)
      expect(fs.existsSync(stale)).toBe(false)
      expect(fs.existsSync(fresh)).toBe(true)
      expect(yield* LocalObjectStore.sweepTemp(root, 0)).toBe(1)
      expect(tempFilesUnder(root)).toEqual([])
      expect(yield* store.get(key(1), kept.uri, kept.checksum)).toEqual(bytesOf(128))
      expect(yield* LocalObjectStore.sweepTemp(path.join(root, "nope"), 0)).toBe(0)
    }))
})
