/**
 * Static analysis of a flordb script (DESIGN §8 step 1): where each `log` call
 * is relative to the main loop, inside which named loops, hence which scan kind
 * a replay that probes some columns needs (DESIGN §7).
 *
 * How the program is walked. The analysis follows the order in which code runs,
 * not only the order in which it is written:
 *
 * - The main loop is the outermost `loop(...)` inside `checkpointing(...)`
 *   (the first one reached, as at run time); without `checkpointing`, the
 *   outermost loop of the program (if there are several, the first that has a
 *   loop nested in it, else the first).
 * - `iteration(name, …)` adds a dimension to `loops` but is never the main loop,
 *   and does not make a log `nested` (replay skips nested loops, not iterations).
 * - Helpers: a function (`function f`, `const f = (…) => …`) or a deferred
 *   Effect value (`const step = Effect.gen(…)`, `const evalAcc = flor.log(…)`)
 *   declared in the same file, that contains DSL calls, is analyzed where it is
 *   used (called, passed as a loop body, yielded), with the loops enclosing that
 *   use. Uses are resolved through any number of helper levels in the file
 *   (a helper used from a helper), each use separately (a helper used in the
 *   loop and after it gives two log sites); a helper that uses itself is
 *   entered once. A helper with DSL calls that is never used in the file (e.g.
 *   exported) is analyzed where it is declared. A `const x = yield* …`
 *   initializer runs where it is written and is not a helper.
 * - Unsupported, reported as an `AnalysisError` with its line: a `log`/`loop`/
 *   `iteration` name that is not a string literal (or a template without
 *   substitutions). Helpers in other files are not analyzed: asking for a
 *   column that this file does not log, when a loop body uses names imported
 *   from relative modules, is a "CrossFileHelper" error naming them.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import ts from "./Typescript.cjs"
import type { ScanKind } from "../ReplayPlan.js"
import { declarationOf, endLine, isReference, parse, type Parsed, startLine } from "./Ast.js"
import { type Dsl, type DslOptions, type FlorCall, recognize } from "./Dsl.js"
import { AnalysisError, analysisError } from "./Errors.js"

/** Where a log call runs relative to the main loop. */
export type Position = "before" | "inside" | "after"

/** A helper use a log site was reached through. */
export interface Via {
  /** The helper's name. */
  readonly helper: string
  /** 1-based line of the use (call or reference). */
  readonly line: number
}

/** One `log` call (once per use of the helper it is in). */
export interface LogSite {
  /** The logged column name. */
  readonly column: string
  /** 1-based line of the call. */
  readonly line: number
  /** 1-based character of the call on its line. */
  readonly character: number
  /** Enclosing loop (and iteration) dimensions, outermost first. */
  readonly loops: ReadonlyArray<string>
  /** `loops.length`. */
  readonly depth: number
  readonly position: Position
  /** Inside a `loop` nested in the main loop (hence only a range scan runs it). */
  readonly nested: boolean
  /** The helper uses it is reached through, outermost first; empty when written in place. */
  readonly via: ReadonlyArray<Via>
}

/** One loop or iteration call, as reached. */
export interface LoopSite {
  readonly name: string
  readonly kind: "loop" | "iteration"
  readonly line: number
  readonly endLine: number
  /** Enclosing dimensions, outermost first. */
  readonly loops: ReadonlyArray<string>
  readonly main: boolean
}

/** The main loop: its name and the lines of its call. */
export interface MainLoop {
  readonly name: string
  readonly line: number
  readonly endLine: number
}

/** A name imported from another file and used inside a loop body. */
export interface CrossFileUse {
  readonly name: string
  readonly module: string
  readonly line: number
}

/** What `analyze` finds. */
export interface ScriptInfo {
  readonly fileName: string
  readonly logs: ReadonlyArray<LogSite>
  readonly loops: ReadonlyArray<LoopSite>
  readonly mainLoop: MainLoop | null
  /** Names from other files used in loop bodies (their log calls, if any, are not analyzed). */
  readonly crossFile: ReadonlyArray<CrossFileUse>
  /** `x.log("name", …)` calls whose receiver is not known to be a flordb object. */
  readonly unrecognized: ReadonlyArray<{ readonly receiver: string; readonly column: string; readonly line: number }>
}

