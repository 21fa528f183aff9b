/**
 * GumTree matching (Falleri et al., "Fine-grained and accurate source code
 * differencing", ASE 2014) over TypeScript ASTs.
 *
 * Trees: one node per AST node (`ts.forEachChild` children, so tokens such as
 * operators are leaves, trivia and comments are not in the tree); label = the
 * SyntaxKind; value = the text of identifiers and literals, the operator of
 * unary expressions, `const`/`let`/`var` of declaration lists.
 *
 * Phases:
 * 0. anchors (flordb-specific): caller-given pairs forced first — `loop("name", …)`
 *    calls with the same name literal;
 * 1. top-down greedy: isomorphic subtrees by decreasing height (height ≥ 2),
 *    unique pairs first, then ambiguous ones, best first: those whose nearest
 *    matched ancestor (e.g. an anchored loop) is matched to an ancestor of the
 *    candidate, the deeper that ancestor the better; then by the Dice
 *    similarity of their parents (GumTree's criterion); then by closer relative
 *    position in the file. A unique pair that disagrees with that context (code
 *    moved, e.g. out of an anchored loop into a helper) is deferred: its
 *    children are tried in context first, and it is matched at the end only if
 *    nothing in either subtree found a partner. Groups of more than 400
 *    candidate pairs (many copies of one subtree) pair each node only with the 3
 *    nearest by relative position, to stay clear of quadratic blow-ups;
 * 2. bottom-up: a container whose descendants are mostly matched (Dice ≥ 0.5)
 *    is matched with the best same-label candidate among the ancestors of its
 *    descendants' partners, then recovery runs inside it;
 * 3. recovery: within a matched pair, between already matched children (kept in
 *    order), children are matched, first isomorphic ones (LCS), then same-label
 *    ones by an order-preserving alignment maximizing similarity; recursively.
 *    Finally recovery runs once more over every matched pair (so children of
 *    anchors and of top-down matches are aligned too).
 *
 * A `compatible(a, b)` predicate (same label is always required) keeps e.g. loop
 * calls of different names apart in every phase.
 *
 * @since 0.1.0
 */
import ts from "./Typescript.cjs"

/** A tree node. */
export interface GNode {
  /** Pre-order index in its tree. */
  readonly id: number
  readonly label: number
  readonly value: string
  readonly node: ts.Node
  readonly parent: GNode | undefined
  readonly children: Array<GNode>
  /** Number of ancestors (0 for the root). */
  readonly depth: number
  /** 1 for a leaf. */
  height: number
  /** Number of nodes in the subtree, itself included. */
  size: number
  /** Same hash ⇔ isomorphic subtrees (label, value, children). */
  hash: number
}

/** A tree built from a TypeScript AST. */
export interface GTree {
  readonly root: GNode
  /** Nodes in pre-order (`nodes[n.id] === n`). */
  readonly nodes: ReadonlyArray<GNode>
  readonly byNode: ReadonlyMap<ts.Node, GNode>
}

const valueOf = (node: ts.Node): string => {
  if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) return node.text
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isNumericLiteral(node)) return node.text
  if (ts.isBigIntLiteral(node) || ts.isRegularExpressionLiteral(node)) return node.text
  if (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) return node.text
  if (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) return ts.tokenToString(node.operator) ?? ""
  if (ts.isVariableDeclarationList(node)) {
    return node.flags & ts.NodeFlags.Const ? "const" : node.flags & ts.NodeFlags.Let ? "let" : "var"
  }
  return ""
}

