/**
 * Replay workers start without loader hooks: the script's own TypeScript modules are
 * compiled (esbuild, the compiler tsx runs) to plain ES modules next to their sources,
 * one output per module, so `node` runs them directly. Under `tsx` every module a run
 * loads — some 550 of effect, fast-check and flordb — goes through tsx's resolve and
 * load hooks on a second thread, which costs more CPU than the modules themselves.
 *
 * Behaviour is kept: one output per source module (evaluation order and module
 * boundaries unchanged), package imports left to node's resolution exactly as written,
 * `import.meta.url`/`filename`/`dirname` and `process.argv[1]` name the original
 * files. A CommonJS package the script imports statically is required instead (see
 * below). Whatever tsx would treat differently — CommonJS-mode modules, computed
 * `import()` or `require`, TypeScript inside a package, a build error (tsx reports it
 * as before) — falls back to running the script under tsx.
 *
 * @since 0.1.0
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/** The part of esbuild's API used here. */
interface ResolveArgs {
  readonly path: string
  readonly importer: string
  readonly resolveDir: string
  readonly kind: string
  readonly pluginData: unknown
  readonly with: Record<string, string>
}
interface ResolveResult {
  readonly path: string
  readonly external: boolean
  readonly errors: ReadonlyArray<unknown>
}
interface PluginBuild {
  readonly onResolve: (
    options: { readonly filter: RegExp },
    callback: (args: ResolveArgs) => Promise<{ path: string; external?: boolean; namespace?: string } | undefined>
  ) => void
  readonly onLoad: (
    options: { readonly filter: RegExp; readonly namespace: string },
    callback: (args: { readonly path: string }) => { contents: string; loader: "js"; resolveDir: string }
  ) => void
  readonly resolve: (
    path: string,
    options: { kind: string; importer: string; resolveDir: string; pluginData: unknown; with: Record<string, string> }
  ) => Promise<ResolveResult>
}
interface Esbuild {
  readonly build: (options: {
    entryPoints: Array<string>
    bundle: boolean
    write: false
    format: "esm"
    platform: "node"
    target: string
    logLevel: "silent"
    sourcemap: "inline" | false
    define: Record<string, string>
    plugins: Array<{ name: string; setup: (build: PluginBuild) => void }>
  }) => Promise<{ readonly outputFiles: ReadonlyArray<{ readonly text: string }> }>
}

/** esbuild, as tsx (a dependency) has it; undefined when it cannot be loaded. */
const loadEsbuild = (): Esbuild | undefined => {
  try {
    const fromHere = createRequire(import.meta.url)
    const fromTsx = createRequire(fromHere.resolve("tsx/package.json"))
    return fromTsx("esbuild") as Esbuild
  } catch {
    return undefined
  }
}

