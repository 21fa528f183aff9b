/**
 * Conformance of the pure pivot (`pivot`, `latest`) to the dataframe shape rules of DESIGN §5.
 * Every expected table is written out by hand.
 */
import { describe, expect, it } from "vitest"
import { latest, pivot } from "../src/domain/Frame.js"
import type { ColumnRecords, Frame, FrameRun, LoopCoord, LoopPath } from "../src/domain/Frame.js"

// ---------------------------------------------------------------------------------------------
// Fixture helpers
// ---------------------------------------------------------------------------------------------

/** One loop context of a run: its parent (0 = top level), loop name, 1-based iteration, item. */
interface Ctx {
  readonly parent: number
  readonly name: string
  readonly iteration: number
  readonly value: unknown
}

/** Loop contexts per run index: ctx → context. */
type Contexts = ReadonlyArray<Readonly<Record<number, Ctx>>>

const pathOf = (contexts: Contexts) => (run: number, ctx: number): LoopPath => {
  const path: Array<LoopCoord> = []
  for (let c = ctx; c !== 0;) {
    const info = contexts[run]?.[c]
    if (info === undefined) throw new Error(`fixture: no ctx ${c} in run ${run}`)
    path.unshift({ ctx: c, name: info.name, iteration: info.iteration, value: info.value })
    c = info.parent
  }
  return path
}

/** A record: [run index, ctx, value]. */
type Rec = readonly [run: number, ctx: number, value: unknown]

const column = (name: string, records: ReadonlyArray<Rec>): ColumnRecords => {
  for (let i = 1; i < records.length; i++) {
    const [r0, c0] = records[i - 1]!
    const [r1, c1] = records[i]!
    if (r1 < r0 || (r1 === r0 && c1 < c0)) throw new Error(`fixture: ${name} not in (run, ctx) order`)
  }
  return {
    name,
    run: records.map((r) => r[0]),
    ctx: records.map((r) => r[1]),
    value: records.map((r) => r[2])
  }
}

const frameOf = (
  runs: ReadonlyArray<FrameRun>,
  contexts: Contexts,
  columns: ReadonlyArray<ColumnRecords>
): Frame<Record<string, unknown>> => pivot({ runs, columns, path: pathOf(contexts) })

/** Exact comparison, plus: every row has exactly the frame's columns, in the frame's order. */
const expectFrame = (
  actual: Frame<Record<string, unknown>>,
  expected: { readonly columns: ReadonlyArray<string>; readonly rows: ReadonlyArray<Record<string, unknown>> }
) => {
  expect(actual.columns).toStrictEqual(expected.columns)
  expect(actual.rows).toStrictEqual(expected.rows)
  for (const row of actual.rows) expect(Object.keys(row)).toStrictEqual(actual.columns)
}

const A: FrameRun = { projid: "proj", tstamp: "2024-05-01T10:00:00", filename: "train.py" }
const B: FrameRun = { projid: "proj", tstamp: "2024-05-02T09:30:00", filename: "train.py" }
const C: FrameRun = { projid: "proj", tstamp: "2024-05-03T08:15:00", filename: "train.py" }
const a = { projid: "proj", tstamp: "2024-05-01T10:00:00", filename: "train.py" }
const b = { projid: "proj", tstamp: "2024-05-02T09:30:00", filename: "train.py" }
const c = { projid: "proj", tstamp: "2024-05-03T08:15:00", filename: "train.py" }

/**
 * A training run: `for epoch in range(3): for step in range(2)`, except epoch 3 stops before
 * its steps. `loss` per step, `acc` per epoch.
 */
const training: Readonly<Record<number, Ctx>> = {
  1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
  2: { parent: 1, name: "step", iteration: 1, value: 0 },
  3: { parent: 1, name: "step", iteration: 2, value: 1 },
  4: { parent: 0, name: "epoch", iteration: 2, value: 1 },
  5: { parent: 4, name: "step", iteration: 1, value: 0 },
  6: { parent: 4, name: "step", iteration: 2, value: 1 },
  7: { parent: 0, name: "epoch", iteration: 3, value: 2 }
}
const trainLoss = column("loss", [[0, 2, 0.9], [0, 3, 0.8], [0, 5, 0.7], [0, 6, 0.6]])
const trainAcc = column("acc", [[0, 1, 0.5], [0, 4, 0.6], [0, 7, 0.65]])

