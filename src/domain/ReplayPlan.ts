/**
 * A replay plan: which recorded run to replay, how (scan kind and range), and
 * which new columns (probes) to write. `flor replay` and the parallel runner hand
 * one to a script through `FLOR_REPLAY`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** Scan kinds (DESIGN §7). */
export const ScanKind = Schema.Literal("prefix", "suffix", "validation", "range")
export type ScanKind = typeof ScanKind.Type

/** The plan a replaying process follows. */
export const ReplayPlan = Schema.Struct({
  /** The recorded run: project, start and entry script. */
  projid: Schema.String,
  tstamp: Schema.String,
  filename: Schema.String,
  kind: ScanKind,
  /** Columns to write; every other recorded column is recomputed and compared. */
  probes: Schema.Array(Schema.String),
  /** Main-loop iterations to work on, 1-based, `[from, to)`; default: all. */
  from: Schema.optional(Schema.Int.pipe(Schema.positive())),
  to: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Where to write the results (JSON); without it the replay backfills the store itself. */
  output: Schema.optional(Schema.String)
})
export type ReplayPlan = typeof ReplayPlan.Type

/**
 * Loop contexts whose records a replay reads: `[from, to)` ranges of context ids
 * (`to` may be `Infinity`).
 */
export type CtxWindow = ReadonlyArray<readonly [from: number, to: number]>

/**
 * The contexts a plan can execute and compare, given the main loop's iterations
 * (number and context id) in order: everything before the main loop (the top
 * level is context 0), plus the iterations it runs in full, plus what follows the
 * main loop when it runs the suffix. A run enters contexts in increasing order, so
 * an iteration's nested contexts lie between its own id and the next iteration's.
 * Undefined (read everything) unless the iterations are 1..n with increasing ids,
 * i.e. one main loop run once.
 */
export const replayWindow = (
  plan: ReplayPlan,
  main: ReadonlyArray<{ readonly iteration: number; readonly ctx: number }>
): CtxWindow | undefined => {
  const n = main.length
  if (n === 0 || main.some((m, i) => m.iteration !== i + 1 || (i > 0 && m.ctx <= main[i - 1]!.ctx))) return undefined
  const ctxOf = (i: number) => (i <= n ? main[i - 1]!.ctx : Infinity)
  const before = [0, main[0]!.ctx] as const
  switch (plan.kind) {
    case "prefix":
      return [before]
    case "suffix":
      return [before, [ctxOf(n), Infinity]]
    case "validation":
    case "range": {
      const from = Math.max(1, plan.from ?? 1)
      const to = Math.min(n + 1, plan.to ?? n + 1)
      return from < to ? [before, [ctxOf(from), ctxOf(to)]] : [before]
    }
  }
}

/** The plan as the `FLOR_REPLAY` environment variable carries it. */
export const ReplayPlanJson = Schema.parseJson(ReplayPlan)

/** The first recomputed value that differs from the record. */
export const Divergence = Schema.Struct({
  column: Schema.String,
  /** Loop coordinates, e.g. `epoch=3/step=2`; empty at top level. */
  at: Schema.String,
  recorded: Schema.Unknown,
  replayed: Schema.Unknown
})
export type Divergence = typeof Divergence.Type

/** One step of a loop path. */
export const PathStepSchema = Schema.Struct({
  name: Schema.String,
  iteration: Schema.Number,
  entries: Schema.NullOr(Schema.Number),
  value: Schema.Unknown
})

/** What a replaying process reports. */
export const ReplayResult = Schema.Struct({
  plan: ReplayPlan,
  records: Schema.Array(Schema.Struct({ path: Schema.Array(PathStepSchema), name: Schema.String, value: Schema.Unknown })),
  divergence: Schema.NullOr(Divergence),
  divergences: Schema.Number,
  compared: Schema.Number,
  /** Bodies of main-loop iterations run, and of loops nested in them. */
  outer: Schema.Number,
  inner: Schema.Number,
  restores: Schema.Array(Schema.Struct({ iteration: Schema.Number, seconds: Schema.Number })),
  seconds: Schema.Number
})
export type ReplayResult = typeof ReplayResult.Type
export const ReplayResultJson = Schema.parseJson(ReplayResult)

/** Ends a replay's useful work early (after the prefix, or after the range): not a failure. */
export class ReplayStop {
  readonly _tag = "ReplayStop"
}

/** True for the ReplayStop signal. */
export const isReplayStop = (u: unknown): u is ReplayStop => u instanceof ReplayStop