/** Builds the tree of a source file (hashes interned per `interner`, shared by the two trees compared). */
export const buildTree = (sf: ts.SourceFile, interner: Map<string, number>): GTree => {
  const nodes: Array<GNode> = []
  const byNode = new Map<ts.Node, GNode>()
  const make = (node: ts.Node, parent: GNode | undefined): GNode => {
    const g: GNode = {
      id: nodes.length,
      label: node.kind,
      value: valueOf(node),
      node,
      parent,
      children: [],
      depth: parent === undefined ? 0 : parent.depth + 1,
      height: 1,
      size: 1,
      hash: 0
    }
    nodes.push(g)
    byNode.set(node, g)
    ts.forEachChild(node, (child) => {
      g.children.push(make(child, g))
    })
    let height = 0
    let size = 1
    const key: Array<string | number> = [g.label, g.value]
    for (const c of g.children) {
      height = Math.max(height, c.height)
      size += c.size
      key.push(c.hash)
    }
    g.height = height + 1
    g.size = size
    const k = JSON.stringify(key)
    let h = interner.get(k)
    if (h === undefined) {
      h = interner.size + 1
      interner.set(k, h)
    }
    g.hash = h
    return g
  }
  const root = make(sf, undefined)
  return { root, nodes, byNode }
}

/** A one-to-one mapping between the nodes of two trees. */
export class Mapping {
  private readonly s2d: Map<GNode, GNode> = new Map()
  private readonly d2s: Map<GNode, GNode> = new Map()
  /** The partner of a source node. */
  dst(src: GNode): GNode | undefined {
    return this.s2d.get(src)
  }
  /** The partner of a destination node. */
  src(dst: GNode): GNode | undefined {
    return this.d2s.get(dst)
  }
  hasSrc(src: GNode): boolean {
    return this.s2d.has(src)
  }
  hasDst(dst: GNode): boolean {
    return this.d2s.has(dst)
  }
  add(src: GNode, dst: GNode): void {
    if (this.s2d.has(src) || this.d2s.has(dst)) return
    this.s2d.set(src, dst)
    this.d2s.set(dst, src)
  }
  get size(): number {
    return this.s2d.size
  }
  pairs(): IterableIterator<[GNode, GNode]> {
    return this.s2d.entries()
  }
}

/** Options of `match`. */
export interface MatchOptions {
  /** Pairs forced before the generic phases (e.g. same-name loop calls). */
  readonly anchors?: ReadonlyArray<readonly [GNode, GNode]>
  /** Extra condition for two same-label nodes to be matched. */
  readonly compatible?: (a: GNode, b: GNode) => boolean
  /** Minimum height of subtrees matched top-down (default 2). */
  readonly minHeight?: number
  /** Minimum Dice similarity of containers matched bottom-up (default 0.5). */
  readonly minDice?: number
}

const isDescendant = (tree: ReadonlyArray<GNode>, ancestor: GNode, node: GNode): boolean =>
  node.id > ancestor.id && node.id < ancestor.id + ancestor.size && tree[node.id] === node

/** Dice similarity of two subtrees: 2·|common matched descendants| / (|desc(a)| + |desc(b)|). */
export const dice = (src: GTree, dst: GTree, m: Mapping, a: GNode | undefined, b: GNode | undefined): number => {
  if (a === undefined || b === undefined) return 0
  const total = a.size - 1 + (b.size - 1)
  if (total === 0) return 0
  let common = 0
  for (let i = a.id + 1; i < a.id + a.size; i++) {
    const partner = m.dst(src.nodes[i]!)
    if (partner !== undefined && isDescendant(dst.nodes, b, partner)) common++
  }
  return (2 * common) / total
}

