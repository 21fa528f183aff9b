import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { FlorTest, Pipeline, withRun } from "flordb"

/** A step under test: counts words per document from upstream page features and the latest human labels. */
const summarize = Pipeline.step({
  name: "summarize",
  reads: { n_words: Schema.Number },
  feedback: { page_color: Schema.String },
  writes: { doc_words: Schema.Number, first_pages: Schema.Number },
  loops: { document: Schema.String, page: Schema.Number },
  run: ({ read, out }) =>
    Effect.gen(function*() {
      const words = yield* read.dataframe("n_words")
      const labels = yield* read.dataframe("page_color")
      const docs = [...new Set(words.rows.map((r) => r.document_value!))]
      yield* out.loop("document", docs, (doc) =>
        Effect.gen(function*() {
          const total = words.rows.filter((r) => r.document_value === doc).reduce((a, r) => a + (r.n_words ?? 0), 0)
          yield* out.log("doc_words", total)
          yield* out.log("first_pages", labels.rows.filter((r) => r.document_value === doc && r.page_color === "red").length)
        }))
    })
})

const page = (doc: string, i: number, name: string, value: unknown) => ({
  path: [
    { name: "document", iteration: doc === "a.pdf" ? 1 : 2, entries: null, value: doc },
    { name: "page", iteration: i, entries: null, value: i }
  ],
  name,
  value
})

describe("unit-testing a pipeline step with seeded upstream rows", () => {
  it.scoped("reads what upstream steps wrote, writes its own run", () =>
    Effect.gen(function*() {
      const world = yield* FlorTest.world
      yield* world.seed("featurize.ts", [page("a.pdf", 1, "n_words", 10), page("a.pdf", 2, "n_words", 5), page("b.pdf", 1, "n_words", 7)])
      yield* world.seed("app.ts", [page("a.pdf", 1, "page_color", "red"), page("b.pdf", 1, "page_color", "blue")])
      yield* withRun(summarize.program).pipe(Effect.provide(world.record({ filename: "summarize.ts" })))
      const df = yield* Effect.provide(summarize.io.out.dataframe("doc_words", "first_pages"), world.record())
      expect(df.rows.map((r) => [r.filename, r.document_value, r.doc_words, r.first_pages])).toEqual([
        ["summarize.ts", "a.pdf", 15, 1],
        ["summarize.ts", "b.pdf", 7, 0]
      ])
    }))
})
