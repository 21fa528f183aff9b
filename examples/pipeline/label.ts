/**
 * `make label`: the initial hand labels (the thesis' `label_by_hand.py`). A crowd
 * worker colors the pages of the first `hand_docs` bundles by sub-document and logs
 * `page_color` per page — the same column the web app logs, told apart by
 * `filename`. The worker reads the true segmentation (they stand in for human eyes)
 * but is human: in the first bundle with several sub-documents they miss the last
 * boundary, and that page gets the color of the page before it.
 *
 *   npx tsx label.ts --kwargs hand_docs=4
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { main, Pipeline, range } from "flordb"
import { labels, pageLoops } from "./columns.js"
import { firstPages } from "./labels.js"
import { isEntry, listDocuments, readTruth } from "./project.js"

/** The crowd worker's labels of the first `count` bundles, with their one slip. */
export const handLabels = (
  documents: ReadonlyArray<string>,
  truth: Readonly<Record<string, ReadonlyArray<number>>>,
  count: number
): Array<{ readonly document: string; readonly colors: ReadonlyArray<number>; readonly slip: number | null }> => {
  let slipped = false
  return documents.slice(0, count).map((document) => {
    const colors = [...truth[document]!]
    const boundary = firstPages(colors).lastIndexOf(true)
    if (slipped || boundary <= 0) return { document, colors, slip: null }
    slipped = true
    for (let i = boundary; i < colors.length && colors[i] === colors[boundary]; i++) colors[i] = colors[boundary - 1]!
    return { document, colors, slip: boundary + 1 }
  })
}

/** The hand-labeling step. */
export const label = Pipeline.step({
  name: "label",
  args: { hand_docs: Schema.Int },
  writes: labels,
  loops: pageLoops,
  run: ({ out }) =>
    Effect.gen(function*() {
      const count = yield* out.arg("hand_docs", 4)
      const documents = listDocuments()
      for (const { document, colors, slip } of handLabels(documents, readTruth(), count)) {
        yield* out.iteration(
          "document",
          documents.indexOf(document) + 1,
          document,
          out.loop("page", range(1, colors.length + 1), (page) => out.log("page_color", colors[page - 1]!))
        )
        yield* Console.log(`label: ${document} [${colors.join(" ")}]${slip === null ? "" : ` (missed the boundary at page ${slip})`}`)
      }
    })
})

if (isEntry(import.meta.url)) main(label.program)
