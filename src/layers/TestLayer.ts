/**
 * The in-memory layer for tests: the record semantics over an in-memory SQLite
 * store, in-memory versioning and journals. Seed upstream rows with `Store.ingest`.
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import type { JournalError, KwargsError, StoreError, VersioningError } from "../domain/Errors.js"
import { Project } from "../services/Project.js"
import type { FlorServices } from "./Live.js"
import * as MemoryJournal from "./MemoryJournal.js"
import * as MemoryObjectStore from "./MemoryObjectStore.js"
import * as SyncMaterializer from "./SyncMaterializer.js"
import * as MemoryVersioning from "./MemoryVersioning.js"
import * as Recorder from "./Recorder.js"
import * as Replayer from "./Replayer.js"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ReplayPlan } from "../domain/ReplayPlan.js"
import type { BuildContext } from "../domain/Run.js"
import type { ObjectStore } from "../services/ObjectStore.js"
import * as Context from "effect/Context"
import { type BackfillRecord, type LoopEntry, Store } from "../services/Store.js"
import * as SqliteStore from "./SqliteStore.js"

/** The build context of a run a test or a bench makes up (this process, a made-up machine); `overrides` set any field. */
export const buildContext = (overrides: Partial<BuildContext> = {}): BuildContext => ({
  argv: [],
  node_version: process.version,
  platform: process.platform,
  arch: process.arch,
  cpus: 1,
  cpu_model: "test",
  mem_total: 0,
  hostname: "test",
  pid: process.pid,
  git_branch: null,
  git_head: null,
  make_level: null,
  make_goals: null,
  makefile_hash: null,
  backend: null,
  ...overrides
})

/** Options of the test layer. */
export interface TestOptions {
  /** Command line after the script (e.g. `["--kwargs", "lr=0.1"]`). */
  readonly argv?: ReadonlyArray<string>
  readonly projid?: string
  readonly filename?: string
}

const project = (options: TestOptions) =>
  Layer.succeed(Project, {
    projid: options.projid ?? "test",
    root: "/nonexistent",
    filename: options.filename ?? "test.ts",
    argv: options.argv ?? [],
    home: "/nonexistent"
  })

const storage = Layer.mergeAll(
  SqliteStore.layerMemory,
  MemoryVersioning.layer,
  MemoryJournal.layer,
  SyncMaterializer.layer.pipe(Layer.provideMerge(MemoryObjectStore.layer))
)

/** One in-memory store and object store shared by successive record and replay runs. */
export interface TestWorld {
  /** Record semantics over the world's storage. */
  readonly record: (options?: TestOptions) => Layer.Layer<FlorServices, KwargsError | StoreError | JournalError | VersioningError>
  /** Replay semantics for `plan` over the world's storage. */
  readonly replay: (plan: ReplayPlan, options?: TestOptions) => Layer.Layer<FlorServices, KwargsError | StoreError>
  readonly objects: Layer.Layer<ObjectStore>
  /**
   * Stores a committed run of `filename` with the given records (addressed by loop
   * path): upstream rows for unit-testing a pipeline step. Returns its tstamp.
   */
  readonly seed: (filename: string, records: ReadonlyArray<BackfillRecord>) => Effect.Effect<string, StoreError>
}

let seeded = 0

/** Builds a test world (scoped): record runs, then replay them, all in memory. */
export const world: Effect.Effect<TestWorld, StoreError, Scope.Scope> = Effect.map(
  Layer.build(storage),
  (context) => {
    const base = Layer.succeedContext(context)
    return {
      record: (options = {}) => Recorder.layer.pipe(Layer.provideMerge(base), Layer.provide(project(options))),
      replay: (plan, options = {}) =>
        Replayer.layer(plan).pipe(Layer.provideMerge(base), Layer.provide(project(options))),
      objects: base,
      seed: (filename, records) =>
        Effect.gen(function*() {
          const store = Context.get(context, Store)
          const start = Date.now() + seeded++
          const tstamp = new Date(start).toISOString()
          const ctxOf = new Map<string, number>()
          const loops: Array<LoopEntry> = []
          const logs = records.map((r) => {
            let parent = 0
            let key = ""
            for (const step of r.path) {
              key += `/${step.name}=${step.iteration}`
              let ctx = ctxOf.get(key)
              if (ctx === undefined) {
                ctxOf.set(key, ctx = ctxOf.size + 1)
                loops.push({ ctx, parent, name: step.name, entries: step.entries, iteration: step.iteration, value: step.value })
              }
              parent = ctx
            }
            return { ctx: parent, name: r.name, value: r.value }
          })
          yield* store.ingest({
            header: {
              projid: "test",
              tstamp,
              filename,
              start_time: start,
              tree: null,
              build: buildContext()
            },
            status: "committed",
            vid: null,
            endTime: start,
            logs,
            loops,
            checkpoints: []
          })
          return tstamp
        })
    }
  }
)

/** The services of a program, in memory. */
export const layer = (options: TestOptions = {}): Layer.Layer<FlorServices, StoreError | VersioningError | KwargsError | JournalError> =>
  Recorder.layer.pipe(Layer.provideMerge(storage), Layer.provide(project(options)))
