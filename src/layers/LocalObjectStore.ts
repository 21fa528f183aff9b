/**
 * Checkpoints as files under a local directory (`$FLOR_HOME/obj_store` by default):
 * `<root>/<projid>/<tstamp>/<filename>/<loop>-<iteration>.ckpt`. Every component
 * taken from a key is percent-encoded, so no column, run, loop or file name can
 * leave the root. Writes go to a temp file in the target directory (fsync,
 * rename, fsync of the directory); reads verify the sha256 checksum.
 *
 * @since 0.1.0
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { CheckpointError } from "../domain/Errors.js"
import { type CheckpointKey, ObjectStore, type StoredObject } from "../services/ObjectStore.js"

const SAFE = /^[A-Za-z0-9._-]$/
const MAX_COMPONENT = 120
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
/** Temp files start with a dot, which an encoded component never does. */
const TEMP = /^\..+\.tmp$/

const sha256 = (data: string | Uint8Array) => crypto.createHash("sha256").update(data).digest("hex")

const messageOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

const codeOf = (cause: unknown) =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined

/**
 * Encodes one path component: bytes outside `[A-Za-z0-9._-]` and a leading `.`
 * become `%XX`, the empty string becomes `%`, and a long result is cut and
 * suffixed with `~` and a hash of the original (so it stays injective and within
 * file-name limits). The result is never `.`, `..`, empty, or a temp file name.
 */
export const encodeComponent = (value: string): string => {
  if (value.length === 0) return "%"
  let out = ""
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte)
    out += byte < 0x80 && SAFE.test(char) && !(out.length === 0 && char === ".")
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out.length > MAX_COMPONENT ? `${out.slice(0, 80)}~${sha256(value).slice(0, 32)}` : out
}

const decodeComponent = (component: string): string => {
  if (component === "%") return ""
  try {
    return decodeURIComponent(component)
  } catch {
    return component
  }
}

const keyError = (
  reason: CheckpointError["reason"],
  key: CheckpointKey,
  file: string,
  detail: string
) =>
  new CheckpointError({
    reason,
    tstamp: key.tstamp,
    filename: key.filename,
    loop: key.loop,
    iteration: key.iteration,
    path: file,
    detail
  })

/**
 * The object's path relative to the root, with `/` separators: also its uri.
 * Fails when the key cannot name a file (iteration not a non-negative integer,
 * a name that is not well-formed Unicode).
 */
export const relativePath = (key: CheckpointKey): Either.Either<string, CheckpointError> => {
  const names = [key.projid, key.tstamp, key.filename, key.loop]
  const bad = names.find((name) => LONE_SURROGATE.test(name))
  if (bad !== undefined) {
    return Either.left(keyError("Write", key, "", `key component ${JSON.stringify(bad)} is not well-formed Unicode`))
  }
  if (!Number.isSafeInteger(key.iteration) || key.iteration < 0) {
    return Either.left(keyError("Write", key, "", `iteration ${key.iteration} is not a non-negative integer`))
  }
  const [projid, tstamp, filename, loop] = names.map(encodeComponent)
  return Either.right(`${projid}/${tstamp}/${filename}/${loop}-${key.iteration}.ckpt`)
}

/** The key an object uri was made from, best effort (for error messages). */
const keyOfUri = (uri: string): CheckpointKey => {
  const [projid = "", tstamp = "", filename = "", leaf = ""] = uri.split("/")
  const match = /^(.*)-(\d+)\.ckpt$/.exec(leaf)
  return {
    projid: decodeComponent(projid),
    tstamp: decodeComponent(tstamp),
    filename: decodeComponent(filename),
    loop: decodeComponent(match?.[1] ?? leaf),
    iteration: match ? Number(match[2]) : 0
  }
}

/**
 * Resolves a uri made by `relativePath` to an absolute path inside `root`, or
 * explains why it is refused: absolute paths, `file:` or other schemes,
 * backslashes, `.`/`..`/empty/dot-prefixed (temp) components, anything but
 * four components, anything resolving outside `root`.
 */
