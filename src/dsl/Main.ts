/**
 * Running a flordb program: `Flor.main(program)` records it (or replays it, when
 * started by `flor replay`), prints one line per failure and sets the exit code.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { isReplayStop } from "../domain/ReplayPlan.js"
import { automatic, type FlorServices } from "../layers/Live.js"
import { Session } from "../services/Session.js"

/** Runs `program` and closes its last run with the program's outcome (a replay's early stop is success). */
export const withRun = <A, E, R>(program: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const session = yield* Session
    const exit = yield* Effect.exit(program)
    yield* session.close(exit)
    if (Exit.isFailure(exit)) {
      const defect = Cause.dieOption(exit.cause)
      if (Option.isSome(defect) && isReplayStop(defect.value)) return undefined
    }
    return yield* exit
  })

/** One line for a failure: the tagged error's message, or the defect. */
export const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    return e instanceof Error ? e.message : String(e)
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    const d = defect.value
    return `unexpected error: ${d instanceof Error ? d.message : String(d)} (set FLOR_DEBUG=1 for the stack)`
  }
  return Cause.pretty(cause).split("\n")[0] ?? "unknown failure"
}

/**
 * Runs a program as the process's main: recorded, or replayed when started with a
 * plan in `FLOR_REPLAY` (as `flor replay` does). Exit code 0 or 1.
 */
export const main = <A, E>(
  program: Effect.Effect<A, E, FlorServices>,
  layer: Layer.Layer<FlorServices, unknown> = automatic
): void =>
  withRun(program).pipe(
    Effect.provide(layer),
    Effect.tapErrorCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(`flor: ${
        process.env.FLOR_DEBUG ? Cause.pretty(cause) : describeFailure(cause)
      }`)
    ),
    Effect.onExit((exit) => Effect.sync(() => Exit.isFailure(exit) && (process.exitCode = 1))),
    NodeRuntime.runMain({ disableErrorReporting: true })
  )
