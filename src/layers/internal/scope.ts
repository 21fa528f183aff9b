import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { combine, type Snapshot } from "../../domain/Snapshot.js"
import type { Checkpointable } from "../../services/Checkpointable.js"

/** The checkpointing scope of a fiber: its objects, and the loop context it was entered in. */
export interface CheckpointScope {
  readonly objects: Readonly<Record<string, Checkpointable>>
  readonly baseCtx: number
  /** Set inside the main loop, so nested loops are not mistaken for it. */
  readonly inMain: boolean
}

/** The current checkpointing scope, if any. */
export const CurrentScope: FiberRef.FiberRef<CheckpointScope | undefined> = FiberRef.unsafeMake<
  CheckpointScope | undefined
>(undefined)

/** Per main-loop iteration: time spent in its nested loops. */
export interface IterationStats {
  nested: number
}

/** The current main-loop iteration's stats, inside its body (not inside nested loops). */
export const CurrentIteration: FiberRef.FiberRef<IterationStats | undefined> = FiberRef.unsafeMake<
  IterationStats | undefined
>(undefined)

/** Whether a loop entered under `parentCtx` is the main loop of `scope`. */
export const isMainLoop = (scope: CheckpointScope | undefined, parentCtx: number): scope is CheckpointScope =>
  scope !== undefined && !scope.inMain && parentCtx === scope.baseCtx

/** Captures every object of a scope into one snapshot (main thread: host copies only). */
export const captureAll = (objects: Readonly<Record<string, Checkpointable>>): Effect.Effect<Snapshot> =>
  Effect.map(
    Effect.forEach(Object.entries(objects), ([name, object]) => Effect.map(object.capture, (s) => [name, s] as const)),
    combine
  )