export const resolveUri = (root: string, uri: string): Either.Either<string, string> => {
  if (uri.includes("\\") || uri.includes("\0") || uri.includes(":") || path.isAbsolute(uri)) {
    return Either.left(`uri ${JSON.stringify(uri)} is not a path relative to the object store`)
  }
  const parts = uri.split("/")
  if (parts.length !== 4 || parts.some((p) => p === "" || p.startsWith("."))) {
    return Either.left(`uri ${JSON.stringify(uri)} is not a checkpoint of this object store`)
  }
  const base = path.resolve(root)
  const file = path.resolve(base, ...parts)
  if (!file.startsWith(base.endsWith(path.sep) ? base : base + path.sep)) {
    return Either.left(`uri ${JSON.stringify(uri)} resolves outside the object store ${base}`)
  }
  return Either.right(file)
}

/** Throws unless `dir` (which exists) really lies inside `root`, following symlinks. */
const assertInside = (root: string, dir: string) => {
  const realRoot = fs.realpathSync(root)
  const real = fs.realpathSync(dir)
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) {
    throw new Error(`${dir} resolves to ${real}, outside the object store ${realRoot}`)
  }
}

const IGNORED_DIR_SYNC = new Set(["EINVAL", "EPERM", "EISDIR", "EBADF", "ENOTSUP"])