// ---------------------------------------------------------------------------------------------

describe("pivot: rule 1, column order", () => {
  // for epoch in range(1): for step in range(2); lr top level, acc per epoch, loss per step
  const contexts: Contexts = [{
    1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
    2: { parent: 1, name: "step", iteration: 1, value: 0 },
    3: { parent: 1, name: "step", iteration: 2, value: 1 }
  }]
  const lr = column("lr", [[0, 0, 0.01]])
  const acc = column("acc", [[0, 1, 0.75]])
  const loss = column("loss", [[0, 2, 1.5], [0, 3, 1.25]])

  it("puts dims, then loop pairs outermost first, then the asked columns in the order asked", () => {
    expectFrame(frameOf([A], contexts, [acc, lr, loss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "acc", "lr", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, acc: 0.75, lr: 0.01, loss: 1.5 },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, acc: 0.75, lr: 0.01, loss: 1.25 }
      ]
    })
  })

  it("follows the asked order, not the depth of the columns", () => {
    expectFrame(frameOf([A], contexts, [loss, lr, acc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss", "lr", "acc"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 1.5, lr: 0.01, acc: 0.75 },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, loss: 1.25, lr: 0.01, acc: 0.75 }
      ]
    })
  })

  it("orders loops outermost first on the single-column path too", () => {
    expectFrame(frameOf([A], contexts, [loss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 1.5 },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, loss: 1.25 }
      ]
    })
  })
})

describe("pivot: rule 2, several runs", () => {
  // both runs: for epoch in range(2); loss per epoch. Context ids overlap across runs.
  const epochs: Readonly<Record<number, Ctx>> = {
    1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
    2: { parent: 0, name: "epoch", iteration: 2, value: 1 }
  }
  const contexts: Contexts = [epochs, epochs]
  const loss = column("loss", [[0, 1, 0.4], [0, 2, 0.3], [1, 1, 0.2], [1, 2, 0.1]])
  const acc = column("acc", [[0, 2, 0.8], [1, 1, 0.85], [1, 2, 0.9]])

  it("lists run 0's rows, then run 1's (single column)", () => {
    expectFrame(frameOf([A, B], contexts, [loss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, loss: 0.4 },
        { ...a, epoch: 2, epoch_value: 1, loss: 0.3 },
        { ...b, epoch: 1, epoch_value: 0, loss: 0.2 },
        { ...b, epoch: 2, epoch_value: 1, loss: 0.1 }
      ]
    })
  })

  it("lists run 0's rows, then run 1's (several columns), nulls where a run lacks a value", () => {
    expectFrame(frameOf([A, B], contexts, [loss, acc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "loss", "acc"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, loss: 0.4, acc: null },
        { ...a, epoch: 2, epoch_value: 1, loss: 0.3, acc: 0.8 },
        { ...b, epoch: 1, epoch_value: 0, loss: 0.2, acc: 0.85 },
        { ...b, epoch: 2, epoch_value: 1, loss: 0.1, acc: 0.9 }
      ]
    })
  })

  it("follows the order of the runs array, not the timestamps", () => {
    // runs array newest first: run index 0 is B
    expectFrame(frameOf([B, A], contexts, [loss, acc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "loss", "acc"],
      rows: [
        { ...b, epoch: 1, epoch_value: 0, loss: 0.4, acc: null },
        { ...b, epoch: 2, epoch_value: 1, loss: 0.3, acc: 0.8 },
        { ...a, epoch: 1, epoch_value: 0, loss: 0.2, acc: 0.85 },
        { ...a, epoch: 2, epoch_value: 1, loss: 0.1, acc: 0.9 }
      ]
    })
  })
})

