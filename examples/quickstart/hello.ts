/**
 * flordb quick start: run it inside any git repository where flordb is installed.
 *
 *   npx tsx hello.ts --kwargs name=world
 *   npx flor dataframe loss --format csv
 */
import * as Effect from "effect/Effect"
import { arg, log, loop, main, range } from "flordb"

const program = Effect.gen(function*() {
  const name = yield* arg("name", "anonymous")
  yield* log("msg", `hello ${name}`)
  yield* loop("epoch", range(3), (epoch) =>
    loop("step", range(4), (step) => log("loss", 1 / (1 + epoch * 4 + step))))
})

main(program)
