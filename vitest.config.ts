import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    alias: [
      { find: /^flordb$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      // src/domain/analysis/Typescript.cts re-exports the compiler for node's require (see there);
      // vite does not transform CommonJS TypeScript, so tests import the compiler directly.
      { find: /^\.\/Typescript\.cjs$/, replacement: "typescript" }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The end-to-end suites spawn many processes each; one file at a time keeps them from starving each other.
    fileParallelism: false,
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "./tsconfig.json" }
  }
})
