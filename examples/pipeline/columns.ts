/**
 * The columns the steps of the pipeline write and read, with their schemas. A step
 * declares the ones it touches (`Pipeline.step`), and `pipeline.ts` has the
 * compiler check that every read is written by some step at the same type.
 */
import * as Schema from "effect/Schema"

/** The loops of per-page data: documents (PDF file names) × pages (1-based page numbers). */
export const pageLoops = { document: Schema.String, page: Schema.Int } as const

/** The feature store (featurize.ts). */
export const features = {
  n_words: Schema.Int,
  n_lines: Schema.Int,
  max_font: Schema.Number,
  has_heading: Schema.Boolean,
  heading: Schema.NullOr(Schema.String),
  page_number: Schema.NullOr(Schema.Int),
  text_density: Schema.Number,
  top_margin: Schema.Number,
  upper_ratio: Schema.Number,
  has_salutation: Schema.Boolean
} as const

/** The feature columns, in model-input order. */
export const FEATURE_NAMES = Object.keys(features) as Array<keyof typeof features>

/** The label store: a page's segment color (label.ts by hand, serve.ts from the web app). */
export const labels = { page_color: Schema.Int } as const

/** Per-epoch validation metrics of train.ts: the model registry. */
export const metrics = { val_recall: Schema.Number, val_precision: Schema.Number, val_acc: Schema.Number } as const

/** Predictions of infer.ts: the first-page probability and the predicted segment color. */
export const predictions = { first_page: Schema.Number, pred_color: Schema.Int } as const