/** Options of `analyze`. */
export type AnalyzeOptions = DslOptions

/** The scan a replay probing some columns needs. */
export interface Scan {
  readonly kind: ScanKind
  readonly mainLoop: MainLoop | null
  /** The log sites of the asked columns. */
  readonly probes: ReadonlyArray<LogSite>
}

interface LoopInstance {
  readonly name: string
  readonly kind: "loop" | "iteration"
  readonly call: FlorCall
  readonly enclosing: ReadonlyArray<LoopInstance>
  readonly candidate: "checkpointing" | "top" | null
  startSeq: number
  endSeq: number
  hasNested: boolean
}

interface Ctx {
  readonly loops: ReadonlyArray<LoopInstance>
  /** Inside `checkpointing`, and how many loops were entered since. */
  readonly checkpointing: boolean
  readonly loopsSinceCheckpointing: number
  readonly via: ReadonlyArray<Via>
  readonly active: ReadonlySet<Helper>
}

interface Helper {
  readonly name: string
  /** The node analyzed at each use: a function's body or a variable's initializer. */
  readonly body: ts.Node
  used: boolean
}

interface RawSite {
  readonly column: string
  readonly call: ts.CallExpression
  readonly loops: ReadonlyArray<LoopInstance>
  readonly seq: number
  readonly via: ReadonlyArray<Via>
}

const containsAny = (node: ts.Node, calls: Dsl["calls"]): boolean => {
  let found = false
  const visit = (n: ts.Node): void => {
    if (found) return
    if (ts.isCallExpression(n) && calls.has(n)) {
      found = true
      return
    }
    ts.forEachChild(n, visit)
  }
  visit(node)
  return found
}

/** Whether an initializer is evaluated where it is written: it yields or awaits outside nested functions. */
const runsInPlace = (init: ts.Expression): boolean => {
  let found = false
  const visit = (n: ts.Node): void => {
    if (found) return
    if (ts.isYieldExpression(n) || ts.isAwaitExpression(n)) {
      found = true
      return
    }
    if (ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) return
    ts.forEachChild(n, visit)
  }
  visit(init)
  return found
}

const nameError = (parsed: Parsed, call: FlorCall): AnalysisError => {
  const what = call.kind === "log" ? "column name" : `${call.kind} name`
  const arg = call.nameNode === undefined ? "(missing)" : call.nameNode.getText()
  return analysisError(
    "NonLiteralName",
    parsed.fileName,
    startLine(call.node),
    `${call.node.expression.getText()}(${arg}, …): the ${what} must be a string literal for static analysis (unsupported: ${arg})`
  )
}