const TS_SOURCE = /\.(ts|tsx|mts)$/
const COMMONJS_SOURCE = /\.cts$/
/** `import(` or `require(` of something other than a string literal: a module tsx would resolve at run time. */
const COMPUTED_IMPORT = /\bimport\s*\(\s*[^'"\s)]|\brequire\s*\(/
/** Specifiers a module re-exports (`export * from "x"`, `export { a } from "x"`): names only node's import finds. */
const REEXPORT = /\bexport\s*(?:type\s+)?(?:\*(?:\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(["'])([^"']+)\1/g
const SELF = Symbol.for("flordb/precompile")
const CJS_NAMESPACE = "flordb-commonjs"
const REQUIRE_BANNER = `import { createRequire as __florCreateRequire } from "node:module";\n` +
  `const require = __florCreateRequire(import.meta.url);`

/** The `type` of the nearest package.json above `file` (undefined without one, or when unreadable). */
const packageType = (file: string): unknown => {
  for (let dir = path.dirname(file);; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json")
    if (fs.existsSync(pkg)) {
      try {
        return (JSON.parse(fs.readFileSync(pkg, "utf8")) as { type?: unknown }).type
      } catch {
        return undefined
      }
    }
    if (path.dirname(dir) === dir) return undefined
  }
}

/** Whether tsx runs a `.ts`/`.tsx` file as an ES module: `.mts`, or the nearest package.json says `"type": "module"`. */
const isEsm = (file: string): boolean => file.endsWith(".mts") || packageType(file) === "module"

const inNodeModules = (file: string) => file.split(path.sep).includes("node_modules")

const isBare = (specifier: string) => !/^(\.{1,2}(\/|$)|\/|[a-z]+:)/i.test(specifier)

/** Whether node loads `file` as CommonJS: `.cjs`, or `.js` whose nearest package.json is not `"type": "module"`. */
const isCommonJs = (file: string): boolean =>
  file.endsWith(".cjs") || file.endsWith(".js") && packageType(file) !== "module"

/** A relative import specifier from `importer`'s directory to `target`. */
const relativeSpecifier = (importer: string, target: string) => {
  const rel = path.relative(path.dirname(importer), target).split(path.sep).join("/")
  return rel.startsWith("../") ? rel : `./${rel}`
}

/** Compiled modules: the entry to run, every file written, and the flags node needs. */
export interface Compiled {
  readonly entry: string
  readonly files: ReadonlyArray<string>
  readonly execArgv: ReadonlyArray<string>
}

class Unsupported {
  readonly _tag = "Unsupported"
}

const compile = async (esbuild: Esbuild, script: string, debug: boolean): Promise<Compiled | undefined> => {
  const tag = crypto.randomBytes(4).toString("hex")
  const outputOf = (source: string) => path.join(path.dirname(source), `.${path.basename(source)}.flor-${tag}.mjs`)
  const outputs = new Map<string, string>()
  const pending = [script]
  const written: Array<string> = []
  let unsupported = false
  try {
    while (pending.length > 0) {
      const source = pending.pop()!
      if (outputs.has(source)) continue
      if (COMMONJS_SOURCE.test(source) || !TS_SOURCE.test(source) || !isEsm(source)) throw new Unsupported()
      const text = fs.readFileSync(source, "utf8")
      if (COMPUTED_IMPORT.test(text)) throw new Unsupported()
      const reexported = new Set(Array.from(text.matchAll(REEXPORT), (m) => m[2]))
      const output = outputOf(source)
      outputs.set(source, output)
      let required = false
      const built = await esbuild.build({
        entryPoints: [source],
        bundle: true, // with every import external: this module alone, its imports rewritten
        write: false,
        format: "esm",
        platform: "node",
        target: `node${process.versions.node}`,
        logLevel: "silent",
        sourcemap: debug ? "inline" : false,
        define: {
          "import.meta.url": JSON.stringify(pathToFileURL(source).href),
          "import.meta.filename": JSON.stringify(source),
          "import.meta.dirname": JSON.stringify(path.dirname(source))
        },
        plugins: [{
          name: "flordb-precompile",
          setup: (build) => {
            build.onResolve({ filter: /.*/ }, async (args) => {
              if (args.kind === "entry-point" || args.pluginData === SELF) return undefined
              if (args.kind === "require-call") return { path: args.path, external: true }
              const r = await build.resolve(args.path, {
                kind: args.kind,
                importer: args.importer,
                resolveDir: args.resolveDir,
                pluginData: SELF,
                with: args.with
              })
              const target = r.errors.length === 0 && !r.external && path.isAbsolute(r.path) ? r.path : undefined
              if (target !== undefined && (TS_SOURCE.test(target) || COMMONJS_SOURCE.test(target))) {
                if (inNodeModules(target)) unsupported = true // TypeScript shipped in a package: tsx compiles it
                pending.push(target)
                return { path: relativeSpecifier(args.importer, outputOf(target)), external: true }
              }
              // A CommonJS package imported statically is required instead: node's import of it would
              // first scan its source and every module it re-exports for export names (tfjs: ~7 MB,
              // 0.3 s); esbuild's interop gives the same namespace (module.exports as default, plus
              // its properties). The package runs once this module's ES imports have.
              if (
                target !== undefined && args.kind === "import-statement" && isBare(args.path) && !reexported.has(args.path) &&
                isCommonJs(target)
              ) {
                required = true
                return { path: args.path, namespace: CJS_NAMESPACE }
              }
              return { path: args.path, external: true } // JavaScript, JSON, packages: node resolves them as written
            })
            build.onLoad({ filter: /.*/, namespace: CJS_NAMESPACE }, (args) => ({
              contents: `module.exports = require(${JSON.stringify(args.path)})`,
              loader: "js",
              resolveDir: path.dirname(source)
            }))
          }
        }]
      })
      const compiled = built.outputFiles[0]?.text
      if (compiled === undefined || unsupported) throw new Unsupported()
      // esbuild's `__require` shim calls `require` when there is one
      fs.writeFileSync(output, required ? `${REQUIRE_BANNER}\n${compiled}` : compiled)
      written.push(output)
    }
  } catch {
    // Unsupported, or a build error: tsx runs the script and reports it as before
    for (const f of written) fs.rmSync(f, { force: true })
    return undefined
  }
  // `process.argv[1]` names the script, as under tsx, before any of its modules runs
  const argv1 = `data:text/javascript,process.argv[1]=${encodeURIComponent(JSON.stringify(script))}`
  return {
    entry: outputs.get(script)!,
    files: written,
    execArgv: [...(debug ? ["--enable-source-maps"] : []), "--import", argv1]
  }
}

/**
 * The script compiled for plain `node`, removed when the scope closes; none when it has
 * to run under tsx (see the module documentation).
 */
export const precompiled = (script: string, options: { readonly debug: boolean }) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const esbuild = loadEsbuild()
      if (esbuild === undefined) return Option.none<Compiled>()
      return Option.fromNullable(await compile(esbuild, path.resolve(script), options.debug))
    }),
    (compiled) =>
      Effect.sync(() => {
        if (Option.isSome(compiled)) for (const f of compiled.value.files) fs.rmSync(f, { force: true })
      })
  )
