/**
 * The model registry of the continuous-training example, on flordb's dataframe:
 * every run of `train.ts` "publishes" its best checkpoint (the checkpointed epoch
 * with the highest `f1_score`); the next run fine-tunes from it, and a rollback
 * loads one of them. `train.ts` and `rollback.ts` share these rules.
 */
import * as Effect from "effect/Effect"
import { Store, type StoreError } from "flordb"

/** What the rules need of a dataframe row. */
export interface MetricRow {
  readonly projid: string
  readonly tstamp: string
  readonly filename: string
  readonly epoch?: number | null
  readonly f1_score: number | null
}

/** Key of a checkpoint: run and main-loop iteration. */
const keyOf = (tstamp: string, filename: string, iteration: number) => `${filename}\u0000${tstamp}\u0000${iteration}`

/** The checkpoints flordb holds (adaptive checkpointing may skip epochs): a membership test over rows. */
export const checkpointedRows = Effect.gen(function*() {
  const store = yield* Store
  const keys = new Set((yield* store.checkpoints).map((c) => keyOf(c.run.tstamp, c.run.filename, c.checkpoint.iteration)))
  return (row: MetricRow): boolean =>
    typeof row.epoch === "number" && keys.has(keyOf(row.tstamp, row.filename, row.epoch))
}) satisfies Effect.Effect<unknown, StoreError, Store>

/** The checkpoint a run published: its checkpointed epoch with the highest `f1_score` (the first on ties). */
export const published = <R extends MetricRow>(
  rows: ReadonlyArray<R>,
  checkpointed: (row: R) => boolean
): R | undefined =>
  rows.reduce<R | undefined>(
    (best, row) =>
      row.f1_score !== null && checkpointed(row) && (best === undefined || row.f1_score > best.f1_score!) ? row : best,
    undefined
  )

/** Rows grouped by run, runs in tstamp order. */
export const byRun = <R extends MetricRow>(rows: ReadonlyArray<R>): Array<Array<R>> => {
  const runs = new Map<string, Array<R>>()
  for (const row of rows) {
    const key = `${row.tstamp}\u0000${row.filename}`
    const list = runs.get(key)
    if (list === undefined) runs.set(key, [row])
    else list.push(row)
  }
  return [...runs.values()].sort((a, b) => (a[0]!.tstamp < b[0]!.tstamp ? -1 : a[0]!.tstamp > b[0]!.tstamp ? 1 : 0))
}
