/**
 * How a logged value is stored: its JSON text plus a value type, so numbers,
 * strings and booleans decode without a JSON parse.
 *
 * @since 0.1.0
 */

/** JSON values: what the untyped API accepts and what schemas encode to. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** The `value_type` column. */
export const ValueType = { Null: 0, Number: 1, String: 2, Boolean: 3, Json: 4 } as const
export type ValueType = (typeof ValueType)[keyof typeof ValueType]

/** The type code of an encoded value. */
export const typeOf = (value: unknown): ValueType => {
  switch (typeof value) {
    case "number":
      return ValueType.Number
    case "string":
      return ValueType.String
    case "boolean":
      return ValueType.Boolean
    default:
      return value === null || value === undefined ? ValueType.Null : ValueType.Json
  }
}

/**
 * The stored text of an encoded value. Numbers use `String` so NaN and ±Infinity
 * survive; everything else is JSON.
 */
export const toText = (value: unknown, type: ValueType): string => {
  switch (type) {
    case ValueType.Number:
      return String(value)
    case ValueType.Boolean:
      return value ? "true" : "false"
    case ValueType.Null:
      return "null"
    default:
      return JSON.stringify(value)
  }
}

/** Reads back a stored value. Throws on text that is not valid for its type. */
export const fromText = (text: string, type: number): unknown => {
  switch (type) {
    case ValueType.Number:
      return Number(text)
    case ValueType.Boolean:
      return text === "true"
    case ValueType.Null:
      return null
    default:
      return JSON.parse(text)
  }
}
