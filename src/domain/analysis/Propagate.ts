/**
 * Logging-statement propagation (DESIGN §8 step 4, thesis §5.5): a hindsight
 * statement added to today's script (`newer`) is carried into a past version
 * (`older`) of that script, which then replays with it.
 *
 * The unit propagated. Given a 1-based line of `newer` where a `log(...)` call
 * starts (or, failing that, a line inside one), "the statement" is the
 * innermost statement containing the call that is an element of a statement
 * list (block, file, case clause) — e.g. `yield* flor.log("grad", g)`, a whole
 * `if (…) yield* log(…)`, `const n = yield* flor.log("n", x)`, or a whole
 * `yield* x.pipe(Effect.tap((v) => flor.log(…)))`. Calls on one line in two
 * different statements are refused ("NoStatement"). Then, walking up from the
 * call towards that statement, the first node with an older counterpart decides
 * the form:
 *
 * - "expression": an arrow whose expression body holds the call, e.g.
 *   `(loss) => Effect.zipRight(flor.log("loss", loss), flor.log("step_loss",
 *   loss * 2))` where the older arrow is `(l) => flor.log("loss", l)`. Supported
 *   when the older arrow has an expression body whose counterpart is a part of
 *   the newer body: the older body is replaced by the newer one, with the older
 *   body's own text kept verbatim where its counterpart sits (what gets inserted
 *   is the wrapper, here `Effect.zipRight(…, flor.log("step_loss", l * 2))`).
 *   An older block body is refused ("Unsupported": add it to the block by hand),
 *   and so is an older body that is not a part of the newer one.
 * - "argument": a call one of whose arguments is new and holds the log call,
 *   e.g. an `Effect.tap((loss) => flor.log("grad", …))` added to an existing
 *   `.pipe(…)`; the older call must have the same callee name and another
 *   argument matched. The argument goes after the counterpart of its previous
 *   argument (else first), in the older call's single- or multi-line layout.
 * - "statement", otherwise: the statement goes after the older counterpart of
 *   its previous sibling statement, else of an earlier sibling, else first in
 *   the older counterpart of its block (right after `{`); when neither the
 *   block nor an earlier sibling has a counterpart: "Unmapped".
 *
 * If every log call of the unit already has a counterpart with the same text
 * (after renames), or the same statement/argument/body text is already there,
 * `older` is returned unchanged with `alreadyPresent: true`.
 *
 * Alignment: GumTree (GumTree.ts) over the two ASTs, with same-name
 * `loop`/`iteration` calls and same-column `log` calls (when a name occurs as
 * many times in both versions) as anchors; calls with different loop names or
 * columns, and method calls with different method names, are never matched.
 *
 * Renames: an identifier of the inserted code that resolves (in `newer`) to a
 * declaration outside the inserted code, whose declaration name is matched to a
 * differently named declaration in `older`, takes the older name (an imported
 * name counts for its local alias: `log` → `record` for `import { log as
 * record }`). Property names after `.`, object keys and the column string are
 * never touched; `{ loss }` becomes `{ loss: l }`; a rename that a declaration
 * inside the inserted code would capture is refused. Names whose declaration has
 * no counterpart, or that do not resolve at the insertion point of the result,
 * are reported in `unresolved` (the caller may add imports for them).
 *
 * Layout: the rest of `older` stays byte-identical, except for the column
 * declarations below. The inserted line takes the indentation of its previous
 * sibling (or of the block's first statement); further lines of a multi-line
 * unit keep their indentation relative to the first (template literals are left
 * alone); a trailing `;` follows the older block's (else file's) majority
 * style, and a leading `;` guards ASI in semicolon-free code; CRLF files get
 * CRLF. Comments above the newer statement are not carried.
 *
 * Column declarations (option `declareColumns`, on by default): a typed
 * `flor.log("grad", …)` needs `grad` in `Flor.make({ columns })`, or the older
 * version cannot run it (`Flor.make`'s log has no codec for it). When the older
 * `columns` object literal lacks a column the inserted code logs, the newer
 * declaration (`grad: Schema.Number`) is appended to it, following its single-
 * or multi-line layout and trailing comma; `declared` lists them.
 *
 * `lineDiffPropagate` is the baseline: a plain line diff (LCS over lines; the
 * `diff` package is not a dependency), inserting the statement's lines (just
 * the log call's line when the call sits in an arrow's expression body)
 * verbatim after the older line that the LCS matches to the line before them;
 * it fails when that line is unmatched. No renames, no re-indentation. It parses
 * `newer` only to find the statement's lines, and declares columns like
 * `propagate`, so that the comparison measures placement.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import ts from "./Typescript.cjs"
import {
  contains,
  declarationOf,
  endLine,
  indentAt,
  isDeclarationName,
  isListedStatement,
  isReference,
  lineOf,
  lineStartAt,
  parse,
  type Parsed,
  startLine,
  statementsOf
} from "./Ast.js"
import { type Dsl, type DslOptions, type FlorCall, recognize } from "./Dsl.js"
import { AnalysisError, analysisError } from "./Errors.js"
import { buildTree, type GNode, type GTree, type Mapping, match } from "./GumTree.js"

/** The result of a propagation. */
export interface Propagation {
  /** `older` with the statement inserted. */
  readonly source: string
  /** 1-based line of `source` where the inserted (or rewritten) code starts. */
  readonly insertedAt: number
  /** 1-based line of `source` where it ends (`insertedAt` for one line). */
  readonly insertedTo: number
  /** Identifiers renamed in the inserted code: newer name → older name. */
  readonly renames: Record<string, string>
  /** Which unit was propagated. */
  readonly form: "statement" | "expression" | "argument"
  /** Columns whose declaration was added to the older `Flor.make({ columns })`. */
  readonly declared: ReadonlyArray<string>
  /** Names used by the inserted code that have no counterpart (or are not in scope) in the older version. */
  readonly unresolved: ReadonlyArray<string>
  /** The older version already holds the same statement at that place: `source` is `older` unchanged. */
  readonly alreadyPresent: boolean
}

