/**
 * Rendering frames and query results for the terminal (cli-table3), CSV
 * (csv-stringify) and JSON.
 *
 * @since 0.1.0
 */
import Table from "cli-table3"
import { stringify } from "csv-stringify/sync"

/** Output formats of the CLI. */
export type Format = "table" | "csv" | "json"

const cell = (v: unknown): string =>
  v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)

/** Renders rows (arrays aligned with `columns`) in a format. */
export const render = (
  columns: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<unknown>>,
  format: Format
): string => {
  switch (format) {
    case "json":
      return JSON.stringify(
        rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] === undefined ? null : r[i]]))),
        null,
        2
      ) + "\n"
    case "csv":
      return stringify(rows.map((r) => r.map(cell)), { header: true, columns: [...columns] })
    case "table": {
      const table = new Table({
        head: [...columns],
        style: { head: [], border: [], compact: true },
        chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" }
      })
      for (const r of rows) table.push(r.map(cell))
      return `${table.toString()}\n${rows.length} row${rows.length === 1 ? "" : "s"}\n`
    }
  }
}

/** Renders row objects by column name. */
export const renderObjects = (
  columns: ReadonlyArray<string>,
  rows: ReadonlyArray<Record<string, unknown>>,
  format: Format
): string => render(columns, rows.map((r) => columns.map((c) => r[c])), format)
