/**
 * WHERE clauses over a dataframe: the frame is loaded into an in-memory SQLite
 * table `df` on a query-only connection, and the clause must be one read-only
 * expression over its columns.
 *
 * @since 0.1.0
 */
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import { QueryError } from "../domain/Errors.js"
import type { Frame } from "../domain/Frame.js"

/** Quotes an SQL identifier. */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, "\"\"")}"`

const toSql = (v: unknown) =>
  v === undefined || v === null ? null
  : typeof v === "boolean" ? (v ? 1 : 0)
  : typeof v === "number" || typeof v === "string" ? v
  : JSON.stringify(v)

const refuse = (where: string, e: unknown): QueryError => {
  // messages are about the user's clause, not the `WHERE (…\n)` it is wrapped in
  const message = (e instanceof Error ? e.message : String(e))
    .replace(/near "\)": syntax error/, "the condition is incomplete or its parentheses do not balance")
    .replace(/\n\)/g, "")
  if (/more than one statement/i.test(message)) {
    return new QueryError({ reason: "MultipleStatements", sql: where, detail: message })
  }
  if (/no such column/i.test(message)) {
    return new QueryError({ reason: "UnknownColumn", sql: where, detail: message.replace(/^no such column: /, "") })
  }
  if (/readonly|query_only|not authorized/i.test(message)) {
    return new QueryError({ reason: "NotReadOnly", sql: where, detail: message })
  }
  return new QueryError({ reason: "Invalid", sql: where, detail: message })
}

/**
 * Whether `sql` has a `;` outside string literals, quoted identifiers and comments
 * (`note = 'a;b'` is one condition). An unterminated literal or comment is left to
 * SQLite's syntax error.
 */
const hasStatementEnd = (sql: string): boolean => {
  const skipTo = (close: string, from: number) => {
    const end = sql.indexOf(close, from)
    return end < 0 ? sql.length : end + close.length - 1
  }
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!
    if (c === "'" || c === "\"" || c === "`") i = skipTo(c, i + 1)
    else if (c === "[") i = skipTo("]", i + 1)
    else if (c === "-" && sql[i + 1] === "-") i = skipTo("\n", i + 2)
    else if (c === "/" && sql[i + 1] === "*") i = skipTo("*/", i + 2)
    else if (c === ";") return true
  }
  return false
}

/** The rows of `frame` for which `where` holds. */
export const filterFrame = <Row extends Record<string, unknown>>(
  frame: Frame<Row>,
  where: string
): Effect.Effect<Frame<Row>, QueryError> =>
  Effect.try({
    try: () => {
      if (hasStatementEnd(where)) throw new Error("more than one statement")
      const db = new Database(":memory:")
      try {
        const cols = frame.columns.map(quoteIdent)
        db.exec(`CREATE TABLE df (${cols.join(", ")})`)
        const insert = db.prepare(
          `INSERT INTO df (rowid, ${cols.join(", ")}) VALUES (?, ${cols.map(() => "?").join(", ")})`
        )
        db.transaction(() => {
          frame.rows.forEach((row, i) => insert.run(i + 1, ...frame.columns.map((c) => toSql(row[c]))))
        })()
        db.pragma("query_only = ON")
        const stmt = db.prepare(`SELECT rowid FROM df WHERE (${where}\n)`)
        if (!stmt.reader || !stmt.readonly) throw new Error("readonly: the clause would write")
        const keep = stmt.pluck(true).all() as Array<number>
        return { columns: frame.columns, rows: keep.map((i) => frame.rows[i - 1]!) }
      } finally {
        db.close()
      }
    },
    catch: (e) => refuse(where, e)
  })

/** Identifiers a WHERE clause may name (words outside string literals). */
export const identifiersOf = (where: string): ReadonlyArray<string> => {
  const out = new Set<string>()
  const re = /'(?:[^']|'')*'|"((?:[^"]|"")*)"|`([^`]*)`|\[([^\]]*)\]|([A-Za-z_][A-Za-z0-9_]*)/g
  for (const m of where.matchAll(re)) {
    const name = m[1]?.replace(/""/g, "\"") ?? m[2] ?? m[3] ?? m[4]
    if (name !== undefined) out.add(name)
  }
  return [...out]
}