/** Options of `propagate` and `lineDiffPropagate`. */
export interface PropagateOptions extends DslOptions {
  /** Add the declarations of newly logged typed columns to the older `Flor.make` (default true). */
  readonly declareColumns?: boolean
  /** Names used in messages. */
  readonly newerName?: string
  readonly olderName?: string
}

interface Edit {
  readonly start: number
  readonly end: number
  readonly text: string
}

/** What holds the log call(s) at a line: its statement, and the expression-bodied arrows in between. */
interface Located {
  readonly statement: ts.Statement
  /** Arrows with an expression body between the call and the statement, innermost first. */
  readonly arrows: ReadonlyArray<ts.ArrowFunction>
  readonly logs: ReadonlyArray<FlorCall>
}

type Unit =
  | { readonly form: "statement"; readonly node: ts.Statement; readonly logs: ReadonlyArray<FlorCall> }
  | {
    readonly form: "argument"
    readonly call: ts.CallExpression
    readonly arg: ts.Expression
    readonly older: ts.CallExpression
    readonly logs: ReadonlyArray<FlorCall>
  }
  | {
    readonly form: "expression"
    /** The new expression (newer) that wraps `inner`. */
    readonly outer: ts.Node
    /** The part of `outer` whose counterpart is `target`. */
    readonly inner: ts.Node
    /** The older expression that `outer` replaces. */
    readonly target: ts.Node
    readonly logs: ReadonlyArray<FlorCall>
  }

const catching = <A>(f: () => A): Either.Either<A, AnalysisError> => {
  try {
    return Either.right(f())
  } catch (e) {
    if (e instanceof AnalysisError) return Either.left(e)
    throw e
  }
}

/** The statement (and the arrows in between) holding the log call(s) at `line` of `newer`. */
const locate = (p: Parsed, dsl: Dsl, line: number): Located => {
  const lineCount = lineOf(p.sf, p.text.length)
  if (!Number.isInteger(line) || line < 1 || line > lineCount) {
    throw analysisError("NoStatement", p.fileName, line, `line ${line} is not in the file (1..${lineCount})`)
  }
  const logs = dsl.ordered.filter((c) => c.kind === "log")
  let here = logs.filter((c) => startLine(c.node) === line)
  if (here.length === 0) here = logs.filter((c) => startLine(c.node) <= line && line <= endLine(c.node))
  if (here.length === 0) {
    throw analysisError("NoStatement", p.fileName, line, `line ${line} has no flordb log(...) call: ${JSON.stringify(lineText(p.text, line).trim())}`)
  }
  const found = new Map<ts.Statement, Located>()
  for (const call of here) {
    const arrows: Array<ts.ArrowFunction> = []
    let n: ts.Node = call.node.parent
    while (!isListedStatement(n)) {
      if (ts.isArrowFunction(n) && !ts.isBlock(n.body)) arrows.push(n)
      n = n.parent
    }
    const prior = found.get(n)
    found.set(n, { statement: n, arrows: prior?.arrows ?? arrows, logs: [...(prior?.logs ?? []), call] })
  }
  if (found.size > 1) {
    throw analysisError(
      "NoStatement",
      p.fileName,
      line,
      `line ${line} holds log(...) calls in ${found.size} different statements; put the one to propagate on its own line`
    )
  }
  return [...found.values()][0]!
}

/**
 * The unit to propagate. Walking up from the log call towards its statement,
 * the first node that has an older counterpart decides:
 * - an arrow whose (new) expression body holds the call: "expression" form;
 * - a call, one of whose (new) arguments holds the call — e.g. an
 *   `Effect.tap(…)` added to an existing `.pipe(…)` — when the older call has
 *   the same callee name and another argument matched: "argument" form;
 * - anything else, or nothing: the whole statement ("statement" form).
 */