const analyzeParsed = (parsed: Parsed, options: AnalyzeOptions): ScriptInfo => {
  const dsl = recognize(parsed, options)
  const { sf, checker } = parsed

  // Helpers: declarations whose code runs where they are used.
  const helpers = new Map<ts.Identifier, Helper>()
  const findHelpers = (node: ts.Node): void => {
    if (ts.isFunctionDeclaration(node) && node.name !== undefined && node.body !== undefined && containsAny(node.body, dsl.calls)) {
      helpers.set(node.name, { name: node.name.text, body: node.body, used: false })
    } else if (
      ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined &&
      !runsInPlace(node.initializer) && containsAny(node.initializer, dsl.calls)
    ) {
      helpers.set(node.name, { name: node.name.text, body: node.initializer, used: false })
    }
    ts.forEachChild(node, findHelpers)
  }
  findHelpers(sf)
  // A helper is analyzed at its uses when it has some; else where it is written.
  const referenced = new Set<Helper>()
  const findUses = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && isReference(node)) {
      const decl = declarationOf(checker, node)
      const h = decl === undefined ? undefined : helpers.get(decl)
      if (h !== undefined && !(h.body.pos <= node.pos && node.end <= h.body.end)) referenced.add(h)
    }
    ts.forEachChild(node, findUses)
  }
  findUses(sf)
  const deferredBodies = new Set<ts.Node>([...referenced].map((h) => h.body))

  const instances: Array<LoopInstance> = []
  const sites: Array<RawSite> = []
  const crossFile: Array<CrossFileUse> = []
  let seq = 0

  const enterHelper = (h: Helper, use: ts.Identifier, ctx: Ctx) => {
    if (ctx.active.has(h)) return
    h.used = true
    const inner: Ctx = { ...ctx, via: [...ctx.via, { helper: h.name, line: startLine(use) }], active: new Set([...ctx.active, h]) }
    visit(h.body, inner, true)
  }

  const onIdentifier = (id: ts.Identifier, ctx: Ctx) => {
    if (!isReference(id)) return
    const decl = declarationOf(checker, id)
    const h = decl === undefined ? undefined : helpers.get(decl)
    if (h !== undefined && referenced.has(h)) return enterHelper(h, id, ctx)
    if (ctx.loops.length > 0) {
      const symbol = checker.getSymbolAtLocation(id)
      const imported = symbol === undefined ? undefined : dsl.relativeImports.get(symbol)
      const line = startLine(id)
      if (imported !== undefined && !crossFile.some((c) => c.name === imported.name && c.line === line)) {
        crossFile.push({ ...imported, line })
      }
    }
  }

  const onCall = (call: FlorCall, ctx: Ctx) => {
    const args = call.node.arguments
    const rest = (from: number, except: number) => {
      for (let i = from; i < args.length; i++) if (i !== except) visit(args[i]!, ctx)
    }
    switch (call.kind) {
      case "log": {
        if (call.name === undefined) throw nameError(parsed, call)
        rest(1, -1)
        sites.push({ column: call.name, call: call.node, loops: ctx.loops, seq: seq++, via: ctx.via })
        return
      }
      case "checkpointing": {
        rest(0, 1)
        const body = args[1]
        if (body !== undefined) visit(body, { ...ctx, checkpointing: true, loopsSinceCheckpointing: 0 })
        return
      }
      case "loop":
      case "iteration": {
        if (call.name === undefined) throw nameError(parsed, call)
        const bodyAt = call.kind === "loop" ? 2 : 3
        rest(1, bodyAt)
        const candidate = call.kind !== "loop"
          ? null
          : ctx.checkpointing && ctx.loopsSinceCheckpointing === 0
          ? "checkpointing"
          : ctx.loops.length === 0
          ? "top"
          : null
        const inst: LoopInstance = {
          name: call.name,
          kind: call.kind,
          call,
          enclosing: ctx.loops,
          candidate,
          startSeq: seq++,
          endSeq: -1,
          hasNested: false
        }
        if (call.kind === "loop") for (const outer of ctx.loops) outer.hasNested = true
        instances.push(inst)
        const body = args[bodyAt]
        if (body !== undefined) {
          visit(body, { ...ctx, loops: [...ctx.loops, inst], loopsSinceCheckpointing: ctx.loopsSinceCheckpointing + 1 })
        }
        inst.endSeq = seq++
        return
      }
    }
  }

  const visit = (node: ts.Node, ctx: Ctx, entering = false): void => {
    if (!entering && deferredBodies.has(node)) return
    if (ts.isIdentifier(node)) return onIdentifier(node, ctx)
    if (ts.isCallExpression(node)) {
      const call = dsl.calls.get(node)
      if (call !== undefined) return onCall(call, ctx)
    }
    ts.forEachChild(node, (child) => visit(child, ctx))
  }

  const top: Ctx = { loops: [], checkpointing: false, loopsSinceCheckpointing: 0, via: [], active: new Set() }
  visit(sf, top)
  // Helpers used only from each other (never reached): analyze where written.
  for (const h of referenced) if (!h.used) visit(h.body, top, true)

  const fromCheckpointing = instances.find((i) => i.candidate === "checkpointing")
  const tops = instances.filter((i) => i.candidate === "top")
  const main = fromCheckpointing ?? tops.find((i) => i.hasNested) ?? tops[0]

  const logs: Array<LogSite> = sites.map((s) => {
    const mainAt = main === undefined ? -1 : s.loops.indexOf(main)
    const position: Position = main === undefined
      ? "before"
      : mainAt >= 0
      ? "inside"
      : s.seq < main.startSeq
      ? "before"
      : "after"
    const nested = mainAt >= 0 && s.loops.slice(mainAt + 1).some((l) => l.kind === "loop")
    const at = sf.getLineAndCharacterOfPosition(s.call.getStart())
    return {
      column: s.column,
      line: at.line + 1,
      character: at.character + 1,
      loops: s.loops.map((l) => l.name),
      depth: s.loops.length,
      position,
      nested,
      via: s.via
    }
  })
  const loops: Array<LoopSite> = instances.map((i) => ({
    name: i.name,
    kind: i.kind,
    line: startLine(i.call.node),
    endLine: endLine(i.call.node),
    loops: i.enclosing.map((l) => l.name),
    main: i === main
  }))
  return {
    fileName: parsed.fileName,
    logs,
    loops,
    mainLoop: main === undefined
      ? null
      : { name: main.name, line: startLine(main.call.node), endLine: endLine(main.call.node) },
    crossFile,
    unrecognized: dsl.unrecognized
  }
}

