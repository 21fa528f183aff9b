/**
 * Where a program runs: its project, entry script, command line and flordb home.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"

/** The static facts of the running program. */
export class Project extends Context.Tag("flordb/Project")<Project, {
  /** Basename of the repository root. */
  readonly projid: string
  /** Absolute path of the repository root. */
  readonly root: string
  /** Entry script, relative to the root, forward slashes. */
  readonly filename: string
  /** The full command line after the node executable and script. */
  readonly argv: ReadonlyArray<string>
  /** Directory of databases, journals and the object store (`$FLOR_HOME`, default `~/.flor`). */
  readonly home: string
}>() {}
