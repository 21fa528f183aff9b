/**
 * The TypeScript compiler, loaded with `require`: it is one 9 MB CommonJS file, and
 * node's `import` of it first parses the whole source twice more (to detect its
 * module format and to scan its export names), which costs ~0.3 s of every command
 * that analyses scripts. Assigning through a name keeps node from scanning this
 * module's exports again.
 *
 * @since 0.1.0
 */
import ts = require("typescript")
export = ts
