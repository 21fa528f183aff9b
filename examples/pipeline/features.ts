/**
 * Text features of a PDF page, read with pdf.js (the text layer: strings with their
 * position and font size). These are the columns of the feature store.
 */
import * as fs from "node:fs"
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs"

/** The features of one page. */
export interface PageFeatures {
  /** Words on the page. */
  readonly n_words: number
  /** Text lines (distinct baselines). */
  readonly n_lines: number
  /** The largest font size on the page (pt). */
  readonly max_font: number
  /** A line set in 14 pt or more. */
  readonly has_heading: boolean
  /** The text of the largest line when it is a heading. */
  readonly heading: string | null
  /** The page number printed in the footer ("Page 2 of 3", "2"), if any. */
  readonly page_number: number | null
  /** Characters per 1000 pt² of page. */
  readonly text_density: number
  /** Empty space above the first line, as a fraction of the page height. */
  readonly top_margin: number
  /** Share of upper-case letters. */
  readonly upper_ratio: number
  /** A letter's salutation ("Dear …,"). */
  readonly has_salutation: boolean
}

interface Line {
  readonly y: number
  readonly size: number
  text: string
}

const FOOTER = 60

/** Features of every page of the PDF at `file`, in page order. */
export const featurizePdf = async (file: string): Promise<Array<PageFeatures>> => {
  const pdf = await getDocument({ data: new Uint8Array(fs.readFileSync(file)), verbosity: 0 }).promise
  try {
    const pages: Array<PageFeatures> = []
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n)
      const [, , width, height] = page.view as [number, number, number, number]
      const content = await page.getTextContent()
      const lines = new Map<number, Line>()
      for (const item of content.items) {
        if (!("str" in item) || item.str.trim() === "") continue
        const y = Math.round(item.transform[5] as number)
        const size = Math.abs(item.transform[3] as number)
        const line = lines.get(y)
        if (line === undefined) lines.set(y, { y, size, text: item.str })
        else line.text += ` ${item.str}`
      }
      const all = [...lines.values()].sort((a, b) => b.y - a.y)
      const footer = all.filter((l) => l.y < FOOTER)
      const text = all.filter((l) => l.y >= FOOTER).map((l) => l.text).join("\n")
      const largest = all.reduce<Line | undefined>((m, l) => (m === undefined || l.size > m.size ? l : m), undefined)
      const letters = text.replace(/[^A-Za-z]/g, "")
      const numbered = footer.map((l) => /^(?:Page\s+)?(\d+)(?:\s+of\s+\d+)?$/.exec(l.text.trim())).find((m) => m !== null)
      pages.push({
        n_words: text.split(/\s+/).filter((w) => w !== "").length,
        n_lines: all.length,
        max_font: largest?.size ?? 0,
        has_heading: (largest?.size ?? 0) >= 14,
        heading: largest !== undefined && largest.size >= 14 ? largest.text : null,
        page_number: numbered === undefined ? null : Number(numbered[1]),
        text_density: (1000 * text.length) / (width * height),
        top_margin: all.length === 0 ? 1 : (height - all[0]!.y) / height,
        upper_ratio: letters.length === 0 ? 0 : letters.replace(/[^A-Z]/g, "").length / letters.length,
        has_salutation: /^Dear\b/m.test(text)
      })
      page.cleanup()
    }
    return pages
  } finally {
    await pdf.destroy()
  }
}
