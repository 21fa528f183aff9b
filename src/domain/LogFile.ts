/**
 * The run log: one JSON value per line. It is both the crash journal of a running
 * run and the file committed onto the shadow branch, so `flor unpack` reads what
 * the recorder wrote.
 *
 * Line 1: `{"flor":1,"header":RunHeader}`. Then, in any order:
 * `[0,ctx,name,value]` a log record; `[3,ctx,name,"NaN"]` a non-finite number;
 * `[1,ctx,parent,name,entries,iteration,value]` a loop context;
 * `[4,ctx,loop,iteration,uri,bytes,checksum,materializeMs]` a stored checkpoint;
 * `[2,status,endTime]` the end marker.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { RunHeader, RunStatus } from "./Run.js"

/** Format version of the run log. */
export const LOG_FORMAT = 1

/** A log record read from a run log. */
export interface LogLine {
  readonly ctx: number
  readonly name: string
  readonly value: unknown
}

/** A loop context read from a run log. */
export interface LoopLine {
  readonly ctx: number
  readonly parent: number
  readonly name: string
  readonly entries: number | null
  readonly iteration: number
  readonly value: unknown
}

/** A stored checkpoint read from a run log. */
export interface CheckpointLine {
  /** Context of the main-loop iteration whose end state it holds. */
  readonly ctx: number
  readonly loop: string
  /** 1-based iteration of the main loop. */
  readonly iteration: number
  readonly uri: string
  readonly bytes: number
  readonly checksum: string
  readonly materializeMs: number
}

/** A run log read back. */
export interface ParsedLog {
  readonly header: RunHeader
  readonly logs: ReadonlyArray<LogLine>
  readonly loops: ReadonlyArray<LoopLine>
  readonly checkpoints: ReadonlyArray<CheckpointLine>
  readonly end: { readonly status: RunStatus; readonly endTime: number } | null
  /** Incomplete or unreadable trailing lines that were ignored (a torn last write). */
  readonly torn: number
}

/** The first line of a run log. */
export const headerLine = (header: RunHeader): string =>
  JSON.stringify({ flor: LOG_FORMAT, header }) + "\n"

const nameCache = new Map<string, string>()

/** JSON of a name, cached (names repeat on every record). */
export const jsonName = (name: string): string => {
  let json = nameCache.get(name)
  if (json === undefined) {
    json = JSON.stringify(name)
    if (nameCache.size < 10_000) nameCache.set(name, json)
  }
  return json
}

/** A log record line. */
export const logLine = (ctx: number, name: string, value: unknown): string => {
  if (typeof value === "number") {
    return Number.isFinite(value)
      ? `[0,${ctx},${jsonName(name)},${value}]\n`
      : `[3,${ctx},${jsonName(name)},"${value}"]\n`
  }
  return `[0,${ctx},${jsonName(name)},${JSON.stringify(value ?? null)}]\n`
}

/** A loop context line. */
export const loopLine = (
  ctx: number,
  parent: number,
  name: string,
  entries: number | null,
  iteration: number,
  value: unknown
): string => `[1,${ctx},${parent},${jsonName(name)},${entries ?? "null"},${iteration},${safeJson(value)}]\n`

const safeJson = (value: unknown): string =>
  typeof value === "number" && !Number.isFinite(value) ? "null" : JSON.stringify(value ?? null)

/** A stored checkpoint line. */
export const checkpointLine = (c: CheckpointLine): string =>
  `[4,${c.ctx},${jsonName(c.loop)},${c.iteration},${JSON.stringify(c.uri)},${c.bytes},${JSON.stringify(c.checksum)},${c.materializeMs}]\n`

/**
 * How a batch slot holds its value: the slot's tag is `nameId * 4 + kind`. A
 * number is stored as is (a non-finite one is encoded as in `logLine`/`loopLine`);
 * any other value by its JSON text in `extras`, at the index the slot holds.
 */
const NUMBER = 0
const EXTRA = 1
const NULL = 2

/** Numbers per log record in a batch chunk: ctx, tag, value. */
export const LOG_WIDTH = 3
/** Numbers per loop context in a batch chunk: ctx, parent, tag, entries (−1: null), iteration, value. */
export const LOOP_WIDTH = 6

/**
 * Records buffered since the last flush, column by column, so the recording
 * thread allocates nothing per record and the batch can be handed to another
 * thread without copying. Encodes to exactly the lines `checkpointLine`,
 * `loopLine` and `logLine` give, in that order (see `batchEncoder`).
 */
