/**
 * Replay workers run the script precompiled under plain node: the same output as under
 * tsx (module URLs, argv, local modules in other directories, JSON, CommonJS packages
 * imported and re-exported), the compiled files removed afterwards, and tsx kept
 * where it would behave differently.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { precompiled } from "../src/layers/internal/precompile.js"
import { tsxBin } from "./support/sandbox.js"

const files: Record<string, string> = {
  "package.json": JSON.stringify({ type: "module" }),
  "node_modules/cjspkg/package.json": JSON.stringify({ name: "cjspkg", main: "index.js" }),
  "node_modules/cjspkg/index.js": "exports.a = 1\nexports.f = () => 2\nglobalThis.cjsLoads = (globalThis.cjsLoads ?? 0) + 1\n",
  "data.json": JSON.stringify({ n: 3 }),
  "lib/helper.ts": "export const where = (): string => import.meta.url\nexport const dir: string = import.meta.dirname\n",
  "lib/again.ts": "export * from \"cjspkg\"\nexport { default as whole } from \"cjspkg\"\n",
  "main.ts": [
    "import * as c from \"cjspkg\"",
    "import d, { f } from \"cjspkg\"",
    "import { dir, where } from \"./lib/helper.js\"",
    "import * as again from \"./lib/again.js\"",
    "import data from \"./data.json\" with { type: \"json\" }",
    "const order: Array<string> = []",
    "order.push(\"main\")",
    "await Promise.resolve()",
    "console.log(JSON.stringify({",
    "  url: import.meta.url, argv1: process.argv[1], where: where(), dir,",
    "  a: c.a, f: f(), def: d.a, again: Object.keys(again).sort(), whole: again.whole === d,",
    "  data, loads: (globalThis as { cjsLoads?: number }).cjsLoads, order, args: process.argv.slice(2)",
    "}))"
  ].join("\n")
}

describe("precompiled replay workers", () => {
  let dir: string
  const write = (root: string, contents: Record<string, string>) => {
    for (const [name, text] of Object.entries(contents)) {
      fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true })
      fs.writeFileSync(path.join(root, name), text)
    }
  }
  const compile = (script: string) =>
    Effect.runPromise(Effect.scoped(Effect.map(precompiled(script, { debug: false }), (compiled) => {
      const listing = fs.readdirSync(path.dirname(script), { recursive: true }).map(String).sort()
      if (Option.isNone(compiled)) return { run: undefined, listing }
      const r = spawnSync(process.execPath, [...compiled.value.execArgv, compiled.value.entry, "--kwargs", "x=1"], {
        cwd: path.dirname(script),
        encoding: "utf8"
      })
      return { run: r, listing }
    })))

  beforeAll(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "flordb-precompile-")))
    write(dir, files)
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("runs like tsx, and removes what it wrote", async () => {
    const script = path.join(dir, "main.ts")
    const before = fs.readdirSync(dir, { recursive: true }).map(String).sort()
    const viaTsx = spawnSync(tsxBin, [script, "--kwargs", "x=1"], { cwd: dir, encoding: "utf8" })
    expect(viaTsx.stderr).toBe("")
    const { run, listing } = await compile(script)
    expect(run?.stderr).toBe("")
    expect(JSON.parse(run!.stdout)).toEqual(JSON.parse(viaTsx.stdout))
    expect(JSON.parse(run!.stdout)).toMatchObject({ a: 1, f: 2, def: 1, again: ["a", "f", "whole"], whole: true, loads: 1 })
    expect(listing.filter((f) => f.includes(".flor-")).length).toBe(3) // main, lib/helper, lib/again
    expect(fs.readdirSync(dir, { recursive: true }).map(String).sort()).toEqual(before)
  }, 60_000)

  it("leaves to tsx what plain node would run differently", async () => {
    const cases: Record<string, Record<string, string>> = {
      commonjs: { "package.json": JSON.stringify({ type: "commonjs" }), "main.ts": "export const x = 1\n" },
      computed: { "package.json": JSON.stringify({ type: "module" }), "main.ts": "const m = \"./x.js\"\nawait import(m)\n" },
      broken: { "package.json": JSON.stringify({ type: "module" }), "main.ts": "export const = 1\n" }
    }
    for (const [name, contents] of Object.entries(cases)) {
      const root = path.join(dir, `case-${name}`)
      write(root, contents)
      const { run } = await compile(path.join(root, "main.ts"))
      expect(run, name).toBeUndefined()
      expect(fs.readdirSync(root).filter((f) => f.includes(".flor-")), name).toEqual([])
    }
  }, 60_000)
})
