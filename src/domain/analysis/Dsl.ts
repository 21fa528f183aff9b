/**
 * Recognizes the flordb DSL's calls in one parsed file: `log`, `loop`,
 * `iteration` and `checkpointing`, in their typed (`flor.log(...)` on a
 * `Flor.make(...)` object) and untyped (`log(...)` imported from "flordb",
 * possibly renamed, or `F.log(...)` on a namespace import) forms.
 *
 * Names resolve through the checker, so a local variable that shadows an
 * imported `log` is not mistaken for it, and `console.log("x", 1)` is never a
 * flordb call.
 *
 * @since 0.1.0
 */
import ts from "./Typescript.cjs"
import { literalText, type Parsed, startLine } from "./Ast.js"

/** The DSL calls the analysis cares about. */
export type FlorCallKind = "log" | "loop" | "iteration" | "checkpointing"

/** One recognized DSL call. */
export interface FlorCall {
  readonly kind: FlorCallKind
  readonly node: ts.CallExpression
  /** The name literal (column, or loop dimension); undefined when not a string literal (or for `checkpointing`). */
  readonly name: string | undefined
  /** The argument holding the name. */
  readonly nameNode: ts.Expression | undefined
  /** The argument that runs inside the call's scope: a loop's body, an iteration's body, checkpointing's program. */
  readonly body: ts.Expression | undefined
  /** For typed calls, the receiver identifier (`flor` in `flor.log`). */
  readonly receiver: ts.Identifier | undefined
}

/** A `x.log("name", …)` call on a receiver that is not known to be a flordb object. */
export interface UnrecognizedLog {
  readonly receiver: string
  readonly column: string
  readonly line: number
}

/** A name imported from a relative module (a helper that may live in another file). */
export interface RelativeImport {
  readonly name: string
  readonly module: string
}

/** What `recognize` finds in a file. */
export interface Dsl {
  readonly calls: ReadonlyMap<ts.CallExpression, FlorCall>
  /** Every recognized call, in source order. */
  readonly ordered: ReadonlyArray<FlorCall>
  /** Declarations bound to `Flor.make(...)`: the object's name identifier → the `make` call. */
  readonly objects: ReadonlyMap<ts.Symbol, ts.CallExpression>
  readonly unrecognized: ReadonlyArray<UnrecognizedLog>
  readonly relativeImports: ReadonlyMap<ts.Symbol, RelativeImport>
}

/** Options of recognition. */
export interface DslOptions {
  /**
   * Names of typed flordb objects made in another file and imported here
   * (e.g. `import { flor } from "./schema.js"`): `flor.log(...)` is then a
   * DSL call. Objects bound to `Flor.make(...)` in the same file need no option.
   */
  readonly florObjects?: ReadonlyArray<string>
  /** Extra module specifiers that export the flordb DSL (besides "flordb"). */
  readonly modules?: ReadonlyArray<string>
}

const KINDS: ReadonlyArray<FlorCallKind> = ["log", "loop", "iteration", "checkpointing"]
const isKind = (s: string): s is FlorCallKind => (KINDS as ReadonlyArray<string>).includes(s)

const isFlordbModule = (spec: string, extra: ReadonlyArray<string>): boolean =>
  spec === "flordb" || spec.startsWith("flordb/") || extra.includes(spec) ||
  /(^|\/)src\/index(\.[cm]?[jt]s)?$/.test(spec) || /(^|\/)dsl\/(Flor|Untyped)(\.[cm]?[jt]s)?$/.test(spec)

const unwrap = (e: ts.Expression): ts.Expression => {
  let x = e
  while (ts.isParenthesizedExpression(x) || ts.isAsExpression(x) || ts.isNonNullExpression(x) || ts.isSatisfiesExpression(x)) {
    x = x.expression
  }
  return x
}

const bodyIndex: Record<FlorCallKind, number> = { log: -1, loop: 2, iteration: 3, checkpointing: 1 }

