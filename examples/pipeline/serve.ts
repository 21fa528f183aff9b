/**
 * `make serve`: the web app (thesis Figs. 6.3 and 6.7) on @effect/platform's HTTP
 * server. It lists the documents and shows each one's pages (drawn in the browser by
 * pdf.js) under colored overlays: the newest web-app save, else the hand labels,
 * else the model's predicted segments. Clicking an overlay cycles its color; Save
 * posts the colors, and the app logs `page_color` per page under
 * `iteration("document", …)` × `loop("page", …)` and `commit`s: each save is its own
 * run (its own tstamp), with `filename == "serve.ts"`.
 *
 *   PORT=8000 npx tsx serve.ts      (PORT=0 picks a free port; the URL is printed)
 *
 * JSON API: `GET /api/documents`, `GET /api/documents/:name/colors`,
 * `POST /api/documents/:name/colors` with `{ "colors": [0, 0, 1] }`.
 */
import * as http from "node:http"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { commit, latest, main, Pipeline, range, Session } from "flordb"
import { labels, pageLoops, predictions } from "./columns.js"
import { currentLabels } from "./labels.js"
import { isEntry, PALETTE_SIZE, PDF_DIR } from "./project.js"
import { type DocumentView, documentPage, indexPage } from "./web.js"

/** A request the app cannot serve: `status` is the HTTP status. */
class AppError extends Data.TaggedError("AppError")<{ readonly status: number; readonly message: string }> {}

/** The body of a save. */
const Save = Schema.Struct({ colors: Schema.Array(Schema.Int.pipe(Schema.between(0, PALETTE_SIZE - 1))) })

const here = path.dirname(fileURLToPath(import.meta.url))
const pdfjsRoot = path.dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json"))

