// The row copy (docs/architecture.md, "Invariants"). Per table, batches in primary-key order; each batch is a
// locking read in a source transaction, written to the target before that transaction ends.
// The row locks are what make the copy and the binlog replay agree: a concurrent change to a
// copied row commits either before the read (the read sees it) or after the target write (its
// binlog event is applied after the copied row landed).
import type { Connection, Pool } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect } from '../db/connection.js';
import type { TableSchema } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import type { Row } from '../db/sql.js';
import { rawTypeCast } from '../db/values.js';
import type { Logger } from '../log.js';
import type { StateTracker } from '../state/tracker.js';
import { batchLayout, batchRowKey, selectBatch, selectLastKey, writtenValues, type BatchLayout } from './cursor.js';
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
  /** A copy batch met a lock conflict (its code) and is retried. */
  readonly onRetry?: (code: string) => void;
}

const LOCK_CONFLICTS = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const MAX_ATTEMPTS = 10;

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

  private async openSourceConnection(): Promise<Connection> {
    const connection = await connect(this.options.source, { typeCast: rawTypeCast as never, rowsAsArray: true });
    // Raw bytes: text arrives in the column's own charset, written back unconverted.
    // READ COMMITTED: the locking read takes record locks only, no gap locks that would stall
    // the source's inserts; correctness needs the record locks alone (docs/architecture.md, "Invariants").
    await connection.query('SET character_set_results = binary');
    await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    return connection;
  }

  /**
   * One batch: locking read, target write, source commit. A deadlock or lock wait timeout on the
   * source (the locking read meets the application's writes) rolls the batch back before
   * anything is written, or after a write that is idempotent: either way it is retried whole.
   */
  private async copyBatch(connection: Connection, sql: string, table: TableSchema, layout: BatchLayout): Promise<{ rows: Row[]; written: number; readSeconds: number; writeSeconds: number }> {
    for (let attempt = 1; ; attempt++) {
      await connection.query('START TRANSACTION');
      try {
        const readStart = process.hrtime.bigint();
        const [rows] = (await connection.query(sql)) as unknown as [Row[]];
        const readSeconds = seconds(readStart);
        const writeStart = process.hrtime.bigint();
        const written = await this.options.writer.write(table, layout.columns.length > layout.written ? rows.map((row) => writtenValues(layout, row)) : rows);
        const writeSeconds = seconds(writeStart);
        await connection.query('COMMIT');
        return { rows, written, readSeconds, writeSeconds };
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: string }).code ?? '';
        if (!LOCK_CONFLICTS.has(code) || attempt >= MAX_ATTEMPTS) throw error;
        this.options.logger.debug({ table: tableKey(table), code, attempt }, 'copy batch met a lock conflict; retrying');
        this.options.onRetry?.(code);
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
      }
    }
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
