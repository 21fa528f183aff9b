import * as fs from "node:fs"
import * as path from "node:path"
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import type { AnalysisError } from "../src/domain/analysis/Errors.js"
import { analyze, type LogSite, type Scan, scanKind, type ScriptInfo } from "../src/domain/analysis/Script.js"
import { repoRoot } from "./support/sandbox.js"

const ok = (source: string, fileName = "train.ts"): ScriptInfo => {
  const r = analyze(source, fileName)
  if (Either.isLeft(r)) throw new Error(`unexpected analysis error: ${r.left.message}`)
  return r.right
}
const fails = (r: Either.Either<unknown, AnalysisError>): AnalysisError => {
  if (Either.isRight(r)) throw new Error(`expected an AnalysisError, got ${JSON.stringify(r.right)}`)
  return r.left
}
const scan = (info: ScriptInfo, ...columns: Array<string>): Scan => {
  const r = scanKind(info, columns)
  if (Either.isLeft(r)) throw new Error(`unexpected scan error: ${r.left.message}`)
  return r.right
}
/** Each site as `column@line loops position[/nested]`. */
const sites = (info: ScriptInfo) =>
  info.logs.map((s: LogSite) => `${s.column}@${s.line} [${s.loops.join(",")}] ${s.position}${s.nested ? "/nested" : ""}`)
const lineOf = (source: string, needle: string) => {
  const i = source.split("\n").findIndex((l) => l.includes(needle))
  if (i < 0) throw new Error(`no line with ${needle}`)
  return i + 1
}

const TYPED_HEAD = `import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { checkpointing, Flor, main, range } from "flordb"

const flor = Flor.make({
  columns: { loss: Schema.Number, acc: Schema.Number, grad: Schema.Number, n: Schema.Number, final: Schema.Number },
  loops: { epoch: Schema.Number, step: Schema.Number, warmup: Schema.Number, page: Schema.Number }
})
`

