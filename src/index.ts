/**
 * flordb: hindsight logging and context management for the ML lifecycle, on Effect.
 *
 * @since 0.1.0
 */
export * as Flor from "./dsl/Flor.js"
export { checkpointing, commit, range } from "./dsl/Flor.js"
export type { DataframeError, Dimensions, Flor as FlorDsl, LoopDimensions, Queryable, Row, RunValues } from "./dsl/Flor.js"
export { describeFailure, main, withRun } from "./dsl/Main.js"
export { ObjectStore } from "./services/ObjectStore.js"
export type { Checkpointable } from "./services/Checkpointable.js"
export type { Snapshot } from "./domain/Snapshot.js"
export { arg, dataframe, iteration, log, loop } from "./dsl/Untyped.js"
export * from "./domain/Errors.js"
export { type Frame, latest } from "./domain/Frame.js"
export type { Json } from "./domain/Value.js"
export type { BuildColumn, RunRow, RunStatus } from "./domain/Run.js"
export { Args } from "./services/Args.js"
export { Checkpoints } from "./services/Checkpoints.js"
export { Logs } from "./services/Logs.js"
export { Loops } from "./services/Loops.js"
export { Project } from "./services/Project.js"
export { Session } from "./services/Session.js"
export { Store } from "./services/Store.js"
export { Versioning } from "./services/Versioning.js"
export { Journal } from "./services/Journal.js"
export * as FlorLive from "./layers/Live.js"
export * as FlorTest from "./layers/TestLayer.js"
export * as Schema from "effect/Schema"
