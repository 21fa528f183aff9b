import * as fs from "node:fs"
import * as path from "node:path"
import * as Either from "effect/Either"
import { afterAll, describe, expect, it } from "vitest"
import { syntaxErrors } from "../src/domain/analysis/Ast.js"
import type { AnalysisError } from "../src/domain/analysis/Errors.js"
import { lcsLines, lineDiffPropagate, type Propagation, propagate } from "../src/domain/analysis/Propagate.js"
import { analyze } from "../src/domain/analysis/Script.js"

const root = path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures/versions")

interface Case {
  readonly case: string
  /** Lines of newer.ts to propagate, in order (each into the result of the previous). */
  readonly lines: ReadonlyArray<number>
  readonly description: string
}

const cases = JSON.parse(fs.readFileSync(path.join(root, "cases.json"), "utf8")) as ReadonlyArray<Case>
const read = (c: string, f: string) => fs.readFileSync(path.join(root, c, f), "utf8")

type Method = typeof propagate

/** Propagates every line of a case in turn; the final source, or the first error. */
const run = (method: Method, c: Case): Either.Either<{ source: string; steps: Array<Propagation> }, AnalysisError> => {
  const newer = read(c.case, "newer.ts")
  let source = read(c.case, "older.ts")
  const steps: Array<Propagation> = []
  for (const line of c.lines) {
    const r = method(newer, line, source)
    if (Either.isLeft(r)) return Either.left(r.left)
    source = r.right.source
    steps.push(r.right)
  }
  return Either.right({ source, steps })
}

/** The column of the (last) log call starting at or before `line`. */
const columnAt = (newer: string, line: number) => {
  const info = analyze(newer)
  if (Either.isLeft(info)) throw new Error(info.left.message)
  return info.right.logs.filter((s) => s.line <= line).sort((x, y) => x.line - y.line || x.character - y.character).at(-1)?.column
}
const lineOf = (source: string, needle: string) => source.split("\n").findIndex((l) => l.includes(needle)) + 1

const results: Array<{ case: string; gumtree: boolean; lineDiff: boolean; lineDiffWhy: string }> = []

describe("statement propagation (GumTree) over version pairs", () => {
  it("has at least 20 version pairs", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20)
  })

  for (const c of cases) {
    it(`${c.case}: ${c.description}`, () => {
      const expected = read(c.case, "expected.ts")
      expect(syntaxErrors(expected)).toEqual([])
      const r = run(propagate, c)
      if (Either.isLeft(r)) throw new Error(r.left.message)
      const { source, steps } = r.right
      results.push({ case: c.case, gumtree: source === expected, lineDiff: false, lineDiffWhy: "" })
      expect(source).toBe(expected)
      expect(syntaxErrors(source)).toEqual([])
      // where it says it inserted, the column is logged
      const newer = read(c.case, "newer.ts")
      steps.forEach((s, i) => {
        const column = columnAt(newer, c.lines[i]!)
        expect(column).toBeDefined()
        if (!s.alreadyPresent) {
          const inserted = s.source.split("\n").slice(s.insertedAt - 1, s.insertedTo).join("\n")
          expect(inserted).toContain(`"${column}"`)

        }
        expect(s.unresolved).toEqual([])
      })
      // the rest of the older file is byte-identical: without column declarations, removing the inserted lines gives it back
      const older = read(c.case, "older.ts")
      const bare = propagate(newer, c.lines[0]!, older, { declareColumns: false })
      if (Either.isRight(bare) && bare.right.form === "statement" && !bare.right.alreadyPresent) {
        const lines = bare.right.source.split("\n")
        lines.splice(bare.right.insertedAt - 1, bare.right.insertedTo - bare.right.insertedAt + 1)
        expect(lines.join("\n")).toBe(older)
      }
      // propagating again into the result changes nothing
      for (const line of c.lines) {
        const again = propagate(newer, line, source)
        expect(Either.isRight(again) && again.right.alreadyPresent).toBe(true)
      }
    })
  }

  afterAll(() => {
    for (const c of cases) {
      const r = run(lineDiffPropagate, c)
      const expected = read(c.case, "expected.ts")
      const row = results.find((x) => x.case === c.case)
      const pass = Either.isRight(r) && r.right.source === expected
      const why = Either.isLeft(r) ? r.left.reason : pass ? "" : syntaxErrors(r.right.source).length > 0 ? "broken" : "misplaced"
      if (row === undefined) results.push({ case: c.case, gumtree: false, lineDiff: pass, lineDiffWhy: why })
      else Object.assign(row, { lineDiff: pass, lineDiffWhy: why })
    }
    const width = Math.max(...results.map((r) => r.case.length), 4)
    const lines = [
      `${"case".padEnd(width)}  gumtree  line-diff`,
      `${"-".repeat(width)}  -------  ---------`,
      ...results.map((r) =>
        `${r.case.padEnd(width)}  ${(r.gumtree ? "pass" : "FAIL").padEnd(7)}  ${r.lineDiff ? "pass" : `fail (${r.lineDiffWhy})`}`
      ),
      `${"total".padEnd(width)}  ${`${results.filter((r) => r.gumtree).length}/${results.length}`.padEnd(7)}  ${
        results.filter((r) => r.lineDiff).length
      }/${results.length}`
    ]
    console.log(`\nstatement propagation, ${results.length} version pairs\n${lines.join("\n")}\n`)
  })
})

const HEAD = `import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Flor, main, range } from "flordb"

const flor = Flor.make({ columns: { loss: Schema.Number, grad: Schema.Number }, loops: { epoch: Schema.Number } })
`
const ok = (r: Either.Either<Propagation, AnalysisError>): Propagation => {
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}
const fails = (r: Either.Either<Propagation, AnalysisError>): AnalysisError => {
  if (Either.isRight(r)) throw new Error(`expected an error, got:\n${r.right.source}`)
  return r.left
}