const fsyncDir = (dir: string) => {
  let fd: number | undefined
  try {
    fd = fs.openSync(dir, "r")
    fs.fsyncSync(fd)
  } catch (e) {
    if (!IGNORED_DIR_SYNC.has(codeOf(e) ?? "")) throw e
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

const writeAll = (fd: number, chunks: ReadonlyArray<Uint8Array>) => {
  const pending = chunks.filter((c) => c.byteLength > 0)
  let i = 0
  let offset = 0
  while (i < pending.length) {
    const batch = [pending[i]!.subarray(offset), ...pending.slice(i + 1, i + 1024)]
    let written = fs.writevSync(fd, batch)
    while (written > 0 && i < pending.length) {
      const rest = pending[i]!.byteLength - offset
      if (written >= rest) {
        written -= rest
        i += 1
        offset = 0
      } else {
        offset += written
        written = 0
      }
    }
  }
}

const ZEROS = new Uint8Array(8)

/**
 * Writes `chunks` as one object at `rel` under `root`, atomically: each chunk is
 * followed by zero padding to a multiple of 8 bytes when `pad` is set, hashed
 * incrementally, written to a temp file in the target directory, fsync'ed and
 * renamed; the directory (and any directory created) is fsync'ed. Throws on failure
 * and leaves no temp file behind. The worker of `WorkerMaterializer` mirrors this.
 */
export const writeChunksSync = (
  root: string,
  rel: string,
  chunks: ReadonlyArray<Uint8Array>,
  pad: boolean
): { readonly file: string; readonly bytes: number; readonly checksum: string } => {
  const base = path.resolve(root)
  const file = path.join(base, rel)
  const dir = path.dirname(file)
  fs.mkdirSync(base, { recursive: true })
  // Check the deepest existing ancestor before creating anything under it, then the result.
  let existing = dir
  while (!fs.existsSync(existing)) existing = path.dirname(existing)
  assertInside(base, existing)
  const made = fs.mkdirSync(dir, { recursive: true })
  assertInside(base, dir)
  const hash = crypto.createHash("sha256")
  const out: Array<Uint8Array> = []
  let bytes = 0
  for (const chunk of chunks) {
    out.push(chunk)
    hash.update(chunk)
    bytes += chunk.byteLength
    const padding = pad ? (8 - (chunk.byteLength & 7)) & 7 : 0
    if (padding > 0) {
      const zeros = ZEROS.subarray(0, padding)
      out.push(zeros)
      hash.update(zeros)
      bytes += padding
    }
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString("hex")}.tmp`)
  const fd = fs.openSync(tmp, "wx", 0o644)
  try {
    try {
      writeAll(fd, out)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, file)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
  fsyncDir(dir)
  if (made !== undefined) {
    for (let d = dir; d !== path.dirname(made) && d !== path.dirname(d);) {
      d = path.dirname(d)
      fsyncDir(d)
    }
  }
  return { file, bytes, checksum: hash.digest("hex") }
}

/** A local object store rooted at `root`. */
export const make = (root: string): ObjectStore["Type"] => {
  const base = path.resolve(root)
  return {
    put: Effect.fn("ObjectStore.put")(function*(key: CheckpointKey, bytes: Uint8Array) {
      const rel = yield* relativePath(key)
      const file = path.join(base, rel)
      const written = yield* Effect.try({
        try: () => writeChunksSync(base, rel, [bytes], false),
        catch: (cause) => keyError("Write", key, file, messageOf(cause))
      })
      return { uri: rel, bytes: written.bytes, checksum: written.checksum } satisfies StoredObject
    }),
    get: Effect.fn("ObjectStore.get")(function*(key: CheckpointKey, uri: string, checksum: string) {
      const file = yield* Either.mapLeft(resolveUri(base, uri), (detail) => keyError("Corrupt", key, uri, detail))
      const data = yield* Effect.try({
        try: () => {
          assertInside(base, path.dirname(file))
          return fs.readFileSync(file)
        },
        catch: (cause) => {
          const code = codeOf(cause)
          return code === "ENOENT" || code === "ENOTDIR"
            ? keyError("Missing", key, file, "no such file")
            : keyError("Corrupt", key, file, `cannot be read: ${messageOf(cause)}`)
        }
      })
      const actual = sha256(data)
      if (actual !== checksum.toLowerCase()) {
        return yield* keyError(
          "Corrupt",
          key,
          file,
          `sha256 is ${actual}, expected ${checksum} (${data.byteLength} bytes on disk: truncated or altered)`
        )
      }
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    }),
    remove: Effect.fn("ObjectStore.remove")(function*(uri: string) {
      const file = yield* Either.mapLeft(resolveUri(base, uri), (detail) => keyError("Write", keyOfUri(uri), uri, detail))
      return yield* Effect.try({
        try: () => {
          let size: number
          try {
            assertInside(base, path.dirname(file))
            size = fs.statSync(file).size
            fs.unlinkSync(file)
          } catch (e) {
            const code = codeOf(e)
            if (code === "ENOENT" || code === "ENOTDIR") return 0
            throw e
          }
          return size
        },
        catch: (cause) => keyError("Write", keyOfUri(uri), file, `cannot remove: ${messageOf(cause)}`)
      })
    })
  }
}

/**
 * Removes temp files (left by a crash mid-write) older than `olderThanMs` under
 * `root`; returns how many were removed. Best effort: never fails, never follows
 * symlinks.
 */
export const sweepTemp = (root: string, olderThanMs: number): Effect.Effect<number> =>
  Effect.sync(() => {
    const cutoff = Date.now() - olderThanMs
    let removed = 0
    const walk = (dir: string) => {
      let entries: Array<fs.Dirent>
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true })
      } catch {
        return
      }
      for (const entry of entries) {
        const full = path.join(dir, entry.name)
        if (entry.isDirectory()) walk(full)
        else if (entry.isFile() && TEMP.test(entry.name)) {
          try {
            if (fs.statSync(full).mtimeMs <= cutoff) {
              fs.unlinkSync(full)
              removed += 1
            }
          } catch {
            // raced with another sweeper or a finishing write
          }
        }
      }
    }
    walk(path.resolve(root))
    return removed
  })

/** A local object store layer rooted at `root` (typically `$FLOR_HOME/obj_store`). */
export const layer = (root: string): Layer.Layer<ObjectStore> => Layer.succeed(ObjectStore, make(root))
