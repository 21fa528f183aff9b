import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeSandbox, repoRoot, type Sandbox } from "./support/sandbox.js"

describe("quick start, installed into another project", () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = makeSandbox("hello-project")
    fs.copyFileSync(path.join(repoRoot, "examples/quickstart/hello.ts"), path.join(sb.dir, "hello.ts"))
    fs.writeFileSync(path.join(sb.dir, "untracked.txt"), "not committed by the user\n")
    sb.git("add", "hello.ts", ".gitignore", "package.json")
    sb.git("commit", "-qm", "init")
  })
  afterAll(() => sb.cleanup())

  it("records a run and the CLI reads it back", () => {
    const statusBefore = sb.git("status", "--porcelain")
    const headBefore = sb.git("rev-parse", "HEAD")
    const out = sb.tsx("hello.ts", "--kwargs", "name=world")
    expect(out.stderr).toBe("")
    expect(out.status).toBe(0)
    expect(sb.git("status", "--porcelain")).toBe(statusBefore)
    expect(sb.git("rev-parse", "HEAD")).toBe(headBefore)

    const csv = sb.flor("dataframe", "loss", "--format", "csv")
    expect(csv.status).toBe(0)
    const lines = csv.stdout.trim().split("\n")
    expect(lines[0]).toBe("projid,tstamp,filename,epoch,epoch_value,step,step_value,loss")
    expect(lines).toHaveLength(13)
    const first = lines[1]!.split(",")
    expect(first[0]).toBe("hello-project")
    expect(first[2]).toBe("hello.ts")
    expect(first.slice(3)).toEqual(["1", "0", "1", "0", "1"])
    expect(lines[12]!.split(",").slice(3)).toEqual(["3", "2", "4", "3", String(1 / 12)])

    const top = sb.flor("dataframe", "--format", "json")
    const rows = JSON.parse(top.stdout) as Array<Record<string, unknown>>
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ projid: "hello-project", filename: "hello.ts", name: "world", msg: "hello world" })

    const shadow = sb.git("ls-tree", "-r", "--name-only", "flor.shadow")
    expect(shadow).toContain("hello.ts")
    expect(shadow).toContain("untracked.txt")
    expect(shadow).toMatch(/\.flor\/logs\/.*\.jsonl/)
  })

  it("reports a kwarg no arg reads (with the likely name), and fails clearly on a bad one", () => {
    const before = JSON.parse(sb.flor("dataframe", "--format", "json").stdout) as Array<unknown>
    const typo = sb.tsx("hello.ts", "--kwargs", "nmae=world")
    expect(typo.status).not.toBe(0)
    expect(typo.stderr.trim().split("\n")).toEqual([
      "flor: --kwargs nmae was given but no arg() read it (did you mean name?); the run was recorded: fix the name and run again (FLOR_UNUSED_KWARGS=warn only warns)"
    ])
    // the run itself is kept, with the arg's default value
    const after = JSON.parse(sb.flor("dataframe", "--format", "json").stdout) as Array<{ readonly name: string }>
    expect(after).toHaveLength(before.length + 1)
    expect(after.at(-1)?.name).toBe("anonymous")
    sb.env.FLOR_UNUSED_KWARGS = "warn"
    const warned = sb.tsx("hello.ts", "--kwargs", "nmae=world")
    delete sb.env.FLOR_UNUSED_KWARGS
    expect(warned.status).toBe(0)
    expect(warned.stderr).toContain("flor: warning: --kwargs nmae was given")
    const bad = sb.tsx("hello.ts", "--kwargs", "name")
    expect(bad.status).not.toBe(0)
    expect(bad.stderr.trim().split("\n")).toHaveLength(1)
    expect(bad.stderr).toContain("name=value")
  })

  it("outside a git repository: one clear line, non-zero exit", () => {
    const outside = fs.mkdtempSync(path.join(path.dirname(sb.dir), "nogit-"))
    fs.copyFileSync(path.join(sb.dir, "hello.ts"), path.join(outside, "hello.ts"))
    fs.symlinkSync(path.join(sb.dir, "node_modules"), path.join(outside, "node_modules"), "dir")
    const r = sb.tsx(path.join(outside, "hello.ts"))
    expect(r.status).not.toBe(0)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("git init")
  })
})
