/**
 * `make prep`: writes the corpus — `docs` bundles of scanned documents as PDFs under
 * `pdfs/` — and their true segmentation to `.truth/segments.json` (read only by the
 * hand labeler and the walkthrough's reviewer, never by training). Logs each
 * bundle's page count.
 *
 *   npx tsx prep.ts --kwargs docs=10 seed=7
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { main, Pipeline } from "flordb"
import { bundles, truthColors, writeBundle } from "./corpus.js"
import { isEntry, PDF_DIR, TRUTH_FILE } from "./project.js"

/** The prep step. */
export const prep = Pipeline.step({
  name: "prep",
  args: { docs: Schema.Int, seed: Schema.Int },
  writes: { n_pages: Schema.Int, n_bytes: Schema.Int },
  loops: { document: Schema.String },
  run: ({ out }) =>
    Effect.gen(function*() {
      const docs = yield* out.arg("docs", 10)
      const seed = yield* out.arg("seed", 7)
      const corpus = bundles(docs, seed)
      fs.rmSync(PDF_DIR, { recursive: true, force: true })
      fs.mkdirSync(PDF_DIR)
      fs.mkdirSync(path.dirname(TRUTH_FILE), { recursive: true })
      yield* out.loop("document", corpus.map((b) => b.name), (name) =>
        Effect.gen(function*() {
          const index = corpus.findIndex((b) => b.name === name)
          const bundle = corpus[index]!
          const bytes = yield* Effect.promise(() => writeBundle(bundle, seed * 1000 + index))
          fs.writeFileSync(path.join(PDF_DIR, name), bytes)
          yield* out.log("n_pages", truthColors(bundle).length)
          yield* out.log("n_bytes", bytes.length)
        }))
      const truth = Object.fromEntries(corpus.map((b) => [b.name, truthColors(b)]))
      fs.writeFileSync(TRUTH_FILE, `${JSON.stringify(truth, null, 1)}\n`)
      const pages = corpus.reduce((n, b) => n + truthColors(b).length, 0)
      yield* Console.log(`prep: ${docs} bundles, ${pages} pages in pdfs/`)
    })
})

if (isEntry(import.meta.url)) main(prep.program)
