/**
 * The example's files: the corpus under `pdfs/`, the true segmentation under
 * `.truth/`, and how a step script knows it was started (not imported).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Schema from "effect/Schema"

/** Where prep.ts writes the PDFs. */
export const PDF_DIR = "pdfs"
/** Where prep.ts writes the true segmentation: hidden from training. */
export const TRUTH_FILE = ".truth/segments.json"

/** Overlay colors: a segment's color is its index modulo the palette size. */
export const PALETTE_SIZE = 4

/** The PDFs of the corpus, in name order: the order of the `document` loop in every step. */
export const listDocuments = (): Array<string> => fs.readdirSync(PDF_DIR).filter((f) => f.endsWith(".pdf")).sort()

const Truth = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Int) }))

/** The true page colors of every bundle (written by prep.ts). */
export const readTruth = (): Record<string, ReadonlyArray<number>> =>
  Schema.decodeUnknownSync(Truth)(fs.readFileSync(TRUTH_FILE, "utf8"))

/** True when the module at `url` is the script node was started with (not imported by another). */
export const isEntry = (url: string): boolean =>
  process.argv[1] !== undefined && url === pathToFileURL(path.resolve(process.argv[1])).href
