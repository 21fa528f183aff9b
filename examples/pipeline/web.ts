/**
 * The HTML of the web app: the document list and the page viewer (thesis Fig. 6.3).
 * Pages are rendered in the browser by pdf.js (`viewer.js`); each has a colored
 * overlay for its segment. Stable ids and data attributes make the DOM testable:
 * `#documents tr[data-document]`, `.page[data-page][data-rendered]`,
 * `.overlay[data-page][data-color]`, `#save`, `#status[data-state]`,
 * `body[data-ready]` once every page is drawn.
 */

/** Overlay colors, by `page_color`. */
export const PALETTE = ["rgba(230, 57, 70, 0.30)", "rgba(29, 120, 220, 0.30)", "rgba(46, 160, 67, 0.30)", "rgba(245, 160, 0, 0.35)"]

/** A document as the list shows it. */
export interface DocumentSummary {
  readonly name: string
  readonly pages: number
  /** Where its colors come from: `serve.ts`, `label.ts`, `infer.ts`, or `none`. */
  readonly source: string
  readonly colors: ReadonlyArray<number>
}

/** A document as the viewer shows it. */
export interface DocumentView extends DocumentSummary {
  /** The run the colors come from (empty without one). */
  readonly tstamp: string
  /** The model's first-page probability per page, when infer.ts has run. */
  readonly firstPage: ReadonlyArray<number> | null
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

const STYLE = `
body { font: 14px system-ui, sans-serif; margin: 0; background: #f4f4f6; color: #222 }
header { position: sticky; top: 0; background: #fff; padding: 10px 16px; border-bottom: 1px solid #ddd; display: flex; gap: 16px; align-items: center; z-index: 2 }
h1 { font-size: 18px; margin: 0 }
table { border-collapse: collapse; margin: 16px } td, th { padding: 6px 12px; border-bottom: 1px solid #ddd; text-align: left }
.swatch { display: inline-block; width: 14px; height: 18px; margin-right: 2px; border: 1px solid #999 }
#pages { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px }
.page { position: relative; margin: 0; background: #fff; box-shadow: 0 1px 4px rgba(0,0,0,.2) }
.page canvas { display: block }
.overlay { position: absolute; inset: 0; cursor: pointer }
.page figcaption { padding: 4px 8px; font-size: 12px; color: #555 }
#status[data-state="error"] { color: #b00020 }`

const page = (title: string, body: string, attributes = "") =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title><style>${STYLE}</style></head>
<body${attributes}>
${body}
</body></html>
`

const swatches = (colors: ReadonlyArray<number>) =>
  colors.map((c) => `<span class="swatch" data-color="${c}" style="background:${PALETTE[c]}"></span>`).join("")

/** The list of documents. */
export const indexPage = (documents: ReadonlyArray<DocumentSummary>): string =>
  page(
    "Documents",
    `<header><h1>Documents</h1><span>click a document to review its segmentation</span></header>
<table id="documents"><thead><tr><th>document</th><th>pages</th><th>segments</th><th>colors from</th></tr></thead><tbody>
${
      documents.map((d) =>
        `<tr data-document="${escape(d.name)}" data-source="${escape(d.source)}"><td><a href="/doc/${
          encodeURIComponent(d.name)
        }">${escape(d.name)}</a></td><td>${d.pages}</td><td>${swatches(d.colors)}</td><td>${escape(d.source)}</td></tr>`
      ).join("\n")
    }
</tbody></table>`
  )

/** The viewer of one document: a figure per page with its overlay; viewer.js draws the pages and saves. */
export const documentPage = (view: DocumentView): string =>
  page(
    view.name,
    `<header><a href="/">documents</a><h1>${escape(view.name)}</h1>
<span id="source" data-source="${escape(view.source)}" data-tstamp="${escape(view.tstamp)}">colors from ${escape(view.source)} ${
      escape(view.tstamp)
    }</span>
<button id="save" type="button">Save</button><span id="status" data-state="idle"></span></header>
<main id="pages">
${
      view.colors.map((color, i) => {
        const p = view.firstPage?.[i]
        const prob = p === undefined ? "" : ` · p(first page) ${p.toFixed(2)}`
        return `<figure class="page" data-page="${i + 1}" data-rendered="false"><canvas></canvas>` +
          `<div class="overlay" data-page="${i + 1}" data-color="${color}" title="page ${i + 1}: click to change its color"></div>` +
          `<figcaption>page ${i + 1}${prob}</figcaption></figure>`
      }).join("\n")
    }
</main>
<script type="module" src="/viewer.js"></script>`,
    ` data-document="${escape(view.name)}" data-palette="${escape(JSON.stringify(PALETTE))}" data-ready="false"`
  )
