/**
 * Branded identifiers of the store.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** Basename of the git repository root: one project, one database. */
export const ProjId = Schema.String.pipe(Schema.minLength(1), Schema.brand("ProjId"))
export type ProjId = typeof ProjId.Type

/** Start of a run (a `commit()` starts a new one): ISO-8601 UTC with milliseconds. */
export const Tstamp = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
  Schema.brand("Tstamp")
)
export type Tstamp = typeof Tstamp.Type

/** Entry script path, relative to the repository root, with forward slashes. */
export const Filename = Schema.String.pipe(Schema.minLength(1), Schema.brand("Filename"))
export type Filename = typeof Filename.Type

/** The shadow-branch commit that snapshots the code of a run. */
export const Vid = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{40}$/), Schema.brand("Vid"))
export type Vid = typeof Vid.Type

/**
 * A loop context inside one run. Dense and allocated in execution order on record;
 * a replay reuses the recorded ids by loop path, so replayed records land on the
 * recorded loop rows.
 */
export const CtxId = Schema.Int.pipe(Schema.positive(), Schema.brand("CtxId"))
export type CtxId = typeof CtxId.Type

/** Formats a millisecond epoch time as a tstamp. */
export const tstampOf = (millis: number): Tstamp => new Date(millis).toISOString() as Tstamp
