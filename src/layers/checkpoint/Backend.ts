/**
 * The TensorFlow.js backend for training scripts: `tfjs-node-gpu` or `tfjs-node`
 * when installed (optional peer dependencies), else the WebAssembly backend.
 *
 * tfjs is loaded lazily, so importing flordb stays cheap for scripts that do not
 * train, and with `require`: its packages are CommonJS, and node's `import` of one
 * first scans its source and every package it re-exports for export names (~7 MB
 * for tfjs, 0.3 s of CPU) — `require` returns the same module without that.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import type * as TfModule from "@tensorflow/tfjs"
import type * as WasmModule from "@tensorflow/tfjs-backend-wasm"

/** The `@tensorflow/tfjs` module. */
export type Tf = typeof TfModule

const require = createRequire(import.meta.url)

let tfModule: Promise<Tf> | undefined

/** Loads `@tensorflow/tfjs` once and returns the module (the same instance a script's `import * as tf` gets). */
export const loadTf = (): Promise<Tf> => (tfModule ??= new Promise<Tf>((resolve) => resolve(require("@tensorflow/tfjs") as Tf)))

/** Native backends, best first: loading one registers the `tensorflow` backend. */
const NATIVE = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const

const tryRequire = (specifier: string): boolean => {
  try {
    const mod: unknown = require(specifier)
    return mod !== undefined
  } catch {
    return false
  }
}

/** The directory holding the wasm backend's `.wasm` binaries, with a trailing separator. */
export const wasmDirectory = (): string =>
  path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + path.sep

const init = async (): Promise<string> => {
  const tf = await loadTf()
  // Production mode silences tfjs's console warnings (e.g. the "install tfjs-node" banner),
  // which would otherwise land on stderr of every run.
  tf.enableProdMode()
  process.env.TF_CPP_MIN_LOG_LEVEL ??= "2" // TensorFlow's C++ start-up notices (tfjs-node)
  for (const specifier of NATIVE) {
    if (tryRequire(specifier) && (await tf.setBackend("tensorflow"))) break
  }
  if (tf.getBackend() !== "tensorflow") {
    const wasm = require("@tensorflow/tfjs-backend-wasm") as typeof WasmModule
    wasm.setWasmPaths(wasmDirectory())
    // Single-threaded binary: no worker threads, and results that never depend on scheduling.
    // SIMD is used when the runtime has it (Node >= 16.4 does).
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false)
    if (!(await tf.setBackend("wasm"))) throw new Error("flordb: the tfjs wasm backend failed to initialize")
  }
  await tf.ready()
  const name = tf.getBackend()
  process.env.FLOR_BACKEND ??= name
  return name
}

let initialized: Promise<string> | undefined

/**
 * Selects the tfjs backend (once per process) and returns its name (`"tensorflow"` or `"wasm"`).
 * Sets `FLOR_BACKEND` to it when unset, so the run's `backend` column records it. Turns on tfjs's
 * production mode, which silences its console warnings (they would land on every run's stderr).
 * Call it before building models, e.g. `await initBackend()` at the top of a script.
 */
export const initBackend = (): Promise<string> => (initialized ??= init())
