// The page viewer, in the browser: pdf.js draws each page on its canvas; clicking a
// page's overlay cycles its segment color; Save posts the colors to the app, which
// logs them with flordb (one run per save).
import * as pdfjs from "/pdfjs/build/pdf.mjs"

pdfjs.GlobalWorkerOptions.workerSrc = "/pdfjs/build/pdf.worker.mjs"

const body = document.body
const name = body.dataset.document
const palette = JSON.parse(body.dataset.palette)
const overlays = [...document.querySelectorAll(".overlay")]
const status = document.getElementById("status")

const say = (state, text) => {
  status.dataset.state = state
  status.textContent = text
}
const paint = (overlay) => {
  overlay.style.background = palette[Number(overlay.dataset.color)]
}

for (const overlay of overlays) {
  paint(overlay)
  overlay.addEventListener("click", () => {
    overlay.dataset.color = String((Number(overlay.dataset.color) + 1) % palette.length)
    paint(overlay)
    say("changed", "unsaved changes")
  })
}

document.getElementById("save").addEventListener("click", async () => {
  say("saving", "saving…")
  try {
    const response = await fetch(`/api/documents/${encodeURIComponent(name)}/colors`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ colors: overlays.map((o) => Number(o.dataset.color)) })
    })
    const answer = await response.json()
    if (!response.ok) throw new Error(answer.error ?? response.statusText)
    status.dataset.tstamp = answer.tstamp
    say("saved", `saved as run ${answer.tstamp}`)
  } catch (e) {
    say("error", String(e instanceof Error ? e.message : e))
  }
})

const pdf = await pdfjs.getDocument({
  url: `/pdf/${encodeURIComponent(name)}`,
  standardFontDataUrl: "/pdfjs/standard_fonts/"
}).promise
for (const figure of document.querySelectorAll(".page")) {
  const page = await pdf.getPage(Number(figure.dataset.page))
  const viewport = page.getViewport({ scale: 0.75 })
  const canvas = figure.querySelector("canvas")
  canvas.width = viewport.width
  canvas.height = viewport.height
  await page.render({ canvas, viewport }).promise
  figure.dataset.rendered = "true"
}
body.dataset.ready = "true"