describe("pivot: rule 3, nested loops over ranges and strings", () => {
  // for document in ["a.pdf", "b.pdf"]: for page in range(2)
  const contexts: Contexts = [{
    1: { parent: 0, name: "document", iteration: 1, value: "a.pdf" },
    2: { parent: 1, name: "page", iteration: 1, value: 0 },
    3: { parent: 1, name: "page", iteration: 2, value: 1 },
    4: { parent: 0, name: "document", iteration: 2, value: "b.pdf" },
    5: { parent: 4, name: "page", iteration: 1, value: 0 },
    6: { parent: 4, name: "page", iteration: 2, value: 1 }
  }]
  const text = column("page_text", [[0, 2, "Intro"], [0, 3, "Methods"], [0, 5, "Abstract"], [0, 6, "Results"]])
  const pages = column("n_pages", [[0, 1, 2], [0, 4, 2]])

  it("numbers iterations from 1, range items from 0, string items as themselves (single column)", () => {
    expectFrame(frameOf([A], contexts, [text]), {
      columns: ["projid", "tstamp", "filename", "document", "document_value", "page", "page_value", "page_text"],
      rows: [
        { ...a, document: 1, document_value: "a.pdf", page: 1, page_value: 0, page_text: "Intro" },
        { ...a, document: 1, document_value: "a.pdf", page: 2, page_value: 1, page_text: "Methods" },
        { ...a, document: 2, document_value: "b.pdf", page: 1, page_value: 0, page_text: "Abstract" },
        { ...a, document: 2, document_value: "b.pdf", page: 2, page_value: 1, page_text: "Results" }
      ]
    })
  })

  it("does the same with a per-document column joined on", () => {
    expectFrame(frameOf([A], contexts, [text, pages]), {
      columns: [
        "projid", "tstamp", "filename", "document", "document_value", "page", "page_value", "page_text", "n_pages"
      ],
      rows: [
        { ...a, document: 1, document_value: "a.pdf", page: 1, page_value: 0, page_text: "Intro", n_pages: 2 },
        { ...a, document: 1, document_value: "a.pdf", page: 2, page_value: 1, page_text: "Methods", n_pages: 2 },
        { ...a, document: 2, document_value: "b.pdf", page: 1, page_value: 0, page_text: "Abstract", n_pages: 2 },
        { ...a, document: 2, document_value: "b.pdf", page: 2, page_value: 1, page_text: "Results", n_pages: 2 }
      ]
    })
  })
})

describe("pivot: rule 4, <loop>_value dropped when null throughout", () => {
  // for batch in loader (objects): for token in ["x", "y"] ; batch items are not scalars
  const contexts: Contexts = [{
    1: { parent: 0, name: "batch", iteration: 1, value: { ids: [1, 2] } },
    2: { parent: 1, name: "token", iteration: 1, value: "x" },
    3: { parent: 1, name: "token", iteration: 2, value: "y" },
    4: { parent: 0, name: "batch", iteration: 2, value: null }
  }]
  const score = column("score", [[0, 2, 3], [0, 3, 4]])
  const size = column("size", [[0, 1, 2], [0, 4, 0]])

  it("drops batch_value but keeps token_value (single column)", () => {
    expectFrame(frameOf([A], contexts, [score]), {
      columns: ["projid", "tstamp", "filename", "batch", "token", "token_value", "score"],
      rows: [
        { ...a, batch: 1, token: 1, token_value: "x", score: 3 },
        { ...a, batch: 1, token: 2, token_value: "y", score: 4 }
      ]
    })
  })

  it("drops batch_value but keeps token_value, null on rows outside the token loop (several columns)", () => {
    expectFrame(frameOf([A], contexts, [score, size]), {
      columns: ["projid", "tstamp", "filename", "batch", "token", "token_value", "score", "size"],
      rows: [
        { ...a, batch: 1, token: 1, token_value: "x", score: 3, size: 2 },
        { ...a, batch: 1, token: 2, token_value: "y", score: 4, size: 2 },
        { ...a, batch: 2, token: null, token_value: null, score: null, size: 0 }
      ]
    })
  })

  it("keeps <loop>_value when some items are scalars (booleans too), null for the others", () => {
    const mixed: Contexts = [{
      1: { parent: 0, name: "item", iteration: 1, value: true },
      2: { parent: 0, name: "item", iteration: 2, value: [1, 2] },
      3: { parent: 0, name: "item", iteration: 3, value: "z" }
    }]
    const v = column("v", [[0, 1, "p"], [0, 2, "q"], [0, 3, "r"]])
    const w = column("w", [[0, 3, "s"]])
    expectFrame(frameOf([A], mixed, [v]), {
      columns: ["projid", "tstamp", "filename", "item", "item_value", "v"],
      rows: [
        { ...a, item: 1, item_value: true, v: "p" },
        { ...a, item: 2, item_value: null, v: "q" },
        { ...a, item: 3, item_value: "z", v: "r" }
      ]
    })
    expectFrame(frameOf([A], mixed, [v, w]), {
      columns: ["projid", "tstamp", "filename", "item", "item_value", "v", "w"],
      rows: [
        { ...a, item: 1, item_value: true, v: "p", w: null },
        { ...a, item: 2, item_value: null, v: "q", w: null },
        { ...a, item: 3, item_value: "z", v: "r", w: "s" }
      ]
    })
  })

  it("decides on the rows shown: an item value only in another run's loop does not keep the column", () => {
    // run 0 iterates objects; run 1 iterates strings but logs nothing asked
    const contexts2: Contexts = [
      { 1: { parent: 0, name: "batch", iteration: 1, value: { k: 1 } } },
      { 1: { parent: 0, name: "batch", iteration: 1, value: "s" } }
    ]
    expectFrame(frameOf([A, B], contexts2, [column("size", [[0, 1, 7]]), column("other", [])]), {
      columns: ["projid", "tstamp", "filename", "batch", "size", "other"],
      rows: [{ ...a, batch: 1, size: 7, other: null }]
    })
  })
})

