// Errors a user can cause. Each has a message that says what is wrong and what to do; the CLI
// prints the message alone (no stack trace) and exits non-zero.

export class TideferryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The config file is missing, unreadable, or does not match the schema. */
export class ConfigError extends TideferryError {}

/** A preflight check failed: the servers or tables are not ready for a migration. */
export class PreflightError extends TideferryError {
  constructor(readonly check: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A selected table changed shape during the run (or since the state file was written). */
export class SchemaChangedError extends TideferryError {}

/** The state file cannot be used to resume this run. */
export class ResumeError extends TideferryError {}

/** The state file cannot be written. */
export class StateFileError extends TideferryError {}

/** Cutover failed; the message says what was restored. */
export class CutoverError extends TideferryError {}

/** The source's binlog moved on after the writers were stopped: a writer the stop did not reach. */
export class WritesContinuedError extends CutoverError {}

/** The run was stopped on request (a signal): the message says what was saved and restored. */
export class RunCancelledError extends TideferryError {}

/** Source and target differ after cutover. */
export class VerificationError extends TideferryError {}

/** The verifier itself failed (a lost connection it could not win back, a query the server refused). */
export class VerifierError extends TideferryError {}

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
