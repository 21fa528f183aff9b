/**
 * The label store's read rule, shared by train.ts and the web app: `page_color` is
 * logged by two scripts, told apart by `filename` (thesis Fig. 6.7). For each
 * document, the newest save from the web app (`serve.ts`) wins; without one, the
 * newest hand labels (`label.ts`). A document's labels are always one whole
 * segmentation, from one run.
 */
import { PALETTE_SIZE } from "./project.js"

/** The scripts that log `page_color`, most trusted first. */
export const SOURCES = ["serve.ts", "label.ts"] as const

/** What the rule needs of a `dataframe("page_color")` row. */
export interface ColorRow {
  readonly tstamp: string
  readonly filename: string
  readonly document_value?: string | null | undefined
  readonly page_value?: number | null | undefined
  readonly page_color: number | null
}

/** The labels of one document: who gave them, when, and the color of each page. */
export interface DocumentLabels {
  readonly source: string
  readonly tstamp: string
  readonly colors: ReadonlyArray<number>
}

/** The current labels of every labeled document, by document name. */
export const currentLabels = (rows: ReadonlyArray<ColorRow>): Map<string, DocumentLabels> => {
  const runs = new Map<string, { source: string; tstamp: string; document: string; pages: Map<number, number> }>()
  for (const row of rows) {
    const rank = SOURCES.indexOf(row.filename as typeof SOURCES[number])
    if (rank === -1 || row.page_color === null || typeof row.document_value !== "string" || typeof row.page_value !== "number") continue
    const key = `${row.document_value}\u0000${row.filename}\u0000${row.tstamp}`
    let run = runs.get(key)
    if (run === undefined) runs.set(key, run = { source: row.filename, tstamp: row.tstamp, document: row.document_value, pages: new Map() })
    run.pages.set(row.page_value, row.page_color)
  }
  const better = (a: DocumentLabels, b: DocumentLabels) => {
    const ra = SOURCES.indexOf(a.source as typeof SOURCES[number])
    const rb = SOURCES.indexOf(b.source as typeof SOURCES[number])
    return ra !== rb ? ra < rb : a.tstamp > b.tstamp
  }
  const out = new Map<string, DocumentLabels>()
  for (const run of runs.values()) {
    const labels = {
      source: run.source,
      tstamp: run.tstamp,
      colors: [...run.pages.entries()].sort((a, b) => a[0] - b[0]).map(([, color]) => color)
    }
    const held = out.get(run.document)
    if (held === undefined || better(labels, held)) out.set(run.document, labels)
  }
  return out
}

/** Which pages begin a segment: the first page, and every page whose color differs from the page before. */
export const firstPages = (colors: ReadonlyArray<number>): Array<boolean> =>
  colors.map((color, i) => i === 0 || color !== colors[i - 1])

/** Segment colors from first-page flags: segment k gets color k modulo the palette. */
export const colorsOf = (first: ReadonlyArray<boolean>): Array<number> => {
  let segment = -1
  return first.map((isFirst, i) => {
    if (isFirst || i === 0) segment++
    return segment % PALETTE_SIZE
  })
}