describe("analyze: examples/train/train.ts", () => {
  const source = fs.readFileSync(path.join(repoRoot, "examples/train/train.ts"), "utf8")
  const info = ok(source)

  it("finds the main loop inside checkpointing and every log with its loops", () => {
    expect(info.mainLoop).toEqual({ name: "epoch", line: lineOf(source, `flor.loop("epoch"`), endLine: lineOf(source, "}))") })
    expect(sites(info)).toEqual([
      `loss@${lineOf(source, `flor.log("loss"`)} [epoch,step] inside/nested`,
      `acc@${lineOf(source, `flor.log("acc"`)} [epoch] inside`,
      `test_acc@${lineOf(source, `flor.log("test_acc"`)} [] after`
    ])
    const loss = info.logs[0]!
    expect(loss).toMatchObject({ column: "loss", depth: 2, nested: true, via: [{ helper: "program", line: lineOf(source, "main(program)") }] })
    expect(info.loops.map((l) => [l.name, l.loops, l.main])).toEqual([["epoch", [], true], ["step", ["epoch"], false]])
  })

  it("scan kinds: range for the step loss, validation for acc, suffix for test_acc", () => {
    expect(scan(info, "loss").kind).toBe("range")
    expect(scan(info, "acc").kind).toBe("validation")
    expect(scan(info, "test_acc").kind).toBe("suffix")
    expect(scan(info, "acc", "test_acc").kind).toBe("validation")
    expect(scan(info, "test_acc", "loss", "acc").kind).toBe("range")
  })

  it("the hindsight statements of test/train-replay.test.ts get the scan kinds that test replays them with", () => {
    const edited = source
      .replace("const data = makeData(seed, { samples })", "const data = makeData(seed, { samples })\n  yield* flor.log(\"n_train\", data.train.n)")
      .replace("(loss) => flor.log(\"loss\", loss)", "(loss) => Effect.zipRight(flor.log(\"loss\", loss), flor.log(\"step_loss\", loss * 2))")
      .replace(
        "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))",
        "yield* flor.log(\"acc\", yield* Effect.sync(() => accuracy(net, data, data.val)))\n" +
          "        yield* flor.log(\"train_acc\", yield* Effect.sync(() => accuracy(net, data, data.train)))"
      )
      .replace(
        "yield* flor.log(\"test_acc\", yield* Effect.sync(() => accuracy(net, data, data.test)))",
        "yield* flor.log(\"test_acc\", yield* Effect.sync(() => accuracy(net, data, data.test)))\n" +
          "  yield* flor.log(\"final_train_acc\", yield* Effect.sync(() => accuracy(net, data, data.train)))"
      )
    expect(edited.match(/flor\.log\("(n_train|step_loss|train_acc|final_train_acc)"/g)).toHaveLength(4)
    const e = ok(edited)
    expect(scan(e, "n_train").kind).toBe("prefix")
    expect(scan(e, "step_loss").kind).toBe("range")
    expect(scan(e, "train_acc").kind).toBe("validation")
    expect(scan(e, "final_train_acc").kind).toBe("suffix")
    expect(e.logs.find((s) => s.column === "step_loss")).toMatchObject({ loops: ["epoch", "step"], depth: 2, nested: true })
  })

  it("names from other files used in loop bodies are listed (their logs, if any, are not analyzed)", () => {
    expect(info.crossFile.map((c) => c.name)).toEqual(["epochBatches", "trainStep", "accuracy"])
    expect(info.crossFile.every((c) => c.module === "./model.js")).toBe(true)
  })
})

describe("analyze: call forms", () => {
  it("typed: direct yield*, zipRight, piped tap, flatMap, iteration", () => {
    const source = `${TYPED_HEAD}
const program = Effect.gen(function*() {
  yield* flor.log("n", 1)
  yield* checkpointing({}, flor.loop("epoch", range(3), (e) =>
    Effect.zipRight(
      flor.loop("step", range(2), (s) =>
        Effect.flatMap(Effect.sync(() => e * s), (loss) => flor.log("loss", loss))),
      Effect.succeed(e).pipe(Effect.tap((x) => flor.log("acc", x)))
    )))
  yield* flor.iteration("page", 7, 7, Effect.zipRight(flor.log("grad", 0), Effect.void))
  yield* Effect.flatMap(Effect.succeed(2), (v) => flor.log("final", v))
})

main(program)
`
    const info = ok(source)
    expect(sites(info)).toEqual([
      `n@${lineOf(source, `"n", 1`)} [] before`,
      `loss@${lineOf(source, `"loss", loss`)} [epoch,step] inside/nested`,
      `acc@${lineOf(source, `"acc", x`)} [epoch] inside`,
      `grad@${lineOf(source, `"grad", 0`)} [page] after`,
      `final@${lineOf(source, `"final", v`)} [] after`
    ])
    expect(info.loops.find((l) => l.name === "page")).toMatchObject({ kind: "iteration", main: false })
    expect(scan(info, "n").kind).toBe("prefix")
    expect(scan(info, "final").kind).toBe("suffix")
    expect(scan(info, "n", "final").kind).toBe("suffix") // before and after: a suffix scan runs the prefix too
    expect(scan(info, "acc", "n").kind).toBe("validation")
    expect(scan(info, "loss", "acc").kind).toBe("range")
  })

  it("untyped, renamed on import, and a namespace import", () => {
    const source = `import * as Effect from "effect/Effect"
import * as F from "flordb"
import { log as record, loop as forEachNamed, main } from "flordb"

const program = Effect.gen(function*() {
  yield* record("lr", 0.1)
  yield* forEachNamed("epoch", F.range(3), (e) =>
    Effect.gen(function*() {
      yield* F.loop("step", F.range(2), (s) => record("loss", e * s))
      yield* F.log("acc", e / 3)
    }))
})

main(program)
`
    const info = ok(source)
    expect(sites(info)).toEqual([
      `lr@6 [] before`,
      `loss@9 [epoch,step] inside/nested`,
      `acc@10 [epoch] inside`
    ])
    expect(info.mainLoop).toMatchObject({ name: "epoch", line: 7 })
  })

  it("a Flor.make(...) object under any name; console.log, a shadowing local `log` and other receivers are not DSL calls", () => {
    const source = `import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Flor, log, main, range } from "flordb"

const f = Flor.make({ columns: { loss: Schema.Number }, loops: { epoch: Schema.Number } })
const logger = { log: (_name: string, _v: number) => Effect.void }

const program = Effect.gen(function*() {
  console.log("start", 1)
  yield* f.loop("epoch", range(2), (e) => Effect.zipRight(f.log("loss", e), logger.log("other", e)))
  const shadow = (log: (name: string, v: number) => Effect.Effect<void>) => log("shadowed", 1)
  yield* shadow(() => Effect.void)
  yield* log("untyped", 1)
})

main(program)
`
    const info = ok(source)
    expect(info.logs.map((s) => s.column)).toEqual(["loss", "untyped"])
    expect(info.unrecognized).toEqual([{ receiver: "logger", column: "other", line: 10 }])
    const e = fails(scanKind(info, ["other"]))
    expect(e.reason).toBe("Unsupported")
    expect(e.line).toBe(10)
    expect(e.message).toContain(`logger.log("other", …) is called on 'logger', which is not known to be a flordb object`)
  })

  it("helpers: an arrow helper called from the step loop, a function helper used in and after the loop, a deferred Effect value", () => {
    const source = `${TYPED_HEAD}
const trainStep = (s: number) =>
  Effect.gen(function*() {
    yield* flor.log("loss", s / 10)
  })

function evaluate(x: number) {
  return flor.log("acc", x)
}

const program = Effect.gen(function*() {
  const gradOnce = flor.log("grad", 0)
  const n = yield* flor.log("n", 3)
  yield* checkpointing({}, flor.loop("epoch", range(n), (e) =>
    Effect.gen(function*() {
      yield* flor.loop("step", range(2), trainStep)
      yield* flor.loop("warmup", range(1), (s) => trainStep(s))
      yield* evaluate(e)
      yield* gradOnce
    })))
  yield* evaluate(-1)
})

main(program)
`
    const info = ok(source)
    const lossLine = lineOf(source, `"loss", s / 10`)
    const accLine = lineOf(source, `"acc", x`)
    expect(sites(info)).toEqual([
      `n@${lineOf(source, `"n", 3`)} [] before`,
      `loss@${lossLine} [epoch,step] inside/nested`,
      `loss@${lossLine} [epoch,warmup] inside/nested`,
      `acc@${accLine} [epoch] inside`,
      `grad@${lineOf(source, `"grad", 0`)} [epoch] inside`,
      `acc@${accLine} [] after`
    ])
    const viaStep = info.logs[1]!.via.map((v) => v.helper)
    expect(viaStep).toEqual(["program", "trainStep"])
    expect(info.logs[1]!.via[1]!.line).toBe(lineOf(source, `range(2), trainStep`))
    // acc is logged in the loop and after it: the widest wins
    expect(scan(info, "acc").kind).toBe("validation")
    expect(scan(info, "loss").kind).toBe("range")
    expect(scan(info, "grad").kind).toBe("validation")
  })

  it("without checkpointing the main loop is the outermost loop with a nested loop (a warm-up loop before it is prefix)", () => {
    const source = `${TYPED_HEAD}
const program = Effect.gen(function*() {
  yield* flor.loop("warmup", range(2), (w) => flor.log("n", w))
  yield* flor.loop("epoch", range(3), (e) =>
    flor.loop("step", range(2), (s) => flor.log("loss", e + s)))
  yield* flor.log("final", 1)
})

main(program)
`
    const info = ok(source)
    expect(info.mainLoop?.name).toBe("epoch")
    expect(sites(info)).toEqual([
      `n@${lineOf(source, `"n", w`)} [warmup] before`,
      `loss@${lineOf(source, `"loss", e + s`)} [epoch,step] inside/nested`,
      `final@${lineOf(source, `"final", 1`)} [] after`
    ])
    expect(scan(info, "n").kind).toBe("prefix")
  })

  it("no loop at all: everything is prefix", () => {
    const info = ok(`import { log } from "flordb"\nexport const p = log("x", 1)\n`)
    expect(info.mainLoop).toBeNull()
    expect(scan(info, "x").kind).toBe("prefix")
  })
})

describe("analyze / scanKind: errors", () => {
  it("a column name that is not a string literal", () => {
    const source = `${TYPED_HEAD}
const name = "loss" as const
export const p = flor.loop("epoch", range(2), (e) => flor.log(name, e))
`
    const e = fails(analyze(source, "train.ts"))
    expect(e.reason).toBe("NonLiteralName")
    expect(e.line).toBe(11)
    expect(e.message).toBe("train.ts:11: flor.log(name, …): the column name must be a string literal for static analysis (unsupported: name)")
  })

  it("a loop name that is not a string literal", () => {
    const source = `import { loop, log, range } from "flordb"\nconst dim = "epoch"\nexport const p = loop(dim, range(2), (e) => log("x", e))\n`
    const e = fails(analyze(source, "t.ts"))
    expect(e).toMatchObject({ reason: "NonLiteralName", line: 3 })
    expect(e.message).toContain("loop name must be a string literal")
  })

  it("a template literal without substitutions is a literal", () => {
    const info = ok("import { log } from \"flordb\"\nexport const p = log(`loss`, 1)\n")
    expect(info.logs[0]?.column).toBe("loss")
  })

  it("an unknown column names the column and what the script logs", () => {
    const info = ok(`${TYPED_HEAD}\nexport const p = flor.loop("epoch", range(2), (e) => flor.log("loss", e))\n`)
    const e = fails(scanKind(info, ["los"]))
    expect(e.reason).toBe("UnknownColumn")
    expect(e.message).toBe("train.ts: column 'los' is not logged in train.ts (it logs: loss)")
  })

  it("a column that may come from a helper in another file", () => {
    const source = `${TYPED_HEAD}import { trainStep } from "./model.js"

export const p = checkpointing({}, flor.loop("epoch", range(2), (e) =>
  Effect.zipRight(trainStep(e), flor.log("acc", e))))
`
    const info = ok(source)
    const e = fails(scanKind(info, ["grad_norm"]))
    expect(e.reason).toBe("CrossFileHelper")
    expect(e.line).toBe(12)
    expect(e.message).toContain("column 'grad_norm' is not logged in train.ts")
    expect(e.message).toContain("trainStep from ./model.js (line 12)")
    expect(scan(info, "acc").kind).toBe("validation") // columns logged in the file are still fine
  })

  it("a syntax error", () => {
    const e = fails(analyze("const x = (\n", "bad.ts"))
    expect(e.reason).toBe("Parse")
    expect(e.message).toMatch(/^bad\.ts:\d+: does not parse: /)
  })

  it("no column asked", () => {
    expect(fails(scanKind(ok(`import { log } from "flordb"\nexport const p = log("x", 1)\n`), [])).reason).toBe("UnknownColumn")
  })
})