/** Matches two trees; returns the mapping (source → destination). */
export const match = (src: GTree, dst: GTree, options: MatchOptions = {}): Mapping => {
  const m = new Mapping()
  const minHeight = options.minHeight ?? 2
  const minDice = options.minDice ?? 0.5
  const compatibleExtra = options.compatible ?? (() => true)
  const compatible = (a: GNode, b: GNode) => a.label === b.label && compatibleExtra(a, b)

  const mapSubtrees = (a: GNode, b: GNode) => {
    for (let i = 0; i < a.size; i++) {
      const x = src.nodes[a.id + i]!
      const y = dst.nodes[b.id + i]!
      if (!m.hasSrc(x) && !m.hasDst(y) && compatible(x, y)) m.add(x, y)
    }
  }

  // Large groups of identical subtrees (e.g. 300 copies of `(a, b) => a + b`): all pairs would be
  // quadratic; each source subtree is then paired only with the NEAREST destination ones by relative position.
  const NEAREST = 3
  const candidatePairs = (as: ReadonlyArray<GNode>, bs: ReadonlyArray<GNode>): Array<readonly [GNode, GNode]> => {
    if (as.length * bs.length <= 400) return as.flatMap((a) => bs.map((b) => [a, b] as const))
    const rel = (n: GNode, t: GTree) => n.id / t.nodes.length
    const sorted = [...bs].sort((x, y) => x.id - y.id)
    const out: Array<readonly [GNode, GNode]> = []
    for (const a of as) {
      const r = rel(a, src)
      let lo = 0
      let hi = sorted.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (rel(sorted[mid]!, dst) < r) lo = mid + 1
        else hi = mid
      }
      const from = Math.max(0, lo - NEAREST)
      const window = sorted.slice(from, Math.min(sorted.length, lo + NEAREST))
      window.sort((x, y) => Math.abs(rel(x, dst) - r) - Math.abs(rel(y, dst) - r))
      for (const b of window.slice(0, NEAREST)) out.push([a, b])
    }
    return out
  }

  // 0. anchors
  for (const [a, b] of options.anchors ?? []) m.add(a, b)

  // 1. top-down
  const topDown = () => {
    const lists = [new Map<number, Array<GNode>>(), new Map<number, Array<GNode>>()] as const
    const push = (which: 0 | 1, n: GNode) => {
      if (n.height < minHeight) return
      const l = lists[which].get(n.height)
      if (l === undefined) lists[which].set(n.height, [n])
      else l.push(n)
    }
    const peek = (which: 0 | 1) => {
      let max = -1
      for (const [h, l] of lists[which]) if (l.length > 0 && h > max) max = h
      return max
    }
    const pop = (which: 0 | 1, h: number) => {
      const l = lists[which].get(h) ?? []
      lists[which].delete(h)
      return l
    }
    const open = (which: 0 | 1, n: GNode) => {
      for (const c of n.children) push(which, c)
    }
    /**
     * Agreement with the matches made so far: the nearest matched ancestor of
     * `a` must be matched to an ancestor of `b`, and vice versa; the score is the
     * depth of that ancestor (deeper = more specific context), -1 on a conflict.
     */
    const nearest = (n: GNode, partner: (x: GNode) => GNode | undefined) => {
      for (let p = n.parent; p !== undefined; p = p.parent) {
        const q = partner(p)
        if (q !== undefined) return [p, q] as const
      }
      return undefined
    }
    const context = (a: GNode, b: GNode): number => {
      const up = nearest(a, (x) => m.dst(x))
      const down = nearest(b, (x) => m.src(x))
      if (up !== undefined && !isDescendant(dst.nodes, up[1], b)) return -1
      if (down !== undefined && !isDescendant(src.nodes, down[1], a)) return -1
      return up === undefined ? 0 : up[0].depth + 1
    }
    push(0, src.root)
    push(1, dst.root)
    const ambiguous: Array<readonly [GNode, GNode]> = []
    // unique isomorphic pairs that disagree with the context (e.g. code moved out of an anchored loop into a helper)
    const deferred: Array<readonly [GNode, GNode]> = []
    for (;;) {
      const h1 = peek(0)
      const h2 = peek(1)
      if (h1 < 0 || h2 < 0) break
      if (h1 !== h2) {
        const w: 0 | 1 = h1 > h2 ? 0 : 1
        for (const n of pop(w, Math.max(h1, h2))) open(w, n)
        continue
      }
      const H1 = pop(0, h1)
      const H2 = pop(1, h2)
      const handled = new Set<GNode>()
      // anchored nodes: map their subtrees when isomorphic, else look inside
      for (const a of H1) {
        const b = m.dst(a)
        if (b !== undefined && b.hash === a.hash) {
          mapSubtrees(a, b)
          handled.add(a)
          handled.add(b)
        }
      }
      const groups = new Map<number, { a: Array<GNode>; b: Array<GNode> }>()
      for (const a of H1) {
        if (handled.has(a) || m.hasSrc(a)) continue
        const g = groups.get(a.hash) ?? { a: [], b: [] }
        g.a.push(a)
        groups.set(a.hash, g)
      }
      for (const b of H2) {
        if (handled.has(b) || m.hasDst(b)) continue
        const g = groups.get(b.hash)
        if (g !== undefined) g.b.push(b)
      }
      for (const g of groups.values()) {
        if (g.a.length === 0 || g.b.length === 0) continue
        const all = candidatePairs(g.a, g.b).filter(([a, b]) => compatible(a, b))
        const pairs = all.filter(([a, b]) => context(a, b) >= 0)
        if (all.length === 1 && pairs.length === 0) deferred.push(all[0]!)
        if (pairs.length === 0) continue
        if (g.a.length === 1 && g.b.length === 1) {
          mapSubtrees(pairs[0]![0], pairs[0]![1])
        } else {
          ambiguous.push(...pairs)
        }
        for (const [a, b] of pairs) {
          handled.add(a)
          handled.add(b)
        }
      }
      for (const a of H1) if (!handled.has(a)) open(0, a)
      for (const b of H2) if (!handled.has(b)) open(1, b)
    }
    const n1 = src.nodes.length
    const n2 = dst.nodes.length
    const scored = ambiguous.map(([a, b]) => ({
      a,
      b,
      c: context(a, b),
      d: dice(src, dst, m, a.parent, b.parent),
      pos: Math.abs(a.id / n1 - b.id / n2)
    }))
    scored.sort((x, y) => y.c - x.c || y.d - x.d || x.pos - y.pos)
    for (const { a, b } of scored) if (!m.hasSrc(a) && !m.hasDst(b) && context(a, b) >= 0) mapSubtrees(a, b)
    // a moved subtree: matched only when nothing in it found a partner in context
    const untouched = (tree: GTree, n: GNode, has: (x: GNode) => boolean) => {
      for (let i = n.id; i < n.id + n.size; i++) if (has(tree.nodes[i]!)) return false
      return true
    }
    for (const [a, b] of deferred) {
      if (untouched(src, a, (x) => m.hasSrc(x)) && untouched(dst, b, (x) => m.hasDst(x))) mapSubtrees(a, b)
    }
  }
  topDown()

  // 3. recovery, used by 2.
  const recovery = (a: GNode, b: GNode): void => {
    const ca = a.children
    const cb = b.children
    if (ca.length === 0 || cb.length === 0) return
    // children already matched to each other, in order (longest increasing run), split the rest into gaps
    const fixed: Array<readonly [number, number]> = []
    {
      const pairs: Array<readonly [number, number]> = []
      ca.forEach((x, i) => {
        const y = m.dst(x)
        if (y === undefined) return
        const j = cb.indexOf(y)
        if (j >= 0) pairs.push([i, j])
      })
      // longest increasing subsequence on j
      const best: Array<number> = []
      const prev: Array<number> = []
      pairs.forEach((p, k) => {
        best[k] = 1
        prev[k] = -1
        for (let q = 0; q < k; q++) {
          if (pairs[q]![1] < p[1] && best[q]! + 1 > best[k]!) {
            best[k] = best[q]! + 1
            prev[k] = q
          }
        }
      })
      let k = best.reduce((acc, v, i) => (v > (best[acc] ?? 0) ? i : acc), 0)
      if (pairs.length > 0) {
        while (k >= 0) {
          fixed.unshift(pairs[k]!)
          k = prev[k]!
        }
      }
    }
    const newly: Array<readonly [GNode, GNode]> = []
    const gaps: Array<readonly [number, number, number, number]> = []
    let li = 0
    let lj = 0
    for (const [i, j] of fixed) {
      gaps.push([li, i, lj, j])
      li = i + 1
      lj = j + 1
    }
    gaps.push([li, ca.length, lj, cb.length])
    for (const [i0, i1, j0, j1] of gaps) {
      const xs = ca.slice(i0, i1).filter((x) => !m.hasSrc(x))
      const ys = cb.slice(j0, j1).filter((y) => !m.hasDst(y))
      if (xs.length === 0 || ys.length === 0) continue
      // pass 1: isomorphic (LCS)
      for (const [x, y] of align(xs, ys, (x, y) => (x.hash === y.hash && compatible(x, y) ? 1 : -1))) {
        mapSubtrees(x, y)
        newly.push([x, y])
      }
      // pass 2: same label, most similar, in order
      const xs2 = xs.filter((x) => !m.hasSrc(x))
      const ys2 = ys.filter((y) => !m.hasDst(y))
      if (xs2.length === 0 || ys2.length === 0) continue
      const score = (x: GNode, y: GNode) => {
        if (!compatible(x, y)) return -1
        if (x.children.length === 0 && y.children.length === 0) return x.value === y.value ? 2 : 1
        return 1 + dice(src, dst, m, x, y)
      }
      for (const [x, y] of align(xs2, ys2, score)) {
        m.add(x, y)
        newly.push([x, y])
      }
    }
    for (const [x, y] of newly) recovery(x, y)
  }

  // 2. bottom-up
  const postOrder: Array<GNode> = []
  const walk = (n: GNode) => {
    for (const c of n.children) walk(c)
    postOrder.push(n)
  }
  walk(src.root)
  for (const a of postOrder) {
    if (a === src.root) {
      m.add(src.root, dst.root)
      recovery(src.root, dst.root)
      continue
    }
    if (m.hasSrc(a) || a.children.length === 0) continue
    const candidates = new Set<GNode>()
    for (let i = a.id + 1; i < a.id + a.size; i++) {
      const partner = m.dst(src.nodes[i]!)
      if (partner === undefined) continue
      for (let p = partner.parent; p !== undefined; p = p.parent) {
        if (candidates.has(p)) break
        if (!m.hasDst(p) && compatible(a, p)) candidates.add(p)
      }
    }
    let best: GNode | undefined
    let bestDice = -1
    for (const c of candidates) {
      const d = dice(src, dst, m, a, c)
      if (d > bestDice) {
        best = c
        bestDice = d
      }
    }
    if (best !== undefined && bestDice >= minDice) {
      m.add(a, best)
      recovery(a, best)
    }
  }
  // final recovery over every matched pair (anchors, top-down roots)
  for (const a of src.nodes) {
    const b = m.dst(a)
    if (b !== undefined) recovery(a, b)
  }
  return m
}

