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
import * as FiberRef from "effect/FiberRef"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scheduler from "effect/Scheduler"
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
 * A scheduler that gives the event loop a turn at least every `sliceMs` of fiber
 * work. Effect's default one yields through microtasks (2048 times before a timer),
 * so a CPU-bound program — a training loop — starves timers and signal handlers:
 * the journal's periodic flush would not run and Ctrl-C would go unnoticed.
 */
export const timeSliced = (sliceMs: number): Scheduler.Scheduler => {
  let last = performance.now()
  const runner = Scheduler.SchedulerRunner.cached((depth, drain) => {
    if (depth >= 2048 || performance.now() - last >= sliceMs) {
      setImmediate(() => {
        last = performance.now()
        drain(0)
      })
    } else {
      Promise.resolve(undefined).then(() => drain(depth + 1))
    }
  })
  return {
    shouldYield: (fiber) => {
      const ops = fiber.currentOpCount
      return ops > fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield) ||
          ((ops & 63) === 0 && performance.now() - last >= sliceMs)
        ? fiber.getFiberRef(FiberRef.currentSchedulingPriority)
        : false
    },
    scheduleTask: (task, priority, fiber) => runner(fiber).scheduleTask(task, priority)
  }
}

/**
 * While the program's last run is being committed after a first SIGINT/SIGTERM,
 * further ones (a second Ctrl-C, tsx relaying the signal to its child) are
 * ignored: with no listener left, tsx's own handler would exit the process
 * mid-commit.
 */
const holdSignals = Effect.acquireRelease(
  Effect.sync(() => {
    const ignore = () => {}
    process.on("SIGINT", ignore)
    process.on("SIGTERM", ignore)
    return ignore
  }),
  (ignore) =>
    Effect.sync(() => {
      process.removeListener("SIGINT", ignore)
      process.removeListener("SIGTERM", ignore)
    })
)

/**
 * Runs a program as the process's main: recorded, or replayed when started with a
 * plan in `FLOR_REPLAY` (as `flor replay` does). Exit code 0, 1 on failure, 130
 * when interrupted (SIGINT, SIGTERM): the run is then committed as `interrupted`.
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
    (effect) => Effect.scoped(Effect.zipRight(holdSignals, effect)),
    Effect.withScheduler(timeSliced(10)),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      // an interrupted run (Ctrl-C, SIGTERM) is not a success for the shell or make
      teardown: (exit, onExit) =>
        onExit(Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
    })
  )
