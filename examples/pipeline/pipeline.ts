/**
 * The pipeline as the compiler sees it. Make runs the steps (one script, one run
 * each); this module only composes their declarations, so `npm run typecheck`
 * fails when a step reads a column that no step writes, or reads it at another
 * type: say, infer.ts asking for `val_recal`, or serve.ts reading `page_color` as a
 * string. `page_color` is feedback for train.ts: the web app writes it in a later
 * round of the loop.
 */
import { Pipeline } from "flordb"
import { featurize } from "./featurize.js"
import { infer } from "./infer.js"
import { label } from "./label.js"
import { prep } from "./prep.js"
import { serve } from "./serve.js"
import { train } from "./train.js"

/** prep → featurize → label → train → infer → serve, in Makefile order. */
export const pipeline = Pipeline.make(prep, featurize, label, train, infer, serve)
