/**
 * The one error of script analysis and statement propagation: what is
 * unsupported or missing, in which file and at which line.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** Why an analysis or a propagation failed. */
export const AnalysisErrorReason = Schema.Literal(
  /** The source does not parse. */
  "Parse",
  /** A `log` / `loop` / `iteration` name that is not a string literal. */
  "NonLiteralName",
  /** No `log` call for the asked column. */
  "UnknownColumn",
  /** The column may be logged by a helper defined in another file (not analyzed). */
  "CrossFileHelper",
  /** The column is only logged inside a helper that this file never uses. */
  "UnreachedHelper",
  /** A helper that (indirectly) uses itself. */
  "RecursiveHelper",
  /** `propagate` / `lineDiffPropagate`: the given line has no `log` call, or several statements. */
  "NoStatement",
  /** `propagate`: no place in the older version corresponds to the statement's place. */
  "Unmapped",
  /** A form that the analysis or the propagation does not handle (the detail says which). */
  "Unsupported"
)
export type AnalysisErrorReason = typeof AnalysisErrorReason.Type

/** Script analysis or statement propagation failed: `file:line: detail`. */
export class AnalysisError extends Schema.TaggedError<AnalysisError>()("AnalysisError", {
  reason: AnalysisErrorReason,
  file: Schema.String,
  /** 1-based line the problem is at, when there is one. */
  line: Schema.NullOr(Schema.Number),
  detail: Schema.String
}) {
  override get message() {
    return `${this.file}${this.line === null ? "" : `:${this.line}`}: ${this.detail}`
  }
}

/** Builds an `AnalysisError` (thrown internally, returned as `Either.left` by the public functions). */
export const analysisError = (
  reason: AnalysisErrorReason,
  file: string,
  line: number | null,
  detail: string
): AnalysisError => new AnalysisError({ reason, file, line, detail })