describe("propagate: details", () => {
  it("renames respect scope: property names after `.`, object keys and the column string are kept", () => {
    const newer = `${HEAD}
const program = flor.loop("epoch", range(3), (e) =>
  Effect.gen(function*() {
    const loss = { loss: e, grad: 2 }
    yield* flor.log("loss", loss.loss)
    yield* flor.log("grad", loss.grad * ({ loss: 1 }).loss + e)
  }))
main(program)
`
    const older = `${HEAD}
const program = flor.loop("epoch", range(3), (epoch) =>
  Effect.gen(function*() {
    const o = { loss: epoch, grad: 2 }
    yield* flor.log("loss", o.loss)
  }))
main(program)
`
    const r = ok(propagate(newer, lineOf(newer, `"grad"`), older))
    expect(r.renames).toEqual({ loss: "o", e: "epoch" })
    expect(r.source.split("\n")[r.insertedAt - 1]).toBe(`    yield* flor.log("grad", o.grad * ({ loss: 1 }).loss + epoch)`)
    expect(r.declared).toEqual([])
  })

  it("a name the older version does not have is reported in `unresolved`", () => {
    const newer = `${HEAD}
const norm = (x: number) => Math.abs(x)
const program = flor.loop("epoch", range(3), (e) =>
  Effect.gen(function*() {
    yield* flor.log("loss", e)
    yield* flor.log("grad", norm(e))
  }))
main(program)
`
    const older = `${HEAD}
const program = flor.loop("epoch", range(3), (e) =>
  Effect.gen(function*() {
    yield* flor.log("loss", e)
  }))
main(program)
`
    const r = ok(propagate(newer, lineOf(newer, `"grad"`), older))
    expect(r.unresolved).toEqual(["norm"])
    expect(r.source).toContain(`    yield* flor.log("loss", e)\n    yield* flor.log("grad", norm(e))\n`)
  })

  it("the block has no counterpart: a clear Unmapped error", () => {
    const newer = `${HEAD}
const program = flor.loop("epoch", range(3), (e) =>
  Effect.gen(function*() {
    yield* Effect.log("first")
    yield* flor.log("grad", e)
  }))
main(program)
`
    const older = `${HEAD}
const program = flor.loop("epoch", range(3), (e) => flor.log("loss", e))
main(program)
`
    const line = lineOf(newer, `"grad"`)
    const e = fails(propagate(newer, line, older))
    expect(e.reason).toBe("Unmapped")
    expect(e.message).toBe(
      `newer.ts:${line}: cannot place the statement of line ${line}: its block (line ${line - 2}) has no counterpart in older.ts, ` +
        "and neither do the statements before it there (was that code added or rewritten since?)"
    )
  })

  it("an expression body whose older counterpart is a block: a clear Unsupported error", () => {
    const newer = `${HEAD}
const program = flor.loop("epoch", range(3), (e) => Effect.zipRight(flor.log("loss", e), flor.log("grad", e)))
main(program)
`
    const older = `${HEAD}
const program = flor.loop("epoch", range(3), (e) => {
  return flor.log("loss", e)
})
main(program)
`
    const e = fails(propagate(newer, lineOf(newer, `"grad"`), older))
    expect(e.reason).toBe("Unsupported")
    expect(e.message).toContain("has a block body: add the statement to that block by hand")
  })

  it("a line without a log call, and a line with two statements", () => {
    const newer = `${HEAD}
const program = flor.loop("epoch", range(3), (e) =>
  Effect.gen(function*() {
    yield* flor.log("loss", e); yield* flor.log("grad", e)
  }))
main(program)
`
    expect(fails(propagate(newer, 2, newer))).toMatchObject({ reason: "NoStatement", line: 2 })
    expect(fails(propagate(newer, lineOf(newer, `"grad"`), newer)).message).toContain("holds log(...) calls in 2 different statements")
    expect(fails(propagate(newer, 99, newer)).message).toContain("line 99 is not in the file")
  })

  it("declareColumns: false leaves the older declaration alone", () => {
    const c = cases.find((x) => x.case === "step-level")!
    const r = ok(propagate(read(c.case, "newer.ts"), c.lines[0]!, read(c.case, "older.ts"), { declareColumns: false }))
    expect(r.declared).toEqual([])
    expect(r.source).toContain("columns: { loss: Schema.Number, acc: Schema.Number }")
    expect(r.source).toContain(`yield* flor.log("grad", loss * lr)`)
  })

  it("keeps CRLF line endings", () => {
    const c = cases.find((x) => x.case === "renamed-variable")!
    const crlf = (s: string) => s.replace(/\n/g, "\r\n")
    const r = ok(propagate(read(c.case, "newer.ts"), c.lines[0]!, crlf(read(c.case, "older.ts"))))
    expect(r.source).toBe(crlf(read(c.case, "expected.ts")))
  })

  it("an older version that does not parse", () => {
    const e = fails(propagate(`${HEAD}export const p = flor.log("loss", 1)\n`, 6, "const x = (\n"))
    expect(e.reason).toBe("Parse")
    expect(e.file).toBe("older.ts")
  })
})

describe("lineDiffPropagate", () => {
  it("LCS of lines", () => {
    expect([...lcsLines(["a", "b", "x", "c"], ["a", "c", "b", "c"])]).toEqual([0, 2, -1, 3])
  })

  it("fails when the line before the statement has no counterpart", () => {
    const c = cases.find((x) => x.case === "renamed-variable")!
    expect(fails(lineDiffPropagate(read(c.case, "newer.ts"), c.lines[0]!, read(c.case, "older.ts"))).reason).toBe("Unmapped")
  })
})
