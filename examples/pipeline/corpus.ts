/**
 * The generated corpus of the document-intelligence example: scanned "bundles" as
 * they arrive at a legal clinic. Each bundle is one PDF of 2–5 pages holding one to
 * three sub-documents (a complaint, a letter, an exhibit, a report, a court order)
 * concatenated. Segmenting a bundle means finding the pages that begin a
 * sub-document. Everything is drawn from a seed, so the same seed writes the same
 * bytes.
 *
 * The true segmentation is what `prep.ts` writes to `.truth/segments.json`: the
 * hand-labeling script and the walkthrough's simulated reviewer read it (they stand
 * in for human eyes); training never does.
 */
import { PDFDocument, type PDFFont, type PDFPage, StandardFonts } from "pdf-lib"
import { Rng } from "flordb"
import { PALETTE_SIZE } from "./project.js"

/** The kinds of sub-document. */
export const KINDS = ["complaint", "letter", "exhibit", "report", "order"] as const
/** A kind of sub-document. */
export type Kind = typeof KINDS[number]

/** How a sub-document numbers its pages. */
export type Numbering = "page-of" | "plain" | "none" | "bates"

/** One sub-document of a bundle. */
export interface Part {
  readonly kind: Kind
  readonly pages: number
  readonly numbering: Numbering
}

/** A bundle: one PDF file. */
export interface Bundle {
  readonly name: string
  readonly parts: ReadonlyArray<Part>
}

/** The bundles of a corpus of `count` PDFs, the same for the same `seed`. */
export const bundles = (count: number, seed: number): Array<Bundle> => {
  const rng = new Rng(seed)
  return Array.from({ length: count }, (_, b) => {
    const total = 2 + rng.int(4)
    const parts: Array<Part> = []
    let left = total
    while (left > 0) {
      const pages = Math.min(left, 1 + rng.int(3))
      const kind = KINDS[rng.int(KINDS.length)]!
      const numbering: Numbering = (["page-of", "plain", "none", "bates"] as const)[rng.int(4)]!
      parts.push({ kind, pages, numbering })
      left -= pages
    }
    return { name: `bundle-${String(b + 1).padStart(2, "0")}.pdf`, parts }
  })
}

/** The true page colors of a bundle: page i has the color of its sub-document. */
export const truthColors = (bundle: Bundle): Array<number> =>
  bundle.parts.flatMap((part, i) => Array.from({ length: part.pages }, () => i % PALETTE_SIZE))

const WORDS = (
  "the plaintiff defendant court motion filed hereby pursuant said county officer report evidence witness " +
  "statement record agreement party claim damages relief order counsel hearing notice section alleged " +
  "incident vehicle property arrest search warrant affidavit exhibit payment invoice amount date signed " +
  "further therein whereas custody appeal judgment district state federal review finding respectfully"
).split(" ")

const TITLES: Readonly<Record<Kind, ReadonlyArray<string>>> = {
  complaint: ["COMPLAINT AND PRAYER FOR JURY TRIAL", "CIVIL COMPLAINT", "AMENDED COMPLAINT"],
  letter: ["Harper & Lowe LLP", "Office of the Public Defender", "Brightwater Legal Aid"],
  exhibit: ["EXHIBIT A", "EXHIBIT B", "EXHIBIT C"],
  report: ["INVESTIGATOR'S REPORT", "INCIDENT REPORT", "SUPPLEMENTAL REPORT"],
  order: ["ORDER", "ORDER ON MOTION TO DISMISS", "SCHEDULING ORDER"]
}
const SECTIONS = ["COUNT TWO", "BACKGROUND", "FINDINGS", "RELIEF REQUESTED", "SUMMARY"]

const WIDTH = 612
const HEIGHT = 792
const MARGIN = 72

interface Fonts {
  readonly body: PDFFont
  readonly bold: PDFFont
}

/** A line of random words that fits the text width at `size`. */
const sentence = (rng: Rng, font: PDFFont, size: number, width = WIDTH - 2 * MARGIN): string => {
  let line = ""
  for (;;) {
    const next = line === "" ? WORDS[rng.int(WORDS.length)]! : `${line} ${WORDS[rng.int(WORDS.length)]}`
    if (font.widthOfTextAtSize(next, size) > width) return line
    line = next
  }
}

/** Draws `lines` lines of body text from `top` down; returns where it stopped. */
const body = (page: PDFPage, rng: Rng, fonts: Fonts, top: number, lines: number): number => {
  let y = top
  for (let i = 0; i < lines && y > MARGIN + 20; i++, y -= 15) {
    page.drawText(sentence(rng, fonts.body, 11), { x: MARGIN, y, size: 11, font: fonts.body })
  }
  return y
}

const centered = (page: PDFPage, text: string, y: number, size: number, font: PDFFont) =>
  page.drawText(text, { x: (WIDTH - font.widthOfTextAtSize(text, size)) / 2, y, size, font })

