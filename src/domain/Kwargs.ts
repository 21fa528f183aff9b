/**
 * `--kwargs name=value ...`: the hyper-parameters given on a script's command line.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { KwargsError } from "./Errors.js"

/** The flag that starts the key-value pairs; everything after it is a pair. */
export const KWARGS_FLAG = "--kwargs"

/**
 * Splits argv at `--kwargs` and parses the pairs after it. The first `=` separates
 * name and value, so values may contain `=`.
 */
export const parseKwargs = (
  argv: ReadonlyArray<string>
): Either.Either<ReadonlyMap<string, string>, KwargsError> => {
  const at = argv.indexOf(KWARGS_FLAG)
  const pairs = new Map<string, string>()
  if (at < 0) return Either.right(pairs)
  for (const word of argv.slice(at + 1)) {
    const eq = word.indexOf("=")
    const name = eq > 0 ? word.slice(0, eq) : ""
    if (eq <= 0 || !/^[A-Za-z_][\w.-]*$/.test(name)) {
      return Either.left(new KwargsError({ reason: "Malformed", arg: name, value: word, expected: "name=value" }))
    }
    if (pairs.has(name)) {
      return Either.left(new KwargsError({ reason: "Duplicate", arg: name, value: word, expected: "one value" }))
    }
    pairs.set(name, word.slice(eq + 1))
  }
  return Either.right(pairs)
}

/** The script's own argv: everything before `--kwargs`. */
export const scriptArgv = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const at = argv.indexOf(KWARGS_FLAG)
  return at < 0 ? argv : argv.slice(0, at)
}