/** The serve step. */
export const serve = Pipeline.step({
  name: "serve",
  reads: { n_pages: Schema.Int, ...predictions },
  feedback: labels,
  writes: labels,
  loops: pageLoops,
  run: ({ read, out }) =>
    Effect.gen(function*() {
      const port = yield* Config.integer("PORT").pipe(Config.withDefault(8000))
      const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
      const saving = yield* Effect.makeSemaphore(1)

      /** The corpus as prep.ts last wrote it: name, page count and `document` index. */
      const documents = Effect.map(read.dataframe("n_pages"), (frame) =>
        latest({ columns: frame.columns, rows: frame.rows.filter((r) => r.filename === "prep.ts") }).rows.map((r) => ({
          name: r.document_value!,
          index: r.document!,
          pages: r.n_pages!
        })))

      const find = (name: string) =>
        Effect.flatMap(documents, (all) => {
          const found = all.find((d) => d.name === name)
          return found === undefined
            ? Effect.fail(new AppError({ status: 404, message: `no document named ${JSON.stringify(name)}` }))
            : Effect.succeed(found)
        })

      /** What the viewer shows: the current labels of the document, else the newest predictions. */
      const view = (name: string, pages: number, labelsNow: ReturnType<typeof currentLabels>) =>
        Effect.gen(function*() {
          const frame = yield* read.dataframe("first_page", "pred_color")
          const predicted = latest({ columns: frame.columns, rows: frame.rows.filter((r) => r.filename === "infer.ts") }).rows
            .filter((r) => r.document_value === name && r.first_page !== null)
            .sort((a, b) => a.page_value! - b.page_value!)
          const firstPage = predicted.length === pages ? predicted.map((r) => r.first_page!) : null
          const given = labelsNow.get(name)
          const result: DocumentView = given !== undefined && given.colors.length === pages
            ? { name, pages, source: given.source, tstamp: given.tstamp, colors: given.colors, firstPage }
            : firstPage !== null
            ? { name, pages, source: "infer.ts", tstamp: predicted[0]!.tstamp, colors: predicted.map((r) => r.pred_color!), firstPage }
            : { name, pages, source: "none", tstamp: "", colors: range(pages).map(() => 0), firstPage }
          return result
        })

      const viewOf = (name: string) =>
        Effect.gen(function*() {
          const doc = yield* find(name)
          return yield* view(doc.name, doc.pages, currentLabels((yield* read.dataframe("page_color")).rows))
        })

      const all = Effect.gen(function*() {
        const labelsNow = currentLabels((yield* read.dataframe("page_color")).rows)
        return yield* Effect.forEach(yield* documents, (d) => view(d.name, d.pages, labelsNow))
      })

      /** Logs a document's colors as one run of this script (thesis Fig. 6.7, `save_colors`). */
      const save = (name: string, colors: ReadonlyArray<number>) =>
        Effect.gen(function*() {
          const doc = yield* find(name)
          if (colors.length !== doc.pages) {
            return yield* Effect.fail(new AppError({ status: 400, message: `${name} has ${doc.pages} pages, got ${colors.length} colors` }))
          }
          // Close the idle run first (dropped when it holds nothing), so the save's run starts now: its tstamp is the save's time.
          yield* commit
          const run = yield* Effect.flatMap(Session, (s) => s.current)
          yield* out.iteration(
            "document",
            doc.index,
            doc.name,
            out.loop("page", range(1, doc.pages + 1), (page) => out.log("page_color", colors[page - 1]!))
          )
          yield* commit
          yield* Console.log(`serve: saved ${name} [${colors.join(" ")}] as run ${run.tstamp}`)
          return { document: name, tstamp: run.tstamp, colors }
        }).pipe(saving.withPermits(1))

      const nameParam = Effect.map(HttpRouter.params, (p) => p.name ?? "")
      const staticFile = (dir: string) =>
        Effect.gen(function*() {
          const file = (yield* HttpRouter.params).file ?? ""
          if (!/^[\w.-]+$/.test(file)) return yield* Effect.fail(new AppError({ status: 404, message: "not found" }))
          return yield* HttpServerResponse.file(path.join(dir, file))
        })

      const router = HttpRouter.empty.pipe(
        HttpRouter.get("/", Effect.map(all, (docs) => HttpServerResponse.html(indexPage(docs)))),
        HttpRouter.get("/doc/:name", Effect.map(Effect.flatMap(nameParam, viewOf), (v) => HttpServerResponse.html(documentPage(v)))),
        HttpRouter.get("/api/documents", Effect.flatMap(all, (docs) => HttpServerResponse.json(docs))),
        HttpRouter.get("/api/documents/:name/colors", Effect.flatMap(Effect.flatMap(nameParam, viewOf), HttpServerResponse.json)),
        HttpRouter.post(
          "/api/documents/:name/colors",
          Effect.gen(function*() {
            const name = yield* nameParam
            const body = yield* HttpServerRequest.schemaBodyJson(Save).pipe(
              Effect.mapError((e) => new AppError({ status: 400, message: `bad body: ${e.message}` }))
            )
            return yield* HttpServerResponse.json(yield* save(name, body.colors))
          }),
          { uninterruptible: true }
        ),
        HttpRouter.get("/pdf/:name", Effect.flatMap(Effect.flatMap(nameParam, find), (d) => HttpServerResponse.file(path.join(PDF_DIR, d.name)))),
        HttpRouter.get("/favicon.ico", Effect.succeed(HttpServerResponse.empty({ status: 204 }))),
        HttpRouter.get("/viewer.js", HttpServerResponse.file(path.join(here, "viewer.js"))),
        HttpRouter.get("/pdfjs/build/:file", staticFile(path.join(pdfjsRoot, "build"))),
        HttpRouter.get("/pdfjs/standard_fonts/:file", staticFile(path.join(pdfjsRoot, "standard_fonts"))),
        HttpRouter.catchAll((e) =>
          HttpServerResponse.json(
            { error: e instanceof Error ? e.message : String(e) },
            { status: e instanceof AppError ? e.status : 500 }
          )
        )
      )

      const server = Layer.mergeAll(
        HttpServer.serve(router),
        Layer.effectDiscard(HttpServer.addressFormattedWith((url) => Console.log(`serve: listening on ${url}`)))
      ).pipe(Layer.provide(NodeHttpServer.layer(() => http.createServer(), { port, host })))
      return yield* Layer.launch(server)
    })
})

if (isEntry(import.meta.url)) main(serve.program)
