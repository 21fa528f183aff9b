/**
 * The fiber-local loop context: which iteration of which loops the current fiber
 * is in. Two fibers under different iterations never see each other's coordinates.
 *
 * @since 0.1.0
 */
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

/** The current loop frame of a fiber. */
export const CurrentLoop: FiberRef.FiberRef<LoopFrame> = FiberRef.unsafeMake<LoopFrame>(TopLevel)

/** The loop names from the outermost loop to `frame`. */
export const loopNames = (frame: LoopFrame): ReadonlyArray<string> => {
  const names: Array<string> = []
  for (let f: LoopFrame | undefined = frame; f !== undefined && f.ctx !== 0; f = f.parent) names.push(f.name)
  return names.reverse()
}
