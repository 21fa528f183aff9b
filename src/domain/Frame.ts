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
  const valueKeys = loops.map(valueKey)
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
    emitRows(rows, input.runs[cell.run]!, cell.path, loops, names, merged, hasValue, valueKeys)
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
  const valueKeys = loops.map(valueKey)
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
      row[valueKeys[l]!] = v
    }
    row[name] = column.value[i]
    rows[i] = row
  }
  return finish(rows, loops, [name], hasValue)
}

/**
 * The single-column pivot fed one record at a time, for stores that stream records.
 * A record's loop path is a shared shape (the outer coordinates, registered once with
 * `shape`, plus the name of the innermost loop) and the innermost coordinate's own
 * iteration and item. Rows are built as records arrive, so no per-record intermediate
 * is kept.
 */
export interface ColumnBuilder {
  /**
   * Registers a path shape and returns its id: the `outer` coordinates, outermost first,
   * then, unless `inner` is undefined, a coordinate of the loop `inner` given per record.
   */
  readonly shape: (outer: LoopPath, inner: string | undefined) => number
  /**
   * Appends a record of run `run` (an index into the runs) whose path has shape `shape`;
   * `iteration` and `item` are its innermost coordinate's (ignored when the shape has none).
   * Records come in (run order, ctx) order, as `ColumnRecords`.
   */
  readonly push: (run: number, shape: number, iteration: number, item: unknown, value: unknown) => void
  /**
   * The frame of the records pushed: exactly what `pivot` gives for them as one column.
   * Undefined when they need the general pivot instead: a loop path naming a loop twice,
   * or a column name equal to a dimension or loop column.
   */
  readonly finish: () => Frame<Record<string, unknown>> | undefined
}

/** Makes one row: the run's dimensions, a shape's constant coordinates, the innermost coordinate, the value. */
type MakeRow = (
  projid: string,
  tstamp: string,
  filename: string,
  consts: ReadonlyArray<unknown>,
  iteration: number,
  item: unknown,
  value: unknown
) => Record<string, unknown>

/** How the records of one shape become rows under one layout (loop columns and `_value` columns). */
interface Plan {
  readonly layout: number
  /** Per loop column: a constant iteration and item, or nulls. */
  readonly consts: ReadonlyArray<unknown>
  /** The loop column of the innermost coordinate, or -1. */
  readonly inner: number
  /** Whether that column's `_value` column is shown. */
  readonly innerShown: boolean
  readonly make: MakeRow
}

/** A single-column pivot fed incrementally (see `ColumnBuilder`). */
export const columnBuilder = (runs: ReadonlyArray<FrameRun>, name: string): ColumnBuilder => {
  const outers: Array<LoopPath> = []
  const inners: Array<string | undefined> = []
  const used: Array<boolean> = []
  const plans: Array<Plan | undefined> = []
  // The layout: loops by depth then first appearance (as pivotOne), and which show `_value`.
  const depth = new Map<string, number>()
  const order: Array<string> = []
  const hasValue = new Set<string>()
  let loops: ReadonlyArray<string> = []
  let valueKeys: ReadonlyArray<string> = []
  let shown: ReadonlyArray<boolean> = []
  let layout = 0
  let makers = new Map<number, MakeRow>()
  /** Rows below this index were built under an earlier layout. */
  let stale = 0
  let general = false
  const rows: Array<Record<string, unknown>> = []
  let lastRun = -1
  let projid = ""
  let tstamp = ""
  let filename = ""

  const shape = (outer: LoopPath, inner: string | undefined) => {
    outers.push(outer)
    inners.push(inner)
    used.push(false)
    plans.push(undefined)
    return outers.length - 1
  }

  const namesOf = (s: number) => {
    const names = outers[s]!.map((c) => c.name)
    const inner = inners[s]
    if (inner !== undefined) names.push(inner)
    return names
  }

  const relayout = () => {
    layout++
    stale = rows.length
    makers = new Map()
    loops = order.map((loop, i) => ({ loop, i, d: depth.get(loop)! }))
      .sort((a, b) => a.d - b.d || a.i - b.i)
      .map((x) => x.loop)
    valueKeys = loops.map(valueKey)
    shown = loops.map((loop) => hasValue.has(loop))
    const keys = new Set(["projid", "tstamp", "filename", ...loops, ...valueKeys, name])
    if (keys.size !== 4 + 2 * loops.length || keys.has("__proto__")) general = true
  }

  /** A shape's first record: its loops join the layout, its constant scalar items mark `_value` columns. */
  const firstUse = (s: number) => {
    used[s] = true
    const names = namesOf(s)
    if (new Set(names).size !== names.length) {
      general = true
      return
    }
    let changed = false
    for (let d = 0; d < names.length; d++) {
      if (!depth.has(names[d]!)) {
        depth.set(names[d]!, d)
        order.push(names[d]!)
        changed = true
      }
    }
    for (const coord of outers[s]!) {
      if (isScalar(coord.value) && !hasValue.has(coord.name)) {
        hasValue.add(coord.name)
        changed = true
      }
    }
    if (changed) relayout()
  }

  const planOf = (s: number): Plan => {
    const outer = outers[s]!
    const names = namesOf(s)
    const consts: Array<unknown> = new Array(2 * loops.length).fill(null)
    let inner = -1
    for (let l = 0; l < loops.length; l++) {
      const d = names.indexOf(loops[l]!)
      if (d < 0) continue
      if (d < outer.length) {
        consts[2 * l] = outer[d]!.iteration
        consts[2 * l + 1] = isScalar(outer[d]!.value) ? outer[d]!.value : null
      } else inner = l
    }
    let make = makers.get(inner)
    if (make === undefined) makers.set(inner, make = rowMaker(loops, valueKeys, shown, name, inner))
    const plan: Plan = { layout, consts, inner, innerShown: inner >= 0 && shown[inner] === true, make }
    plans[s] = plan
    return plan
  }

  const push = (run: number, s: number, iteration: number, item: unknown, value: unknown) => {
    if (general) return
    if (run !== lastRun) {
      lastRun = run
      ;({ filename, projid, tstamp } = runs[run]!)
    }
    if (!used[s]) {
      firstUse(s)
      if (general) return
    }
    let plan = plans[s]
    if (plan === undefined || plan.layout !== layout) plan = planOf(s)
    let v: unknown = null
    if (isScalar(item)) {
      v = item
      if (plan.inner >= 0 && !plan.innerShown) {
        hasValue.add(loops[plan.inner]!)
        relayout()
        plan = planOf(s)
      }
    }
    rows.push(plan.make(projid, tstamp, filename, plan.consts, iteration, v, value))
  }

  const finish = (): Frame<Record<string, unknown>> | undefined => {
    if (general) return undefined
    const columns: Array<string> = ["projid", "tstamp", "filename"]
    for (let l = 0; l < loops.length; l++) {
      columns.push(loops[l]!)
      if (shown[l]) columns.push(valueKeys[l]!)
    }
    columns.push(name)
    // A row built under an earlier layout lacks only columns that are null for it: a loop
    // first seen later is not on its path, and a `_value` shown later was no scalar on it.
    for (let i = 0; i < stale; i++) {
      const old = rows[i]!
      const row: Record<string, unknown> = {}
      for (const key of columns) row[key] = key in old ? old[key] : null
      rows[i] = row
    }
    return { columns, rows }
  }

  return { shape, push, finish }
}