export interface RecordBatch {
  /** Lines written before the batch's records (checkpoint lines). */
  readonly head: string
  /** Names first used in this batch; the first has id `nameBase`. Ids count per journal. */
  readonly nameBase: number
  readonly names: ReadonlyArray<string>
  /** Loop contexts, `LOOP_WIDTH` numbers each; every chunk is exactly full. */
  readonly loops: ReadonlyArray<Float64Array>
  /** Log records, `LOG_WIDTH` numbers each; every chunk is exactly full. */
  readonly logs: ReadonlyArray<Float64Array>
  /** JSON of the values that are not numbers. */
  readonly extras: ReadonlyArray<string>
  /** Number of records and loop contexts. */
  readonly size: number
}

const MIN_CHUNK = 1024
const MAX_CHUNK = 65536

/**
 * A growing columnar buffer of records, taken as a `RecordBatch` at each flush.
 * Numbers go into `Float64Array` chunks; other values are kept aside and turned
 * into JSON when the batch is taken.
 */
export class RecordBuffer {
  private readonly nameIds = new Map<string, number>()
  private readonly names: Array<string> = []
  private namesSent = 0
  // the last name logged and the last loop name, with their ids (-1: none yet)
  private logName = ""
  private logId = -1
  private loopName = ""
  private loopId = -1
  private logChunk = new Float64Array(MIN_CHUNK * LOG_WIDTH)
  private logAt = 0
  private logChunks: Array<Float64Array> = []
  private loopChunk = new Float64Array(MIN_CHUNK * LOOP_WIDTH)
  private loopAt = 0
  private loopChunks: Array<Float64Array> = []
  private extras: Array<unknown> = []
  private head = ""
  /** Records and loop contexts buffered. */
  size = 0

  private idOf(name: string): number {
    let id = this.nameIds.get(name)
    if (id === undefined) {
      id = this.names.length
      this.names.push(name)
      this.nameIds.set(name, id)
    }
    return id
  }

  /** The kind of `value` in a slot; an `EXTRA` value is set aside. */
  private kindOf(value: unknown): number {
    if (typeof value === "number") return NUMBER
    if (value === null || value === undefined) return NULL
    this.extras.push(value)
    return EXTRA
  }

  /** Buffers a log record. */
  log(ctx: number, name: string, value: unknown): void {
    let at = this.logAt
    let chunk = this.logChunk
    if (at === chunk.length) {
      this.logChunks.push(chunk)
      chunk = this.logChunk = new Float64Array(Math.min(chunk.length * 2, MAX_CHUNK * LOG_WIDTH))
      at = 0
    }
    const kind = this.kindOf(value)
    if (name !== this.logName || this.logId < 0) {
      this.logId = this.idOf(name)
      this.logName = name
    }
    chunk[at] = ctx
    chunk[at + 1] = this.logId * 4 + kind
    chunk[at + 2] = kind === NUMBER ? (value as number) : kind === EXTRA ? this.extras.length - 1 : 0
    this.logAt = at + LOG_WIDTH
    this.size++
  }

  /** Buffers a loop context. */
  loop(ctx: number, parent: number, name: string, entries: number | null, iteration: number, value: unknown): void {
    let at = this.loopAt
    let chunk = this.loopChunk
    if (at === chunk.length) {
      this.loopChunks.push(chunk)
      chunk = this.loopChunk = new Float64Array(Math.min(chunk.length * 2, MAX_CHUNK * LOOP_WIDTH))
      at = 0
    }
    const kind = this.kindOf(value)
    if (name !== this.loopName || this.loopId < 0) {
      this.loopId = this.idOf(name)
      this.loopName = name
    }
    chunk[at] = ctx
    chunk[at + 1] = parent
    chunk[at + 2] = this.loopId * 4 + kind
    chunk[at + 3] = entries ?? -1
    chunk[at + 4] = iteration
    chunk[at + 5] = kind === NUMBER ? (value as number) : kind === EXTRA ? this.extras.length - 1 : 0
    this.loopAt = at + LOOP_WIDTH
    this.size++
  }

  /** Adds already encoded lines, written before the next batch's records. */
  lines(text: string): void {
    this.head += text
  }

  /**
   * The buffered records as a batch, or undefined when there are none. The batch
   * owns its chunks (they may be transferred to another thread); the buffer
   * starts new ones.
   */
  take(): RecordBatch | undefined {
    if (this.size === 0 && this.head.length === 0) return undefined
    if (this.logAt > 0) this.logChunks.push(this.logChunk.subarray(0, this.logAt))
    if (this.loopAt > 0) this.loopChunks.push(this.loopChunk.subarray(0, this.loopAt))
    const batch: RecordBatch = {
      head: this.head,
      nameBase: this.namesSent,
      names: this.names.slice(this.namesSent),
      loops: this.loopChunks,
      logs: this.logChunks,
      extras: this.extras.map((v) => `${JSON.stringify(v)}`),
      size: this.size
    }
    this.namesSent = this.names.length
    if (this.logAt > 0) this.logChunk = new Float64Array(this.logChunk.length)
    if (this.loopAt > 0) this.loopChunk = new Float64Array(this.loopChunk.length)
    this.logAt = 0
    this.loopAt = 0
    this.logChunks = []
    this.loopChunks = []
    this.extras = []
    this.head = ""
    this.size = 0
    return batch
  }