const unitOf = (a: Aligned, at: Located, line: number): Unit => {
  // the new log calls: those without a counterpart (a line may also hold an existing one)
  const fresh = at.logs.filter((c) => counterpart(a, c.node) === undefined)
  const first = fresh[0] ?? at.logs[0]!
  let child: ts.Node = first.node
  for (let n: ts.Node = first.node.parent; n !== at.statement; child = n, n = n.parent) {
    const partner = counterpart(a, n)
    if (partner === undefined) continue
    const logs = fresh.filter((c) => contains(child, c.node))
    const inner = wrappedPart(a, child, partner, logs)
    if (inner !== undefined) return { form: "expression", outer: child, inner, target: counterpart(a, inner)!, logs }
    if (ts.isArrowFunction(n) && n.body === child && ts.isArrowFunction(partner)) {
      if (ts.isBlock(partner.body)) {
        throw analysisError(
          "Unsupported",
          a.pn.fileName,
          line,
          `the log call of line ${line} is in an arrow's expression body, but its counterpart in ${a.po.fileName} ` +
            `(line ${startLine(partner)}) has a block body: add the statement to that block by hand`
        )
      }
      const same = isomorphicPart(a, child, partner.body)
      if (same !== undefined && !logs.some((c) => contains(same, c.node))) {
        return { form: "expression", outer: child, inner: same, target: partner.body, logs }
      }
      throw analysisError(
        "Unsupported",
        a.pn.fileName,
        line,
        `cannot propagate the log call of line ${line}: the older arrow body (${a.po.fileName} line ${startLine(partner.body)}) ` +
          `is not a part of the newer one, so there is no wrapper to insert (rewrite that body by hand)`
      )
    }
    if (ts.isCallExpression(n) && ts.isCallExpression(partner) && n.arguments.some((x) => x === child)) {
      const sameCallee = calleeName(n) !== undefined && calleeName(n) === calleeName(partner)
      const otherMatched = n.arguments.some((x) => x !== child && counterpart(a, x)?.parent === partner)
      if (sameCallee && otherMatched) return { form: "argument", call: n, arg: child as ts.Expression, older: partner, logs }
    }
    break
  }
  return { form: "statement", node: at.statement, logs: at.logs }
}

/** The outermost part of `outer` whose counterpart is a child of `olderParent` (and holds none of the new log calls). */
const wrappedPart = (a: Aligned, outer: ts.Node, olderParent: ts.Node, logs: ReadonlyArray<FlorCall>): ts.Node | undefined => {
  let found: ts.Node | undefined
  const visit = (n: ts.Node): void => {
    if (found !== undefined) return
    if (counterpart(a, n)?.parent === olderParent && !logs.some((c) => contains(n, c.node))) {
      found = n
      return
    }
    ts.forEachChild(n, visit)
  }
  ts.forEachChild(outer, visit)
  return found
}

/** A part of `outer` identical to the older node `target`. */
const isomorphicPart = (a: Aligned, outer: ts.Node, target: ts.Node): ts.Node | undefined => {
  const hash = a.to.byNode.get(target)?.hash
  let found: ts.Node | undefined
  const visit = (n: ts.Node): void => {
    if (found !== undefined) return
    if (a.tn.byNode.get(n)?.hash === hash) found = n
    else ts.forEachChild(n, visit)
  }
  ts.forEachChild(outer, visit)
  return found
}

/** When every log call of the unit has a counterpart with the same text (after renames): the older version has them. */
const presentAlready = (a: Aligned, at: Located): Propagation | undefined => {
  let first: ts.Node | undefined
  for (const call of at.logs) {
    const partner = counterpart(a, call.node)
    if (partner === undefined) return undefined
    const plan = planRenames(a, call.node, undefined)
    const code = render(a.pn.text, call.node.getStart(), call.node.getEnd(), plan.edits, "", "", [])
    if (normalized(code) !== normalized(partner.getText())) return undefined
    first ??= partner
  }
  return first === undefined ? undefined : unchanged(a, first, "statement")
}

const calleeName = (call: ts.CallExpression): string | undefined => {
  const c = call.expression
  return ts.isIdentifier(c) ? c.text : ts.isPropertyAccessExpression(c) ? `.${c.name.text}` : undefined
}

const lineText = (text: string, line: number): string => text.split("\n")[line - 1] ?? ""

/**
 * The key that must agree for two nodes to be matched: for DSL calls, the kind
 * and name (loop/iteration name, log column); for other method calls, the
 * method name (`Effect.zipRight(…)` is never matched with `Effect.gen(…)`).
 */
const keyer = (dsl: Dsl) => (node: ts.Node): string => {
  if (!ts.isCallExpression(node)) return ""
  const c = dsl.calls.get(node)
  if (c !== undefined) return `${c.kind}:${c.name ?? "?"}`
  return ts.isPropertyAccessExpression(node.expression) ? `.${node.expression.name.text}` : ""
}

const anchorsOf = (tn: GTree, to: GTree, dn: Dsl, dold: Dsl): Array<readonly [GNode, GNode]> => {
  const group = (dsl: Dsl, tree: GTree) => {
    const g = new Map<string, Array<GNode>>()
    for (const c of dsl.ordered) {
      if (c.kind === "checkpointing" || c.name === undefined) continue
      const key = `${c.kind}:${c.name}`
      const node = tree.byNode.get(c.node)
      if (node === undefined) continue
      g.set(key, [...(g.get(key) ?? []), node])
    }
    return g
  }
  const gn = group(dn, tn)
  const go = group(dold, to)
  const out: Array<readonly [GNode, GNode]> = []
  for (const [key, ns] of gn) {
    const os = go.get(key)
    if (os !== undefined && os.length === ns.length) ns.forEach((n, i) => out.push([n, os[i]!]))
  }
  return out
}

interface Aligned {
  readonly pn: Parsed
  readonly po: Parsed
  readonly dn: Dsl
  readonly dold: Dsl
  readonly tn: GTree
  readonly to: GTree
  readonly m: Mapping
}

const align = (newer: string, older: string, options: PropagateOptions): Aligned => {
  const pn = parse(newer, options.newerName ?? "newer.ts")
  const po = parse(older, options.olderName ?? "older.ts")
  const dn = recognize(pn, options)
  const dold = recognize(po, options)
  const interner = new Map<string, number>()
  const tn = buildTree(pn.sf, interner)
  const to = buildTree(po.sf, interner)
  const kn = keyer(dn)
  const ko = keyer(dold)
  const m = match(tn, to, {
    anchors: anchorsOf(tn, to, dn, dold),
    compatible: (a, b) => kn(a.node) === ko(b.node)
  })
  return { pn, po, dn, dold, tn, to, m }
}

