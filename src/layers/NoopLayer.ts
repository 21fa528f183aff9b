/**
 * The services doing nothing: args come from `--kwargs` or defaults, loops just
 * loop, nothing is logged or stored. `FLOR_DISABLE=1` runs a script this way; the
 * record-overhead bench measures against it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { parseKwargs } from "../domain/Kwargs.js"
import { decodeKwarg } from "../domain/Spec.js"
import { Args } from "../services/Args.js"
import { Checkpoints } from "../services/Checkpoints.js"
import { Logs } from "../services/Logs.js"
import { Loops } from "../services/Loops.js"
import { Project } from "../services/Project.js"
import { Session } from "../services/Session.js"

/** No-op services (Store and ObjectStore are not provided: `dataframe` needs a real layer). */
export const make = Effect.gen(function*() {
  const project = yield* Project
  const kwargs = yield* Either.match(parseKwargs(project.argv), { onLeft: Effect.fail, onRight: Effect.succeed })
  return Context.make(Logs, Logs.of({ writeNow: () => undefined })).pipe(
    Context.add(
      Args,
      Args.of({
        resolve: (name, codec, defaultEncoded) => {
          const text = kwargs.get(name)
          return text === undefined ? Effect.succeed(defaultEncoded) : decodeKwarg(codec, name, text)
        }
      })
    ),
    Context.add(
      Loops,
      Loops.of({
        loop: (_name, items, _encode, body) => Effect.forEach(items, body, { discard: true }),
        iteration: (_name, _index, _encoded, body) => body
      })
    ),
    Context.add(Checkpoints, Checkpoints.of({ scope: (_objects, body) => body })),
    Context.add(
      Session,
      Session.of({
        current: Effect.succeed({ projid: project.projid, tstamp: "", filename: project.filename }),
        commit: Effect.void,
        close: () => Effect.void
      })
    )
  )
})

/** The no-op layer. */
export const layer = Layer.effectContext(make)
