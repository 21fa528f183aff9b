/**
 * The typed declaration of a project's columns, args and loop dimensions, and the
 * codecs built once from it.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { ColumnError, KwargsError } from "./Errors.js"
import { BuildColumns, DIMENSIONS } from "./Run.js"

/** Named schemas (no context requirements). */
export type Fields = { readonly [name: string]: Schema.Schema.AnyNoContext }

/** What a project declares: logged columns, args (also columns) and loop dimensions. */
export interface Spec<C extends Fields = Fields, A extends Fields = Fields, L extends Fields = Fields> {
  readonly columns: C
  readonly args: A
  readonly loops: L
}

/** Encodes a value for storage and decodes a stored one; built once per column. */
export interface Codec {
  readonly name: string
  /** The JSON-compatible encoded value, or a description of why it does not encode. */
  readonly encode: (value: unknown) => Either.Either<unknown, string>
  readonly decode: (encoded: unknown) => Either.Either<unknown, string>
  /** A human name of the expected type, for error messages. */
  readonly expected: string
  /** The encoded side is a string (args then read `--kwargs` text as is). */
  readonly encodedIsString: boolean
  /** Encoding is the identity after a `typeof` check (`check`): the hot path skips the parser. */
  readonly identity: boolean
  readonly check: (value: unknown) => boolean
}

const identityKinds = new Set(["NumberKeyword", "StringKeyword", "BooleanKeyword", "UnknownKeyword", "AnyKeyword"])

const formatIssue = (issue: ParseResult.ParseError) =>
  ParseResult.TreeFormatter.formatErrorSync(issue).replace(/\s*\n\s*/g, "; ")

/** Builds the codec of one schema. Primitive schemas skip the parser on the hot path. */
export const makeCodec = (name: string, schema: Schema.Schema.AnyNoContext): Codec => {
  const ast = schema.ast
  const encodedAst = SchemaAST.encodedAST(ast)
  const expected = String(Schema.make(SchemaAST.typeAST(ast)))
  const encodedIsString = encodedAst._tag === "StringKeyword" ||
    (encodedAst._tag === "Refinement" && encodedAst.from._tag === "StringKeyword")
  if (identityKinds.has(ast._tag)) {
    const check = ast._tag === "NumberKeyword"
      ? (v: unknown) => typeof v === "number"
      : ast._tag === "StringKeyword"
      ? (v: unknown) => typeof v === "string"
      : ast._tag === "BooleanKeyword"
      ? (v: unknown) => typeof v === "boolean"
      : () => true
    const pass = (v: unknown) => check(v) ? Either.right(v) : Either.left(`expected ${expected}, got ${preview(v)}`)
    return { name, encode: pass, decode: pass, expected, encodedIsString, identity: true, check }
  }
  const encode = Schema.encodeUnknownEither(schema)
  const decode = Schema.decodeUnknownEither(schema)
  return {
    name,
    expected,
    encodedIsString,
    identity: false,
    check: () => true,
    encode: (v) => Either.mapLeft(encode(v), formatIssue),
    decode: (v) => Either.mapLeft(decode(v), formatIssue)
  }
}

/** A short rendering of a value for messages. */
export const preview = (value: unknown): string => {
  let text: string
  try {
    text = typeof value === "string" ? JSON.stringify(value) : String(JSON.stringify(value) ?? value)
  } catch {
    text = String(value)
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

const RESERVED = new Set<string>([...DIMENSIONS, ...Object.keys(BuildColumns)])

/** Checks a column or loop name: non-empty, printable, and not reserved. */
export const checkName = (name: string, kind: string): Either.Either<string, ColumnError> => {
  if (name.length === 0 || name.length > 256 || /[\u0000-\u001f\u007f]/.test(name)) {
    return Either.left(
      new ColumnError({ reason: "Invalid", column: name, detail: `a ${kind} name is 1 to 256 printable characters` })
    )
  }
  if (RESERVED.has(name)) {
    return Either.left(
      new ColumnError({
        reason: "Reserved",
        column: name,
        detail: DIMENSIONS.includes(name as typeof DIMENSIONS[number])
          ? "a dimension column"
          : "a build-context column"
      })
    )
  }
  return Either.right(name)
}

/** Validates a spec: names are legal, and args, columns and loop dimensions do not collide. */
export const validateSpec = (spec: Spec): Either.Either<Spec, ColumnError> => {
  const seen = new Map<string, string>()
  const add = (name: string, kind: string): ColumnError | undefined => {
    const checked = checkName(name, kind)
    if (Either.isLeft(checked)) return checked.left
    const prior = seen.get(name)
    if (prior !== undefined) {
      return new ColumnError({ reason: "Duplicate", column: name, detail: `as ${prior} and as ${kind}` })
    }
    seen.set(name, kind)
    return undefined
  }
  for (const name of Object.keys(spec.loops)) {
    const e = add(name, "loop") ?? add(`${name}_value`, "loop value")
    if (e) return Either.left(e)
  }
  for (const name of Object.keys(spec.args)) {
    const e = add(name, "arg")
    if (e) return Either.left(e)
  }
  for (const name of Object.keys(spec.columns)) {
    const e = add(name, "column")
    if (e) return Either.left(e)
  }
  return Either.right(spec)
}

/**
 * Decodes a `--kwargs` text for an arg: as is when the encoded side is a string,
 * else as JSON (falling back to the text); the result must decode with the codec.
 */
export const decodeKwarg = (codec: Codec, name: string, text: string): Either.Either<unknown, KwargsError> => {
  let candidate: unknown = text
  if (!codec.encodedIsString) {
    try {
      candidate = JSON.parse(text)
    } catch {
      candidate = text
    }
  }
  return Either.isLeft(codec.decode(candidate))
    ? Either.left(new KwargsError({ reason: "Schema", arg: name, value: text, expected: codec.expected }))
    : Either.right(candidate)
}