const counterpart = (a: Aligned, node: ts.Node): ts.Node | undefined => {
  const g = a.tn.byNode.get(node)
  return g === undefined ? undefined : a.m.dst(g)?.node
}

/**
 * The older declaration name matched to a newer one. An import specifier's
 * imported name counts for its local name (`log` ↔ `log as record`).
 */
const declarationPartner = (a: Aligned, decl: ts.Identifier): ts.Identifier | undefined => {
  const partner = counterpart(a, decl)
  if (partner === undefined || !ts.isIdentifier(partner)) return undefined
  if (isDeclarationName(partner)) return partner
  const p = partner.parent
  if (ts.isImportSpecifier(p) && p.propertyName === partner) return p.name
  return undefined
}

/** Identifiers declared inside `root`. */
const declaredNames = (root: ts.Node): Set<string> => {
  const out = new Set<string>()
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && isDeclarationName(n)) out.add(n.text)
    ts.forEachChild(n, visit)
  }
  visit(root)
  return out
}

interface RenamePlan {
  readonly edits: Array<Edit>
  readonly renames: Record<string, string>
  readonly unresolved: Set<string>
  /** Names the inserted code expects to resolve in the result. */
  readonly expected: Set<string>
}

/** Renames of the identifiers in `[start, end)` of newer (outside `skip` ranges). */
const planRenames = (a: Aligned, root: ts.Node, skip: ts.Node | undefined): RenamePlan => {
  const edits: Array<Edit> = []
  const renames: Record<string, string> = {}
  const unresolved = new Set<string>()
  const expected = new Set<string>()
  const local = declaredNames(root)
  const visit = (n: ts.Node): void => {
    if (skip !== undefined && n === skip) return
    if (ts.isIdentifier(n) && isReference(n)) {
      const decl = declarationOf(a.pn.checker, n)
      if (decl !== undefined && !contains(root, decl)) {
        const partner = declarationPartner(a, decl)
        if (partner !== undefined) {
          expected.add(partner.text)
          if (partner.text !== n.text) {
            if (local.has(partner.text)) {
              throw analysisError(
                "Unsupported",
                a.pn.fileName,
                startLine(n),
                `renaming '${n.text}' to the older name '${partner.text}' would be captured by a declaration of '${partner.text}' inside the propagated code`
              )
            }
            renames[n.text] = partner.text
            const shorthand = ts.isShorthandPropertyAssignment(n.parent) && n.parent.name === n
            edits.push({ start: n.getStart(), end: n.getEnd(), text: shorthand ? `${n.text}: ${partner.text}` : partner.text })
          }
        } else {
          unresolved.add(n.text)
        }
      }
    }
    ts.forEachChild(n, visit)
  }
  visit(root)
  return { edits, renames, unresolved, expected }
}

/** Positions in `[start, end)` of `sf` that are inside template literals (multi-line strings must not be re-indented). */
const templateRanges = (root: ts.Node): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  const visit = (n: ts.Node): void => {
    if (ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n)) out.push([n.getStart(), n.getEnd()])
    ts.forEachChild(n, visit)
  }
  visit(root)
  return out
}

/**
 * The text of `[start, end)` of `text` with `edits` applied; lines starting
 * after the first get their `fromIndent` prefix replaced by `toIndent`, except
 * inside `verbatim` edits and template literals.
 */
const render = (
  text: string,
  start: number,
  end: number,
  edits: ReadonlyArray<Edit & { readonly verbatim?: boolean }>,
  fromIndent: string,
  toIndent: string,
  templates: ReadonlyArray<readonly [number, number]>
): string => {
  const sorted = [...edits].sort((x, y) => x.start - y.start)
  let out = ""
  let pos = start
  const reindent = (seg: string, segStart: number) =>
    seg.replace(/\n([ \t]*)/g, (whole, ws: string, offset: number) => {
      const at = segStart + offset + 1
      if (templates.some(([s, e]) => s < at && at < e)) return whole
      return ws.startsWith(fromIndent) ? `\n${toIndent}${ws.slice(fromIndent.length)}` : whole
    })
  for (const e of sorted) {
    out += reindent(text.slice(pos, e.start), pos)
    out += e.text
    pos = e.end
  }
  out += reindent(text.slice(pos, end), pos)
  return out
}

const SEMI_KINDS = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.ExpressionStatement,
  ts.SyntaxKind.VariableStatement,
  ts.SyntaxKind.ReturnStatement,
  ts.SyntaxKind.ThrowStatement
])

/** Whether the older code ends its statements with `;` (majority in the block, else in the file); undefined: no evidence. */
const usesSemicolons = (block: ts.Node, sf: ts.SourceFile): boolean | undefined => {
  const count = (stmts: ReadonlyArray<ts.Statement>) => {
    let yes = 0
    let no = 0
    for (const s of stmts) {
      if (!SEMI_KINDS.has(s.kind)) continue
      if (s.getText().endsWith(";")) yes++
      else no++
    }
    return { yes, no }
  }
  const local = count(statementsOf(block) ?? [])
  if (local.yes + local.no > 0) return local.yes > local.no
  const all: Array<ts.Statement> = []
  const visit = (n: ts.Node): void => {
    const st = statementsOf(n)
    if (st !== undefined) all.push(...st)
    ts.forEachChild(n, visit)
  }
  visit(sf)
  const global = count(all)
  return global.yes + global.no > 0 ? global.yes > global.no : undefined
}

