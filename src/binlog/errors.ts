// Errors that end a binlog stream. The streamer retries what a reconnect can cure (a dropped or
// killed connection, a restarting server) and surfaces everything else through take(), after
// the items received before the error.
import { SchemaChangedError, TideferryError } from '../errors.js';
import type { TableRef } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import { classifyError } from '../db/retry.js';

/** The binlog cannot be read any further: purged files, missing privileges, unusable settings. */
export class BinlogStreamError extends TideferryError {}

/**
 * A selected table changed shape on the source (a DDL statement, or a TABLE_MAP that no longer
 * matches the schema read at preflight). Replaying rows across it would write them into the
 * wrong columns, so the run stops.
 */
export class BinlogSchemaChangedError extends SchemaChangedError {
  constructor(
    readonly table: TableRef,
    /** The DDL statement, when a statement caused it. */
    readonly statement: string | undefined,
    detail: string,
  ) {
    super(
      `the schema of ${tableKey(table)} changed on the source during the migration (${detail}). ` +
        `Rows logged after the change no longer fit the schema tideferry copies into, so the run stops here. ` +
        `Start a new migration once the schema change is finished.`,
    );
  }
}

/**
 * A change to a selected table was logged as an SQL statement rather than as row images (the
 * writing session used binlog_format STATEMENT or MIXED), so its rows cannot be replayed.
 */
export class StatementLoggedChangeError extends BinlogStreamError {
  constructor(readonly table: TableRef, readonly statement: string) {
    super(
      `a change to ${tableKey(table)} was logged as a statement, not as rows: ${abbreviate(statement)}. ` +
        `Every session writing to the source must use binlog_format=ROW (SET GLOBAL binlog_format=ROW, and reconnect the ` +
        `applications, since the session value is taken at connect time); then start a new migration.`,
    );
  }
}

/**
 * An XA transaction changed a selected table. Its rows reach the binlog at XA PREPARE, before
 * anyone knows whether it will commit; the outcome comes later, as a statement of its own,
 * possibly after a restart. Replaying the rows at PREPARE would keep rows that a later XA
 * ROLLBACK discards, so the run stops at the first such row, before any of it is applied.
 */
export class XaTransactionError extends BinlogStreamError {
  constructor(readonly table: TableRef) {
    super(
      `an XA transaction (XA START … XA PREPARE) changed ${tableKey(table)}: tideferry cannot replay XA transactions, ` +
        `whose rows are logged before their outcome is known. Nothing of it was applied. Stop the XA writers of the ` +
        `selected tables (or have them use ordinary transactions) and start a new migration.`,
    );
  }
}

/** A column of a selected table has a type whose values tideferry cannot write back exactly. */
export class UnsupportedColumnError extends BinlogStreamError {}

/** A single row is larger than the target's max_allowed_packet: no statement can carry it. */
export class PacketTooLargeError extends TideferryError {}

export const abbreviate = (statement: string, length = 300): string =>
  statement.length <= length ? statement : `${statement.slice(0, length)}…`;

interface ServerError {
  readonly code?: string;
  readonly errno?: number;
}

/**
 * Whether reconnecting may cure this error: the run's one classification (db/retry.ts), plus a
 * connection that went silent past the heartbeat. Anything unrecognised is permanent.
 */
export function isRetryableConnectionError(error: unknown): boolean {
  return error instanceof ConnectionIdleError || classifyError(error) === 'connection';
}

/** Nothing arrived on the binlog connection for longer than the heartbeat allows. */
export class ConnectionIdleError extends Error {}

/**
 * A permanent error from the server or the client, reworded to say what to do. tideferry's own
 * errors (schema changed, statement-logged change, …) already do and pass unchanged.
 */
export function explainStreamError(error: unknown): TideferryError {
  if (error instanceof TideferryError) return error;
  const { errno } = (error ?? {}) as ServerError;
  const message = error instanceof Error ? error.message : String(error);
  switch (errno) {
    case 1236:
      return new BinlogStreamError(
        `the source cannot send its binlog from the requested position: ${message}. ` +
          `The binlog files may have been purged (raise binlog_expire_logs_seconds / expire_logs_days) ` +
          `or the position is not an event boundary; start a new migration.`,
        { cause: error },
      );
    case 1045:
    case 1044:
    case 1142:
    case 1227:
      return new BinlogStreamError(
        `the binlog user lacks a privilege: ${message}. It needs REPLICATION SLAVE (MariaDB 10.5+: also BINLOG MONITOR; ` +
          `MySQL: REPLICATION CLIENT) and SELECT on the selected tables.`,
        { cause: error },
      );
    default:
      return new BinlogStreamError(`the binlog stream failed: ${message}`, { cause: error });
  }
}
