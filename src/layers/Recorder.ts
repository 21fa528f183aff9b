/**
 * Record semantics of `log`, `arg`, `loop`, `iteration`, `checkpointing` and
 * `commit`: every value reaches the run's journal within a flush interval; a
 * commit versions the code, stores the run atomically and starts a new tstamp.
 * The same engine serves the SQLite record layer and the in-memory test layer;
 * only the Store, Versioning and Journal it is given differ.
 *
 * @since 0.1.0
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { JournalError, type KwargsError } from "../domain/Errors.js"
import { tstampOf } from "../domain/Ids.js"
import { parseKwargs, unusedKwargs } from "../domain/Kwargs.js"
import { decodeKwarg } from "../domain/Spec.js"
import { checkpointLine, parseLog, RecordBuffer } from "../domain/LogFile.js"
import { DEFAULT_EPSILON, DEFAULT_RESTORE_RATIO, shouldCheckpoint } from "../domain/Adaptive.js"
import { byteSize } from "../domain/Snapshot.js"
import { captureAll, type CheckpointScope, CurrentIteration, CurrentScope, isMainLoop } from "./internal/scope.js"
import { type Materialized, Materializer } from "../services/Materializer.js"
import type { BuildContext, RunHeader, RunStatus } from "../domain/Run.js"
import { Args } from "../services/Args.js"
import { Checkpoints } from "../services/Checkpoints.js"
import { Journal, type JournalWriter } from "../services/Journal.js"
import { CurrentLoop, currentFrame, iterate, type LoopFrame, makeFrame, within } from "../services/LoopContext.js"
import { Logs } from "../services/Logs.js"
import { Loops } from "../services/Loops.js"
import { Project } from "../services/Project.js"
import { type CommitError, Session } from "../services/Session.js"
import { Store } from "../services/Store.js"
import { Versioning } from "../services/Versioning.js"
import { recover } from "./Recovery.js"

/** Overhead tolerance ε of adaptive checkpointing (`FLOR_EPSILON`). */
export const Epsilon = Config.number("FLOR_EPSILON").pipe(Config.withDefault(DEFAULT_EPSILON))

/** Restore/materialize ratio c (`FLOR_RESTORE_RATIO`), refined from replays. */
export const RestoreRatio = Config.number("FLOR_RESTORE_RATIO").pipe(Config.withDefault(DEFAULT_RESTORE_RATIO))

/** How often buffered records are made durable (`FLOR_FLUSH_MS`, default 250 ms). */
export const FlushMillis = Config.integer("FLOR_FLUSH_MS").pipe(Config.withDefault(250))

/** `FLOR_UNUSED_KWARGS`: a `--kwargs` name that no `arg` read fails the process (`error`, default) or only warns. */
export const UnusedKwargs = Config.literal("error", "warn")("FLOR_UNUSED_KWARGS").pipe(Config.withDefault("error"))

/** Per-run profiling of the main loop and checkpoints (seconds, bytes). */
interface Profile {
  mainStart: number | undefined
  mainEnd: number | undefined
  n: number
  k: number
  compute: number
  capture: number
  bytes: number
  /** Last measured main-thread cost of one checkpoint. */
  materialize: number | undefined
  /** Context of each checkpointed main-loop iteration, by iteration. */
  readonly ctxOf: Map<number, number>
}

const newProfile = (): Profile => ({
  mainStart: undefined,
  mainEnd: undefined,
  n: 0,
  k: 0,
  compute: 0,
  capture: 0,
  bytes: 0,
  materialize: undefined,
  ctxOf: new Map()
})

interface RunState {
  readonly profile: Profile
  readonly seq: number
  readonly header: RunHeader
  readonly writer: JournalWriter
  readonly scope: Scope.CloseableScope
  readonly tree: string
  records: number
  closed: boolean
}


const makefileHash = (dir: string): string | null => {
  for (const name of ["GNUmakefile", "makefile", "Makefile"]) {
    const file = path.join(dir, name)
    if (fs.existsSync(file)) return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex")
  }
  return null
}

const captureBuild = (argv: ReadonlyArray<string>, branch: string | null, head: string | null) =>
  Effect.gen(function*() {
    const makeLevel = yield* Config.option(Config.integer("MAKELEVEL"))
    const goals = yield* Config.option(Config.string("MAKECMDGOALS"))
    const backend = yield* Config.option(Config.string("FLOR_BACKEND"))
    const cpus = os.cpus()
    const build: BuildContext = {
      argv: [...argv],
      node_version: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: cpus.length,
      cpu_model: cpus[0]?.model ?? "unknown",
      mem_total: os.totalmem(),
      hostname: os.hostname(),
      pid: process.pid,
      git_branch: branch,
      git_head: head,
      make_level: Option.getOrNull(makeLevel),
      make_goals: Option.getOrNull(goals),
      makefile_hash: Option.isSome(makeLevel) ? makefileHash(process.cwd()) : null,
      backend: Option.getOrNull(backend)
    }
    return build
  }).pipe(Effect.orDie)

