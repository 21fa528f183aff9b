import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { describe, expectTypeOf, it } from "vitest"
import { Flor, range } from "flordb"

const flor = Flor.make({
  args: { lr: Schema.Number, optimizer: Schema.Literal("adam", "sgd") },
  columns: { loss: Schema.Number, label: Schema.String, when: Schema.DateFromString },
  loops: { epoch: Schema.Number, document: Schema.String }
})

describe("typed DSL: compile-time checks", () => {
  it("log accepts only declared columns at their type", () => {
    expectTypeOf(flor.log("loss", 0.5)).toEqualTypeOf<
      Effect.Effect<number, import("flordb").ValueEncodeError, import("flordb").Logs>
    >()
    flor.log("when", new Date())
    // @ts-expect-error: wrong type for a declared column
    flor.log("loss", "x")
    // @ts-expect-error: undeclared column
    flor.log("los", 0.5)
    // @ts-expect-error: Date column given a string
    flor.log("when", "2026-01-01")
  })

  it("arg is typed by its schema", () => {
    expectTypeOf(flor.arg("optimizer", "adam")).toMatchTypeOf<Effect.Effect<"adam" | "sgd", unknown, unknown>>()
    // @ts-expect-error: not a literal of the schema
    flor.arg("optimizer", "rmsprop")
    // @ts-expect-error: undeclared arg
    flor.arg("batch", 32)
  })

  it("loop items are typed by the loop dimension", () => {
    flor.loop("epoch", range(3), (e) => {
      expectTypeOf(e).toEqualTypeOf<number>()
      return Effect.void
    })
    // @ts-expect-error: strings for a numeric dimension
    flor.loop("epoch", ["a"], () => Effect.void)
    // @ts-expect-error: undeclared loop
    flor.loop("batch", range(3), () => Effect.void)
  })

  it("dataframe rows are typed; undeclared columns do not compile", () => {
    const df = flor.dataframe("loss", "when", "lr", "hostname")
    type R = Effect.Effect.Success<typeof df>["rows"][number]
    expectTypeOf<R["loss"]>().toEqualTypeOf<number | null>()
    expectTypeOf<R["when"]>().toEqualTypeOf<Date | null>()
    expectTypeOf<R["lr"]>().toEqualTypeOf<number | null>()
    expectTypeOf<R["hostname"]>().toEqualTypeOf<string | null>()
    expectTypeOf<R["tstamp"]>().toEqualTypeOf<string>()
    expectTypeOf<R["epoch"]>().toEqualTypeOf<number | null | undefined>()
    expectTypeOf<R["document_value"]>().toEqualTypeOf<string | null | undefined>()
    // @ts-expect-error: undeclared column
    flor.dataframe("los")
    // @ts-expect-error: a loop dimension is not a column to ask for
    flor.dataframe("epoch")
  })

  it("the no-column dataframe has the top-level values", () => {
    const df = flor.dataframe()
    type R = Effect.Effect.Success<typeof df>["rows"][number]
    expectTypeOf<R["lr"]>().toEqualTypeOf<number | null | undefined>()
  })
})
