import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema } from "effect"
import { Flor, FlorTest, range, commit, Store } from "flordb"
import * as Untyped from "../src/dsl/Untyped.js"

const flor = Flor.make({
  args: { lr: Schema.Number, name: Schema.String, deep: Schema.Boolean, shape: Schema.Array(Schema.Number) },
  columns: { loss: Schema.Number, acc: Schema.Number, msg: Schema.String, when: Schema.DateFromString },
  loops: { epoch: Schema.Number, step: Schema.Number, request: Schema.String }
})

describe("record semantics in memory", () => {
  it.effect("logs at loop coordinates and reads them back decoded", () =>
    Effect.gen(function*() {
      yield* flor.loop("epoch", range(2), (e) =>
        Effect.zipRight(
          flor.loop("step", range(3), (s) => flor.log("loss", e * 10 + s)),
          flor.log("acc", e / 10)
        ))
      yield* commit
      const df = yield* flor.dataframe("loss", "acc")
      expect(df.columns).toEqual(["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss", "acc"])
      expect(df.rows.map((r) => [r.epoch, r.step, r.loss, r.acc])).toEqual([
        [1, 1, 0, 0], [1, 2, 1, 0], [1, 3, 2, 0],
        [2, 1, 10, 0.1], [2, 2, 11, 0.1], [2, 3, 12, 0.1]
      ])
      expect(df.rows[0]!.filename).toBe("test.ts")
      expect(df.rows[0]!.projid).toBe("test")
    }).pipe(Effect.provide(FlorTest.layer())))

  it.effect("args: kwargs decode with their schema, defaults otherwise, and are logged", () =>
    Effect.gen(function*() {
      const lr = yield* flor.arg("lr", 0.5)
      const name = yield* flor.arg("name", "x")
      const deep = yield* flor.arg("deep", false)
      const shape = yield* flor.arg("shape", [1])
      expect([lr, name, deep, shape]).toEqual([0.01, "world=1", true, [2, 3]])
      yield* commit
      const df = yield* flor.dataframe()
      expect(df.rows).toHaveLength(1)
      expect(df.rows[0]).toMatchObject({ lr: 0.01, name: "world=1", deep: true, shape: [2, 3] })
    }).pipe(
      Effect.provide(
        FlorTest.layer({ argv: ["own", "--kwargs", "lr=0.01", "name=world=1", "deep=true", "shape=[2,3]"] })
      )
    ))

  it.effect("a kwarg that fails its schema is a KwargsError naming the arg and type", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(flor.arg("lr", 0.5))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(flor.arg("lr", 0.5))
      expect(error._tag).toBe("KwargsError")
      expect(error.message).toContain("lr=fast")
      expect(error.message).toContain("number")
    }).pipe(Effect.provide(FlorTest.layer({ argv: ["--kwargs", "lr=fast"] }))))

  it.effect("a malformed kwargs pair fails the layer", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(flor.arg("lr", 1), FlorTest.layer({ argv: ["--kwargs", "lr"] })))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("not of the form name=value")
    }))

  it.effect("columns are encoded and decoded through their schemas", () =>
    Effect.gen(function*() {
      const when = new Date("2026-01-02T03:04:05.000Z")
      yield* flor.log("when", when)
      yield* commit
      const df = yield* flor.dataframe("when")
      expect(df.rows[0]!.when).toBeInstanceOf(Date)
      expect((df.rows[0]!.when as Date).toISOString()).toBe(when.toISOString())
    }).pipe(Effect.provide(FlorTest.layer())))

  it.effect("a stored value that no longer decodes is a typed error naming column, run and value", () =>
    Effect.gen(function*() {
      yield* Untyped.log("loss", "not a number")
      yield* commit
      const error = yield* Effect.flip(flor.dataframe("loss"))
      expect(error._tag).toBe("ValueDecodeError")
      expect(error.message).toContain("'loss'")
      expect(error.message).toContain("test.ts")
      expect(error.message).toContain("\"not a number\"")
    }).pipe(Effect.provide(FlorTest.layer())))

  it.effect("commit starts a new tstamp; each run is a row", () =>
    Effect.gen(function*() {
      yield* flor.log("msg", "first")
      yield* commit
      yield* flor.log("msg", "second")
      yield* commit
      const df = yield* flor.dataframe("msg")
      expect(df.rows.map((r) => r.msg)).toEqual(["first", "second"])
      expect(df.rows[0]!.tstamp < df.rows[1]!.tstamp).toBe(true)
      const store = yield* Store
      const runs = yield* store.runs
      expect(runs.map((r) => r.status)).toEqual(["committed", "committed"])
      expect(runs[0]!.vid).toMatch(/^[0-9a-f]{40}$/)
    }).pipe(Effect.provide(FlorTest.layer())))

  it.live("loop context is fiber-local: concurrent iterations never mix coordinates", () =>
    Effect.gen(function*() {
      const handle = (req: string, i: number) =>
        flor.iteration("request", i, req, Effect.gen(function*() {
          yield* Effect.yieldNow()
          yield* Effect.sleep(`${(5 - i) * 3} millis`)
          yield* flor.log("msg", req)
          yield* Effect.yieldNow()
          yield* flor.log("acc", i)
        }))
      const fibers = yield* Effect.forEach(range(1, 5), (i) => Effect.fork(handle(`r${i}`, i)))
      yield* Effect.forEach(fibers, Fiber.join)
      yield* commit
      const df = yield* flor.dataframe("msg", "acc")
      expect(df.rows).toHaveLength(4)
      for (const row of df.rows) {
        expect(row.msg).toBe(`r${row.request}`)
        expect(row.acc).toBe(row.request)
        expect(row.request_value).toBe(row.msg)
      }
    }).pipe(Effect.provide(FlorTest.layer())))

  it.effect("untyped quick start: JSON values, any name", () =>
    Effect.gen(function*() {
      const name = yield* Untyped.arg("name", "anon")
      yield* Untyped.log("msg", `hello ${name}`)
      yield* Untyped.loop("epoch", range(2), (e) => Untyped.log("loss", { e, v: [1, 2] }))
      yield* commit
      const top = yield* Untyped.dataframe()
      expect(top.rows[0]).toMatchObject({ name: "world", msg: "hello world" })
      const df = yield* Untyped.dataframe("loss")
      expect(df.rows.map((r) => r.loss)).toEqual([{ e: 0, v: [1, 2] }, { e: 1, v: [1, 2] }])
    }).pipe(Effect.provide(FlorTest.layer({ argv: ["--kwargs", "name=world"] }))))

  it("reserved and duplicate names are refused at declaration", () => {
    expect(() => Flor.make({ columns: { tstamp: Schema.Number } })).toThrow(/dimension column/)
    expect(() => Flor.make({ columns: { hostname: Schema.String } })).toThrow(/build-context/)
    expect(() => Flor.make({ columns: { epoch: Schema.Number }, loops: { epoch: Schema.Number } })).toThrow(/twice/)
    expect(() => Flor.make({ columns: { epoch_value: Schema.Number }, loops: { epoch: Schema.Number } })).toThrow(/twice/)
    expect(() => Flor.make({ columns: { "": Schema.Number } })).toThrow(/not valid/)
  })
})

describe("unused --kwargs", () => {
  it("names the closest arg read, only when it is a likely typo", async () => {
    const { closest, unusedKwargs } = await import("../src/domain/Kwargs.js")
    expect(closest("epochz", ["epochs", "lr"])).toBe("epochs")
    expect(closest("Lr", ["lr", "seed"])).toBe("lr")
    expect(closest("nmae", ["name"])).toBe("name")
    expect(closest("batch_size", ["lr", "seed"])).toBeUndefined()
    expect(unusedKwargs(["lr", "seed"], new Set(["lr", "seed"]))).toBeUndefined()
    expect(unusedKwargs(["lrr", "sed"], new Set(["lr", "seed"]))?.message).toBe(
      "--kwargs lrr, sed were given but no arg() read them (did you mean lr for lrr, seed for sed?); the run was recorded: fix the name and run again (FLOR_UNUSED_KWARGS=warn only warns)"
    )
    expect(unusedKwargs(["zzz"], new Set(["lr"]))?.message).toContain("(the args read were lr)")
  })
})
