/**
 * Parsing a single TypeScript file with the compiler's own parser, bound by a
 * type checker over that file alone (no lib, no imports resolved): enough to
 * resolve every local name to its declaration, which is all the analysis needs.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import ts from "./Typescript.cjs"
import { analysisError } from "./Errors.js"

/** A parsed and bound source file. */
export interface Parsed {
  /** The name used in messages. */
  readonly fileName: string
  readonly text: string
  readonly sf: ts.SourceFile
  readonly checker: ts.TypeChecker
}

const scriptKindOf = (fileName: string): ts.ScriptKind => {
  const ext = path.extname(fileName).toLowerCase()
  if (ext === ".tsx") return ts.ScriptKind.TSX
  if (ext === ".js" || ext === ".mjs" || ext === ".cjs") return ts.ScriptKind.JS
  if (ext === ".jsx") return ts.ScriptKind.JSX
  return ts.ScriptKind.TS
}

const programOf = (text: string, fileName: string) => {
  const internal = `/${path.basename(fileName) || "script.ts"}`
  const sf = ts.createSourceFile(internal, text, ts.ScriptTarget.ES2022, true, scriptKindOf(fileName))
  const host: ts.CompilerHost = {
    getSourceFile: (name) => (name === internal ? sf : undefined),
    getDefaultLibFileName: () => "/lib.d.ts",
    writeFile: () => undefined,
    getCurrentDirectory: () => "/",
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
    fileExists: (f) => f === internal,
    readFile: () => undefined
  }
  const program = ts.createProgram({
    rootNames: [internal],
    options: { noLib: true, noResolve: true, types: [], allowJs: true, target: ts.ScriptTarget.ES2022 },
    host
  })
  return { sf, program }
}

/** The syntax errors of `text`, as `line: message` strings (empty when it parses). */
export const syntaxErrors = (text: string, fileName = "script.ts"): ReadonlyArray<string> => {
  const { program, sf } = programOf(text, fileName)
  return program.getSyntacticDiagnostics(sf).map((d) => {
    const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line + 1
    return `${line}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`
  })
}

/** Parses and binds `text`; a syntax error is an `AnalysisError` ("Parse"), thrown. */
export const parse = (text: string, fileName = "script.ts"): Parsed => {
  const { program, sf } = programOf(text, fileName)
  const diagnostics = program.getSyntacticDiagnostics(sf)
  const first = diagnostics[0]
  if (first !== undefined) {
    const line = first.start === undefined ? null : sf.getLineAndCharacterOfPosition(first.start).line + 1
    throw analysisError("Parse", fileName, line, `does not parse: ${ts.flattenDiagnosticMessageText(first.messageText, " ")}`)
  }
  return { fileName, text, sf, checker: program.getTypeChecker() }
}

/** 1-based line of a position. */
export const lineOf = (sf: ts.SourceFile, pos: number): number => sf.getLineAndCharacterOfPosition(pos).line + 1

/** 1-based line where a node starts (its first token, not its leading trivia). */
export const startLine = (node: ts.Node): number => lineOf(node.getSourceFile(), node.getStart())

/** 1-based line where a node ends. */
export const endLine = (node: ts.Node): number => lineOf(node.getSourceFile(), node.getEnd())

/** The text of a string literal or substitution-free template literal, else undefined. */
export const literalText = (node: ts.Node | undefined): string | undefined =>
  node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined

/** Whether `inner` lies within `outer` (inclusive). */
export const contains = (outer: ts.Node, inner: ts.Node): boolean => {
  for (let n: ts.Node | undefined = inner; n !== undefined; n = n.parent) if (n === outer) return true
  return false
}

/** Whether a node is an element of a statement list (block, file, case clause, module block). */
export const isListedStatement = (node: ts.Node): node is ts.Statement => {
  const p = node.parent
  return p !== undefined && ts.isStatement(node) &&
    (ts.isBlock(p) || ts.isSourceFile(p) || ts.isCaseClause(p) || ts.isDefaultClause(p) || ts.isModuleBlock(p))
}

/** The statements of a statement-list node. */
export const statementsOf = (node: ts.Node): ReadonlyArray<ts.Statement> | undefined =>
  ts.isBlock(node) || ts.isSourceFile(node) || ts.isCaseClause(node) || ts.isDefaultClause(node) || ts.isModuleBlock(node)
    ? node.statements
    : undefined

/**
 * Whether an identifier is the name being declared by its parent (variable,
 * parameter, binding element, function, class, import).
 */
export const isDeclarationName = (id: ts.Identifier): boolean => {
  const p = id.parent
  return (
    (ts.isVariableDeclaration(p) && p.name === id) ||
    (ts.isParameter(p) && p.name === id) ||
    (ts.isBindingElement(p) && p.name === id) ||
    (ts.isFunctionDeclaration(p) && p.name === id) ||
    (ts.isFunctionExpression(p) && p.name === id) ||
    (ts.isClassDeclaration(p) && p.name === id) ||
    (ts.isImportSpecifier(p) && p.name === id) ||
    (ts.isImportClause(p) && p.name === id) ||
    (ts.isNamespaceImport(p) && p.name === id) ||
    (ts.isImportEqualsDeclaration(p) && p.name === id)
  )
}

/** The declaration-name identifier a reference resolves to (locals, parameters, imports), if any. */
export const declarationOf = (checker: ts.TypeChecker, id: ts.Identifier): ts.Identifier | undefined => {
  const symbol = ts.isShorthandPropertyAssignment(id.parent) && id.parent.name === id
    ? checker.getShorthandAssignmentValueSymbol(id.parent)
    : checker.getSymbolAtLocation(id)
  for (const d of symbol?.declarations ?? []) {
    const name = (d as { readonly name?: ts.Node }).name
    if (name !== undefined && ts.isIdentifier(name) && isDeclarationName(name)) return name
  }
  return undefined
}

/**
 * Whether an identifier is a name used as a value reference (not a property
 * name after `.`, not an object key, not a declaration name, not a label).
 */
export const isReference = (id: ts.Identifier): boolean => {
  const p = id.parent
  if (isDeclarationName(id)) return false
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false
  if (ts.isQualifiedName(p) && p.right === id) return false
  if (ts.isPropertyAssignment(p) && p.name === id) return false
  if (ts.isMethodDeclaration(p) && p.name === id) return false
  if (ts.isPropertyDeclaration(p) && p.name === id) return false
  if (ts.isPropertySignature(p) && p.name === id) return false
  if (ts.isBindingElement(p) && p.propertyName === id) return false
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) return false
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return false
  if (ts.isJsxAttribute(p)) return false
  return true
}

/** Leading whitespace of the line containing `pos`. */
export const indentAt = (text: string, pos: number): string => {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1
  const m = /^[ \t]*/.exec(text.slice(lineStart))
  return m === null ? "" : m[0]
}

/** Start offset of the line containing `pos`. */
export const lineStartAt = (text: string, pos: number): number => text.lastIndexOf("\n", pos - 1) + 1
