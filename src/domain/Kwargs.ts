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

/** Edit distance between two names: insertions, deletions, substitutions and swaps of neighbours. */
const distance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1)
      }
    }
  }
  return d[a.length]![b.length]!
}

/** The known name closest to `name`, when it is close enough to be a likely typo. */
export const closest = (name: string, known: Iterable<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined
}

/** The `--kwargs` names that no `arg` read, as an error with a "did you mean" hint (undefined when all were read). */
export const unusedKwargs = (
  given: Iterable<string>,
  read: ReadonlySet<string>
): KwargsError | undefined => {
  const unused = [...given].filter((k) => !read.has(k))
  if (unused.length === 0) return undefined
  const hints = unused.flatMap((k) => {
    const near = closest(k, read)
    return near === undefined ? [] : [unused.length === 1 ? near : `${near} for ${k}`]
  })
  return new KwargsError({
    reason: "Unused",
    arg: unused.join(","),
    value: unused.join(", "),
    expected: hints.length > 0 ? ` (did you mean ${hints.join(", ")}?)` : read.size > 0 ? ` (the args read were ${[...read].join(", ")})` : ""
  })
}