  /** For a new journal: the next batch carries every name again. */
  restart(): void {
    this.namesSent = 0
  }
}

/**
 * An encoder of the batches of one journal: it remembers the names of earlier
 * batches, starting from `known` (ids 0, 1, …). The journal's writer thread runs a copy of this code
 * (`FileJournal`'s worker source): change both together.
 */
export const batchEncoder = (known: ReadonlyArray<string> = []): (batch: RecordBatch) => string => {
  const names = known.map((name) => JSON.stringify(name))
  return (batch) => {
    for (let i = 0; i < batch.names.length; i++) names[batch.nameBase + i] = JSON.stringify(batch.names[i])
    const extras = batch.extras
    const out: Array<string> = [batch.head]
    for (const chunk of batch.loops) {
      for (let at = 0; at < chunk.length; at += LOOP_WIDTH) {
        const tag = chunk[at + 2]!
        const kind = tag % 4
        const entries = chunk[at + 3]!
        const v = chunk[at + 5]!
        const value = kind === NUMBER ? (Number.isFinite(v) ? `${v}` : "null") : kind === EXTRA ? extras[v]! : "null"
        out.push(
          `[1,${chunk[at]},${chunk[at + 1]},${names[(tag - kind) / 4]},${entries < 0 ? "null" : entries},${
            chunk[at + 4]
          },${value}]\n`
        )
      }
    }
    for (const chunk of batch.logs) {
      for (let at = 0; at < chunk.length; at += LOG_WIDTH) {
        const tag = chunk[at + 1]!
        const kind = tag % 4
        const name = names[(tag - kind) / 4]
        const v = chunk[at + 2]!
        out.push(
          kind === NUMBER
            ? Number.isFinite(v) ? `[0,${chunk[at]},${name},${v}]\n` : `[3,${chunk[at]},${name},"${v}"]\n`
            : `[0,${chunk[at]},${name},${kind === EXTRA ? extras[v]! : "null"}]\n`
        )
      }
    }
    return out.join("")
  }
}

/** The end marker line. */
export const endLine = (status: RunStatus, endTime: number): string => `[2,${JSON.stringify(status)},${endTime}]\n`

const decodeHeader = Schema.decodeUnknownEither(RunHeader)
const isStatus = Schema.is(RunStatus)

/** Parses a run log. Fails only when the header is missing or invalid. */
export const parseLog = (text: string): Either.Either<ParsedLog, string> => {
  const lines = text.split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  let first: unknown
  try {
    first = JSON.parse(lines[0] ?? "")
  } catch {
    return Either.left("the first line is not a run-log header")
  }
  if (typeof first !== "object" || first === null || !("header" in first) || !("flor" in first)) {
    return Either.left("the first line is not a run-log header")
  }
  const header = decodeHeader(first.header)
  if (Either.isLeft(header)) return Either.left(`invalid run-log header: ${header.left.message}`)
  const logs: Array<LogLine> = []
  const loops: Array<LoopLine> = []
  const checkpoints: Array<CheckpointLine> = []
  let end: ParsedLog["end"] = null
  let torn = 0
  for (let i = 1; i < lines.length; i++) {
    let row: unknown
    try {
      row = JSON.parse(lines[i]!)
    } catch {
      torn = lines.length - i
      break
    }
    if (!Array.isArray(row)) {
      torn = lines.length - i
      break
    }
    switch (row[0]) {
      case 0:
        logs.push({ ctx: row[1], name: row[2], value: row[3] })
        break
      case 3:
        logs.push({ ctx: row[1], name: row[2], value: Number(row[3]) })
        break
      case 1:
        loops.push({ ctx: row[1], parent: row[2], name: row[3], entries: row[4], iteration: row[5], value: row[6] })
        break
      case 4:
        checkpoints.push({
          ctx: row[1],
          loop: row[2],
          iteration: row[3],
          uri: row[4],
          bytes: row[5],
          checksum: row[6],
          materializeMs: row[7]
        })
        break
      case 2:
        if (isStatus(row[1])) end = { status: row[1], endTime: row[2] }
        break
      default:
        torn = lines.length - i
        i = lines.length
    }
  }
  return Either.right({ header: header.right, logs, loops, checkpoints, end, torn })
}