describe("pivot: rule 5, columns at different depths", () => {
  it("repeats a per-epoch acc on that epoch's step rows; an epoch without steps keeps its own row", () => {
    expectFrame(frameOf([A], [training], [trainLoss, trainAcc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss", "acc"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 0.9, acc: 0.5 },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, loss: 0.8, acc: 0.5 },
        { ...a, epoch: 2, epoch_value: 1, step: 1, step_value: 0, loss: 0.7, acc: 0.6 },
        { ...a, epoch: 2, epoch_value: 1, step: 2, step_value: 1, loss: 0.6, acc: 0.6 },
        { ...a, epoch: 3, epoch_value: 2, step: null, step_value: null, loss: null, acc: 0.65 }
      ]
    })
  })

  it("same rows with acc asked first", () => {
    expectFrame(frameOf([A], [training], [trainAcc, trainLoss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "acc", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, acc: 0.5, loss: 0.9 },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, acc: 0.5, loss: 0.8 },
        { ...a, epoch: 2, epoch_value: 1, step: 1, step_value: 0, acc: 0.6, loss: 0.7 },
        { ...a, epoch: 2, epoch_value: 1, step: 2, step_value: 1, acc: 0.6, loss: 0.6 },
        { ...a, epoch: 3, epoch_value: 2, step: null, step_value: null, acc: 0.65, loss: null }
      ]
    })
  })

  it("gives one row per epoch and no step columns when acc is asked alone", () => {
    expectFrame(frameOf([A], [training], [trainAcc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "acc"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, acc: 0.5 },
        { ...a, epoch: 2, epoch_value: 1, acc: 0.6 },
        { ...a, epoch: 3, epoch_value: 2, acc: 0.65 }
      ]
    })
  })

  it("still one row per epoch, no step columns, when acc is asked with a column absent everywhere", () => {
    expectFrame(frameOf([A], [training], [trainAcc, column("f1", [])]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "acc", "f1"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, acc: 0.5, f1: null },
        { ...a, epoch: 2, epoch_value: 1, acc: 0.6, f1: null },
        { ...a, epoch: 3, epoch_value: 2, acc: 0.65, f1: null }
      ]
    })
  })

  it("keeps a column's records at two depths: a final top-level acc besides per-epoch acc", () => {
    // acc per epoch, and once more at the top level after the loop (test accuracy); lr top level
    const contexts: Contexts = [{
      1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
      2: { parent: 0, name: "epoch", iteration: 2, value: 1 }
    }]
    const lr = column("lr", [[0, 0, 0.1]])
    const acc = column("acc", [[0, 0, 0.95], [0, 1, 0.7], [0, 2, 0.8]])
    expectFrame(frameOf([A], contexts, [acc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "acc"],
      rows: [
        { ...a, epoch: null, epoch_value: null, acc: 0.95 },
        { ...a, epoch: 1, epoch_value: 0, acc: 0.7 },
        { ...a, epoch: 2, epoch_value: 1, acc: 0.8 }
      ]
    })
    expectFrame(frameOf([A], contexts, [lr, acc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "lr", "acc"],
      rows: [
        { ...a, epoch: null, epoch_value: null, lr: 0.1, acc: 0.95 },
        { ...a, epoch: 1, epoch_value: 0, lr: 0.1, acc: 0.7 },
        { ...a, epoch: 2, epoch_value: 1, lr: 0.1, acc: 0.8 }
      ]
    })
  })

  it("keeps a per-epoch loss next to per-step losses, with the epoch's acc on every row of that epoch", () => {
    // epoch 1 logs loss per step and an epoch-level loss (e.g. validation); acc per epoch
    const contexts: Contexts = [{
      1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
      2: { parent: 1, name: "step", iteration: 1, value: 0 },
      3: { parent: 1, name: "step", iteration: 2, value: 1 }
    }]
    const loss = column("loss", [[0, 1, 0.5], [0, 2, 0.9], [0, 3, 0.8]])
    const acc = column("acc", [[0, 1, 0.6]])
    expectFrame(frameOf([A], contexts, [loss, acc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss", "acc"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: null, step_value: null, loss: 0.5, acc: 0.6 },
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 0.9, acc: 0.6 },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, loss: 0.8, acc: 0.6 }
      ]
    })
  })
})