const restOfLineIsTrivia = (text: string, pos: number): { readonly trivia: boolean; readonly eol: number } => {
  const nl = text.indexOf("\n", pos)
  const eol = nl < 0 ? text.length : nl
  const rest = text.slice(pos, eol).trim()
  const trivia = rest === "" || rest.startsWith("//") || (/^\/\*.*\*\/$/.test(rest) && !rest.slice(2, -2).includes("*/"))
  return { trivia, eol }
}

interface Placement {
  readonly edit: Edit
  /** Offset of the inserted code within `edit.text`. */
  readonly codeOffset: number
}

/** Inserts `code` (already indented on its first line by `indent`) after node `after` of `text`. */
const placeAfter = (text: string, after: ts.Node, indent: string, code: string): Placement => {
  const end = after.getEnd()
  const { trivia, eol } = restOfLineIsTrivia(text, end)
  if (trivia) {
    if (eol >= text.length) return { edit: { start: text.length, end: text.length, text: `\n${indent}${code}` }, codeOffset: 1 + indent.length }
    return { edit: { start: eol + 1, end: eol + 1, text: `${indent}${code}\n` }, codeOffset: indent.length }
  }
  const back = indentAt(text, after.getStart())
  return { edit: { start: end, end, text: `\n${indent}${code}\n${back}` }, codeOffset: 1 + indent.length }
}

/** Inserts `code` first in `block` of `text`. */
const placeFirst = (text: string, block: ts.Node, indent: string, code: string): Placement => {
  if (ts.isSourceFile(block)) {
    const first = block.statements[0]
    const at = first === undefined ? 0 : lineStartAt(text, first.getStart())
    return { edit: { start: at, end: at, text: `${indent}${code}\n` }, codeOffset: indent.length }
  }
  const brace = block.getStart() + 1
  const { trivia, eol } = restOfLineIsTrivia(text, brace)
  if (trivia && eol < text.length) return { edit: { start: eol + 1, end: eol + 1, text: `${indent}${code}\n` }, codeOffset: indent.length }
  const back = indentAt(text, block.getStart())
  return { edit: { start: brace, end: brace, text: `\n${indent}${code}\n${back}` }, codeOffset: 1 + indent.length }
}

