/**
 * Journals in memory, for tests: nothing survives the process.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { tstampOf } from "../domain/Ids.js"
import { batchEncoder, endLine, headerLine } from "../domain/LogFile.js"
import { Journal, type JournalWriter } from "../services/Journal.js"

/** An in-memory journal service. */
export const make = (): Journal["Type"] => {
  const open = new Map<string, Array<string>>()
  return {
    open: (header) =>
      Effect.sync(() => {
        let millis = Date.parse(header.tstamp)
        while (open.has(tstampOf(millis))) millis += 1
        const used = { ...header, tstamp: tstampOf(millis) }
        const chunks = [headerLine(used)]
        open.set(used.tstamp, chunks)
        const encode = batchEncoder()
        const writer: JournalWriter = {
          path: `memory:${used.tstamp}`,
          append: (lines) => Effect.sync(() => void chunks.push(lines)),
          appendBatch: (batch) => Effect.sync(() => void chunks.push(encode(batch))),
          sync: Effect.void,
          end: (status, endTime) => Effect.sync(() => void chunks.push(endLine(status, endTime))),
          contents: Effect.sync(() => new TextEncoder().encode(chunks.join(""))),
          remove: Effect.sync(() => void open.delete(used.tstamp))
        }
        return [writer, used] as const
      }),
    orphans: () => Effect.succeed([]),
    remove: () => Effect.void
  }
}

/** In-memory journals. */
export const layer: Layer.Layer<Journal> = Layer.sync(Journal, make)