describe("pivot: rule 6, top-level values", () => {
  const contexts: Contexts = [
    {
      1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
      2: { parent: 0, name: "epoch", iteration: 2, value: 1 }
    },
    {}
  ]
  const lr = column("lr", [[0, 0, 0.001], [1, 0, 0.01]])
  const loss = column("loss", [[0, 1, 2.5], [0, 2, 1.5]])

  it("repeats a top-level lr on every row of its run; a run with only lr gives one row", () => {
    expectFrame(frameOf([A, B], contexts, [lr, loss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "lr", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, lr: 0.001, loss: 2.5 },
        { ...a, epoch: 2, epoch_value: 1, lr: 0.001, loss: 1.5 },
        { ...b, epoch: null, epoch_value: null, lr: 0.01, loss: null }
      ]
    })
  })

  it("repeats lr down two loop levels", () => {
    expectFrame(frameOf([A], [training], [column("lr", [[0, 0, 0.001]]), trainLoss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "lr", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, lr: 0.001, loss: 0.9 },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, lr: 0.001, loss: 0.8 },
        { ...a, epoch: 2, epoch_value: 1, step: 1, step_value: 0, lr: 0.001, loss: 0.7 },
        { ...a, epoch: 2, epoch_value: 1, step: 2, step_value: 1, lr: 0.001, loss: 0.6 }
      ]
    })
  })

  it("gives one row per run and no loop columns for top-level values alone", () => {
    const batch = column("batch_size", [[0, 0, 32], [1, 0, 64]])
    expectFrame(frameOf([A, B], contexts, [lr, batch]), {
      columns: ["projid", "tstamp", "filename", "lr", "batch_size"],
      rows: [
        { ...a, lr: 0.001, batch_size: 32 },
        { ...b, lr: 0.01, batch_size: 64 }
      ]
    })
    expectFrame(frameOf([A, B], contexts, [lr]), {
      columns: ["projid", "tstamp", "filename", "lr"],
      rows: [{ ...a, lr: 0.001 }, { ...b, lr: 0.01 }]
    })
  })
})

