/**
 * The dataframe: a wide, pivoted table of logged values with their dimensions.
 *
 * @since 0.1.0
 */

/** One coordinate of a loop context: which iteration of which loop, over which item. */
export interface LoopCoord {
  readonly ctx: number
  readonly name: string
  /** 1-based iteration number. */
  readonly iteration: number
  /** The item iterated over (JSON), or null. */
  readonly value: unknown
}

/** The loop path of a context, outermost first; empty for top-level values. */
export type LoopPath = ReadonlyArray<LoopCoord>

/** A dataframe: its column names in order and its rows. */
export interface Frame<Row> {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<Row>
}

/** The run a record belongs to, as the dimension columns show it. */
export interface FrameRun {
  readonly projid: string
  readonly tstamp: string
  readonly filename: string
}

/** The records of one asked column, in (run order, ctx) order. */
export interface ColumnRecords {
  readonly name: string
  /** Index into the runs array of each record. */
  readonly run: ReadonlyArray<number>
  /** Loop context of each record; 0 = top level. */
  readonly ctx: ReadonlyArray<number>
  readonly value: ReadonlyArray<unknown>
}

/** Everything the pivot needs: runs in display order, the columns, and the loop paths. */
export interface PivotInput {
  readonly runs: ReadonlyArray<FrameRun>
  readonly columns: ReadonlyArray<ColumnRecords>
  /** Loop path of a context of a run (ctx 0 = top level = empty path). */
  readonly path: (run: number, ctx: number) => LoopPath
}

const CTX_SPAN = 2 ** 32

interface Cell {
  readonly run: number
  readonly ctx: number
  readonly path: LoopPath
  readonly values: Array<Array<unknown> | undefined>
  absorbed: boolean
}

/**
 * Pivots records into the wide view of DESIGN §5: dimension columns, then one
 * `<loop>`/`<loop>_value` pair per loop outermost first, then the asked columns.
 * Columns at different loop depths are joined on their common loop prefix
 * (an ancestor's values repeat on its descendants' rows, and its own row is kept
 * only when some of its values repeat on none of them, e.g. when no descendant
 * has values or the same column is also logged deeper); unrelated loop nests are
 * stacked, never cross-multiplied.
 */
export const pivot = (input: PivotInput): Frame<Record<string, unknown>> => {
  const ncol = input.columns.length
  if (ncol === 1) return pivotOne(input, input.columns[0]!)
  const cells = new Map<number, Cell>()
  for (let c = 0; c < ncol; c++) {
    const column = input.columns[c]!
    for (let i = 0; i < column.run.length; i++) {
      const run = column.run[i]!
      const ctx = column.ctx[i]!
      const key = run * CTX_SPAN + ctx
      let cell = cells.get(key)
      if (cell === undefined) {
        cell = { run, ctx, path: input.path(run, ctx), values: new Array(ncol), absorbed: false }
        cells.set(key, cell)
      }
      const slot = cell.values[c]
      if (slot === undefined) cell.values[c] = [column.value[i]]
      else slot.push(column.value[i])
    }
  }
  const keys = Float64Array.from(cells.keys()).sort()
  // An ancestor cell with values is joined onto each descendant cell.
  const ancestorsOf = (cell: Cell): Array<Cell> => {
    const found: Array<Cell> = []
    const top = cell.ctx === 0 ? undefined : cells.get(cell.run * CTX_SPAN)
    if (top !== undefined) found.push(top)
    for (let d = 0; d < cell.path.length - 1; d++) {
      const anc = cells.get(cell.run * CTX_SPAN + cell.path[d]!.ctx)
      if (anc !== undefined) found.push(anc)
    }
    return found
  }
  const ancestors = new Map<Cell, Array<Cell>>()
  const hasDescendant = new Set<Cell>()
  for (const key of keys) {
    const cell = cells.get(key)!
    const anc = ancestorsOf(cell)
    if (anc.length > 0) {
      ancestors.set(cell, anc)
      for (const a of anc) hasDescendant.add(a)
    }
  }
  // A cell with descendants is absorbed only when each of its values is inherited by some shown
  // descendant row; otherwise (e.g. the same column also logged deeper) it keeps its own row so
  // no record is lost. Descendants are deeper, so decide deepest first.
  const byDepth = Array.from(cells.values()).sort((x, y) => y.path.length - x.path.length)
  const inherited = new Map<Cell, Array<boolean>>()
  for (const cell of byDepth) {
    if (hasDescendant.has(cell)) {
      const used = inherited.get(cell)
      let all = true
      for (let c = 0; c < ncol; c++) if (cell.values[c] !== undefined && used?.[c] !== true) all = false
      cell.absorbed = all
    }
    if (cell.absorbed) continue
    const anc = ancestors.get(cell)
    if (anc === undefined) continue
    for (let c = 0; c < ncol; c++) {
      if (cell.values[c] !== undefined) continue
      // the innermost ancestor with a value for column c provides it (as in the merge below)
      for (let i = anc.length - 1; i >= 0; i--) {
        const a = anc[i]!
        if (a.values[c] === undefined) continue
        let used = inherited.get(a)
        if (used === undefined) inherited.set(a, used = new Array(ncol).fill(false))
        used[c] = true
        break
      }
    }
  }
  const loops = loopOrder(keys, cells)
  const rows: Array<Record<string, unknown>> = []
  const hasValue = new Set<string>()
  const names = input.columns.map((c) => c.name)
  for (const key of keys) {
    const cell = cells.get(key)!
    if (cell.absorbed) continue
    const merged: Array<ReadonlyArray<unknown>> = new Array(ncol)
    for (let c = 0; c < ncol; c++) merged[c] = cell.values[c] ?? [null]
    for (const anc of ancestors.get(cell) ?? []) {
      for (let c = 0; c < ncol; c++) {
        if (cell.values[c] === undefined && anc.values[c] !== undefined) merged[c] = anc.values[c]!
      }
    }
    emitRows(rows, input.runs[cell.run]!, cell.path, loops, names, merged, hasValue)
  }
  return finish(rows, loops, names, hasValue)
}