const makerCache = new Map<string, MakeRow>()

/**
 * A row maker for one set of columns, with the innermost coordinate at loop column `at`
 * (-1: none): a generated object literal, so every row is one allocation of one shape;
 * assignments when code generation is unavailable.
 */
const rowMaker = (
  loops: ReadonlyArray<string>,
  valueKeys: ReadonlyArray<string>,
  hasValue: ReadonlyArray<boolean>,
  name: string,
  at: number
): MakeRow => {
  const cacheKey = JSON.stringify([loops, hasValue, name, at])
  const cached = makerCache.get(cacheKey)
  if (cached !== undefined) return cached
  let make: MakeRow
  try {
    const fields = ["\"projid\": p", "\"tstamp\": t", "\"filename\": f"]
    for (let l = 0; l < loops.length; l++) {
      fields.push(`${JSON.stringify(loops[l])}: ${l === at ? "it" : `c[${2 * l}]`}`)
      if (hasValue[l]) fields.push(`${JSON.stringify(valueKeys[l])}: ${l === at ? "item" : `c[${2 * l + 1}]`}`)
    }
    fields.push(`${JSON.stringify(name)}: v`)
    make = new Function("p", "t", "f", "c", "it", "item", "v", `"use strict"; return { ${fields.join(", ")} }`) as MakeRow
  } catch {
    make = (projid, tstamp, filename, consts, iteration, item, value) => {
      const row: Record<string, unknown> = { projid, tstamp, filename }
      for (let l = 0; l < loops.length; l++) {
        row[loops[l]!] = l === at ? iteration : consts[2 * l]
        if (hasValue[l]) row[valueKeys[l]!] = l === at ? item : consts[2 * l + 1]
      }
      row[name] = value
      return row
    }
  }
  if (makerCache.size >= 256) makerCache.clear()
  makerCache.set(cacheKey, make)
  return make
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
    if (hasValue.has(loop)) columns.push(valueKey(loop))
  }
  columns.push(...names)
  if (hasValue.size < loops.length) {
    const dropped = loops.filter((loop) => !hasValue.has(loop)).map(valueKey)
    for (const row of rows) for (const key of dropped) delete row[key]
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

/** The `<loop>_value` column of a loop. */
const valueKey = (loop: string) => `${loop}_value`

const isScalar = (v: unknown) => typeof v === "string" || typeof v === "number" || typeof v === "boolean"

const emitRows = (
  out: Array<Record<string, unknown>>,
  run: FrameRun,
  path: LoopPath,
  loops: ReadonlyArray<string>,
  names: ReadonlyArray<string>,
  values: ReadonlyArray<ReadonlyArray<unknown>>,
  hasValue: Set<string>,
  valueKeys: ReadonlyArray<string>
) => {
  const base: Record<string, unknown> = { projid: run.projid, tstamp: run.tstamp, filename: run.filename }
  for (let l = 0; l < loops.length; l++) {
    const loop = loops[l]!
    let coord: LoopCoord | undefined
    for (const p of path) if (p.name === loop) coord = p
    base[loop] = coord === undefined ? null : coord.iteration
    const v = coord !== undefined && isScalar(coord.value) ? coord.value : null
    if (v !== null) hasValue.add(loop)
    base[valueKeys[l]!] = v
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
