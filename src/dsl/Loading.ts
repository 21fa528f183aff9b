/**
 * `loading(objects, row)`: restore into live objects the checkpoint of the run
 * and iteration a dataframe row points at — the model-registry pattern (pick the
 * best `val_recall` with `dataframe`, then load it).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { CheckpointError, type StoreError } from "../domain/Errors.js"
import { decode, select } from "../domain/Snapshot.js"
import type { Checkpointable } from "../services/Checkpointable.js"
import { ObjectStore } from "../services/ObjectStore.js"
import { Store } from "../services/Store.js"

/** A dataframe row: its run, and optionally the main-loop iteration as a dimension column. */
export type RowRef = {
  readonly projid: string
  readonly tstamp: string
  readonly filename: string
}

/**
 * Restores `objects` from the checkpoint of `row`'s run at the row's main-loop
 * iteration (e.g. `epoch`); a row without that dimension loads the run's last
 * checkpoint. Returns the iteration loaded.
 */
export const loading = (
  objects: Readonly<Record<string, Checkpointable>>,
  row: RowRef
): Effect.Effect<number, CheckpointError | StoreError, Store | ObjectStore> =>
  Effect.gen(function*() {
    const store = yield* Store
    const objectStore = yield* ObjectStore
    const all = (yield* store.checkpoints).filter((c) => c.run.tstamp === row.tstamp && c.run.filename === row.filename)
    const loop = all[0]?.checkpoint.loop ?? "epoch"
    const dims: { readonly [dimension: string]: unknown } = row
    const at = dims[loop]
    const wanted = typeof at === "number" ? at : all.at(-1)?.checkpoint.iteration ?? 0
    const key = { projid: row.projid, tstamp: row.tstamp, filename: row.filename, loop, iteration: wanted }
    const found = all.find((c) => c.checkpoint.iteration === wanted)?.checkpoint
    const error = (reason: "Missing" | "Restore", path: string, detail: string) =>
      new CheckpointError({ reason, tstamp: row.tstamp, filename: row.filename, loop, iteration: wanted, path, detail })
    if (found === undefined) {
      return yield* Effect.fail(
        error("Missing", "", all.length === 0 ? "the run has no checkpoints" : `checkpointed iterations: ${all.map((c) => c.checkpoint.iteration).join(", ")}`)
      )
    }
    const bytes = yield* objectStore.get(key, found.uri, found.checksum)
    const snapshot = yield* Effect.try({ try: () => decode(bytes), catch: (e) => error("Restore", found.uri, String(e)) })
    for (const [name, object] of Object.entries(objects)) {
      const part = select(snapshot, name)
      if (part === undefined) return yield* Effect.fail(error("Restore", found.uri, `it holds no state for '${name}'`))
      yield* Effect.mapError(object.restore(part), (d) => error("Restore", found.uri, `${name}: ${d}`))
    }
    return wanted
  })
