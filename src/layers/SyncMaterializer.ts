/**
 * Materialization on the calling thread over any ObjectStore: the test double of
 * the background materializer, with the same contract.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { CheckpointError } from "../domain/Errors.js"
import { encode } from "../domain/Snapshot.js"
import { type Materialized, Materializer } from "../services/Materializer.js"
import { ObjectStore } from "../services/ObjectStore.js"

/** A materializer that encodes and stores synchronously on submit. */
export const make = Effect.gen(function*() {
  const store = yield* ObjectStore
  let done: Array<Materialized> = []
  let failure: CheckpointError | undefined
  return Materializer.of({
    submit: (key, snapshot) =>
      Effect.suspend(() => {
        const start = performance.now()
        return store.put(key, encode(snapshot)).pipe(
          Effect.tap((stored) =>
            Effect.sync(() => void done.push({ ...stored, key, materializeMs: performance.now() - start }))
          ),
          Effect.catchAll((e) => Effect.sync(() => void (failure ??= e))),
          Effect.asVoid
        )
      }),
    poll: Effect.sync(() => {
      const out = done
      done = []
      return out
    }),
    drain: Effect.suspend(() => {
      if (failure !== undefined) {
        const e = failure
        failure = undefined
        return Effect.fail(e)
      }
      const out = done
      done = []
      return Effect.succeed(out)
    })
  })
})

/** The synchronous materializer over the provided ObjectStore. */
export const layer: Layer.Layer<Materializer, never, ObjectStore> = Layer.effect(Materializer, make)
