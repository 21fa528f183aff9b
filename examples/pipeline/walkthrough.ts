/**
 * The document-intelligence walkthrough (thesis ch. 6, Figs. 6.1–6.7, at small
 * size), in a sandbox git repository under a temporary directory:
 *
 * 1. `make prep featurize label train infer`: a corpus of PDF bundles, the feature
 *    store, hand labels (with one slip), a first model and its predictions;
 * 2. `make serve` starts the web app; a reviewer (simulated over HTTP, reading the
 *    true segmentation as a human would read the pages) saves round 1: the bundle
 *    with the hand-labeling slip and two unlabeled bundles, one with a mis-click;
 * 3. `make train infer`: training reads the corrections through `dataframe`;
 * 4. round 2: two more bundles, and the mis-click fixed; `make train` again;
 * 5. the dataframes: feature store, label store by filename, the labels training
 *    used per run, the model registry's pick, and the build context of every run.
 *
 *   npm run build && npx tsx examples/pipeline/walkthrough.ts
 *
 * The tests (test/pipeline-example.test.ts, test/pipeline-browser.test.ts) use
 * `walkthrough()` and `makeProject()`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { isEntry, type Output, project } from "../shared/sandbox.js"

const here = path.dirname(fileURLToPath(import.meta.url))

/** Packages of this repository's node_modules the sandbox links to besides flordb and effect. */
const LINKS = ["@effect/platform", "@effect/platform-node", "@tensorflow/tfjs", "pdf-lib", "pdfjs-dist", "tsx"]
/** Files of the example that are not copied into the sandbox. */
const NOT_COPIED = new Set(["walkthrough.ts", "README.md"])

export type { Output }

/** A sandbox project holding a copy of the example, with its own FLOR_HOME. */
export interface Project {
  readonly dir: string
  readonly home: string
  readonly env: NodeJS.ProcessEnv
  /** Runs a command in the project, printing it and its output; throws on a non-zero exit. */
  readonly run: (cmd: string, args: ReadonlyArray<string>, options?: { readonly show?: boolean; readonly shown?: string }) => Promise<Output>
  /** `make ARGS`. */
  readonly make: (...args: Array<string>) => Promise<Output>
  /** `npx flor ARGS`, shown. */
  readonly flor: (...args: Array<string>) => Promise<Output>
  /** `npx flor ARGS --format json`, parsed, not shown. */
  readonly florJson: (...args: Array<string>) => Promise<Array<Record<string, unknown>>>
  /** `make serve` with `PORT=0`, in its own process group; resolves with the app's URL once it listens. */
  readonly serve: () => Promise<Server>
  /** Deletes the sandbox. */
  readonly cleanup: () => void
}

/** The running web app. */
export interface Server {
  readonly url: string
  /** Stops `make serve` (SIGTERM to its process group) and waits for it to exit. */
  readonly stop: () => Promise<void>
}

/** Prints a line; the default prints to the console. */
export type Print = (line: string) => void

