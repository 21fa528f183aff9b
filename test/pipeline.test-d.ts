import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { describe, expectTypeOf, it } from "vitest"
import { Pipeline } from "flordb"

const featurize = Pipeline.step({
  name: "featurize",
  writes: { n_words: Schema.Number, page_text: Schema.String },
  loops: { document: Schema.String, page: Schema.Number },
  run: ({ out }) => out.loop("document", ["a.pdf"], () => out.loop("page", [1], () => out.log("n_words", 3)))
})
const label = Pipeline.step({ name: "label", writes: { page_color: Schema.String }, run: () => Effect.void })
const train = Pipeline.step({
  name: "train",
  reads: { n_words: Schema.Number },
  feedback: { page_color: Schema.String },
  writes: { acc: Schema.Number },
  run: ({ read, out }) =>
    Effect.flatMap(read.dataframe("n_words", "page_color"), (df) => out.log("acc", df.rows.length))
})
const wrongType = Pipeline.step({ name: "wrong", reads: { n_words: Schema.String }, run: () => Effect.void })
const typo = Pipeline.step({ name: "typo", reads: { n_word: Schema.Number }, run: () => Effect.void })
const badFeedback = Pipeline.step({ name: "fb", feedback: { page_colour: Schema.String }, run: () => Effect.void })

describe("pipeline wiring is checked by the compiler", () => {
  it("accepts a pipeline whose reads are written upstream at the same type", () => {
    const ok = Pipeline.make(featurize, train, label)
    expectTypeOf(ok.get("train").writes).toEqualTypeOf<{ readonly acc: typeof Schema.Number }>()
  })

  it("rejects a read that no upstream step writes", () => {
    // @ts-expect-error: train reads n_words before featurize writes it
    Pipeline.make(train, featurize, label)
    // @ts-expect-error: 'n_word' is written by no step
    Pipeline.make(featurize, typo)
  })

  it("rejects a read at another type", () => {
    // @ts-expect-error: n_words is written as a number, read as a string
    Pipeline.make(featurize, wrongType)
  })

  it("feedback must be written by some step of the pipeline, at the same type", () => {
    // @ts-expect-error: no step writes page_color
    Pipeline.make(featurize, train)
    // @ts-expect-error: page_colour is written by no step
    Pipeline.make(featurize, label, badFeedback)
  })

  it("inside a step, writes and reads are typed", () => {
    Pipeline.step({
      name: "s",
      reads: { n_words: Schema.Number },
      writes: { acc: Schema.Number },
      run: ({ out, read }) => {
        // @ts-expect-error: a step logs only the columns it declares it writes
        out.log("n_words", 1)
        // @ts-expect-error: and reads only those it declares it reads
        read.dataframe("acc")
        return Effect.void
      }
    })
  })
})