describe("pivot: rule 7, unrelated loop nests are stacked, not cross-multiplied", () => {
  // for epoch in range(2): acc ; then for document in ["a.pdf", "b.pdf"]: for page in range(2): page_text
  const contexts: Contexts = [{
    1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
    2: { parent: 0, name: "epoch", iteration: 2, value: 1 },
    3: { parent: 0, name: "document", iteration: 1, value: "a.pdf" },
    4: { parent: 3, name: "page", iteration: 1, value: 0 },
    5: { parent: 3, name: "page", iteration: 2, value: 1 },
    6: { parent: 0, name: "document", iteration: 2, value: "b.pdf" },
    7: { parent: 6, name: "page", iteration: 1, value: 0 },
    8: { parent: 6, name: "page", iteration: 2, value: 1 }
  }]
  const acc = column("acc", [[0, 1, 0.5], [0, 2, 0.7]])
  const text = column("page_text", [[0, 4, "p1"], [0, 5, "p2"], [0, 7, "q1"], [0, 8, "q2"]])

  it("gives 2 + 4 = 6 rows, not 2 × 4", () => {
    const df = frameOf([A], contexts, [acc, text])
    expect(df.rows).toHaveLength(6)
    expectFrame(df, {
      columns: [
        "projid", "tstamp", "filename", "epoch", "epoch_value", "document", "document_value", "page", "page_value",
        "acc", "page_text"
      ],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, document: null, document_value: null, page: null, page_value: null,
          acc: 0.5, page_text: null },
        { ...a, epoch: 2, epoch_value: 1, document: null, document_value: null, page: null, page_value: null,
          acc: 0.7, page_text: null },
        { ...a, epoch: null, epoch_value: null, document: 1, document_value: "a.pdf", page: 1, page_value: 0,
          acc: null, page_text: "p1" },
        { ...a, epoch: null, epoch_value: null, document: 1, document_value: "a.pdf", page: 2, page_value: 1,
          acc: null, page_text: "p2" },
        { ...a, epoch: null, epoch_value: null, document: 2, document_value: "b.pdf", page: 1, page_value: 0,
          acc: null, page_text: "q1" },
        { ...a, epoch: null, epoch_value: null, document: 2, document_value: "b.pdf", page: 2, page_value: 1,
          acc: null, page_text: "q2" }
      ]
    })
  })

  it("orders sibling top loops by first appearance, whatever the order asked", () => {
    const df = frameOf([A], contexts, [text, acc])
    expect(df.rows).toHaveLength(6)
    expectFrame(df, {
      columns: [
        "projid", "tstamp", "filename", "epoch", "epoch_value", "document", "document_value", "page", "page_value",
        "page_text", "acc"
      ],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, document: null, document_value: null, page: null, page_value: null,
          page_text: null, acc: 0.5 },
        { ...a, epoch: 2, epoch_value: 1, document: null, document_value: null, page: null, page_value: null,
          page_text: null, acc: 0.7 },
        { ...a, epoch: null, epoch_value: null, document: 1, document_value: "a.pdf", page: 1, page_value: 0,
          page_text: "p1", acc: null },
        { ...a, epoch: null, epoch_value: null, document: 1, document_value: "a.pdf", page: 2, page_value: 1,
          page_text: "p2", acc: null },
        { ...a, epoch: null, epoch_value: null, document: 2, document_value: "b.pdf", page: 1, page_value: 0,
          page_text: "q1", acc: null },
        { ...a, epoch: null, epoch_value: null, document: 2, document_value: "b.pdf", page: 2, page_value: 1,
          page_text: "q2", acc: null }
      ]
    })
  })

  it("still stacks them when a top-level value repeats on both nests", () => {
    const lr = column("lr", [[0, 0, 0.1]])
    const df = frameOf([A], contexts, [lr, acc, text])
    expect(df.rows).toHaveLength(6)
    expectFrame(df, {
      columns: [
        "projid", "tstamp", "filename", "epoch", "epoch_value", "document", "document_value", "page", "page_value",
        "lr", "acc", "page_text"
      ],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, document: null, document_value: null, page: null, page_value: null,
          lr: 0.1, acc: 0.5, page_text: null },
        { ...a, epoch: 2, epoch_value: 1, document: null, document_value: null, page: null, page_value: null,
          lr: 0.1, acc: 0.7, page_text: null },
        { ...a, epoch: null, epoch_value: null, document: 1, document_value: "a.pdf", page: 1, page_value: 0,
          lr: 0.1, acc: null, page_text: "p1" },
        { ...a, epoch: null, epoch_value: null, document: 1, document_value: "a.pdf", page: 2, page_value: 1,
          lr: 0.1, acc: null, page_text: "p2" },
        { ...a, epoch: null, epoch_value: null, document: 2, document_value: "b.pdf", page: 1, page_value: 0,
          lr: 0.1, acc: null, page_text: "q1" },
        { ...a, epoch: null, epoch_value: null, document: 2, document_value: "b.pdf", page: 2, page_value: 1,
          lr: 0.1, acc: null, page_text: "q2" }
      ]
    })
  })
})

