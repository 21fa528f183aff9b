/**
 * Imports a propagated statement needs: identifiers it uses that today's script
 * imports but the older version does not are added to the older version's import
 * from the same module (or as a new import after its last one). The rest of the
 * older file stays byte-identical.
 *
 * @since 0.1.0
 */
import ts from "./Typescript.cjs"

interface Named {
  readonly module: string
  readonly name: string
  readonly local: string
  readonly typeOnly: boolean
}

const importsOf = (sf: ts.SourceFile): Array<{ readonly decl: ts.ImportDeclaration; readonly named: Array<Named> }> =>
  sf.statements.filter(ts.isImportDeclaration).map((decl) => {
    const module = ts.isStringLiteral(decl.moduleSpecifier) ? decl.moduleSpecifier.text : ""
    const bindings = decl.importClause?.namedBindings
    const named: Array<Named> = bindings !== undefined && ts.isNamedImports(bindings)
      ? bindings.elements.map((e) => ({
        module,
        name: (e.propertyName ?? e.name).text,
        local: e.name.text,
        typeOnly: e.isTypeOnly || decl.importClause?.isTypeOnly === true
      }))
      : []
    return { decl, named }
  })

/** Adds to `older` the named imports of `newer` for `names` (used by propagated code) that `older` lacks. */
export const propagateImports = (newer: string, older: string, names: ReadonlyArray<string>): string => {
  const used = new Set(names)
  const newSf = ts.createSourceFile("newer.ts", newer, ts.ScriptTarget.Latest, true)
  const oldSf = ts.createSourceFile("older.ts", older, ts.ScriptTarget.Latest, true)
  const oldImports = importsOf(oldSf)
  const have = new Set(oldImports.flatMap((i) => i.named.map((n) => n.local)))
  const missing = importsOf(newSf).flatMap((i) => i.named).filter((n) => used.has(n.local) && !have.has(n.local))
  if (missing.length === 0) return older
  const edits: Array<{ readonly at: number; readonly text: string }> = []
  const byModule = new Map<string, Array<Named>>()
  for (const n of missing) byModule.set(n.module, [...(byModule.get(n.module) ?? []), n])
  const spec = (n: Named) => `${n.typeOnly ? "type " : ""}${n.name === n.local ? n.name : `${n.name} as ${n.local}`}`
  for (const [module, names] of byModule) {
    const target = oldImports.find((i) => i.named.length > 0 && ts.isStringLiteral(i.decl.moduleSpecifier) &&
      i.decl.moduleSpecifier.text === module)
    const bindings = target?.decl.importClause?.namedBindings
    if (target !== undefined && bindings !== undefined && ts.isNamedImports(bindings)) {
      const last = bindings.elements[bindings.elements.length - 1]!
      edits.push({ at: last.getEnd(), text: names.map((n) => `, ${spec(n)}`).join("") })
    } else {
      const after = oldImports.at(-1)?.decl.getEnd() ?? 0
      edits.push({ at: after, text: `${after > 0 ? "\n" : ""}import { ${names.map(spec).join(", ")} } from ${JSON.stringify(module)}${after > 0 ? "" : "\n"}` })
    }
  }
  let out = older
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at)
  return out
}
