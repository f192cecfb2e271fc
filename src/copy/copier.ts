// The row copy (docs/architecture.md, "Invariants"). Per table, batches in primary-key order; each batch is a
// locking read in a source transaction, written to the target before that transaction ends.
// The row locks are what make the copy and the binlog replay agree: a concurrent change to a
// copied row commits either before the read (the read sees it) or after the target write (its
// binlog event is applied after the copied row landed).
import type { Connection, Pool } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect } from '../db/connection.js';
import { classifyError, currentConnection, defaultRetryPolicy, onServer, reconnectingConnection, resetConnection, taggedServer, type RetryPolicy } from '../db/retry.js';
import type { TableSchema } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import type { Row } from '../db/sql.js';
import { rawTypeCast } from '../db/values.js';
import type { Logger } from '../log.js';
import type { StateTracker } from '../state/tracker.js';
import { batchLayout, batchRowKey, keyRange, selectBatch, selectLastKey, writtenValues, type BatchLayout } from './cursor.js';
import type { RowWriter } from './writer.js';

/** Decides the size of each table's next batch from the write time of the previous ones. */
export interface BatchSizer {
  nextBatchSize(): number;
  recordBatch(rows: number, seconds: number): void;
}

/** Waits before each batch while the copy must yield (replica lag, target saturation, a pause). */
export interface CopyGate {
  wait(signal: AbortSignal): Promise<void>;
  /** The batch admitted by the last wait() of this worker has been written (or failed). */
  batchDone?(): void;
  /** The share of its usual size the next batch should have (1 normally; less while the copy must tread lightly). */
  batchScale?(): number;
}

export interface CopyBatchReport {
  readonly table: string;
  readonly rowsRead: number;
  readonly rowsWritten: number;
  /** Bytes of the column values read (raw, as they are written to the target). */
  readonly bytesRead: number;
  readonly readSeconds: number;
  readonly writeSeconds: number;
}

export interface RowCopierOptions {
  readonly source: Endpoint;
  readonly writer: RowWriter;
  readonly tables: readonly TableSchema[];
  readonly rowFilters: ReadonlyMap<string, string>;
  readonly concurrency: number;
  readonly lockingRead: 'share' | 'update';
  readonly state: StateTracker;
  readonly gate: CopyGate;
  /** One sizer per table (each table has its own row width and cost). */
  readonly sizerFor: (table: TableSchema) => BatchSizer;
  readonly logger: Logger;
  readonly onBatch?: (report: CopyBatchReport) => void;
  /** A copy batch met a transient error (its code) and is retried. */
  readonly onRetry?: (code: string) => void;
  /** The run's retry policy (db/retry.ts); a default one otherwise. */
  readonly retry?: RetryPolicy;
  /** Stops the waits between retries when the run ends. */
  readonly signal?: AbortSignal;
  /**
   * Deletes the target's rows of a key range (after, through] (through undefined: to the end);
   * the repair of a batch whose source locks may have been lost before its write landed.
   */
  readonly deleteTargetRange?: (table: TableSchema, sql: string) => Promise<void>;
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

export class RowCopier {
  constructor(private readonly options: RowCopierOptions) {}