const statusOf = (exit: Exit.Exit<unknown, unknown>): RunStatus =>
  Exit.isSuccess(exit) ? "committed" : Exit.isInterrupted(exit) ? "interrupted" : "failed"

/** The record services, plus `close` for the program's end. */
export const make = Effect.gen(function*() {
  const project = yield* Project
  const store = yield* Store
  const versioning = yield* Versioning
  const journal = yield* Journal
  const materializer = yield* Materializer
  const flushMillis = yield* Effect.orDie(FlushMillis)
  const epsilon = yield* Effect.orDie(Epsilon)
  const restoreRatio = yield* Effect.orDie(RestoreRatio)
  const unusedPolicy = yield* Effect.orDie(UnusedKwargs)
  const kwargs = yield* Either.match(parseKwargs(project.argv), {
    onLeft: (e) => Effect.fail(e),
    onRight: (m) => Effect.succeed(m)
  })
  yield* recover(project.projid).pipe(Effect.catchAll((e) => Console.error(`flor: recovery skipped: ${e.message}`)))
  const head = yield* versioning.head
  const build = yield* captureBuild(project.argv, head.branch, head.head)

  const consumed = new Set<string>()
  const resolvedArgs = new Map<string, unknown>()
  let seq = 0
  let ctxCounter = 0
  let run: RunState
  /** Records since the last flush, column by column; taken as one batch per flush. */
  const buffer = new RecordBuffer()
  let flushError: JournalError | undefined
  let lastFlush = performance.now()
  let sinceCheck = 0

  /** Runs a journal write, keeping its outcome in `flushError` (a later write retries a failed one). */
  const noting = (write: Effect.Effect<void, JournalError>): Effect.Effect<void> =>
    Effect.matchEffect(write, {
      onSuccess: () => Effect.sync(() => void (flushError = undefined)),
      onFailure: (e) => Effect.sync(() => void (flushError = e))
    })

  // Checkpoints written since the last look are journaled with every flush, not only
  // at the next main-loop boundary (an epoch may be long): a crash keeps them usable.
  // A write that fails is kept by the journal and retried with the next one.
  const flush: Effect.Effect<void> = Effect.flatMap(materializer.poll, (stored) => {
    lastFlush = performance.now()
    journalCheckpoints(stored)
    const batch = buffer.take()
    return batch === undefined ? Effect.void : noting(run.writer.appendBatch(batch))
  })

  /** Buffers the loop rows of `frame` and of its ancestors not written in this run yet, outermost first. */
  const emitChain = (frame: LoopFrame): void => {
    const parent = frame.parent
    if (parent !== undefined && parent.ctx !== 0 && parent.emitted !== run.seq) emitChain(parent)
    frame.emitted = run.seq
    buffer.loop(frame.ctx, parent?.ctx ?? 0, frame.name, frame.entries, frame.iteration, frame.value)
  }

  /** Buffers a record; returns the flush effect when one is due, else undefined. */
  const pushNow = (ctx: number, name: string, encoded: unknown): Effect.Effect<void> | undefined => {
    buffer.log(ctx, name, encoded)
    run.records++
    if (++sinceCheck >= 512) {
      sinceCheck = 0
      if (performance.now() - lastFlush >= flushMillis) return flush
    }
    return undefined
  }

  const push = (ctx: number, name: string, encoded: unknown): Effect.Effect<void> =>
    Effect.suspend(() => pushNow(ctx, name, encoded) ?? Effect.void)

  /** Journals written checkpoints, so a crash after this flush keeps them usable. */
  const journalCheckpoints = (stored: ReadonlyArray<Materialized>) => {
    for (const m of stored) {
      buffer.lines(checkpointLine({
        ctx: run.profile.ctxOf.get(m.key.iteration) ?? 0,
        loop: m.key.loop,
        iteration: m.key.iteration,
        uri: m.uri,
        bytes: m.bytes,
        checksum: m.checksum,
        materializeMs: m.materializeMs
      }))
    }
  }

  const startRun = Effect.gen(function*() {
    const tree = yield* versioning.snapshot
    const scope = yield* Scope.make()
    const now = Date.now()
    const [writer, header] = yield* Scope.extend(
      journal.open({
        projid: project.projid,
        tstamp: tstampOf(now),
        filename: project.filename,
        start_time: now,
        tree,
        build
      }),
      scope
    )
    run = { profile: newProfile(), seq: ++seq, header, writer, scope, tree, records: 0, closed: false }
    buffer.restart()
    if (seq === 1) yield* push(0, "flor.startup_s", process.uptime() - (performance.now() - layerStart) / 1000)
    for (const [name, encoded] of resolvedArgs) yield* push(0, name, encoded)
  })

  const endRun = (status: RunStatus): Effect.Effect<void, CommitError> =>
    Effect.gen(function*() {
      const r = run
      if (r.closed) return
      r.closed = true
      const p = r.profile
      if (p.mainEnd !== undefined) {
        yield* push(0, "flor.suffix_s", (performance.now() - p.mainEnd) / 1000)
        yield* push(0, "flor.ckpt_count", p.k)
        yield* push(0, "flor.ckpt_bytes", p.bytes)
        yield* push(0, "flor.capture_s", p.capture)
      }
      journalCheckpoints(yield* materializer.drain)
      yield* flush
      yield* noting(r.writer.sync)
      if (flushError !== undefined) return yield* Effect.fail(flushError)
      if (r.records === 0) {
        yield* r.writer.remove
        return yield* Scope.close(r.scope, Exit.void)
      }
      const endTime = Date.now()
      yield* r.writer.end(status, endTime)
      const bytes = yield* r.writer.contents
      const parsed = parseLog(new TextDecoder().decode(bytes))
      if (Either.isLeft(parsed)) {
        return yield* Effect.fail(new JournalError({ path: r.writer.path, detail: parsed.left }))
      }
      const vid = yield* versioning.commit(
        r.tree,
        `.flor/logs/${r.header.tstamp}.jsonl`,
        bytes,
        `flor: ${r.header.filename} ${r.header.tstamp} (${status})`
      )
      yield* store.ingest({
        header: r.header,
        status,
        vid,
        endTime,
        logs: parsed.right.logs,
        loops: parsed.right.loops,
        checkpoints: parsed.right.checkpoints
      })
      yield* r.writer.remove
      yield* Scope.close(r.scope, Exit.void)
    })

  const lock = yield* Effect.makeSemaphore(1)
  const layerStart = performance.now()
  yield* startRun

  let checkedUnused = false
  /** After the last run is stored: a `--kwargs` name no `arg` read is reported (a typo must not pass silently). */
  const checkUnused = (succeeded: boolean): Effect.Effect<void, KwargsError> =>
    Effect.suspend(() => {
      if (checkedUnused) return Effect.void
      checkedUnused = true
      const unused = unusedKwargs(kwargs.keys(), consumed)
      if (unused === undefined) return Effect.void
      return unusedPolicy === "error" && succeeded
        ? Effect.fail(unused)
        : Console.error(`flor: warning: ${unused.message}`)
    })

  /** Ends the last run with the program's outcome. Idempotent. */
  const close = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<void, CommitError | KwargsError> =>
    lock.withPermits(1)(Effect.zipRight(endRun(statusOf(exit)), checkUnused(Exit.isSuccess(exit)))).pipe(
      Effect.uninterruptible
    )

  yield* Effect.addFinalizer((exit) =>
    Effect.catchAll(close(exit), (e) =>
      Effect.zipRight(
        Console.error(`flor: ${e.message}`),
        Effect.sync(() => {
          process.exitCode = 1
        })
      ))
  )
  yield* Effect.forkScoped(Effect.repeat(flush, Schedule.spaced(flushMillis)))

  const logs = Logs.of({
    writeNow: (fiber, name, encoded) => {
      const frame = fiber.getFiberRef(CurrentLoop).frame
      if (frame.emitted !== run.seq && frame.ctx !== 0) emitChain(frame)
      return pushNow(frame.ctx, name, encoded)
    }
  })

  const args = Args.of({
    resolve: (name, codec, defaultEncoded) =>
      Effect.suspend(() => {
        consumed.add(name)
        const known = resolvedArgs.get(name)
        if (resolvedArgs.has(name)) return Effect.succeed(known)
        const text = kwargs.get(name)
        let encoded = defaultEncoded
        if (text !== undefined) {
          const decoded = decodeKwarg(codec, name, text)
          if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
          encoded = decoded.right
        }
        resolvedArgs.set(name, encoded)
        return Effect.as(push(0, name, encoded), encoded)
      })
  })

  const frame = (parent: LoopFrame, name: string, iteration: number, entries: number | null, value: unknown) =>
    makeFrame(++ctxCounter, parent, name, iteration, entries, value)

  /** Writes a value at a given frame (profiling records of a main-loop iteration). */
  const writeAt = (f: LoopFrame, name: string, value: unknown) => {
    if (f.emitted !== run.seq && f.ctx !== 0) emitChain(f)
    return push(f.ctx, name, value)
  }

  const checkpointNow = (f: LoopFrame, objects: CheckpointScope["objects"], loop: string, iteration: number) =>
    Effect.suspend(() => {
      const start = performance.now()
      const p = run.profile
      const key = {
        projid: run.header.projid,
        tstamp: run.header.tstamp,
        filename: run.header.filename,
        loop,
        iteration
      }
      return captureAll(objects).pipe(
        Effect.tap((snapshot) => {
          p.bytes += byteSize(snapshot)
          p.ctxOf.set(iteration, f.ctx)
          return materializer.submit(key, snapshot)
        }),
        Effect.tap(() =>
          Effect.sync(() => {
            const cost = (performance.now() - start) / 1000
            p.materialize = cost
            p.capture += cost
            p.k++
          })
        )
      )
    })

  const mainLoop = <A, E, R>(
    scope: CheckpointScope,
    parent: LoopFrame,
    name: string,
    arr: ReadonlyArray<A>,
    encode: (item: A) => unknown,
    body: (item: A) => Effect.Effect<unknown, E, R>
  ): Effect.Effect<void, E, R> => {
    const inner: CheckpointScope = { ...scope, inMain: true }
    return Effect.suspend(() => {
      const p = run.profile
      p.mainStart ??= performance.now()
      return Effect.zipRight(
        push(0, "flor.prefix_s", (p.mainStart - run.header.start_time + performance.timeOrigin) / 1000),
        Effect.forEach(arr, (item, i) => {
          const f = frame(parent, name, i + 1, arr.length, encode(item))
          const stats = { nested: 0 }
          const start = performance.now()
          return body(item).pipe(
            Effect.locally(CurrentLoop, { frame: f }),
            Effect.locally(CurrentIteration, stats),
            Effect.locally(CurrentScope, inner),
            Effect.zipRight(Effect.suspend(() => {
              const seconds = (performance.now() - start) / 1000
              const q = run.profile
              q.n++
              q.compute += seconds
              const take = shouldCheckpoint({
                materialize: q.materialize,
                compute: q.compute / q.n,
                n: q.n,
                k: q.k,
                restoreRatio,
                epsilon,
                last: i === arr.length - 1
              })
              return Effect.zipRight(
                Effect.zipRight(writeAt(f, "flor.iter_s", seconds), writeAt(f, "flor.nested_s", stats.nested)),
                Effect.zipRight(
                  Effect.flatMap(materializer.poll, (stored) => Effect.sync(() => journalCheckpoints(stored))),
                  take ? checkpointNow(f, scope.objects, name, i + 1) : Effect.void
                )
              )
            }))
          )
        }, { discard: true })
      ).pipe(Effect.ensuring(Effect.sync(() => {
        run.profile.mainEnd = performance.now()
      })))
    })
  }

  const loops = Loops.of({
    loop: (name, items, encode, body) =>
      Effect.withFiberRuntime((fiber) => {
        const parent = fiber.getFiberRef(CurrentLoop).frame
        const arr = Array.isArray(items) ? items : Array.from(items)
        const scope = fiber.getFiberRef(CurrentScope)
        if (isMainLoop(scope, parent.ctx)) return mainLoop(scope, parent, name, arr, encode, body)
        const plain = iterate(arr, (item, i) => frame(parent, name, i + 1, arr.length, encode(item)), body)
        const stats = fiber.getFiberRef(CurrentIteration)
        if (stats === undefined) return plain
        const start = performance.now()
        return Effect.ensuring(
          Effect.locally(plain, CurrentIteration, undefined),
          Effect.sync(() => {
            stats.nested += (performance.now() - start) / 1000
          })
        )
      }),
    iteration: (name, index, encoded, body) =>
      Effect.flatMap(currentFrame, (parent) => within(frame(parent, name, index, null, encoded), body))
  })

  const checkpoints = Checkpoints.of({
    scope: (objects, body) =>
      Effect.flatMap(
        currentFrame,
        (frame) => Effect.locally(body, CurrentScope, { objects, baseCtx: frame.ctx, inMain: false })
      )
  })

  const session = Session.of({
    current: Effect.sync(() => ({
      projid: run.header.projid,
      tstamp: run.header.tstamp,
      filename: run.header.filename
    })),
    commit: lock.withPermits(1)(Effect.zipRight(endRun("committed"), startRun)).pipe(Effect.uninterruptible),
    close
  })

  return Context.make(Logs, logs).pipe(
    Context.add(Args, args),
    Context.add(Loops, loops),
    Context.add(Checkpoints, checkpoints),
    Context.add(Session, session)
  )
})

/** The record services over whatever Store, Versioning, Journal and Project are provided. */
export const layer = Layer.scopedContext(make)
