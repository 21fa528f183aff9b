/**
 * Typed pipelines: a step is an Effect program that declares the columns it
 * reads and writes, with their schemas. Steps compose in code, and the
 * composition is checked by the compiler: a step that reads a column no upstream
 * step writes, or reads it at another type, does not compile. Each step runs as
 * its own run (its own script, `tstamp` and build context), so Make — or any
 * scheduler — decides order and caching while the types guarantee the wiring.
 *
 * @example
 * const featurize = Pipeline.step({ name: "featurize", writes: { n_words: Schema.Number },
 *   loops: { document: Schema.String }, run: ({ out }) => out.loop("document", docs, (d) => out.log("n_words", count(d))) })
 * const train = Pipeline.step({ name: "train", reads: { n_words: Schema.Number },
 *   run: ({ read }) => Effect.flatMap(read.dataframe("n_words"), fit) })
 * const pipeline = Pipeline.make(featurize, train)   // swapping them is a compile error
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { Fields } from "../domain/Spec.js"
import * as Flor from "./Flor.js"

type TypeOf<S> = S extends Schema.Schema.AnyNoContext ? Schema.Schema.Type<S> : never

/** What a step's program is given: a DSL to write its columns and one to read its inputs. */
export interface StepIO<Rd extends Fields, Fb extends Fields, Wr extends Fields, A extends Fields, L extends Fields> {
  /** `log`, `arg`, `loop`, `iteration` over the columns the step writes. */
  readonly out: Flor.Flor<Wr, A, L>
  /** `dataframe` over the columns the step reads (upstream and feedback). */
  readonly read: Flor.Flor<Rd & Fb, {}, L>
}

/** A pipeline step. */
export interface Step<
  N extends string,
  Rd extends Fields,
  Fb extends Fields,
  Wr extends Fields,
  A extends Fields,
  L extends Fields,
  E,
  R
> {
  readonly name: N
  /** Columns an upstream step must write before this one runs. */
  readonly reads: Rd
  /** Columns read from a previous round of the pipeline (e.g. human feedback); some step must write them. */
  readonly feedback: Fb
  readonly writes: Wr
  readonly io: StepIO<Rd, Fb, Wr, A, L>
  /** The step's program. */
  readonly program: Effect.Effect<void, E, R>
}

/** Any step. */
export interface AnyStep {
  readonly name: string
  readonly reads: Fields
  readonly feedback: Fields
  readonly writes: Fields
}

/** Declares a step. */
export const step = <
  const N extends string,
  const Rd extends Fields = {},
  const Fb extends Fields = {},
  const Wr extends Fields = {},
  const A extends Fields = {},
  const L extends Fields = {},
  E = never,
  R = never
>(definition: {
  readonly name: N
  readonly reads?: Rd
  readonly feedback?: Fb
  readonly writes?: Wr
  readonly args?: A
  readonly loops?: L
  readonly run: (io: StepIO<Rd, Fb, Wr, A, L>) => Effect.Effect<void, E, R>
}): Step<N, Rd, Fb, Wr, A, L, E, R> => {
  const reads = definition.reads ?? ({} as Rd)
  const feedback = definition.feedback ?? ({} as Fb)
  const writes = definition.writes ?? ({} as Wr)
  const loops = definition.loops ?? ({} as L)
  const io: StepIO<Rd, Fb, Wr, A, L> = {
    out: Flor.make({ columns: writes, args: definition.args ?? ({} as A), loops }),
    read: Flor.make({ columns: { ...reads, ...feedback } as Rd & Fb, loops })
  }
  return { name: definition.name, reads, feedback, writes, io, program: definition.run(io) }
}

/** A wiring error, shown by the compiler where the offending step is passed. */
export interface WiringError<Message extends string> {
  readonly "pipeline wiring error": Message
}

type Missing<Rd extends Fields, Avail extends Fields> = Exclude<keyof Rd & string, keyof Avail>
type Mismatched<Rd extends Fields, Avail extends Fields> = {
  [K in keyof Rd & keyof Avail & string]: [TypeOf<Rd[K]>] extends [TypeOf<Avail[K]>]
    ? [TypeOf<Avail[K]>] extends [TypeOf<Rd[K]>] ? never : K
    : K
}[keyof Rd & keyof Avail & string]

type WritesOfAll<Steps extends ReadonlyArray<AnyStep>> = Steps extends readonly [
  infer S extends AnyStep,
  ...infer Rest extends ReadonlyArray<AnyStep>
] ? S["writes"] & WritesOfAll<Rest>
  : {}

type CheckStep<S extends AnyStep, Avail extends Fields, All extends Fields> = [Missing<S["reads"], Avail>] extends [never]
  ? [Mismatched<S["reads"], Avail>] extends [never]
    ? [Missing<S["feedback"], All>] extends [never]
      ? [Mismatched<S["feedback"], All>] extends [never] ? S
      : WiringError<`step '${S["name"]}' reads feedback '${Mismatched<S["feedback"], All>}' at another type than it is written`>
    : WiringError<`step '${S["name"]}' reads feedback '${Missing<S["feedback"], All>}', which no step writes`>
  : WiringError<`step '${S["name"]}' reads '${Mismatched<S["reads"], Avail>}' at another type than upstream writes it`>
  : WiringError<`step '${S["name"]}' reads '${Missing<S["reads"], Avail>}', which no upstream step writes`>

/** Each step checked against the writes of the steps before it. */
export type Wire<Steps extends ReadonlyArray<AnyStep>, All extends Fields, Avail extends Fields = {}> = Steps extends
  readonly [infer S extends AnyStep, ...infer Rest extends ReadonlyArray<AnyStep>]
  ? readonly [CheckStep<S, Avail, All>, ...Wire<Rest, All, Avail & S["writes"]>]
  : readonly []

/** A pipeline: its steps, in order. */
export interface Pipeline<Steps extends ReadonlyArray<AnyStep>> {
  readonly steps: Steps
  /** The step named `name`. */
  readonly get: <N extends Steps[number]["name"]>(name: N) => Extract<Steps[number], { readonly name: N }>
}

/** Composes steps in order; the compiler checks that every read is written upstream at the same type. */
export const make = <const Steps extends ReadonlyArray<AnyStep>>(
  ...steps: Steps & Wire<Steps, WritesOfAll<Steps>>
): Pipeline<Steps> => ({
  steps,
  get: (name) => steps.find((s) => s.name === name) as never
})