/** The first page of a sub-document: each kind has its own look. */
const firstPage = (page: PDFPage, rng: Rng, fonts: Fonts, kind: Kind) => {
  const title = TITLES[kind][rng.int(3)]!
  const top = HEIGHT - MARGIN
  switch (kind) {
    case "complaint": {
      page.drawText("IN THE CIRCUIT COURT FOR BALTIMORE COUNTY", { x: MARGIN, y: top, size: 11, font: fonts.body })
      page.drawText(`CASE NO. 24-C-${1000 + rng.int(9000)}`, { x: MARGIN, y: top - 15, size: 11, font: fonts.body })
      centered(page, title, top - 60, 16, fonts.bold)
      body(page, rng, fonts, top - 95, 16 + rng.int(8))
      return
    }
    case "letter": {
      page.drawText(title, { x: MARGIN, y: top, size: 14, font: fonts.bold })
      page.drawText("1200 Main Street, Suite 400", { x: MARGIN, y: top - 16, size: 9, font: fonts.body })
      page.drawText(`March ${1 + rng.int(28)}, 2024`, { x: MARGIN, y: top - 60, size: 11, font: fonts.body })
      page.drawText("Dear Counsel,", { x: MARGIN, y: top - 95, size: 11, font: fonts.body })
      body(page, rng, fonts, top - 120, 10 + rng.int(10))
      return
    }
    case "exhibit": {
      centered(page, title, HEIGHT / 2, 28, fonts.bold)
      return
    }
    case "report": {
      page.drawText(title, { x: MARGIN, y: top, size: 16, font: fonts.bold })
      page.drawText(`Case: 20-0${10000 + rng.int(89999)}`, { x: MARGIN, y: top - 22, size: 11, font: fonts.body })
      body(page, rng, fonts, top - 50, 20 + rng.int(10))
      return
    }
    case "order": {
      centered(page, title, top - 20, 16, fonts.bold)
      body(page, rng, fonts, top - 60, 12 + rng.int(10))
      page.drawText("SO ORDERED.", { x: MARGIN, y: MARGIN + 60, size: 11, font: fonts.body })
      return
    }
  }
}

/** A continuation page: dense text, sometimes a section heading; an exhibit continues with a table. */
const nextPage = (page: PDFPage, rng: Rng, fonts: Fonts, kind: Kind) => {
  const top = HEIGHT - MARGIN
  if (kind === "exhibit") {
    for (let i = 0, y = top; i < 24 + rng.int(10); i++, y -= 16) {
      const amount = `$${(10 + rng.int(5000)).toLocaleString("en-US")}.00`
      page.drawText(`Item ${i + 1}`, { x: MARGIN, y, size: 10, font: fonts.body })
      page.drawText(WORDS[rng.int(WORDS.length)]!, { x: MARGIN + 80, y, size: 10, font: fonts.body })
      page.drawText(amount, { x: WIDTH - MARGIN - 80, y, size: 10, font: fonts.body })
    }
    return
  }
  let y = body(page, rng, fonts, top, 8 + rng.int(12))
  if (rng.int(3) === 0) {
    page.drawText(SECTIONS[rng.int(SECTIONS.length)]!, { x: MARGIN, y: y - 10, size: 14, font: fonts.bold })
    y -= 40
  }
  body(page, rng, fonts, y, 40)
}

/** Writes the PDF of a bundle; the same bundle and seed give the same bytes. */
export const writeBundle = async (bundle: Bundle, seed: number): Promise<Uint8Array> => {
  const rng = new Rng(seed)
  const doc = await PDFDocument.create({ updateMetadata: false })
  const fonts = { body: await doc.embedFont(StandardFonts.Helvetica), bold: await doc.embedFont(StandardFonts.HelveticaBold) }
  let bundlePage = 0
  for (const part of bundle.parts) {
    for (let p = 1; p <= part.pages; p++) {
      bundlePage++
      const page = doc.addPage([WIDTH, HEIGHT])
      if (p === 1) firstPage(page, rng, fonts, part.kind)
      else nextPage(page, rng, fonts, part.kind)
      const first = p === 1 && part.kind === "letter" // letters do not number their first page
      switch (first ? "none" : part.numbering) {
        case "page-of":
          centered(page, `Page ${p} of ${part.pages}`, 36, 9, fonts.body)
          break
        case "plain":
          centered(page, String(p), 36, 9, fonts.body)
          break
        case "bates":
          page.drawText(`CLINIC-${String(seed % 1000).padStart(3, "0")}${String(bundlePage).padStart(4, "0")}`, {
            x: WIDTH - MARGIN - 90,
            y: 36,
            size: 9,
            font: fonts.body
          })
          break
        case "none":
          break
      }
    }
  }
  return doc.save({ useObjectStreams: false })
}
