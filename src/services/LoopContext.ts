/**
 * The fiber-local loop context: which iteration of which loops the current fiber
 * is in. Two fibers under different iterations never see each other's coordinates.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"

/** One open loop iteration. `ctx` is 0 for the top level. */
export interface LoopFrame {
  readonly ctx: number
  readonly parent: LoopFrame | undefined
  readonly name: string
  /** 1-based iteration number. */
  readonly iteration: number
  /** Number of entries of the loop, when known. */
  readonly entries: number | null
  /** The encoded item (JSON), or null. */
  readonly value: unknown
  /** Run sequence number in which this frame's loop row was last emitted. */
  emitted: number
}

/** The top level: no loop. */
export const TopLevel: LoopFrame = {
  ctx: 0,
  parent: undefined,
  name: "",
  iteration: 0,
  entries: null,
  value: null,
  emitted: Number.MAX_SAFE_INTEGER
}

/**
 * A fiber's position in its loops. A loop sets one cursor for all its iterations
 * and moves it from item to item (one FiberRef write per loop, not per item); a
 * fiber forked inside an iteration gets its own copy, so it keeps that
 * iteration's coordinates.
 */
export interface LoopCursor {
  frame: LoopFrame
}

/** The current loop cursor of a fiber. */
export const CurrentLoop: FiberRef.FiberRef<LoopCursor> = FiberRef.unsafeMake<LoopCursor>({ frame: TopLevel }, {
  fork: (cursor) => ({ frame: cursor.frame }),
  join: (parent) => parent
})

/** The current loop frame. */
export const currentFrame: Effect.Effect<LoopFrame> = Effect.map(FiberRef.get(CurrentLoop), (c) => c.frame)

/** Runs `body` inside one frame. */
export const within = <X, E, R>(frame: LoopFrame, body: Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
  Effect.locally(body, CurrentLoop, { frame })

/** Runs `body` for each item, the cursor at the frame `makeFrame` gives for it. */
export const iterate = <A, E, R>(
  items: ReadonlyArray<A>,
  makeFrame: (item: A, index: number) => LoopFrame,
  body: (item: A) => Effect.Effect<unknown, E, R>
): Effect.Effect<void, E, R> =>
  Effect.suspend(() => {
    const cursor: LoopCursor = { frame: TopLevel }
    return Effect.locally(
      Effect.forEach(items, (item, i) => {
        cursor.frame = makeFrame(item, i)
        return body(item)
      }, { discard: true }),
      CurrentLoop,
      cursor
    )
  })

/** The loop names from the outermost loop to `frame`. */
export const loopNames = (frame: LoopFrame): ReadonlyArray<string> => {
  const names: Array<string> = []
  for (let f: LoopFrame | undefined = frame; f !== undefined && f.ctx !== 0; f = f.parent) names.push(f.name)
  return names.reverse()
}

/** A new frame under `parent`; the item is kept only when it is a JSON scalar. */
export const makeFrame = (
  ctx: number,
  parent: LoopFrame,
  name: string,
  iteration: number,
  entries: number | null,
  value: unknown
): LoopFrame => ({
  ctx,
  parent: parent.ctx === 0 ? TopLevel : parent,
  name,
  iteration,
  entries,
  value: typeof value === "number" || typeof value === "string" || typeof value === "boolean" ? value : null,
  emitted: -1
})