/** One column: no join, each record is a row, in the store's (run, ctx) order. */
const pivotOne = (input: PivotInput, column: ColumnRecords): Frame<Record<string, unknown>> => {
  const n = column.run.length
  const paths: Array<LoopPath> = new Array(n)
  const depthOf = new Map<string, number>()
  const order: Array<string> = []
  let lastRun = -1
  let lastCtx = -1
  let lastPath: LoopPath = []
  for (let i = 0; i < n; i++) {
    const run = column.run[i]!
    const ctx = column.ctx[i]!
    if (run !== lastRun || ctx !== lastCtx) {
      lastPath = input.path(run, ctx)
      lastRun = run
      lastCtx = ctx
      for (let d = 0; d < lastPath.length; d++) {
        const name = lastPath[d]!.name
        if (!depthOf.has(name)) {
          depthOf.set(name, d)
          order.push(name)
        }
      }
    }
    paths[i] = lastPath
  }
  const loops = order.map((name, i) => ({ name, i, d: depthOf.get(name)! }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.name)
  const hasValue = new Set<string>()
  const rows: Array<Record<string, unknown>> = new Array(n)
  const name = column.name
  for (let i = 0; i < n; i++) {
    const run = input.runs[column.run[i]!]!
    const path = paths[i]!
    const row: Record<string, unknown> = { projid: run.projid, tstamp: run.tstamp, filename: run.filename }
    for (let l = 0; l < loops.length; l++) {
      const loop = loops[l]!
      const coord = path.length > l && path[l]!.name === loop ? path[l] : path.find((p) => p.name === loop)
      row[loop] = coord === undefined ? null : coord.iteration
      const v = coord !== undefined && isScalar(coord.value) ? coord.value : null
      if (v !== null) hasValue.add(loop)
      row[`${loop}_value`] = v
    }
    row[name] = column.value[i]
    rows[i] = row
  }
  return finish(rows, loops, [name], hasValue)
}

const finish = (
  rows: Array<Record<string, unknown>>,
  loops: ReadonlyArray<string>,
  names: ReadonlyArray<string>,
  hasValue: ReadonlySet<string>
): Frame<Record<string, unknown>> => {
  const columns: Array<string> = ["projid", "tstamp", "filename"]
  for (const loop of loops) {
    columns.push(loop)
    if (hasValue.has(loop)) columns.push(`${loop}_value`)
  }
  columns.push(...names)
  if (hasValue.size < loops.length) {
    for (const row of rows) for (const loop of loops) if (!hasValue.has(loop)) delete row[`${loop}_value`]
  }
  return { columns, rows }
}

/** Loop names ordered by depth, then by first appearance. */
const loopOrder = (keys: Float64Array, cells: Map<number, Cell>): Array<string> => {
  const depthOf = new Map<string, number>()
  const order: Array<string> = []
  for (const key of keys) {
    const path = cells.get(key)!.path
    for (let d = 0; d < path.length; d++) {
      const name = path[d]!.name
      if (!depthOf.has(name)) {
        depthOf.set(name, d)
        order.push(name)
      }
    }
  }
  return order.map((name, i) => ({ name, i, d: depthOf.get(name)! }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.name)
}

const isScalar = (v: unknown) => typeof v === "string" || typeof v === "number" || typeof v === "boolean"

const emitRows = (
  out: Array<Record<string, unknown>>,
  run: FrameRun,
  path: LoopPath,
  loops: ReadonlyArray<string>,
  names: ReadonlyArray<string>,
  values: ReadonlyArray<ReadonlyArray<unknown>>,
  hasValue: Set<string>
) => {
  const base: Record<string, unknown> = { projid: run.projid, tstamp: run.tstamp, filename: run.filename }
  for (const loop of loops) {
    let coord: LoopCoord | undefined
    for (const p of path) if (p.name === loop) coord = p
    base[loop] = coord === undefined ? null : coord.iteration
    const v = coord !== undefined && isScalar(coord.value) ? coord.value : null
    if (v !== null) hasValue.add(loop)
    base[`${loop}_value`] = v
  }
  let partial: Array<Record<string, unknown>> = [base]
  for (let c = 0; c < names.length; c++) {
    const vs = values[c]!
    if (vs.length === 1) {
      for (const row of partial) row[names[c]!] = vs[0]
    } else {
      const next: Array<Record<string, unknown>> = []
      for (const row of partial) for (const v of vs) next.push({ ...row, [names[c]!]: v })
      partial = next
    }
  }
  for (const row of partial) out.push(row)
}

/** Keeps the rows of the newest run (largest tstamp). */
export const latest = <Row extends { readonly tstamp: string }>(frame: Frame<Row>): Frame<Row> => {
  let newest = ""
  for (const row of frame.rows) if (row.tstamp > newest) newest = row.tstamp
  return { columns: frame.columns, rows: frame.rows.filter((row) => row.tstamp === newest) }
}
