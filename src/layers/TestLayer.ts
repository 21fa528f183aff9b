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
import * as SqliteStore from "./SqliteStore.js"

/** Options of the test layer. */
export interface TestOptions {
  /** Command line after the script (e.g. `["--kwargs", "lr=0.1"]`). */
  readonly argv?: ReadonlyArray<string>
  readonly projid?: string
  readonly filename?: string
}

/** The services of a program, in memory. */
export const layer = (options: TestOptions = {}): Layer.Layer<FlorServices, StoreError | VersioningError | KwargsError | JournalError> =>
  Recorder.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        SqliteStore.layerMemory,
        MemoryVersioning.layer,
        MemoryJournal.layer,
        SyncMaterializer.layer.pipe(Layer.provideMerge(MemoryObjectStore.layer))
      )
    ),
    Layer.provide(
      Layer.succeed(Project, {
        projid: options.projid ?? "test",
        root: "/nonexistent",
        filename: options.filename ?? "test.ts",
        argv: options.argv ?? [],
        home: "/nonexistent"
      })
    )
  )
