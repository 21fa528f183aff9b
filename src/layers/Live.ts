/**
 * The default record layer: SQLite store, git shadow branch, file journals, the
 * project of the entry script.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  type JournalError,
  type KwargsError,
  type NotAGitRepository,
  ReplayError,
  type StoreError,
  type VersioningError
} from "../domain/Errors.js"
import type { Args } from "../services/Args.js"
import type { Checkpoints } from "../services/Checkpoints.js"
import type { Logs } from "../services/Logs.js"
import type { Loops } from "../services/Loops.js"
import { Project } from "../services/Project.js"
import type { Session } from "../services/Session.js"
import type { Store } from "../services/Store.js"
import type { ObjectStore } from "../services/ObjectStore.js"
import * as path from "node:path"
import * as FileJournal from "./FileJournal.js"
import * as LocalObjectStore from "./LocalObjectStore.js"
import * as WorkerMaterializer from "./WorkerMaterializer.js"
import * as ProjectLive from "./ProjectLive.js"
import * as Recorder from "./Recorder.js"
import * as Replayer from "./Replayer.js"
import * as NoopLayer from "./NoopLayer.js"
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type ReplayPlan, ReplayPlanJson } from "../domain/ReplayPlan.js"
import * as SqliteStore from "./SqliteStore.js"

/** Every service a flordb program may use. */
export type FlorServices = Logs | Args | Loops | Checkpoints | Session | Store | ObjectStore

/** Errors of starting a recording. */
export type StartError = NotAGitRepository | StoreError | VersioningError | KwargsError | JournalError | ReplayError

/**
 * Git versioning of the repository at `root`. Loaded on demand: isomorphic-git is only
 * needed to record (a replay or a `FLOR_DISABLE=1` run does not load it).
 */
export const versioning = (root: string) =>
  Layer.unwrapEffect(Effect.map(Effect.promise(() => import("./GitVersioning.js")), (git) => git.layer(root)))

/** Storage of a project: SQLite store, git versioning and file journals. */
export const storage = (project: Project["Type"]) =>
  Layer.mergeAll(
    SqliteStore.layer(project.home, project.projid),
    versioning(project.root),
    FileJournal.layer(project.home),
    objects(project.home)
  )

/** The local object store under `$FLOR_HOME/obj_store`. */
export const objectStore = (home: string) => LocalObjectStore.layer(path.join(home, "obj_store"))

/** Object store plus background materializer (worker thread). */
export const objects = (home: string) =>
  Layer.merge(objectStore(home), WorkerMaterializer.layer(path.join(home, "obj_store")))

/** Record layer for a given project. */
export const recordFor = (project: Project["Type"]): Layer.Layer<FlorServices, StartError> =>
  Recorder.layer.pipe(
    Layer.provideMerge(storage(project)),
    Layer.provide(Layer.succeed(Project, project))
  )

/** Record layer for this process's entry script. */
export const record: Layer.Layer<FlorServices, StartError> = Layer.unwrapEffect(
  Effect.map(Project, recordFor).pipe(Effect.provide(ProjectLive.layerProcess))
)

/**
 * Replay layer for a plan. The script may run outside any repository (in a
 * temporary copy of its version): the project is the plan's.
 */
export const replayFor = (plan: ReplayPlan): Layer.Layer<FlorServices, StartError> =>
  Layer.unwrapEffect(
    Effect.map(Effect.orDie(ProjectLive.FlorHome), (home) => {
      const project: Project["Type"] = {
        projid: plan.projid,
        root: process.cwd(),
        filename: plan.filename,
        argv: process.argv.slice(2),
        home: path.resolve(home)
      }
      return Replayer.layer(plan).pipe(
        Layer.provideMerge(SqliteStore.layer(project.home, plan.projid)),
        Layer.provideMerge(objectStore(project.home)),
        Layer.provide(Layer.succeed(Project, project))
      )
    })
  )

/** `FLOR_REPLAY`: the replay plan (JSON) a script runs under; unset = record. */
export const ReplayPlanConfig = Config.option(Config.string("FLOR_REPLAY"))

/** `FLOR_DISABLE=1`: run without recording. */
export const DisableConfig = Config.boolean("FLOR_DISABLE").pipe(Config.withDefault(false))

/** No recording at all (args still read `--kwargs`); `dataframe` still reads the store. */
export const disabled: Layer.Layer<FlorServices, StartError> = Layer.unwrapEffect(
  Effect.map(Project, (project) =>
    NoopLayer.layer.pipe(
      Layer.provideMerge(Layer.merge(SqliteStore.layer(project.home, project.projid), objectStore(project.home))),
      Layer.provide(Layer.succeed(Project, project))
    )).pipe(Effect.provide(ProjectLive.layerProcess))
)

/** Record, replay when `FLOR_REPLAY` holds a plan, or nothing when `FLOR_DISABLE=1`. */
export const automatic: Layer.Layer<FlorServices, StartError> = Layer.unwrapEffect(
  Effect.gen(function*() {
    if (yield* Effect.orDie(DisableConfig)) return disabled
    const text = yield* Effect.orDie(ReplayPlanConfig)
    if (Option.isNone(text)) return record
    const plan = yield* Effect.mapError(
      Schema.decode(ReplayPlanJson)(text.value),
      () =>
        new ReplayError({
          tstamp: "",
          filename: "",
          detail: "FLOR_REPLAY does not hold a replay plan (`flor replay` sets it): unset it to record the run"
        })
    )
    return replayFor(plan)
  })
)
