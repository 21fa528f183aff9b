/**
 * The project of the running program: the git repository of its entry script
 * (or of the working directory for the CLI), and `$FLOR_HOME`.
 *
 * @since 0.1.0
 */
import * as os from "node:os"
import * as path from "node:path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { NotAGitRepository } from "../domain/Errors.js"
import { Project } from "../services/Project.js"

/** The repository root above `dir` (isomorphic-git is loaded on demand: replays never need it). */
const findRoot = (dir: string) =>
  Effect.flatMap(Effect.promise(() => import("./GitVersioning.js")), (git) => git.findRoot(dir))

/** `$FLOR_HOME`, default `~/.flor`. */
export const FlorHome = Config.string("FLOR_HOME").pipe(Config.withDefault(path.join(os.homedir(), ".flor")))

/** Reads the project of `script` (or of `cwd` when there is no script). */
export const make = (options: {
  readonly cwd: string
  readonly script?: string | undefined
  readonly argv: ReadonlyArray<string>
}): Effect.Effect<Project["Type"], NotAGitRepository> =>
  Effect.gen(function*() {
    const home = path.resolve(yield* Effect.orDie(FlorHome))
    const script = options.script === undefined ? undefined : path.resolve(options.cwd, options.script)
    const root = yield* findRoot(script === undefined ? options.cwd : path.dirname(script))
    const filename = script === undefined ? "" : path.relative(root, script).split(path.sep).join("/")
    if (filename.startsWith("..")) return yield* Effect.fail(new NotAGitRepository({ path: script ?? options.cwd }))
    return { projid: path.basename(root), root, filename, argv: options.argv, home }
  })

/** The project of this process's entry script. */
export const layerProcess: Layer.Layer<Project, NotAGitRepository> = Layer.effect(
  Project,
  make({ cwd: process.cwd(), script: process.argv[1], argv: process.argv.slice(2) })
)
