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