/** Finds the flordb DSL calls of a parsed file. */
export const recognize = (parsed: Parsed, options: DslOptions = {}): Dsl => {
  const { checker, sf } = parsed
  const extraModules = options.modules ?? []
  const optionObjects = new Set(options.florObjects ?? [])
  const symbolOf = (id: ts.Identifier) => checker.getSymbolAtLocation(id)

  const untyped = new Map<ts.Symbol, FlorCallKind>()
  const florNamespaces = new Set<ts.Symbol>() // `Flor` (namespace of make/checkpointing) and `import * as F`
  const packageNamespaces = new Set<ts.Symbol>() // `import * as F from "flordb"`: F.log, F.Flor.make
  const makeFns = new Set<ts.Symbol>()
  const relativeImports = new Map<ts.Symbol, RelativeImport>()

  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || st.importClause === undefined || !ts.isStringLiteral(st.moduleSpecifier)) continue
    const spec = st.moduleSpecifier.text
    const clause = st.importClause
    if (isFlordbModule(spec, extraModules)) {
      const bindings = clause.namedBindings
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) {
        const s = symbolOf(bindings.name)
        if (s !== undefined) {
          packageNamespaces.add(s)
          florNamespaces.add(s)
        }
      } else if (bindings !== undefined) {
        for (const el of bindings.elements) {
          const imported = (el.propertyName ?? el.name).text
          const s = symbolOf(el.name)
          if (s === undefined) continue
          if (isKind(imported)) untyped.set(s, imported)
          else if (imported === "Flor") florNamespaces.add(s)
          else if (imported === "make") makeFns.add(s)
        }
      }
    } else if (spec.startsWith(".")) {
      const names: Array<ts.Identifier> = []
      if (clause.name !== undefined) names.push(clause.name)
      const bindings = clause.namedBindings
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.push(bindings.name)
      else if (bindings !== undefined) for (const el of bindings.elements) names.push(el.name)
      for (const n of names) {
        const s = symbolOf(n)
        if (s !== undefined) relativeImports.set(s, { name: n.text, module: spec })
      }
    }
  }

  const isMakeCall = (e: ts.Expression): e is ts.CallExpression => {
    const x = unwrap(e)
    if (!ts.isCallExpression(x)) return false
    const callee = unwrap(x.expression)
    if (ts.isIdentifier(callee)) {
      const s = symbolOf(callee)
      return s !== undefined && makeFns.has(s)
    }
    if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== "make") return false
    const ns = unwrap(callee.expression)
    if (ts.isIdentifier(ns)) {
      const s = symbolOf(ns)
      return s !== undefined && florNamespaces.has(s)
    }
    if (ts.isPropertyAccessExpression(ns) && ns.name.text === "Flor" && ts.isIdentifier(ns.expression)) {
      const s = symbolOf(ns.expression)
      return s !== undefined && packageNamespaces.has(s)
    }
    return false
  }

  const objects = new Map<ts.Symbol, ts.CallExpression>()
  const findObjects = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined) {
      const init = unwrap(node.initializer)
      if (isMakeCall(init)) {
        const s = symbolOf(node.name)
        if (s !== undefined) objects.set(s, init)
      }
    }
    ts.forEachChild(node, findObjects)
  }
  findObjects(sf)

  const calls = new Map<ts.CallExpression, FlorCall>()
  const ordered: Array<FlorCall> = []
  const unrecognized: Array<UnrecognizedLog> = []

  const classify = (call: ts.CallExpression): { kind: FlorCallKind; receiver: ts.Identifier | undefined } | undefined => {
    const callee = unwrap(call.expression)
    if (ts.isIdentifier(callee)) {
      const s = symbolOf(callee)
      const kind = s === undefined ? undefined : untyped.get(s)
      return kind === undefined ? undefined : { kind, receiver: undefined }
    }
    if (!ts.isPropertyAccessExpression(callee) || !isKind(callee.name.text)) return undefined
    const kind = callee.name.text
    const recv = unwrap(callee.expression)
    if (ts.isIdentifier(recv)) {
      const s = symbolOf(recv)
      if (s !== undefined && objects.has(s) && kind !== "checkpointing") return { kind, receiver: recv }
      if (s !== undefined && packageNamespaces.has(s)) return { kind, receiver: undefined }
      if (s !== undefined && florNamespaces.has(s) && kind === "checkpointing") return { kind, receiver: undefined }
      if (optionObjects.has(recv.text) && kind !== "checkpointing") return { kind, receiver: recv }
      return undefined
    }
    if (kind === "checkpointing" && ts.isPropertyAccessExpression(recv) && recv.name.text === "Flor" && ts.isIdentifier(recv.expression)) {
      const s = symbolOf(recv.expression)
      return s !== undefined && packageNamespaces.has(s) ? { kind, receiver: undefined } : undefined
    }
    if (isMakeCall(recv) && kind !== "checkpointing") return { kind, receiver: undefined }
    return undefined
  }

  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const c = classify(node)
      if (c !== undefined) {
        const nameNode = c.kind === "checkpointing" ? undefined : node.arguments[0]
        const bodyNode = node.arguments[bodyIndex[c.kind]]
        const call: FlorCall = {
          kind: c.kind,
          node,
          name: literalText(nameNode),
          nameNode,
          body: bodyNode,
          receiver: c.receiver
        }
        calls.set(node, call)
        ordered.push(call)
      } else {
        const callee = unwrap(node.expression)
        const column = literalText(node.arguments[0])
        if (
          ts.isPropertyAccessExpression(callee) && callee.name.text === "log" && column !== undefined &&
          node.arguments.length === 2
        ) {
          const recv = unwrap(callee.expression)
          const receiver = recv.getText()
          if (receiver !== "console") unrecognized.push({ receiver, column, line: startLine(node) })
        }
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)

  return { calls, ordered, objects, unrecognized, relativeImports }
}