describe("pivot: rule 8, a column logged twice in one context", () => {
  const contexts: Contexts = [{
    1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
    2: { parent: 1, name: "step", iteration: 1, value: 0 }
  }]
  const loss = column("loss", [[0, 2, 0.9], [0, 2, 0.85]])

  it("yields two rows (single column)", () => {
    expectFrame(frameOf([A], contexts, [loss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 0.9 },
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 0.85 }
      ]
    })
  })

  it("yields two rows, the joined ancestor value on both (several columns)", () => {
    expectFrame(frameOf([A], contexts, [loss, column("acc", [[0, 1, 0.4]])]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss", "acc"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 0.9, acc: 0.4 },
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 0.85, acc: 0.4 }
      ]
    })
  })

  it("yields two rows for a top-level value logged twice", () => {
    expectFrame(frameOf([A], contexts, [column("note", [[0, 0, "first"], [0, 0, "second"]]), column("x", [])]), {
      columns: ["projid", "tstamp", "filename", "note", "x"],
      rows: [
        { ...a, note: "first", x: null },
        { ...a, note: "second", x: null }
      ]
    })
  })
})

describe("latest: rule 9", () => {
  const epochs: Readonly<Record<number, Ctx>> = {
    1: { parent: 0, name: "epoch", iteration: 1, value: 0 },
    2: { parent: 0, name: "epoch", iteration: 2, value: 1 }
  }
  const loss = column("loss", [[0, 1, 0.4], [0, 2, 0.3], [1, 1, 0.2], [1, 2, 0.1], [2, 1, 0.05]])

  it("keeps only the rows of the newest tstamp", () => {
    // pivot rows always carry the dimension columns
    const df = frameOf([A, C, B], [epochs, epochs, epochs], [loss]) as Frame<
      Record<string, unknown> & { readonly tstamp: string }
    >
    expectFrame(latest(df), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "loss"],
      rows: [
        { ...c, epoch: 1, epoch_value: 0, loss: 0.2 },
        { ...c, epoch: 2, epoch_value: 1, loss: 0.1 }
      ]
    })
  })

  it("keeps the columns as they are", () => {
    const df: Frame<{ readonly tstamp: string; readonly x: number }> = {
      columns: ["tstamp", "x"],
      rows: [{ tstamp: "2024-05-02T09:30:00", x: 1 }, { tstamp: "2024-05-01T10:00:00", x: 2 }, {
        tstamp: "2024-05-02T09:30:00",
        x: 3
      }]
    }
    expect(latest(df)).toStrictEqual({
      columns: ["tstamp", "x"],
      rows: [{ tstamp: "2024-05-02T09:30:00", x: 1 }, { tstamp: "2024-05-02T09:30:00", x: 3 }]
    })
  })

  it("keeps an empty frame empty", () => {
    expect(latest({ columns: ["projid", "tstamp", "filename", "loss"], rows: [] })).toStrictEqual({
      columns: ["projid", "tstamp", "filename", "loss"],
      rows: []
    })
  })
})

describe("pivot: rule 10, a run without the asked columns", () => {
  const epochs: Readonly<Record<number, Ctx>> = { 1: { parent: 0, name: "epoch", iteration: 1, value: 0 } }
  const contexts: Contexts = [epochs, epochs, epochs]
  const loss = column("loss", [[0, 1, 0.4], [2, 1, 0.2]])
  const lr = column("lr", [[0, 0, 0.1], [2, 0, 0.3]])

  it("contributes no rows (single column)", () => {
    expectFrame(frameOf([A, B, C], contexts, [loss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, loss: 0.4 },
        { ...c, epoch: 1, epoch_value: 0, loss: 0.2 }
      ]
    })
  })

  it("contributes no rows (several columns)", () => {
    expectFrame(frameOf([A, B, C], contexts, [lr, loss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "lr", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, lr: 0.1, loss: 0.4 },
        { ...c, epoch: 1, epoch_value: 0, lr: 0.3, loss: 0.2 }
      ]
    })
  })

  it("gives an empty frame with dims and asked columns when no run has them", () => {
    expectFrame(frameOf([A, B], [epochs, epochs], [column("loss", [])]), {
      columns: ["projid", "tstamp", "filename", "loss"],
      rows: []
    })
    expectFrame(frameOf([A, B], [epochs, epochs], [column("loss", []), column("acc", [])]), {
      columns: ["projid", "tstamp", "filename", "loss", "acc"],
      rows: []
    })
  })
})

