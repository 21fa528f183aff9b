import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Result, walkthrough } from "../examples/pipeline/walkthrough.js"

/** Small size: 8 bundles, 3 labeled by hand; two review rounds of 3 saves each. */
const DOCS = 8
const HAND_DOCS = 3

type Rows = Array<Record<string, unknown>>

const isFirst = (colors: ReadonlyArray<number>, i: number) => i === 0 || colors[i] !== colors[i - 1]
const byTstamp = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.tstamp).localeCompare(String(b.tstamp))

describe("the document-intelligence pipeline (thesis ch. 6): make, feature store, label store, registry, web app", () => {
  let result: Result | undefined
  const story: Array<string> = []
  let build: Rows = []
  let colors: Rows = []
  let counts: Rows = []
  let used: Rows = []
  let metrics: Rows = []
  let picks: Rows = []
  let checkpoints: Rows = []
  let featureRows: Rows = []

  beforeAll(async () => {
    result = await walkthrough({ docs: DOCS, handDocs: HAND_DOCS, print: (line) => story.push(line) })
    const p = result.project
    build = await p.florJson("dataframe", "make_level", "make_goals", "status")
    colors = await p.florJson("dataframe", "page_color")
    counts = await p.florJson("dataframe", "n_hand_labels", "n_app_labels")
    used = await p.florJson("dataframe", "label", "label_src")
    metrics = await p.florJson("dataframe", "val_recall", "val_acc", "status")
    picks = await p.florJson("dataframe", "model_tstamp", "model_epoch", "model_val_recall")
    checkpoints = await p.florJson(
      "query",
      "SELECT r.tstamp, c.loop_name, c.loop_iteration FROM checkpoints c JOIN runs r USING (run_id) WHERE r.filename = 'train.ts'"
    )
    featureRows = await p.florJson("dataframe", "n_words", "has_heading", "page_number")
  }, 300_000)
  afterAll(() => result?.project.cleanup())

  it("runs every step as its own run under make, with MAKELEVEL and the goals as columns", () => {
    const runs = build.sort(byTstamp)
    expect(runs.every((r) => r.make_level === 1 && r.status === "committed")).toBe(true)
    const goals = (filename: string) => runs.filter((r) => r.filename === filename).map((r) => r.make_goals)
    const first = "prep featurize label train infer"
    expect(goals("prep.ts")).toEqual([first])
    expect(goals("featurize.ts")).toEqual([first])
    expect(goals("label.ts")).toEqual([first])
    expect(goals("train.ts")).toEqual([first, "train infer", "train"])
    expect(goals("infer.ts")).toEqual([first, "train infer"])
    // one run per save (plus the app's start-up run, committed by the first save)
    expect(goals("serve.ts")).toEqual(Array.from({ length: 7 }, () => "serve"))
    expect(story.join("\n")).toContain("make: *** [Makefile")
  })

  it("fills the feature store per document and page", () => {
    const r = result!
    const pages = Object.values(r.truth).reduce((n, c) => n + c.length, 0)
    expect(featureRows.filter((x) => x.filename === "featurize.ts")).toHaveLength(pages)
    for (const row of featureRows) {
      expect(row.n_words).toEqual(expect.any(Number))
      expect(typeof row.has_heading).toBe("boolean")
    }
  })

  it("tells the hand labels and the web app's saves of page_color apart by filename", () => {
    const r = result!
    const names = Object.keys(r.truth).sort()
    const hand = colors.filter((x) => x.filename === "label.ts")
    expect([...new Set(hand.map((x) => x.document_value))]).toEqual(names.slice(0, HAND_DOCS))
    for (const name of names.slice(0, HAND_DOCS)) {
      const got = hand.filter((x) => x.document_value === name).map((x) => x.page_color)
      const want = [...r.truth[name]!]
      if (name === r.slip.document) want[r.slip.page - 1] = want[r.slip.page - 2]! // the hand labeler's slip
      expect(got, name).toEqual(want)
    }
    const saves = r.rounds.flat()
    const app = colors.filter((x) => x.filename === "serve.ts")
    expect(new Set(app.map((x) => x.tstamp)).size).toBe(saves.length) // each save is its own run
    for (const save of saves) {
      const rows = app.filter((x) => x.tstamp === save.tstamp)
      expect(rows.map((x) => x.document_value)).toEqual(rows.map(() => save.document))
      expect(rows.map((x) => x.page_color)).toEqual(save.saved)
    }
    // the app showed what the label store held
    expect(r.rounds[0]![0]).toMatchObject({ document: r.slip.document, source: "label.ts" })
    expect(r.rounds[1]![2]).toMatchObject({ document: r.misclick.document, source: "serve.ts", shown: r.rounds[0]![2]!.saved })
    expect(r.rounds[1]![0]!.source).toBe("infer.ts")
  })

  it("training reads the corrections: label counts by source and the label of a corrected page change", () => {
    const r = result!
    const pagesOf = (name: string) => r.truth[name]!.length
    const names = Object.keys(r.truth).sort()
    const handPages = names.slice(0, HAND_DOCS).reduce((n, d) => n + pagesOf(d), 0)
    const [round1, round2] = r.rounds as [Result["rounds"][0], Result["rounds"][0]]
    const appDocs1 = new Set(round1.map((s) => s.document))
    const appDocs2 = new Set([...appDocs1, ...round2.map((s) => s.document)])
    const sum = (docs: Set<string>) => [...docs].reduce((n, d) => n + pagesOf(d), 0)
    const runs = counts.filter((x) => x.filename === "train.ts").sort(byTstamp)
    expect(runs.map((x) => [x.n_hand_labels, x.n_app_labels])).toEqual([
      [handPages, 0],
      [handPages - pagesOf(r.slip.document), sum(appDocs1)],
      [handPages - pagesOf(r.slip.document), sum(appDocs2)]
    ])
    const trainRuns = runs.map((x) => x.tstamp)
    const labelOf = (run: unknown, document: string, page: number) => {
      const row = used.find((x) => x.tstamp === run && x.document_value === document && x.page_value === page)
      return row === undefined ? undefined : [row.label, row.label_src]
    }
    // the slip: the hand label said "same sub-document", the web app's correction says "first page"
    expect(trainRuns.map((t) => labelOf(t, r.slip.document, r.slip.page))).toEqual([[0, "label.ts"], [1, "serve.ts"], [1, "serve.ts"]])
    // the mis-click of round 1 was trained on once, then replaced by round 2's newer save
    const truthLabel = isFirst(r.truth[r.misclick.document]!, r.misclick.page - 1) ? 1 : 0
    expect(trainRuns.map((t) => labelOf(t, r.misclick.document, r.misclick.page))).toEqual([
      undefined,
      [1 - truthLabel, "serve.ts"],
      [truthLabel, "serve.ts"]
    ])
    // after round 2 every label training used is the true one
    const last = used.filter((x) => x.tstamp === trainRuns[2] && x.label !== null)
    expect(last).toHaveLength(handPages + sum(appDocs2) - pagesOf(r.slip.document))
    for (const row of last) {
      expect(row.label, `${row.document_value} page ${row.page_value}`).toBe(
        isFirst(r.truth[String(row.document_value)]!, Number(row.page_value) - 1) ? 1 : 0
      )
    }
  })

  it("the registry loads the checkpointed epoch with the best val_recall of the newest training run", () => {
    const inferRuns = picks.filter((x) => x.filename === "infer.ts").sort(byTstamp)
    expect(inferRuns).toHaveLength(2)
    const trainRuns = [...new Set(metrics.filter((x) => x.filename === "train.ts" && x.status === "committed").map((x) => String(x.tstamp)))].sort()
    for (const pick of inferRuns) {
      const newest = trainRuns.filter((t) => t < String(pick.tstamp)).at(-1)
      expect(pick.model_tstamp).toBe(newest)
      const saved = new Set(checkpoints.filter((c) => c.tstamp === newest && c.loop_name === "epoch").map((c) => c.loop_iteration))
      const epochs = metrics.filter((x) => x.tstamp === newest && x.val_recall !== null && saved.has(x.epoch))
      expect(epochs.length).toBeGreaterThan(0)
      const best = Math.max(...epochs.map((x) => Number(x.val_recall)))
      expect(pick.model_val_recall).toBe(best)
      expect(saved.has(pick.model_epoch)).toBe(true)
      expect(epochs.find((x) => x.epoch === pick.model_epoch)?.val_recall).toBe(best)
    }
  })
})
