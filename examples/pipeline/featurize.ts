/**
 * `make featurize`: the feature store (thesis Fig. 6.5). Reads every PDF under
 * `pdfs/` with pdf.js and logs each page's text features under
 * `loop("document") × loop("page")`.
 *
 *   npx tsx featurize.ts
 *   npx flor dataframe n_words has_heading page_number --where "document = 1"
 */
import * as path from "node:path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { main, Pipeline, range } from "flordb"
import { FEATURE_NAMES, features, pageLoops } from "./columns.js"
import { featurizePdf } from "./features.js"
import { isEntry, listDocuments, PDF_DIR } from "./project.js"

/** The featurize step. */
export const featurize = Pipeline.step({
  name: "featurize",
  writes: features,
  loops: pageLoops,
  run: ({ out }) =>
    Effect.gen(function*() {
      const documents = listDocuments()
      let pages = 0
      yield* out.loop("document", documents, (name) =>
        Effect.gen(function*() {
          const perPage = yield* Effect.promise(() => featurizePdf(path.join(PDF_DIR, name)))
          yield* out.loop("page", range(1, perPage.length + 1), (page) =>
            Effect.forEach(FEATURE_NAMES, (column) => out.log(column, perPage[page - 1]![column]), { discard: true }))
          pages += perPage.length
        }))
      yield* Console.log(`featurize: ${FEATURE_NAMES.length} features of ${pages} pages of ${documents.length} documents`)
    })
})

if (isEntry(import.meta.url)) main(featurize.program)
