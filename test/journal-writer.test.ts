/**
 * The journal's two encoders agree with the run-log format: batches large enough
 * to go to the writer thread and small ones encoded on the calling thread give
 * exactly the bytes of `batchEncoder`, and read back as the records logged
 * (values as `logLine`/`loopLine` write them and `parseLog` reads them back).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, describe, expect, it } from "vitest"
import { batchEncoder, headerLine, logLine, loopLine, parseLog, RecordBuffer } from "../src/domain/LogFile.js"
import type { RunHeader } from "../src/domain/Run.js"
import * as FileJournal from "../src/layers/FileJournal.js"
import { buildContext } from "../src/layers/TestLayer.js"

const VALUES: ReadonlyArray<unknown> = [
  0, -0, 1, -1.5, 1e-300, 1.7976931348623157e308, 2 ** 53 + 2, 0.1 + 0.2, NaN, Infinity, -Infinity,
  "a\"b\\c", "é 🚀\n", "", null, true, false, [1, "x", null], { a: { b: [1.5] } }
]
const NAMES = ["loss", "acc", "名前", "with \"quotes\"", "a b"]

const header: RunHeader = {
  projid: "writer",
  tstamp: "2026-11-24T00:00:00.000Z",
  filename: "train.ts",
  start_time: 0,
  tree: null,
  build: buildContext({ mem_total: 1 })
}

/** A logged value as the run-log format reads it back (`logLine`, then `parseLog`). */
const stored = (v: unknown): unknown => {
  const parsed = parseLog(headerLine(header) + logLine(1, "x", v))
  return parsed._tag === "Right" ? parsed.right.logs[0]?.value : parsed.left
}

describe("journal writer thread", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "flordb-writer-"))
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }))

  it("large (writer thread) and small (calling thread) batches encode exactly as batchEncoder and the line format", async () => {
    const journal = FileJournal.make(home)
    const { body, expected, records, loops } = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const [writer] = yield* journal.open(header)
      const buffer = new RecordBuffer()
      const encode = batchEncoder()
      const records: Array<{ ctx: number; name: string; value: unknown }> = []
      const loops: Array<string> = []
      let expected = ""
      let ctx = 0
      // 20k and 6k records go to the writer thread; 7 stay on the calling thread; then a large one again
      for (const [batch, size] of [[0, 20_000], [1, 6_000], [2, 7], [3, 9_000]] as const) {
        for (let i = 0; i < size; i++) {
          if (i % 50 === 0) {
            ctx++
            const value = i % 100 === 0 ? `page ${i}` : i
            buffer.loop(ctx, 0, "epoch", i % 3 === 0 ? null : size, i, value)
            loops.push(loopLine(ctx, 0, "epoch", i % 3 === 0 ? null : size, i, value))
          }
          const name = NAMES[(i + batch) % NAMES.length]!
          const value = VALUES[(i * 7 + batch) % VALUES.length]
          buffer.log(ctx, name, value)
          records.push({ ctx, name, value: stored(value) })
        }
        const b = buffer.take()!
        expected += encode(b) // before the hand-over: the writer thread takes the buffers
        yield* writer.appendBatch(b)
      }
      yield* writer.sync
      const text = new TextDecoder().decode(yield* writer.contents)
      return { body: text.slice(text.indexOf("\n") + 1), expected, records, loops }
    })))
    expect(body.length).toBe(expected.length)
    expect(body === expected).toBe(true)
    const parsed = parseLog(headerLine(header) + body)
    const logs = parsed._tag === "Right" ? parsed.right.logs : []
    expect(parsed._tag === "Right" ? parsed.right.torn : -1).toBe(0)
    expect(logs.length).toBe(records.length)
    const got = logs.map((l) => ({ ctx: l.ctx, name: l.name, value: l.value }))
    const first = got.findIndex((g, i) => JSON.stringify(g) !== JSON.stringify(records[i]))
    expect(first === -1 ? null : { at: first, got: got[first], logged: records[first] }).toBeNull()
    expect(got.filter((g) => typeof g.value === "number" && Number.isNaN(g.value)).length).toBeGreaterThan(0)
    // and each loop line is there, byte for byte as loopLine writes it
    for (const line of loops) expect(body.includes(line)).toBe(true)
  }, 60_000)
})