/**
 * Order-preserving alignment of two sequences maximizing the sum of positive
 * scores (a weighted LCS); pairs scoring ≤ 0 are never aligned.
 */
const align = <T>(xs: ReadonlyArray<T>, ys: ReadonlyArray<T>, score: (x: T, y: T) => number): Array<readonly [T, T]> => {
  const n = xs.length
  const k = ys.length
  const w = k + 1
  const dp = new Float64Array((n + 1) * w)
  const s = new Float64Array(n * k)
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) s[i * k + j] = score(xs[i]!, ys[j]!)
  for (let i = n - 1; i >= 0; i--) {
    for (let j = k - 1; j >= 0; j--) {
      const sc = s[i * k + j]!
      const take = sc > 0 ? sc + dp[(i + 1) * w + j + 1]! : -Infinity
      dp[i * w + j] = Math.max(take, dp[(i + 1) * w + j]!, dp[i * w + j + 1]!)
    }
  }
  const out: Array<readonly [T, T]> = []
  let i = 0
  let j = 0
  while (i < n && j < k) {
    const sc = s[i * k + j]!
    if (sc > 0 && dp[i * w + j] === sc + dp[(i + 1) * w + j + 1]!) {
      out.push([xs[i]!, ys[j]!])
      i++
      j++
    } else if (dp[i * w + j] === dp[(i + 1) * w + j]) {
      i++
    } else {
      j++
    }
  }
  return out
}