const quote = (a: string) => (/[\s'"()]/.test(a) ? `"${a}"` : a)

/** Copies the example into a fresh git repository under a temporary directory, linking flordb and the packages it needs. */
export const makeProject = async (print: Print = (line) => console.log(line)): Promise<Project> => {
  const files = Object.fromEntries(
    fs.readdirSync(here).filter((f) => !NOT_COPIED.has(f) && fs.statSync(path.join(here, f)).isFile()).map((f) => [f, path.join(here, f)])
  )
  const sandbox = project({ name: "pdf-parser", files, links: LINKS, author: "alice", print })
  const { dir, env, flor, florJson } = sandbox
  for (const name of ["MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKECMDGOALS", "PORT"]) delete env[name]
  const children = new Set<ChildProcess>()
  const run: Project["run"] = (cmd, args, options = {}) =>
    sandbox.run(cmd, args, options.shown ?? [cmd, ...args].map(quote).join(" "), options.show ?? true)

  const serve = () =>
    new Promise<Server>((resolve, reject) => {
      print("$ PORT=0 make serve &")
      const child = spawn("make", ["serve"], { cwd: dir, env: { ...env, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"], detached: true })
      children.add(child)
      const exited = new Promise<void>((done) => child.on("close", () => done()))
      let pending = ""
      let listening = false
      const timer = setTimeout(() => reject(new Error("make serve: no URL after 120 s")), 120_000)
      const onData = (d: string) => {
        pending += d
        const complete = pending.split("\n")
        pending = complete.pop()!
        for (const line of complete) {
          print(line)
          const url = /listening on (http:\/\/\S+)/.exec(line)?.[1]
          if (url !== undefined && !listening) {
            listening = true
            clearTimeout(timer)
            resolve({
              url,
              stop: async () => {
                if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGTERM")
                await exited
                children.delete(child)
              }
            })
          }
        }
      }
      child.stdout.setEncoding("utf8").on("data", onData)
      child.stderr.setEncoding("utf8").on("data", onData)
      child.on("close", (status) => {
        clearTimeout(timer)
        if (!listening) reject(new Error(`make serve exited with ${status} before listening`))
      })
    })

  fs.mkdirSync(path.join(dir, "node_modules/.bin"), { recursive: true })
  fs.symlinkSync("../tsx/dist/cli.mjs", path.join(dir, "node_modules/.bin/tsx")) // so `npx tsx` finds it offline
  // the example's own .gitignore, plus the sandbox's node_modules
  fs.appendFileSync(path.join(dir, ".gitignore"), "node_modules/\n")
  await run("git", ["init", "-q", "-b", "main"], { show: false })
  await run("git", ["add", "-A"], { show: false })
  await run("git", ["commit", "-qm", "the document pipeline"], { show: false })
  return {
    dir,
    home: sandbox.home,
    env,
    run,
    make: (...args) => run("make", args),
    flor,
    florJson,
    serve,
    cleanup: () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGKILL")
      sandbox.cleanup()
    }
  }
}

/** One saved review: the document, what the app showed, and what the reviewer saved. */
export interface Review {
  readonly document: string
  readonly shown: ReadonlyArray<number>
  readonly source: string
  readonly saved: ReadonlyArray<number>
  /** The run the app logged the save as. */
  readonly tstamp: string
}

/** Options of `walkthrough`. */
export interface Options {
  readonly print?: Print
  /** Bundles in the corpus (default 10) and bundles labeled by hand (default 4); at least `handDocs + 4`. */
  readonly docs?: number
  readonly handDocs?: number
}

/** What the walkthrough leaves behind, for a test to check. */
export interface Result {
  readonly project: Project
  /** The true colors of every bundle (what prep.ts wrote to `.truth/`). */
  readonly truth: Readonly<Record<string, ReadonlyArray<number>>>
  /** The page the hand labeler got wrong (1-based), and the page the reviewer mis-clicked in round 1. */
  readonly slip: { readonly document: string; readonly page: number }
  readonly misclick: { readonly document: string; readonly page: number }
  readonly rounds: ReadonlyArray<ReadonlyArray<Review>>
  readonly seconds: number
}

const sameColors = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.length === b.length && a.every((c, i) => c === b[i])
const isFirst = (colors: ReadonlyArray<number>, i: number) => i === 0 || colors[i] !== colors[i - 1]

/** Runs the story; see the module comment. The sandbox is kept for the caller (`result.project.cleanup()`). */
export const walkthrough = async (options: Options = {}): Promise<Result> => {
  const print = options.print ?? ((line: string) => console.log(line))
  const docs = options.docs ?? 10
  const handDocs = options.handDocs ?? 4
  if (docs < handDocs + 4) throw new Error(`walkthrough: docs must be at least handDocs + 4, got ${docs} and ${handDocs}`)
  const started = performance.now()
  const step = (text: string) => print(`\n== ${text}`)
  const project = await makeProject(print)
  let server: Server | undefined
  try {
    const vars = [...(docs === 10 ? [] : [`DOCS=${docs}`]), ...(handDocs === 4 ? [] : [`HAND_DOCS=${handDocs}`])]
    step(`a sandbox git repository with the example and flordb installed: ${project.dir}`)
    await project.run("cat", ["Makefile"])

    step("the pipeline: corpus, feature store, hand labels, a first model and its predictions")
    await project.make("prep", "featurize", "label", "train", "infer", ...vars)
    const truth = JSON.parse(fs.readFileSync(path.join(project.dir, ".truth/segments.json"), "utf8")) as Record<string, Array<number>>
    const names = Object.keys(truth).sort()

    // The hand labeler's slip (label.ts): the last boundary of the first labeled bundle with several sub-documents.
    const slipped = names.slice(0, handDocs).find((n) => truth[n]!.some((_, i) => i > 0 && isFirst(truth[n]!, i)))
    if (slipped === undefined) throw new Error("walkthrough: no hand-labeled bundle has two sub-documents; change the seed")
    const slipPage = truth[slipped]!.reduce((last, _, i, colors) => (isFirst(colors, i) ? i + 1 : last), 1)
    const unlabeled = names.slice(handDocs)
    // Round 1's mis-click: the last page of the second reviewed bundle lands in the wrong segment.
    const misclicked = unlabeled[1]!
    const misclickPage = truth[misclicked]!.length
    const misclick = (colors: ReadonlyArray<number>) => {
      const wrong = [...colors]
      const last = wrong.length - 1
      wrong[last] = isFirst(colors, last) ? wrong[last - 1]! : (wrong[last - 1]! + 1) % 4
      return wrong
    }

    step("the web app (Fig. 6.3): `make serve`, its overlays drawn from the label store, else from the predictions")
    server = await project.serve()
    const url = server.url
    const json = async (route: string, init?: RequestInit) => {
      const response = await fetch(`${url}${route}`, init)
      const body = (await response.json()) as Record<string, unknown>
      if (!response.ok) throw new Error(`${route}: ${response.status} ${JSON.stringify(body)}`)
      return body
    }
    const listing = async () => {
      const list = (await (await fetch(`${url}/api/documents`)).json()) as Array<{ name: string; source: string; colors: Array<number> }>
      print(`GET ${url}/api/documents`)
      for (const d of list) {
        const mark = sameColors(d.colors, truth[d.name]!) ? "right" : "WRONG"
        print(`  ${d.name}  ${d.source.padEnd(8)}  [${d.colors.join(" ")}]  (${mark}: truth [${truth[d.name]!.join(" ")}])`)
      }
    }
    const review = async (document: string, saveAs: (truth: ReadonlyArray<number>) => ReadonlyArray<number>): Promise<Review> => {
      const shown = await json(`/api/documents/${encodeURIComponent(document)}/colors`)
      const colors = saveAs(truth[document]!)
      const saved = await json(`/api/documents/${encodeURIComponent(document)}/colors`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ colors })
      })
      const before = shown.colors as Array<number>
      const changed = colors.filter((_, i) => isFirst(colors, i) !== isFirst(before, i)).length
      print(
        `POST /api/documents/${document}/colors {"colors":[${colors.join(",")}]}  (shown from ${shown.source}: [${before.join(" ")}]; ` +
          `${changed} first-page label${changed === 1 ? "" : "s"} changed)`
      )
      return { document, shown: before, source: String(shown.source), saved: colors, tstamp: String(saved.tstamp) }
    }
    await listing()

    step(`round 1: the reviewer fixes the hand-labeling slip in ${slipped} (page ${slipPage}), reviews ${unlabeled[0]} and ${misclicked} (mis-clicking its page ${misclickPage})`)
    const round1 = [
      await review(slipped, (t) => t),
      await review(unlabeled[0]!, (t) => t),
      await review(misclicked, misclick)
    ]

    step("train reads the corrections through dataframe (newest web-app save per document, else the hand labels); infer uses the new model")
    await project.make("train", "infer", ...vars)
    await listing()

    step(`round 2: two more bundles, and the mis-click in ${misclicked} fixed`)
    const round2 = [
      await review(unlabeled[2]!, (t) => t),
      await review(unlabeled[3]!, (t) => t),
      await review(misclicked, (t) => t)
    ]
    await project.make("train", ...vars)
    await server.stop()
    server = undefined

    step("the feature store (Fig. 6.5): featurize.ts's columns per document and page")
    await project.flor("dataframe", "n_words", "max_font", "heading", "page_number", "has_salutation", "--where", "document <= 2")

    step("the label store (Fig. 6.7): page_color from the hand labeler (label.ts) and from the web app (serve.ts), told apart by filename")
    await project.flor("dataframe", "page_color", "--where", `document_value IN ('${slipped}', '${misclicked}')`)

    step("what each training run used: labels by source, and the label of the slipped and the mis-clicked page")
    await project.flor("dataframe", "n_hand_labels", "n_app_labels", "n_train", "n_val")
    await project.flor(
      "dataframe",
      "label",
      "label_src",
      "--where",
      `(document_value = '${slipped}' AND page = ${slipPage}) OR (document_value = '${misclicked}' AND page = ${misclickPage})`
    )

    step("the model registry (Fig. 6.6): validation metrics per epoch (the first two and the last), and the checkpoint each infer run loaded")
    await project.flor("dataframe", "val_recall", "val_precision", "val_acc", "--where", "epoch <= 2 OR epoch = 12")
    await project.flor("dataframe", "model_tstamp", "model_epoch", "model_val_recall")
    const predictions = await project.florJson("dataframe", "first_page", "pred_color")
    const byRun = new Map<string, Map<string, Array<number>>>()
    for (const r of predictions) {
      if (r.filename !== "infer.ts") continue
      const docsOfRun = byRun.get(String(r.tstamp)) ?? new Map<string, Array<number>>()
      byRun.set(String(r.tstamp), docsOfRun)
      const colors = docsOfRun.get(String(r.document_value)) ?? []
      docsOfRun.set(String(r.document_value), colors)
      colors[Number(r.page_value) - 1] = Number(r.pred_color)
    }
    for (const [tstamp, docsOfRun] of [...byRun.entries()].sort()) {
      let right = 0
      let pages = 0
      for (const [doc, colors] of docsOfRun) {
        colors.forEach((_, i) => {
          pages++
          if (isFirst(colors, i) === isFirst(truth[doc]!, i)) right++
        })
      }
      print(`infer.ts ${tstamp}: ${right} of ${pages} pages segmented right (checked against the hidden truth)`)
    }

    step("build context (Fig. 6.1): every step is its own run, with make's level and goals")
    await project.flor("dataframe", "make_level", "make_goals", "status", "duration")

    const seconds = (performance.now() - started) / 1000
    print(`\nDone in ${seconds.toFixed(0)} s. Explore: cd ${project.dir} && FLOR_HOME=${project.home} make serve`)
    return {
      project,
      truth,
      slip: { document: slipped, page: slipPage },
      misclick: { document: misclicked, page: misclickPage },
      rounds: [round1, round2],
      seconds
    }
  } catch (e) {
    await server?.stop()
    print(`walkthrough failed; the sandbox is kept at ${project.dir}`)
    throw e
  }
}

if (isEntry(import.meta.url)) await walkthrough()
