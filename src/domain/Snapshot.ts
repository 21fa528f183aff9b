/**
 * A snapshot of checkpointable state as host data: named typed-array parts plus
 * JSON metadata. Capturing one is the only checkpoint work done on the training
 * fiber; encoding, hashing and I/O happen off the main thread.
 *
 * Binary layout (little-endian): magic "FLCK", u32 version, u32 header length,
 * header JSON `{ meta, parts: [{ name, dtype, shape, offset, bytes }] }`, then the
 * part bytes, each 8-byte aligned.
 *
 * @since 0.1.0
 */

/** Element types of snapshot parts (tfjs dtypes plus raw bytes). */
export type DType = "float32" | "int32" | "bool" | "uint8" | "float64" | "bytes"

/** One array of a snapshot. */
export interface Part {
  readonly name: string
  readonly dtype: DType
  readonly shape: ReadonlyArray<number>
  readonly data: Uint8Array
}

/** Host copy of checkpointable state. */
export interface Snapshot {
  readonly meta: unknown
  readonly parts: ReadonlyArray<Part>
}

const MAGIC = 0x4b434c46 // "FLCK" little-endian
const VERSION = 1
const align = (n: number) => (n + 7) & ~7

/** Total payload bytes of a snapshot. */
export const byteSize = (snapshot: Snapshot): number => snapshot.parts.reduce((n, p) => n + p.data.byteLength, 0)

/** Encodes a snapshot into one buffer. */
export const encode = (snapshot: Snapshot): Uint8Array => {
  let offset = 0
  const parts = snapshot.parts.map((p) => {
    const entry = { name: p.name, dtype: p.dtype, shape: p.shape, offset, bytes: p.data.byteLength }
    offset = align(offset + p.data.byteLength)
    return entry
  })
  const header = new TextEncoder().encode(JSON.stringify({ meta: snapshot.meta ?? null, parts }))
  const start = align(12 + header.byteLength)
  const out = new Uint8Array(start + offset)
  const view = new DataView(out.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, VERSION, true)
  view.setUint32(8, header.byteLength, true)
  out.set(header, 12)
  snapshot.parts.forEach((p, i) => out.set(p.data, start + parts[i]!.offset))
  return out
}

/** Decodes a buffer made by `encode`; throws on anything else. */
export const decode = (bytes: Uint8Array): Snapshot => {
  if (bytes.byteLength < 12) throw new Error("not a checkpoint: too short")
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== MAGIC) throw new Error("not a checkpoint: bad magic")
  if (view.getUint32(4, true) !== VERSION) throw new Error("unsupported checkpoint version")
  const length = view.getUint32(8, true)
  if (12 + length > bytes.byteLength) throw new Error("truncated checkpoint header")
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as {
    meta: unknown
    parts: Array<{ name: string; dtype: DType; shape: Array<number>; offset: number; bytes: number }>
  }
  const start = align(12 + length)
  return {
    meta: header.meta,
    parts: header.parts.map((p) => {
      if (start + p.offset + p.bytes > bytes.byteLength) throw new Error(`truncated checkpoint part ${p.name}`)
      return { name: p.name, dtype: p.dtype, shape: p.shape, data: bytes.slice(start + p.offset, start + p.offset + p.bytes) }
    })
  }
}

/** One snapshot of several named objects: parts are prefixed `<object>/`, metas keyed by object. */
export const combine = (entries: ReadonlyArray<readonly [string, Snapshot]>): Snapshot => ({
  meta: Object.fromEntries(entries.map(([name, s]) => [name, s.meta ?? null])),
  parts: entries.flatMap(([name, s]) => s.parts.map((p) => ({ ...p, name: `${name}/${p.name}` })))
})

/** The snapshot of object `name` inside a combined snapshot, or undefined when absent. */
export const select = (combined: Snapshot, name: string): Snapshot | undefined => {
  const metas = (combined.meta ?? {}) as Record<string, unknown>
  if (!Object.hasOwn(metas, name)) return undefined
  const prefix = `${name}/`
  return {
    meta: metas[name],
    parts: combined.parts.filter((p) => p.name.startsWith(prefix)).map((p) => ({ ...p, name: p.name.slice(prefix.length) }))
  }
}
