/**
 * A run: one segment of a script's execution between its start (or a `commit()`)
 * and the next commit, with the build context captured at its start.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** Lifecycle of a run. */
export const RunStatus = Schema.Literal("running", "committed", "crashed", "interrupted", "failed")
export type RunStatus = typeof RunStatus.Type

/** Build context captured automatically at a run's start (DESIGN §2). */
export const BuildContext = Schema.Struct({
  argv: Schema.Array(Schema.String),
  node_version: Schema.String,
  platform: Schema.String,
  arch: Schema.String,
  cpus: Schema.Number,
  cpu_model: Schema.String,
  mem_total: Schema.Number,
  hostname: Schema.String,
  pid: Schema.Number,
  git_branch: Schema.NullOr(Schema.String),
  git_head: Schema.NullOr(Schema.String),
  make_level: Schema.NullOr(Schema.Number),
  make_goals: Schema.NullOr(Schema.String),
  makefile_hash: Schema.NullOr(Schema.String),
  backend: Schema.NullOr(Schema.String)
})
export type BuildContext = typeof BuildContext.Type

/** The header of a run: identity plus build context. */
export const RunHeader = Schema.Struct({
  projid: Schema.String,
  tstamp: Schema.String,
  filename: Schema.String,
  start_time: Schema.Number,
  tree: Schema.NullOr(Schema.String),
  build: BuildContext
})
export type RunHeader = typeof RunHeader.Type

/** A run as stored. */
export interface RunRow {
  readonly runId: number
  readonly projid: string
  readonly tstamp: string
  readonly filename: string
  readonly status: RunStatus
  readonly vid: string | null
  readonly startTime: number
  readonly endTime: number | null
  readonly build: BuildContext
}

/** Build facts that can be asked for as dataframe columns, with their stored types. */
export const BuildColumns = {
  vid: Schema.NullOr(Schema.String),
  status: RunStatus,
  start_time: Schema.String,
  end_time: Schema.NullOr(Schema.String),
  duration: Schema.NullOr(Schema.Number),
  argv: Schema.String,
  node_version: Schema.String,
  platform: Schema.String,
  arch: Schema.String,
  cpus: Schema.Number,
  cpu_model: Schema.String,
  mem_total: Schema.Number,
  hostname: Schema.String,
  git_branch: Schema.NullOr(Schema.String),
  git_head: Schema.NullOr(Schema.String),
  make_level: Schema.NullOr(Schema.Number),
  make_goals: Schema.NullOr(Schema.String),
  makefile_hash: Schema.NullOr(Schema.String),
  backend: Schema.NullOr(Schema.String)
} as const
export type BuildColumn = keyof typeof BuildColumns

/** True when `name` is a build-context column. */
export const isBuildColumn = (name: string): name is BuildColumn => Object.hasOwn(BuildColumns, name)

/** The value of a build column for a run. */
export const buildValue = (run: RunRow, column: BuildColumn): string | number | null => {
  switch (column) {
    case "vid":
      return run.vid
    case "status":
      return run.status
    case "start_time":
      return new Date(run.startTime).toISOString()
    case "end_time":
      return run.endTime === null ? null : new Date(run.endTime).toISOString()
    case "duration":
      return run.endTime === null ? null : (run.endTime - run.startTime) / 1000
    case "argv":
      return JSON.stringify(run.build.argv)
    default:
      return run.build[column]
  }
}

/** Dimension columns every dataframe starts with. */
export const DIMENSIONS = ["projid", "tstamp", "filename"] as const