  /**
   * Copies every table not yet complete; resolves when all are, rejects with the first error.
   * The first error stops the other workers, and run() settles only once every worker has
   * stopped: none may go on reading the source or asking the gate after the copy has ended.
   */
  async run(signal: AbortSignal): Promise<void> {
    const pending = this.options.tables.filter((table) => !this.options.state.table(tableKey(table)).done);
    const workers = Math.min(this.options.concurrency, pending.length);
    const queue = [...pending];
    const failed = new AbortController();
    const copying = AbortSignal.any([signal, failed.signal]);
    let failure: { error: unknown } | undefined;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        try {
          const connection = await this.openSourceConnection();
          try {
            for (let table = queue.shift(); table && !copying.aborted; table = queue.shift()) {
              await this.copyTable(connection, table, copying);
            }
          } finally {
            await connection.end().catch(() => undefined);
          }
        } catch (error) {
          // Errors of the workers stopped because of it are consequences, not the cause.
          if (!failed.signal.aborted) failure ??= { error };
          failed.abort(error);
        }
      }),
    );
    if (failure) throw failure.error;
    signal.throwIfAborted();
  }

  private get retry(): RetryPolicy {
    return (this.retryPolicy ??= this.options.retry ?? defaultRetryPolicy(this.options.logger));
  }
  private retryPolicy: RetryPolicy | undefined;

  /**
   * A connection that opens itself again after a lost connection (db/retry.ts): its queries
   * outside a batch (the end mark) are retried by the run's policy; a batch retries itself whole.
   */
  private async openSourceConnection(): Promise<Connection> {
    const open = async () => {
      const connection = await connect(this.options.source, { typeCast: rawTypeCast as never, rowsAsArray: true });
      // Raw bytes: text arrives in the column's own charset, written back unconverted.
      // READ COMMITTED: the locking read takes record locks only, no gap locks that would stall
      // the source's inserts; correctness needs the record locks alone (docs/architecture.md, "Invariants").
      await connection.query('SET character_set_results = binary');
      await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      return connection;
    };
    return reconnectingConnection(open, this.retry, { server: 'source', part: 'copy', signal: this.options.signal, onRetry: this.options.onRetry });
  }

  /**
   * One batch: locking read, target write, source commit, retried whole by the run's policy on a
   * transient error of either server (a lock conflict, a lost connection, a restart): nothing of
   * the batch counts before its source commit, and its write is idempotent (INSERT IGNORE).
   *
   * A retry after a connection was lost once the rows were read is a repair: the source locks
   * may have gone with the connection before the write landed, and a change committed in between
   * may have reached the target before the stale copy of its row did (a deleted row copied back).
   * So the batch is read again under REPEATABLE READ — next-key locks: nothing in its key range
   * can change until it ends — and the target's rows of that range are deleted and written again.
   */
  private async copyBatch(connection: Connection, sql: string, table: TableSchema, layout: BatchLayout): Promise<{ rows: Row[]; written: number; readSeconds: number; writeSeconds: number }> {
    let repair = false;
    return this.retry.run(
      {
        server: 'source',
        part: 'copy',
        signal: this.options.signal,
        onRetry: this.options.onRetry,
        beforeRetry: (error) => {
          if (classifyError(error) === 'connection' && taggedServer(error) !== 'target') resetConnection(connection);
        },
      },
      async () => {
        const source = await currentConnection(connection);
        let read = false;
        try {
          if (repair) await onServer('source', () => source.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ'));
          await onServer('source', () => source.query('START TRANSACTION'));
          const readStart = process.hrtime.bigint();
          const [rows] = (await onServer('source', () => source.query(sql))) as unknown as [Row[]];
          read = true;
          const readSeconds = seconds(readStart);
          const writeStart = process.hrtime.bigint();
          if (repair) await this.deleteRange(table, sql, rows, layout);
          const values = layout.columns.length > layout.written ? rows.map((row) => writtenValues(layout, row)) : rows;
          const written = await onServer('target', () => this.options.writer.write(table, values));
          const writeSeconds = seconds(writeStart);
          await onServer('source', () => source.query('COMMIT'));
          if (repair) this.options.logger.info({ table: tableKey(table), rows: rows.length }, 'copy batch repaired after its source connection was lost');
          return { rows, written, readSeconds, writeSeconds };
        } catch (error) {
          await source.query('ROLLBACK').catch(() => undefined);
          // Either connection lost after the read: whether the source locks outlived the write is
          // unknown (the target's outcome too, if both went), so the retry repairs.
          if (read && classifyError(error) === 'connection' && this.options.deleteTargetRange) repair = true;
          throw error;
        }
      },
    );
  }

  /** The repair's delete: the target rows of the range the batch read, the batch's filter aside. */
  private async deleteRange(table: TableSchema, sql: string, rows: readonly Row[], layout: BatchLayout): Promise<void> {
    if (!this.options.deleteTargetRange) return;
    // The batch's range as copyTable built its query: after the state's last key (it moves only
    // once a batch is done), LIMIT n, through the table's end mark.
    const key = tableKey(table);
    const limit = Number(/^ LIMIT (\d+)/.exec(sql.slice(sql.lastIndexOf(' LIMIT ')))?.[1]);
    if (!Number.isFinite(limit)) throw new Error(`copy repair: no LIMIT in the batch query of ${key}`);
    const last = rows[rows.length - 1];
    // A full batch ends at its last row; a short one read through the end mark (or the table's end).
    const through = last && rows.length >= limit ? batchRowKey(layout, last, table) : this.options.state.upTo(key) ?? undefined;
    const where = keyRange(table, this.options.state.lastKey(key) ?? undefined, through, undefined);
    await onServer('target', () => this.options.deleteTargetRange!(table, where));
  }

  private async copyTable(connection: Connection, table: TableSchema, signal: AbortSignal): Promise<void> {
    const key = tableKey(table);
    const { state, logger } = this.options;
    if (state.table(key).upTo === null) {
      // The end mark is read after streaming began: a row inserted past it reaches the target
      // through the binlog, so a copy racing a heavy insert load still finishes.
      const [rows] = await connection.query(selectLastKey(table));
      const last = (rows as Row[])[0];
      state.copyStarted(key, last);
      if (!last) {
        state.tableCopied(key);
        logger.info({ table: key }, 'table is empty; its rows come from the binlog');
        return;
      }
    }
    const upTo = state.upTo(key);
    const layout = batchLayout(table);
    const sizer = this.options.sizerFor(table);
    const filter = this.options.rowFilters.get(key);
    logger.info({ table: key, resumeAfter: state.table(key).lastKey ?? undefined }, 'copying table');
    for (;;) {
      await this.options.gate.wait(signal);
      let batch: Awaited<ReturnType<RowCopier['copyBatch']>>;
      const limit = Math.max(1, Math.floor(sizer.nextBatchSize() * (this.options.gate.batchScale?.() ?? 1)));
      try {
        signal.throwIfAborted();
        const sql = selectBatch({ table, after: state.lastKey(key), upTo, limit, filter, lock: this.options.lockingRead });
        batch = await this.copyBatch(connection, sql, table, layout);
      } finally {
        this.options.gate.batchDone?.();
      }
      const { rows, written, readSeconds, writeSeconds } = batch;
      // The write alone is measured: time spent in the gate or the read would drive the size down.
      sizer.recordBatch(rows.length, writeSeconds);
      this.options.onBatch?.({ table: key, rowsRead: rows.length, rowsWritten: written, bytesRead: valueBytes(rows), readSeconds, writeSeconds });
      const last = rows[rows.length - 1];
      if (last) state.batchCopied(key, batchRowKey(layout, last, table), rows.length);
      if (rows.length < limit) {
        state.tableCopied(key);
        logger.info({ table: key, rows: state.table(key).rowsCopied }, 'table copied');
        return;
      }
    }
  }
}

/** Bytes of a batch's values: raw Buffers (rawTypeCast); a few µs per thousand values. */
function valueBytes(rows: readonly Row[]): number {
  let bytes = 0;
  for (const row of rows) for (const value of row) if (value !== null) bytes += Buffer.isBuffer(value) ? value.length : String(value).length;
  return bytes;
}

/** A batch sizer that always answers the same size (copy.adaptive: false, and tests). */
export class FixedBatchSizer implements BatchSizer {
  constructor(private readonly size: number) {}
  nextBatchSize(): number {
    return this.size;
  }
  recordBatch(): void {}
}

export type { Pool };
