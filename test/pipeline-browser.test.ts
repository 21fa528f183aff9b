import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { chromium } from "playwright-core"
import { afterAll, describe, expect, it } from "vitest"
import { makeProject, type Project, type Server } from "../examples/pipeline/walkthrough.js"

const CHROMIUM = "/usr/bin/chromium"
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

describe("the web app in a real browser (thesis Fig. 6.3)", () => {
  let project: Project | undefined
  let server: Server | undefined
  let profile: string | undefined
  afterAll(async () => {
    await server?.stop()
    project?.cleanup()
    if (profile !== undefined) fs.rmSync(profile, { recursive: true, force: true })
  })

  it("draws the pages with pdf.js, cycles an overlay's color on click, and Save logs page_color", async () => {
    expect(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`).toBe(true)
    const story: Array<string> = []
    const p = project = await makeProject((line) => story.push(line))
    await p.make("infer", "DOCS=4", "HAND_DOCS=1")
    const s = server = await p.serve()
    profile = fs.mkdtempSync(path.join(os.tmpdir(), "flordb-chromium-"))
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS })
    try {
      const page = await browser.newPage()
      const errors: Array<string> = []
      page.on("pageerror", (e) => errors.push(e.message))
      await page.goto(`${s.url}/`)
      const listed = await page.$$eval("#documents tr[data-document]", (rows) => rows.map((r) => [r.getAttribute("data-document"), r.getAttribute("data-source")]))
      expect(listed).toEqual([
        ["bundle-01.pdf", "label.ts"],
        ["bundle-02.pdf", "infer.ts"],
        ["bundle-03.pdf", "infer.ts"],
        ["bundle-04.pdf", "infer.ts"]
      ])

      await page.click("#documents tr[data-document=\"bundle-02.pdf\"] a")
      await page.waitForSelector("body[data-ready=\"true\"]", { timeout: 60_000 })
      const figures = await page.$$eval(".page", (fs) => fs.map((f) => f.getAttribute("data-rendered")))
      expect(figures.length).toBeGreaterThanOrEqual(2)
      expect(figures.every((r) => r === "true")).toBe(true)
      // pdf.js drew text: the first canvas has dark pixels
      const dark = await page.evaluate<number>(`(() => {
        const c = document.querySelector('.page[data-page="1"] canvas')
        const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data
        let n = 0
        for (let i = 0; i < data.length; i += 4) if (data[i] < 100 && data[i + 3] > 0) n++
        return n
      })()`)
      expect(dark).toBeGreaterThan(100)

      const shown = await page.$$eval(".overlay", (os) => os.map((o) => Number(o.getAttribute("data-color"))))
      const overlay = page.locator(".overlay[data-page=\"2\"]")
      await overlay.click()
      const clicked = Number(await overlay.getAttribute("data-color"))
      expect(clicked).toBe((shown[1]! + 1) % 4)
      await page.click("#save")
      await page.waitForSelector("#status[data-state=\"saved\"]", { timeout: 60_000 })
      const tstamp = await page.getAttribute("#status", "data-tstamp")
      expect(errors).toEqual([])

      const want = shown.map((c, i) => (i === 1 ? clicked : c))
      const rows = await p.florJson("dataframe", "page_color", "--where", "filename = 'serve.ts'")
      expect(rows.map((r) => [r.tstamp, r.document_value, r.page_value, r.page_color])).toEqual(
        want.map((c, i) => [tstamp, "bundle-02.pdf", i + 1, c])
      )
      // the app now shows the saved colors
      await page.reload()
      expect(await page.getAttribute("#source", "data-source")).toBe("serve.ts")
      expect(await page.$$eval(".overlay", (os) => os.map((o) => Number(o.getAttribute("data-color"))))).toEqual(want)
    } finally {
      await browser.close()
    }
  }, 240_000)
})
