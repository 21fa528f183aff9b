/**
 * Replay semantics of the same services: `arg` returns the recorded values, only
 * probed columns are written, every other recorded column that executes is
 * compared with the record (the first difference is reported as a divergence), and
 * the main loop follows the plan's scan kind — prefix (stop at the main loop),
 * suffix (restore the end state, skip the loop), validation (skip-block: nested
 * loops are skipped and their iteration's checkpoint restored) or range
 * (pseudoresume to `from`, then run `[from, to)` fully). A missing or corrupt
 * checkpoint falls back to the nearest earlier one and re-executes the gap.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Cause from "effect/Cause"
import * as Schema from "effect/Schema"
import { CheckpointError, JournalError, KwargsError } from "../domain/Errors.js"
import { parseKwargs } from "../domain/Kwargs.js"
import type { CheckpointLine } from "../domain/LogFile.js"
import {
  type Divergence,
  isReplayStop,
  type ReplayPlan,
  type ReplayResult,
  ReplayResultJson,
  ReplayStop,
  replayWindow
} from "../domain/ReplayPlan.js"
import { decode, select } from "../domain/Snapshot.js"
import { Args } from "../services/Args.js"
import { Checkpoints } from "../services/Checkpoints.js"
import { CurrentLoop, currentFrame, iterate, type LoopFrame, makeFrame, TopLevel, within } from "../services/LoopContext.js"
import { Logs } from "../services/Logs.js"
import { Loops } from "../services/Loops.js"
import { ObjectStore } from "../services/ObjectStore.js"
import { Project } from "../services/Project.js"
import { Session } from "../services/Session.js"
import { type PathStep, Store } from "../services/Store.js"
import { type CheckpointScope, CurrentScope, isMainLoop } from "./internal/scope.js"

type Mode = "run" | "quiet" | "skipNested"

/** How the current fiber's records are treated: written/compared, or dropped (pseudoresume gap). */
const CurrentMode: FiberRef.FiberRef<Mode> = FiberRef.unsafeMake<Mode>("run")

/** The main-loop iteration being replayed, for skip-block decisions in nested loops. */
interface ReplayIteration {
  readonly iteration: number
  readonly scope: CheckpointScope
  skip: boolean
  restored: boolean
}
const CurrentReplayIteration: FiberRef.FiberRef<ReplayIteration | undefined> = FiberRef.unsafeMake<
  ReplayIteration | undefined
>(undefined)

const same = (a: unknown, b: unknown) =>
  typeof a === "number" && typeof b === "number" ? Object.is(a, b) : JSON.stringify(a) === JSON.stringify(b)

const describeAt = (steps: ReadonlyArray<PathStep>) => steps.map((s) => `${s.name}=${s.iteration}`).join("/")