const catching = <A>(f: () => A): Either.Either<A, AnalysisError> => {
  try {
    return Either.right(f())
  } catch (e) {
    if (e instanceof AnalysisError) return Either.left(e)
    throw e
  }
}

/**
 * Analyzes a script: every `log` call with its loops and position relative to
 * the main loop. Fails on syntax errors and on names that are not string literals.
 */
export const analyze = (
  source: string,
  fileName = "script.ts",
  options: AnalyzeOptions = {}
): Either.Either<ScriptInfo, AnalysisError> => catching(() => analyzeParsed(parse(source, fileName), options))

const kindOf = (site: LogSite): ScanKind =>
  site.position === "inside" ? (site.nested ? "range" : "validation") : site.position === "after" ? "suffix" : "prefix"

const RANK: Record<ScanKind, number> = { prefix: 0, suffix: 1, validation: 2, range: 3 }

/**
 * The scan kind a replay probing `columns` needs: the widest over their log
 * sites (range > validation > suffix > prefix; a suffix scan runs the prefix too).
 */
export const scanKind = (info: ScriptInfo, columns: ReadonlyArray<string>): Either.Either<Scan, AnalysisError> =>
  catching(() => {
    if (columns.length === 0) throw analysisError("UnknownColumn", info.fileName, null, "no column to probe was given")
    const probes: Array<LogSite> = []
    for (const column of columns) {
      const sites = info.logs.filter((s) => s.column === column)
      if (sites.length === 0) throw missing(info, column)
      probes.push(...sites)
    }
    const kind = probes.map(kindOf).reduce<ScanKind>((a, b) => (RANK[b] > RANK[a] ? b : a), "prefix")
    return { kind, mainLoop: info.mainLoop, probes }
  })

const missing = (info: ScriptInfo, column: string): AnalysisError => {
  const odd = info.unrecognized.find((u) => u.column === column)
  if (odd !== undefined) {
    return analysisError(
      "Unsupported",
      info.fileName,
      odd.line,
      `column '${column}': ${odd.receiver}.log("${column}", …) is called on '${odd.receiver}', which is not known to be a flordb object ` +
        `(bind it with Flor.make(...) in this file, or name it in the florObjects option)`
    )
  }
  const first = info.crossFile[0]
  if (first !== undefined) {
    const uses = info.crossFile.map((c) => `${c.name} from ${c.module} (line ${c.line})`).join(", ")
    return analysisError(
      "CrossFileHelper",
      info.fileName,
      first.line,
      `column '${column}' is not logged in ${info.fileName}; loop bodies use helpers from other files, whose log calls ` +
        `are not analyzed (unsupported): ${uses}`
    )
  }
  const known = [...new Set(info.logs.map((s) => s.column))]
  return analysisError(
    "UnknownColumn",
    info.fileName,
    null,
    `column '${column}' is not logged in ${info.fileName}` +
      (known.length === 0 ? " (it logs no column)" : ` (it logs: ${known.join(", ")})`)
  )
}
