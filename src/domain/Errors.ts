/**
 * Every failure a user can meet, as a tagged error with the offending value.
 * `message` is the one line the CLI prints.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** The script or command is not inside a git working tree. */
export class NotAGitRepository extends Schema.TaggedError<NotAGitRepository>()("NotAGitRepository", {
  path: Schema.String
}) {
  override get message() {
    return `${this.path} is not inside a git repository: run \`git init\` there (flordb versions every run's code on a shadow branch)`
  }
}

/** A `--kwargs` pair is malformed or fails its arg's schema. */
export class KwargsError extends Schema.TaggedError<KwargsError>()("KwargsError", {
  reason: Schema.Literal("Malformed", "Schema", "Duplicate", "OnReplay", "Reserved", "Unused"),
  arg: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message() {
    switch (this.reason) {
      case "Malformed":
        return `--kwargs: '${this.value}' is not of the form name=value (e.g. lr=0.01)`
      case "Duplicate":
        return `--kwargs: '${this.arg}' is given more than once`
      case "OnReplay":
        return `--kwargs is not allowed on replay: args take their recorded values (got ${this.arg}=${this.value})`
      case "Schema":
        return `--kwargs: ${this.arg}=${this.value} is not a valid ${this.expected}`
      case "Reserved":
        return `arg("${this.arg}", …): ${this.expected}`
      case "Unused": {
        const many = this.arg.includes(",")
        return `--kwargs ${this.value} ${many ? "were" : "was"} given but no arg() read ${many ? "them" : "it"}${this.expected}; ` +
          `the run was recorded: fix the name and run again (FLOR_UNUSED_KWARGS=warn only warns)`
      }
    }
  }
}

/** A column name that the declared schema does not know, or that collides with a reserved one. */
export class ColumnError extends Schema.TaggedError<ColumnError>()("ColumnError", {
  reason: Schema.Literal("Unknown", "Reserved", "Invalid", "Duplicate"),
  column: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    switch (this.reason) {
      case "Unknown":
        return `unknown column '${this.column}'${this.detail ? `: ${this.detail}` : ""}`
      case "Reserved":
        return `column '${this.column}' collides with ${this.detail}: rename it`
      case "Invalid":
        return `column name ${JSON.stringify(this.column)} is not valid: ${this.detail}`
      case "Duplicate":
        return `column '${this.column}' is declared twice (${this.detail})`
    }
  }
}

/** A value that does not encode or decode with its column's schema. */
export class ValueDecodeError extends Schema.TaggedError<ValueDecodeError>()("ValueDecodeError", {
  column: Schema.String,
  tstamp: Schema.String,
  filename: Schema.String,
  value: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `column '${this.column}' of run ${this.tstamp} (${this.filename}) holds ${this.value}, which does not decode with today's schema: ${this.detail}`
  }
}

/** A value passed to `log` that its column's schema cannot encode. */
export class ValueEncodeError extends Schema.TaggedError<ValueEncodeError>()("ValueEncodeError", {
  column: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `log("${this.column}", …): ${this.detail}`
  }
}

/** The relational store failed. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    if (this.operation === "open") {
      // the store is a derived index: a damaged one is rebuilt from the shadow branch
      return /not a database|malformed|corrupt/i.test(this.detail)
        ? `store: the database ${this.detail} is damaged: move it away and run \`flor unpack\` to rebuild it from the flor.shadow branch`
        : `store: cannot open the database ${this.detail}: set FLOR_HOME to a writable directory with free space`
    }
    return `store: ${this.operation} failed: ${this.detail}`
  }
}

/** A command line that does not parse: the detail, and the help to read. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  detail: Schema.String,
  help: Schema.String
}) {
  override get message() {
    return `${this.detail} (see \`${this.help}\`)`
  }
}

/** A user-given SQL text (WHERE clause, `flor query`) that is not one read-only statement. */
export class QueryError extends Schema.TaggedError<QueryError>()("QueryError", {
  reason: Schema.Literal("NotReadOnly", "MultipleStatements", "Invalid", "UnknownColumn"),
  sql: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    switch (this.reason) {
      case "NotReadOnly":
        return `refused: only read-only queries are allowed (${this.detail})`
      case "MultipleStatements":
        return `refused: give exactly one SQL statement`
      case "UnknownColumn":
        return `unknown column in query: ${this.detail}`
      case "Invalid":
        return `invalid query: ${this.detail.replace(/\s*\n\s*/g, " ")}`
    }
  }
}

/** Snapshotting or reading code versions failed. */
export class VersioningError extends Schema.TaggedError<VersioningError>()("VersioningError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `versioning: ${this.operation} failed: ${this.detail}`
  }
}

/** The run journal could not be written or read. */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `journal ${this.path}: ${this.detail}`
  }
}

/** A checkpoint that cannot be written, found or trusted. */
export class CheckpointError extends Schema.TaggedError<CheckpointError>()("CheckpointError", {
  reason: Schema.Literal("Missing", "Corrupt", "Write", "Restore"),
  tstamp: Schema.String,
  filename: Schema.String,
  loop: Schema.String,
  iteration: Schema.Number,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    const at = `${this.filename} ${this.tstamp} ${this.loop}=${this.iteration}`
    switch (this.reason) {
      case "Missing":
        return `checkpoint of ${at} is missing (${this.path}): ${this.detail}`
      case "Corrupt":
        return `checkpoint of ${at} is corrupt (${this.path}): ${this.detail}`
      case "Write":
        return `checkpoint of ${at} could not be written (${this.path}): ${this.detail}`
      case "Restore":
        return `checkpoint of ${at} does not fit the objects being restored: ${this.detail}`
    }
  }
}

/** A replay that could not run or whose worker failed; nothing was backfilled. */
export class ReplayError extends Schema.TaggedError<ReplayError>()("ReplayError", {
  tstamp: Schema.String,
  filename: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return this.tstamp === ""
      ? `replay: ${this.detail}`
      : `replay of ${this.filename} ${this.tstamp} failed, nothing was written: ${this.detail}`
  }
}