/** The replay services for `plan`. */
export const make = (plan: ReplayPlan) =>
  Effect.gen(function*() {
    const project = yield* Project
    const store = yield* Store
    const objectStore = yield* ObjectStore
    const kwargs = parseKwargs(project.argv)
    if (Either.isRight(kwargs) && kwargs.right.size > 0) {
      const [name, value] = [...kwargs.right][0]!
      return yield* Effect.fail(new KwargsError({ reason: "OnReplay", arg: name, value, expected: "no --kwargs" }))
    }
    const key = { tstamp: plan.tstamp, filename: plan.filename }
    // only the records this plan can execute are read (and compared): a 1-epoch range of a
    // long run reads that epoch, not the whole run
    const recorded = yield* store.recorded(key, replayWindow(plan, yield* store.mainLoop(key)))
    const started = performance.now()

    const loopByCtx = new Map(recorded.loops.map((l) => [l.ctx, l]))
    const keyMemo = new Map<number, string>([[0, ""]])
    const keyOfCtx = (ctx: number): string => {
      const known = keyMemo.get(ctx)
      if (known !== undefined) return known
      const l = loopByCtx.get(ctx)
      const key = l === undefined ? `?${ctx}` : `${keyOfCtx(l.parent)}/${l.name}=${l.iteration}`
      keyMemo.set(ctx, key)
      return key
    }
    const recordedValues = new Map<string, Array<unknown>>()
    const args = new Map<string, unknown>()
    for (const l of recorded.logs) {
      if (l.ctx === 0 && !args.has(l.name)) args.set(l.name, l.value)
      const key = `${keyOfCtx(l.ctx)}\u0000${l.name}`
      const values = recordedValues.get(key)
      if (values === undefined) recordedValues.set(key, [l.value])
      else values.push(l.value)
    }
    const checkpoints = new Map<number, CheckpointLine>(recorded.checkpoints.map((c) => [c.iteration, c]))
    const probes = new Set(plan.probes)

    const frameKeys = new WeakMap<LoopFrame, string>()
    const keyOf = (frame: LoopFrame): string => {
      if (frame.ctx === 0) return ""
      let key = frameKeys.get(frame)
      if (key === undefined) {
        key = `${keyOf(frame.parent ?? TopLevel)}/${frame.name}=${frame.iteration}`
        frameKeys.set(frame, key)
      }
      return key
    }
    const pathOf = (frame: LoopFrame): Array<PathStep> => {
      const steps: Array<PathStep> = []
      for (let f: LoopFrame | undefined = frame; f !== undefined && f.ctx !== 0; f = f.parent) {
        steps.push({ name: f.name, iteration: f.iteration, entries: f.entries, value: f.value })
      }
      return steps.reverse()
    }

    const records: Array<ReplayResult["records"][number]> = []
    const occurrences = new Map<string, number>()
    const restores: Array<{ iteration: number; seconds: number }> = []
    let divergence: Divergence | null = null
    let divergences = 0
    let compared = 0
    let outer = 0
    let inner = 0
    let ctxCounter = 0

    const logs = Logs.of({
      writeNow: (fiber, name, encoded) => {
        if (fiber.getFiberRef(CurrentMode) === "quiet") return undefined
        const frame = fiber.getFiberRef(CurrentLoop).frame
        if (probes.has(name)) {
          records.push({ path: pathOf(frame), name, value: encoded })
          return undefined
        }
        if (name.startsWith("flor.")) return undefined
        const key = `${keyOf(frame)}\u0000${name}`
        const n = occurrences.get(key) ?? 0
        occurrences.set(key, n + 1)
        const expected = recordedValues.get(key)
        if (expected === undefined || n >= expected.length) return undefined
        compared++
        if (!same(expected[n], encoded)) {
          divergences++
          divergence ??= { column: name, at: describeAt(pathOf(frame)), recorded: expected[n], replayed: encoded }
        }
        return undefined
      }
    })

    const argsService = Args.of({
      resolve: (name, _codec, defaultEncoded) => Effect.succeed(args.has(name) ? args.get(name) : defaultEncoded)
    })

    const keyFor = (loop: string, iteration: number) => ({
      projid: plan.projid,
      tstamp: plan.tstamp,
      filename: plan.filename,
      loop,
      iteration
    })

    /** Restores the end state of main-loop iteration `i`; false when its checkpoint is missing or corrupt. */
    const tryRestore = (scope: CheckpointScope, i: number): Effect.Effect<boolean, CheckpointError> =>
      Effect.suspend(() => {
        const c = checkpoints.get(i)
        if (c === undefined) return Effect.succeed(false)
        const start = performance.now()
        const key = keyFor(c.loop, i)
        const fail = (detail: string) =>
          new CheckpointError({ reason: "Restore", ...keyFor(c.loop, i), path: c.uri, detail })
        return objectStore.get(key, c.uri, c.checksum).pipe(
          Effect.flatMap((bytes) =>
            Effect.gen(function*() {
              const snapshot = yield* Effect.try({ try: () => decode(bytes), catch: (e) => fail(String(e)) })
              for (const [name, object] of Object.entries(scope.objects)) {
                const part = select(snapshot, name)
                if (part === undefined) return yield* Effect.fail(fail(`it holds no state for '${name}'`))
                yield* Effect.mapError(object.restore(part), (d) => fail(`${name}: ${d}`))
              }
              restores.push({ iteration: i, seconds: (performance.now() - start) / 1000 })
              return true
            })
          ),
          Effect.catchIf(
            (e) => e.reason === "Missing" || e.reason === "Corrupt",
            (e) =>
              Effect.as(
                Console.error(`flor: replay: ${e.message}; falling back to an earlier checkpoint`),
                false
              )
          )
        )
      })

    const frame = (parent: LoopFrame, name: string, iteration: number, entries: number | null, value: unknown) =>
      makeFrame(++ctxCounter, parent, name, iteration, entries, value)

    const mainLoop = <A, E, R>(
      scope: CheckpointScope,
      parent: LoopFrame,
      name: string,
      arr: ReadonlyArray<A>,
      encode: (item: A) => unknown,
      body: (item: A) => Effect.Effect<unknown, E, R>
    ): Effect.Effect<void, E | CheckpointError, R> => {
      const n = arr.length
      const inner: CheckpointScope = { ...scope, inMain: true }
      let valid = 0
      const runIteration = (i: number, mode: Mode) =>
        Effect.suspend(() => {
          outer++
          const item = arr[i - 1]!
          const it: ReplayIteration = { iteration: i, scope, skip: mode === "skipNested", restored: false }
          return body(item).pipe(
            Effect.locally(CurrentLoop, { frame: frame(parent, name, i, n, encode(item)) }),
            Effect.locally(CurrentMode, mode === "skipNested" ? "run" : mode),
            Effect.locally(CurrentReplayIteration, it),
            Effect.locally(CurrentScope, inner),
            Effect.tap(() => {
              valid = i
            })
          )
        })
      /** Brings the state to the end of iteration `i`: restore the nearest checkpoint, re-run the gap quietly. */
      const positionTo = (i: number) =>
        Effect.gen(function*() {
          if (valid === i) return
          for (let j = i; j > valid; j--) {
            if (yield* tryRestore(scope, j)) {
              valid = j
              break
            }
          }
          for (let k = valid + 1; k <= i; k++) yield* runIteration(k, "quiet")
        })
      const from = Math.max(1, plan.from ?? 1)
      const to = Math.min(n + 1, plan.to ?? n + 1)
      switch (plan.kind) {
        case "prefix":
          return Effect.die(new ReplayStop())
        case "suffix":
          return positionTo(n)
        case "validation":
          return Effect.gen(function*() {
            for (let i = from; i < to; i++) {
              if (!checkpoints.has(i)) yield* positionTo(i - 1)
              yield* runIteration(i, "skipNested")
            }
            return yield* Effect.die(new ReplayStop())
          })
        case "range":
          return Effect.gen(function*() {
            yield* positionTo(from - 1)
            for (let i = from; i < to; i++) yield* runIteration(i, "run")
            return yield* Effect.die(new ReplayStop())
          })
      }
    }

    const loops = Loops.of({
      loop: (name, items, encode, body) =>
        Effect.withFiberRuntime((fiber) => {
          const parent = fiber.getFiberRef(CurrentLoop).frame
          const arr = Array.isArray(items) ? items : Array.from(items)
          const scope = fiber.getFiberRef(CurrentScope)
          if (isMainLoop(scope, parent.ctx)) return Effect.orDie(mainLoop(scope, parent, name, arr, encode, body))
          const it = fiber.getFiberRef(CurrentReplayIteration)
          const plain = iterate(arr, (item, i) => {
            if (it !== undefined) inner++
            return frame(parent, name, i + 1, arr.length, encode(item))
          }, body)
          if (it === undefined || !it.skip) return plain
          if (it.restored) return Effect.void
          return Effect.flatMap(Effect.orDie(tryRestore(it.scope, it.iteration)), (restored) => {
            if (restored) {
              it.restored = true
              return Effect.void
            }
            it.skip = false
            return plain
          })
        }),
      iteration: (name, index, encoded, body) =>
        Effect.flatMap(currentFrame, (parent) => within(frame(parent, name, index, null, encoded), body))
    })

    const checkpointsService = Checkpoints.of({
      scope: (objects, body) =>
        Effect.flatMap(
          currentFrame,
          (f) => Effect.locally(body, CurrentScope, { objects, baseCtx: f.ctx, inMain: false })
        )
    })

    const result = (): ReplayResult => ({
      plan,
      records,
      divergence,
      divergences,
      compared,
      outer,
      inner,
      restores,
      seconds: (performance.now() - started) / 1000
    })

    let closed = false
    const close = (exit: Exit.Exit<unknown, unknown>) =>
      Effect.gen(function*() {
        if (closed) return
        closed = true
        const stopped = Exit.isFailure(exit) && Cause.isDie(exit.cause) &&
          Cause.dieOption(exit.cause).pipe((d) => d._tag === "Some" && isReplayStop(d.value))
        if (Exit.isFailure(exit) && !stopped) return
        const r = result()
        if (divergence !== null) {
          yield* Console.error(
            `flor: replay divergence: ${divergences} recomputed value(s) differ from the record; first: '${divergence.column}'` +
              ` at ${divergence.at || "top level"}: recorded ${JSON.stringify(divergence.recorded)}, replayed ${
                JSON.stringify(divergence.replayed)
              }`
          )
        }
        if (plan.output !== undefined) {
          const file = plan.output
          yield* Effect.try({
            try: () => {
              const text = Schema.encodeSync(ReplayResultJson)(r)
              fs.mkdirSync(path.dirname(file), { recursive: true })
              fs.writeFileSync(`${file}.tmp`, text)
              fs.renameSync(`${file}.tmp`, file)
            },
            catch: (e) => new JournalError({ path: file, detail: String(e) })
          })
        } else {
          yield* store.backfill({ tstamp: plan.tstamp, filename: plan.filename }, records)
        }
      })

    const session = Session.of({
      current: Effect.succeed({ projid: plan.projid, tstamp: plan.tstamp, filename: plan.filename }),
      commit: Effect.void,
      close
    })

    return Context.make(Logs, logs).pipe(
      Context.add(Args, argsService),
      Context.add(Loops, loops),
      Context.add(Checkpoints, checkpointsService),
      Context.add(Session, session)
    )
  })

/** The replay services for a plan, over the provided Store, ObjectStore and Project. */
export const layer = (plan: ReplayPlan) => Layer.effectContext(make(plan))