const applyEdits = (text: string, edits: ReadonlyArray<Edit>): string => {
  let out = text
  for (const e of [...edits].sort((x, y) => y.start - x.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end)
  return out
}

/** Position of `pos` of the original text after `edits` (edits at `pos` itself count as before it when `after`). */
const shift = (pos: number, edits: ReadonlyArray<Edit>, except: Edit): number => {
  let p = pos
  for (const e of edits) if (e !== except && e.end <= pos) p += e.text.length - (e.end - e.start)
  return p
}

// ---------------------------------------------------------------------------------------------
// column declarations

const unwrapExpr = (e: ts.Expression): ts.Expression => {
  let x = e
  while (ts.isParenthesizedExpression(x) || ts.isAsExpression(x) || ts.isSatisfiesExpression(x)) x = x.expression
  return x
}

const propName = (p: ts.ObjectLiteralElementLike): string | undefined =>
  p.name !== undefined && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : undefined

/** The `columns` object literal of a `Flor.make({ columns: { … } })` call. */
const columnsObject = (make: ts.CallExpression): ts.ObjectLiteralExpression | undefined => {
  const arg = make.arguments[0]
  if (arg === undefined) return undefined
  const obj = unwrapExpr(arg)
  if (!ts.isObjectLiteralExpression(obj)) return undefined
  for (const p of obj.properties) {
    if (ts.isPropertyAssignment(p) && propName(p) === "columns") {
      const init = unwrapExpr(p.initializer)
      return ts.isObjectLiteralExpression(init) ? init : undefined
    }
  }
  return undefined
}

/** The `make` call a typed receiver is bound to. */
const makeOf = (p: Parsed, dsl: Dsl, receiver: ts.Identifier): ts.CallExpression | undefined => {
  const s = p.checker.getSymbolAtLocation(receiver)
  return s === undefined ? undefined : dsl.objects.get(s)
}

/**
 * Edits adding to older's `columns` the declarations of the typed columns logged
 * by `logs` (newer calls) that it lacks. `olderMake` finds the older object.
 */
const declarationEdits = (
  pn: Parsed,
  dn: Dsl,
  po: Parsed,
  logs: ReadonlyArray<FlorCall>,
  olderMake: (receiverDecl: ts.Identifier | undefined, receiverName: string) => ts.CallExpression | undefined
): { readonly edits: Array<Edit>; readonly declared: Array<string> } => {
  const byObject = new Map<ts.ObjectLiteralExpression, Array<string>>()
  for (const call of logs) {
    if (call.receiver === undefined || call.name === undefined) continue
    const make = makeOf(pn, dn, call.receiver)
    const newCols = make === undefined ? undefined : columnsObject(make)
    const newProp = newCols?.properties.find((p) => propName(p) === call.name)
    if (newProp === undefined) continue
    const oldMake = olderMake(declarationOf(pn.checker, call.receiver), call.receiver.text)
    const oldCols = oldMake === undefined ? undefined : columnsObject(oldMake)
    if (oldCols === undefined || oldCols.properties.some((p) => propName(p) === call.name)) continue
    const list = byObject.get(oldCols) ?? []
    if (!list.some((t) => t.startsWith(`${call.name}\u0000`))) list.push(`${call.name}\u0000${newProp.getText()}`)
    byObject.set(oldCols, list)
  }
  const edits: Array<Edit> = []
  const declared: Array<string> = []
  const text = po.text
  for (const [obj, entries] of byObject) {
    const props = entries.map((e) => e.split("\u0000")[1]!)
    declared.push(...entries.map((e) => e.split("\u0000")[0]!))
    const last = obj.properties[obj.properties.length - 1]
    if (last === undefined) {
      edits.push({ start: obj.getStart(), end: obj.getEnd(), text: `{ ${props.join(", ")} }` })
      continue
    }
    const trailingComma = obj.properties.hasTrailingComma
    const commaEnd = trailingComma ? text.indexOf(",", last.getEnd()) + 1 : last.getEnd()
    const multiline = lineOf(po.sf, obj.getStart()) !== lineOf(po.sf, obj.getEnd())
    if (multiline) {
      const indent = indentAt(text, last.getStart())
      const body = props.map((p) => `\n${indent}${p}`).join(",")
      edits.push(
        trailingComma
          ? { start: commaEnd, end: commaEnd, text: `${body},` }
          : { start: last.getEnd(), end: last.getEnd(), text: `,${body}` }
      )
    } else {
      edits.push(
        trailingComma
          ? { start: commaEnd, end: commaEnd, text: ` ${props.join(", ")},` }
          : { start: last.getEnd(), end: last.getEnd(), text: `, ${props.join(", ")}` }
      )
    }
  }
  return { edits, declared }
}

const olderMakeResolver = (po: Parsed, dold: Dsl, a: Aligned | undefined) =>
(receiverDecl: ts.Identifier | undefined, receiverName: string): ts.CallExpression | undefined => {
  if (a !== undefined && receiverDecl !== undefined) {
    const partner = counterpart(a, receiverDecl)
    if (partner !== undefined && ts.isIdentifier(partner)) {
      const s = po.checker.getSymbolAtLocation(partner)
      const make = s === undefined ? undefined : dold.objects.get(s)
      if (make !== undefined) return make
    }
  }
  const entries = [...dold.objects.entries()]
  const same = entries.find(([s]) => s.name === receiverName)
  if (same !== undefined) return same[1]
  return entries.length === 1 ? entries[0]![1] : undefined
}

// ---------------------------------------------------------------------------------------------
// propagate

/** Names of the inserted code that do not resolve in the result. */
const outOfScope = (result: string, fileName: string, start: number, end: number, expected: ReadonlySet<string>): Array<string> => {
  const p = parse(result, fileName)
  const missing = new Set<string>()
  const visit = (n: ts.Node): void => {
    if (n.getEnd() <= start || n.getStart() >= end) return
    if (ts.isIdentifier(n) && isReference(n) && expected.has(n.text) && n.getStart() >= start && n.getEnd() <= end) {
      if (declarationOf(p.checker, n) === undefined) missing.add(n.text)
    }
    ts.forEachChild(n, visit)
  }
  visit(p.sf)
  return [...missing]
}

const propagateStatement = (a: Aligned, unit: Extract<Unit, { form: "statement" }>, options: PropagateOptions, line: number): Propagation => {
  const { pn, po } = a
  const stmt = unit.node
  const partnerOfStmt = counterpart(a, stmt)
  const gS = a.tn.byNode.get(stmt)
  if (partnerOfStmt !== undefined && gS !== undefined && a.m.dst(gS)?.hash === gS.hash) return unchanged(a, partnerOfStmt, "statement")
  const parent = stmt.parent
  const siblings = statementsOf(parent) ?? []
  const index = siblings.indexOf(stmt)
  const oldParent = counterpart(a, parent)
  const oldParentOk = oldParent !== undefined && statementsOf(oldParent) !== undefined ? oldParent : undefined
  let anchor: ts.Node | undefined
  for (let k = index - 1; k >= 0 && anchor === undefined; k--) {
    const partner = counterpart(a, siblings[k]!)
    if (partner === undefined || !isListedStatement(partner)) continue
    if (oldParentOk !== undefined && partner.parent !== oldParentOk) continue
    anchor = partner
  }
  if (anchor === undefined && oldParentOk === undefined) {
    throw analysisError(
      "Unmapped",
      pn.fileName,
      line,
      `cannot place the statement of line ${line}: its block (line ${startLine(parent)}) has no counterpart in ${po.fileName}, ` +
        `and neither do the statements before it there (was that code added or rewritten since?)`
    )
  }
  const older = po.text
  const olderBlock = anchor?.parent ?? oldParentOk!
  // indentation
  let indent: string
  if (anchor !== undefined) indent = indentAt(older, anchor.getStart())
  else {
    const first = (statementsOf(olderBlock) ?? [])[0]
    if (first !== undefined && lineOf(po.sf, first.getStart()) !== lineOf(po.sf, olderBlock.getStart())) {
      indent = indentAt(older, first.getStart())
    } else {
      const blockIndent = ts.isSourceFile(parent) ? "" : indentAt(pn.text, parent.getStart())
      const own = indentAt(pn.text, stmt.getStart())
      const unitIndent = own.startsWith(blockIndent) ? own.slice(blockIndent.length) : "  "
      indent = (ts.isSourceFile(olderBlock) ? "" : indentAt(older, olderBlock.getStart())) + unitIndent
    }
  }
  // text, renamed and re-indented
  const plan = planRenames(a, stmt, undefined)
  let code = render(pn.text, stmt.getStart(), stmt.getEnd(), plan.edits, indentAt(pn.text, stmt.getStart()), indent, templateRanges(stmt))
  if (SEMI_KINDS.has(stmt.kind)) {
    const semi = usesSemicolons(olderBlock, po.sf)
    if (semi === true && !code.endsWith(";")) code += ";"
    if (semi === false && code.endsWith(";")) code = code.slice(0, -1)
    if (semi === false && /^[([`+\-/]/.test(code)) code = `;${code}`
  }
  const same = (statementsOf(olderBlock) ?? []).find((s) => normalized(s.getText()) === normalized(code))
  if (same !== undefined) return unchanged(a, same, "statement")
  const placement = anchor !== undefined ? placeAfter(older, anchor, indent, code) : placeFirst(older, olderBlock, indent, code)
  return finish(a, unit.logs, placement, code, plan, options, "statement")
}

/** Code compared for "already present": no whitespace, no trailing semicolons. */
const normalized = (code: string): string => code.replace(/\s+/g, "").replace(/;+$/, "").replace(/^;+/, "")

/** The older version already holds the code, at `at`. */
const unchanged = (a: Aligned, at: ts.Node, form: Propagation["form"]): Propagation => ({
  source: a.po.text,
  insertedAt: startLine(at),
  insertedTo: endLine(at),
  renames: {},
  form,
  declared: [],
  unresolved: [],
  alreadyPresent: true
})

const finish = (
  a: Aligned,
  logs: ReadonlyArray<FlorCall>,
  placement: Placement,
  code: string,
  plan: RenamePlan,
  options: PropagateOptions,
  form: Propagation["form"]
): Propagation => {
  const decl = options.declareColumns === false
    ? { edits: [], declared: [] }
    : declarationEdits(a.pn, a.dn, a.po, logs, olderMakeResolver(a.po, a.dold, a))
  const crlf = a.po.text.includes("\r\n")
  const nl = (t: string) => (crlf ? t.replace(/\r?\n/g, "\r\n") : t)
  const main: Edit = { ...placement.edit, text: nl(placement.edit.text) }
  const codeOffset = nl(placement.edit.text.slice(0, placement.codeOffset)).length
  const edits = [...decl.edits.map((e) => ({ ...e, text: nl(e.text) })), main]
  const source = applyEdits(a.po.text, edits)
  const codeStart = shift(main.start, edits, main) + codeOffset
  const unresolved = new Set(plan.unresolved)
  for (const n of outOfScope(source, a.po.fileName, codeStart, codeStart + nl(code).length, plan.expected)) unresolved.add(n)
  const lines = ts.createSourceFile("x.ts", source, ts.ScriptTarget.ES2022, false)
  return {
    source,
    insertedAt: lineOf(lines, codeStart),
    insertedTo: lineOf(lines, codeStart + nl(code).length),
    renames: plan.renames,
    form,
    declared: decl.declared,
    unresolved: [...unresolved],
    alreadyPresent: false
  }
}

const propagateExpression = (a: Aligned, unit: Extract<Unit, { form: "expression" }>, options: PropagateOptions): Propagation => {
  const { pn, po } = a
  const { outer, inner, target } = unit
  const plan = planRenames(a, outer, inner)
  const edits: Array<Edit & { verbatim?: boolean }> = [
    ...plan.edits,
    { start: inner.getStart(), end: inner.getEnd(), text: target.getText(), verbatim: true }
  ]
  const fromIndent = indentAt(pn.text, outer.getStart())
  const toIndent = indentAt(po.text, target.getStart())
  const code = render(pn.text, outer.getStart(), outer.getEnd(), edits, fromIndent, toIndent, templateRanges(outer))
  if (normalized(code) === normalized(target.getText())) return unchanged(a, target, "expression")
  const placement: Placement = { edit: { start: target.getStart(), end: target.getEnd(), text: code }, codeOffset: 0 }
  return finish(a, unit.logs, placement, code, plan, options, "expression")
}

const propagateArgument = (a: Aligned, unit: Extract<Unit, { form: "argument" }>, options: PropagateOptions): Propagation => {
  const { pn, po } = a
  const older = po.text
  const args = unit.call.arguments
  const index = args.indexOf(unit.arg)
  let prev: ts.Node | undefined
  for (let k = index - 1; k >= 0 && prev === undefined; k--) {
    const partner = counterpart(a, args[k]!)
    if (partner !== undefined && partner.parent === unit.older) prev = partner
  }
  const oldArgs = unit.older.arguments
  const anchorNode = prev ?? oldArgs[0]
  const multiline = anchorNode !== undefined && oldArgs.length > 0 &&
    lineOf(po.sf, oldArgs[0]!.getStart()) !== lineOf(po.sf, unit.older.getStart())
  const indent = anchorNode === undefined ? "" : indentAt(older, anchorNode.getStart())
  const plan = planRenames(a, unit.arg, undefined)
  const code = render(pn.text, unit.arg.getStart(), unit.arg.getEnd(), plan.edits, indentAt(pn.text, unit.arg.getStart()), indent, templateRanges(unit.arg))
  const same = oldArgs.find((x) => normalized(x.getText()) === normalized(code))
  if (same !== undefined) return unchanged(a, same, "argument")
  let placement: Placement
  if (prev !== undefined) {
    const last = prev === oldArgs[oldArgs.length - 1]
    if (last && oldArgs.hasTrailingComma) {
      const comma = older.indexOf(",", prev.getEnd()) + 1
      placement = multiline
        ? { edit: { start: comma, end: comma, text: `\n${indent}${code},` }, codeOffset: 1 + indent.length }
        : { edit: { start: comma, end: comma, text: ` ${code},` }, codeOffset: 1 }
    } else {
      placement = multiline
        ? { edit: { start: prev.getEnd(), end: prev.getEnd(), text: `,\n${indent}${code}` }, codeOffset: 2 + indent.length }
        : { edit: { start: prev.getEnd(), end: prev.getEnd(), text: `, ${code}` }, codeOffset: 2 }
    }
  } else if (anchorNode !== undefined) {
    const at = anchorNode.getStart()
    placement = multiline
      ? { edit: { start: at, end: at, text: `${code},\n${indent}` }, codeOffset: 0 }
      : { edit: { start: at, end: at, text: `${code}, ` }, codeOffset: 0 }
  } else {
    const open = older.indexOf("(", unit.older.expression.getEnd()) + 1
    placement = { edit: { start: open, end: open, text: code }, codeOffset: 0 }
  }
  return finish(a, unit.logs, placement, code, plan, options, "argument")
}

/**
 * Propagates the statement holding the `log` call at `line` (1-based) of
 * `newer` into `older` (see the module doc for the unit, placement, renames).
 */
export const propagate = (
  newer: string,
  line: number,
  older: string,
  options: PropagateOptions = {}
): Either.Either<Propagation, AnalysisError> =>
  catching(() => {
    const a = align(newer, older, options)
    const at = locate(a.pn, a.dn, line)
    const present = presentAlready(a, at)
    if (present !== undefined) return present
    const unit = unitOf(a, at, line)
    switch (unit.form) {
      case "statement":
        return propagateStatement(a, unit, options, line)
      case "expression":
        return propagateExpression(a, unit, options)
      case "argument":
        return propagateArgument(a, unit, options)
    }
  })

// ---------------------------------------------------------------------------------------------
// baseline

/** Older line (0-based) matched to each newer line (0-based) by a longest common subsequence of lines, or -1. */
export const lcsLines = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): Int32Array => {
  const n = a.length
  const m = b.length
  const w = m + 1
  const dp = new Int32Array((n + 1) * w)
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i * w + j] = a[i] === b[j] ? dp[(i + 1) * w + j + 1]! + 1 : Math.max(dp[(i + 1) * w + j]!, dp[i * w + j + 1]!)
    }
  }
  const out = new Int32Array(n).fill(-1)
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out[i] = j
      i++
      j++
    } else if (dp[(i + 1) * w + j]! >= dp[i * w + j + 1]!) i++
    else j++
  }
  return out
}

/**
 * The baseline: a plain line diff. The statement's lines of `newer` (found as
 * in `propagate`) are inserted verbatim after the older line that the LCS of
 * lines matches to the line just before them; fails when that line is unmatched.
 * No renames, no re-indentation; column declarations as in `propagate`.
 */
export const lineDiffPropagate = (
  newer: string,
  line: number,
  older: string,
  options: PropagateOptions = {}
): Either.Either<Propagation, AnalysisError> =>
  catching(() => {
    const pn = parse(newer, options.newerName ?? "newer.ts")
    const po = parse(older, options.olderName ?? "older.ts")
    const dn = recognize(pn, options)
    const dold = recognize(po, options)
    const at = locate(pn, dn, line)
    const whole = at.arrows.length === 0
    const from = whole ? startLine(at.statement) : line
    const to = whole ? endLine(at.statement) : line
    const newLines = newer.split("\n")
    const oldLines = older.split("\n")
    const mapped = lcsLines(newLines, oldLines)
    const prev = from - 2
    const target = prev >= 0 ? mapped[prev]! : -1
    if (target < 0) {
      throw analysisError(
        "Unmapped",
        pn.fileName,
        line,
        `line diff: the line before the statement (${prev + 1}) has no counterpart in ${po.fileName}`
      )
    }
    const code = newLines.slice(from - 1, to).join("\n")
    // insert after older line `target` (0-based)
    let pos = 0
    for (let k = 0; k <= target; k++) pos += oldLines[k]!.length + 1
    const atEnd = pos > older.length
    const edit: Edit = atEnd ? { start: older.length, end: older.length, text: `\n${code}` } : { start: pos, end: pos, text: `${code}\n` }
    const decl = options.declareColumns === false
      ? { edits: [], declared: [] }
      : declarationEdits(pn, dn, po, at.logs, olderMakeResolver(po, dold, undefined))
    const edits = [...decl.edits, edit]
    const source = applyEdits(older, edits)
    const codeStart = shift(edit.start, edits, edit) + (atEnd ? 1 : 0)
    const lines = ts.createSourceFile("x.ts", source, ts.ScriptTarget.ES2022, false)
    return {
      source,
      insertedAt: lineOf(lines, codeStart),
      insertedTo: lineOf(lines, codeStart + code.length),
      renames: {},
      form: whole ? "statement" : "expression",
      declared: decl.declared,
      unresolved: [],
      alreadyPresent: false
    }
  })