describe("pivot: rule 11, single-column and multi-column paths agree", () => {
  const absent = column("acc", [])

  it("on the training run: [loss] vs [loss, acc] with acc absent", () => {
    expectFrame(frameOf([A], [training], [trainLoss]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 0.9 },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, loss: 0.8 },
        { ...a, epoch: 2, epoch_value: 1, step: 1, step_value: 0, loss: 0.7 },
        { ...a, epoch: 2, epoch_value: 1, step: 2, step_value: 1, loss: 0.6 }
      ]
    })
    expectFrame(frameOf([A], [training], [trainLoss, absent]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "loss", "acc"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, step: 1, step_value: 0, loss: 0.9, acc: null },
        { ...a, epoch: 1, epoch_value: 0, step: 2, step_value: 1, loss: 0.8, acc: null },
        { ...a, epoch: 2, epoch_value: 1, step: 1, step_value: 0, loss: 0.7, acc: null },
        { ...a, epoch: 2, epoch_value: 1, step: 2, step_value: 1, loss: 0.6, acc: null }
      ]
    })
  })

  it("on a column logged at several depths and in unrelated nests, across runs", () => {
    // run 0: x at top level, per epoch, per epoch/step; run 1: x per document (objects, no _value)
    const contexts: Contexts = [
      {
        1: { parent: 0, name: "epoch", iteration: 1, value: "warmup" },
        2: { parent: 1, name: "step", iteration: 1, value: 0 },
        3: { parent: 0, name: "epoch", iteration: 2, value: "main" }
      },
      {
        1: { parent: 0, name: "document", iteration: 1, value: { id: 9 } }
      }
    ]
    const x = column("x", [[0, 0, "top"], [0, 1, "e1"], [0, 2, "e1s1"], [0, 3, "e2"], [1, 1, "d1"]])
    expectFrame(frameOf([A, B], contexts, [x]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "document", "step", "step_value", "x"],
      rows: [
        { ...a, epoch: null, epoch_value: null, document: null, step: null, step_value: null, x: "top" },
        { ...a, epoch: 1, epoch_value: "warmup", document: null, step: null, step_value: null, x: "e1" },
        { ...a, epoch: 1, epoch_value: "warmup", document: null, step: 1, step_value: 0, x: "e1s1" },
        { ...a, epoch: 2, epoch_value: "main", document: null, step: null, step_value: null, x: "e2" },
        { ...b, epoch: null, epoch_value: null, document: 1, step: null, step_value: null, x: "d1" }
      ]
    })
    expectFrame(frameOf([A, B], contexts, [x, absent]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "document", "step", "step_value", "x", "acc"],
      rows: [
        { ...a, epoch: null, epoch_value: null, document: null, step: null, step_value: null, x: "top", acc: null },
        { ...a, epoch: 1, epoch_value: "warmup", document: null, step: null, step_value: null, x: "e1", acc: null },
        { ...a, epoch: 1, epoch_value: "warmup", document: null, step: 1, step_value: 0, x: "e1s1", acc: null },
        { ...a, epoch: 2, epoch_value: "main", document: null, step: null, step_value: null, x: "e2", acc: null },
        { ...b, epoch: null, epoch_value: null, document: 1, step: null, step_value: null, x: "d1", acc: null }
      ]
    })
  })

  it("with the absent column asked first", () => {
    expectFrame(frameOf([A], [training], [column("f1", []), trainAcc]), {
      columns: ["projid", "tstamp", "filename", "epoch", "epoch_value", "f1", "acc"],
      rows: [
        { ...a, epoch: 1, epoch_value: 0, f1: null, acc: 0.5 },
        { ...a, epoch: 2, epoch_value: 1, f1: null, acc: 0.6 },
        { ...a, epoch: 3, epoch_value: 2, f1: null, acc: 0.65 }
      ]
    })
  })
})
