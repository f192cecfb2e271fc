// The row copy (docs/architecture.md, "The copy", "Invariants"). Per table, batches in primary-key order
// within key ranges (ranges.ts: a single-column integer key is split so that several workers copy
// one table at once; any other key is one range); each batch is a locking read in a source
// transaction, written to the target before that transaction ends. copy.concurrency workers
// in all, across and within tables, read from the live settings at each batch.
// The row locks are what make the copy and the binlog replay agree: a concurrent change to a
// copied row commits either before the read (the read sees it) or after the target write (its
// binlog event is applied after the copied row landed).
import type { Connection, Pool } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect } from '../db/connection.js';
import { classifyError, currentConnection, defaultRetryPolicy, onServer, reconnectingConnection, resetConnection, taggedServer, type RetryPolicy } from '../db/retry.js';
import type { TableSchema } from '../db/schema.js';
import { primaryKeyColumns, tableKey, valueKind } from '../db/schema.js';
import type { Row } from '../db/sql.js';
import type { Logger } from '../log.js';
import type { StateTracker } from '../state/tracker.js';
import { batchLayout, batchRowKey, keyRange, selectBatch, selectFirstKey, selectLastKey, writtenValues, type BatchLayout } from './cursor.js';
import { TableRanges, type CopyRange } from './ranges.js';
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

/**
 * What the copier reads at each batch (config/live.ts's LiveSettings fits): `concurrency`
 * workers in all (above it, workers retire after their batch; below it, new ones start), and
 * `batchRows`, whose change starts every table's batch sizer again from it.
 */
export interface CopySettings {
  readonly copy: { readonly batchRows: number; readonly concurrency: number };
  /** Called after a change (LiveSettings.onChange): new workers start at once rather than at the next batch's end. */
  onChange?(listener: (changed: readonly string[]) => void): () => void;
}

export interface RowCopierOptions {
  readonly source: Endpoint;
  readonly writer: RowWriter;
  readonly tables: readonly TableSchema[];
  readonly rowFilters: ReadonlyMap<string, string>;
  /** The live settings; without them, `concurrency` workers (and sizerFor's own batch rows) throughout. */
  readonly settings?: CopySettings;
  readonly concurrency?: number;
  readonly lockingRead: 'share' | 'update';
  readonly state: StateTracker;
  readonly gate: CopyGate;
  /** One sizer per table (each table has its own row width and cost), shared by its workers; asked again when batchRows changes. */
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

/** One batch's locking read, and the key range and row limit it was built from (the repair deletes that range). */
interface CopyBatchQuery {
  readonly sql: string;
  readonly after: Row | undefined;
  readonly through: Row;
  readonly limit: number;
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/** A table's copy as the workers share it. */
interface TableCopy {
  readonly table: TableSchema;
  readonly key: string;
  phase: 'new' | 'starting' | 'copying' | 'done';
  starting?: Promise<void>;
  ranges?: TableRanges;
  layout?: BatchLayout;
  filter?: string | undefined;
}

/** A single-column integer primary key: split by key value (ranges.ts). */
export const splittable = (table: TableSchema): boolean => {
  const keys = primaryKeyColumns(table);
  return keys.length === 1 && valueKind(keys[0]!) === 'integer';
};

export class RowCopier {
  private readonly settings: CopySettings;
  private copies: TableCopy[] = [];
  private readonly sizers = new Map<string, BatchSizer>();
  private batchRows: number;
  private active = 0;
  private peak = 0;
  private spawn: () => void = () => undefined;

  constructor(private readonly options: RowCopierOptions) {
    this.settings = options.settings ?? { copy: { concurrency: options.concurrency ?? 1, batchRows: 0 } };
    this.batchRows = this.settings.copy.batchRows;
  }

  /** Workers copying now (started, not yet retired or finished). */
  get activeWorkers(): number {
    return this.active;
  }

  /** The most workers active at once in this run. */
  get peakWorkers(): number {
    return this.peak;
  }

  /**
   * Copies every table not yet complete; resolves when all are, rejects with the first error.
   * The first error stops the other workers, and run() settles only once every worker has
   * stopped: none may go on reading the source or asking the gate after the copy has ended.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.copies = this.options.tables
      .filter((table) => !this.options.state.table(tableKey(table)).done)
      .map((table) => ({ table, key: tableKey(table), phase: 'new' }));
    const failed = new AbortController();
    const copying = AbortSignal.any([signal, failed.signal]);
    let failure: { error: unknown } | undefined;
    const workers = new Set<Promise<void>>();
    const worker = async (): Promise<void> => {
      const self = { retired: false };
      try {
        const connection = await this.openSourceConnection();
        try {
          while (!copying.aborted && !this.retire(self)) {
            const work = await this.takeWork(connection, copying);
            if (!work) return;
            await this.copyRange(connection, work.copy, work.range, copying, self);
          }
        } finally {
          await connection.end().catch(() => undefined);
        }
      } catch (error) {
        // Errors of the workers stopped because of it are consequences, not the cause.
        if (!failed.signal.aborted) failure ??= { error };
        failed.abort(error);
      } finally {
        if (!self.retired) this.active--;
      }
    };
    this.spawn = () => {
      while (!copying.aborted && this.active < Math.max(1, this.settings.copy.concurrency) && this.mayHaveWork()) {
        this.active++;
        this.peak = Math.max(this.peak, this.active);
        const running: Promise<void> = worker().finally(() => workers.delete(running));
        workers.add(running);
      }
    };
    const unsubscribe = this.settings.onChange?.(() => this.spawn());
    try {
      this.spawn();
      while (workers.size > 0) await Promise.all([...workers]);
    } finally {
      unsubscribe?.();
      this.spawn = () => undefined;
    }
    if (failure) throw failure.error;
    signal.throwIfAborted();
    const left = this.copies.filter((copy) => copy.phase !== 'done').map((copy) => copy.key);
    if (left.length) throw new Error(`the copy ended with tables not copied (${left.join(', ')}); please report this`);
  }

  /** Above the concurrency, this worker retires (counted out at once, so that only as many retire as must). */
  private retire(self: { retired: boolean }): boolean {
    if (self.retired) return true;
    if (this.active <= Math.max(1, this.settings.copy.concurrency)) return false;
    self.retired = true;
    this.active--;
    return true;
  }

  private mayHaveWork(): boolean {
    return this.copies.some((copy) => copy.phase === 'new' || copy.phase === 'starting' || (copy.phase === 'copying' && copy.ranges!.hasWork));
  }

  private sizer(copy: TableCopy): BatchSizer {
    if (this.settings.copy.batchRows !== this.batchRows) {
      // copy.batchRows changed: every table's sizer starts again from it.
      this.batchRows = this.settings.copy.batchRows;
      this.sizers.clear();
    }
    let sizer = this.sizers.get(copy.key);
    if (!sizer) {
      sizer = this.options.sizerFor(copy.table);
      this.sizers.set(copy.key, sizer);
    }
    return sizer;
  }

  private batchLimit(copy: TableCopy): number {
    return Math.max(1, Math.floor(this.sizer(copy).nextBatchSize() * (this.options.gate.batchScale?.() ?? 1)));
  }

  /**
   * The next range for a worker: in the table with the fewest workers that has one, unless a
   * table not yet started is waiting and every started one has a worker (tables first, then
   * ranges within them). Undefined when nothing is left to hand out.
   */
  private async takeWork(connection: Connection, signal: AbortSignal): Promise<{ copy: TableCopy; range: CopyRange } | undefined> {
    for (;;) {
      signal.throwIfAborted();
      let best: TableCopy | undefined;
      for (const copy of this.copies) {
        if (copy.phase === 'copying' && copy.ranges!.hasWork && (!best || copy.ranges!.workers < best.ranges!.workers)) best = copy;
      }
      const next = this.copies.find((copy) => copy.phase === 'new');
      if (next && (!best || best.ranges!.workers > 0)) {
        await this.startTable(connection, next);
        continue;
      }
      if (!best) {
        const starting = this.copies.find((copy) => copy.phase === 'starting');
        if (!starting) return undefined;
        await starting.starting;
        continue;
      }
      const range = best.ranges!.take(this.batchLimit(best))!;
      best.ranges!.workers++;
      return { copy: best, range };
    }
  }

  private startTable(connection: Connection, copy: TableCopy): Promise<void> {
    copy.phase = 'starting';
    copy.starting = (async () => {
      const { state, logger } = this.options;
      const { key, table } = copy;
      try {
        if (state.table(key).upTo === null) {
          // The end mark is read after streaming began: a row inserted past it reaches the target
          // through the binlog, so a copy racing a heavy insert load still finishes.
          const [rows] = await connection.query(selectLastKey(table));
          const last = (rows as Row[])[0];
          state.copyStarted(key, last);
          if (!last) {
            state.tableCopied(key);
            copy.phase = 'done';
            logger.info({ table: key }, 'table is empty; its rows come from the binlog');
            return;
          }
        }
        const lastKey = state.lastKey(key);
        const split = splittable(table);
        let firstKey: Row | undefined;
        if (split && !lastKey) [firstKey] = (await connection.query(selectFirstKey(table)))[0] as Row[];
        copy.layout = batchLayout(table);
        copy.filter = this.options.rowFilters.get(key);
        copy.ranges = new TableRanges({ splittable: split, lastKey, upTo: state.upTo(key)!, firstKey });
        logger.info({ table: key, resumeAfter: state.table(key).lastKey ?? undefined, splitByKey: split }, 'copying table');
        if (copy.ranges.done) this.tableDone(copy);
        else copy.phase = 'copying';
      } catch (error) {
        copy.phase = 'new';
        throw error;
      }
    })();
    return copy.starting;
  }

  private tableDone(copy: TableCopy): void {
    copy.phase = 'done';
    this.options.state.tableCopied(copy.key);
    this.options.logger.info({ table: copy.key, rows: this.options.state.table(copy.key).rowsCopied }, 'table copied');
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
      // typeCast false: each value as the raw bytes of the row packet (as db/values.ts's rawTypeCast
      // gives them), read by mysql2's row parser directly, without a wrapper and a closure per value.
      const connection = await connect(this.options.source, { typeCast: false, rowsAsArray: true });
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
  private async copyBatch(connection: Connection, batch: CopyBatchQuery, table: TableSchema, layout: BatchLayout): Promise<{ rows: Row[]; written: number; readSeconds: number; writeSeconds: number }> {
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
          const [rows] = (await onServer('source', () => source.query(batch.sql))) as unknown as [Row[]];
          read = true;
          const readSeconds = seconds(readStart);
          const writeStart = process.hrtime.bigint();
          if (repair) await this.deleteRange(table, batch, rows, layout);
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

  /**
   * The repair's delete: the target rows of the key range the batch read, the batch's filter
   * aside (rows outside it are never on the target). A full batch ends at its last row; a short
   * one read through its range's end. Ranges are disjoint, so no other worker's rows are touched.
   */
  private async deleteRange(table: TableSchema, batch: CopyBatchQuery, rows: readonly Row[], layout: BatchLayout): Promise<void> {
    if (!this.options.deleteTargetRange) return;
    const last = rows[rows.length - 1];
    const through = last && rows.length >= batch.limit ? batchRowKey(layout, last, table) : batch.through;
    const where = keyRange(table, batch.after, through, undefined);
    await onServer('target', () => this.options.deleteTargetRange!(table, where));
  }

  /**
   * Walks one range in batches until it is done, or until this worker must retire (the range
   * goes back to the table, to be continued from its last key by another worker).
   */
  private async copyRange(connection: Connection, copy: TableCopy, first: CopyRange, signal: AbortSignal, self: { retired: boolean }): Promise<void> {
    const { state } = this.options;
    const { key, table } = copy;
    const ranges = copy.ranges!;
    const layout = copy.layout!;
    let range: CopyRange | undefined = first;
    try {
      while (range) {
        if (this.retire(self)) {
          ranges.handBack(range);
          return;
        }
        await this.options.gate.wait(signal);
        let batch: Awaited<ReturnType<RowCopier['copyBatch']>>;
        const limit = this.batchLimit(copy);
        try {
          signal.throwIfAborted();
          const sql = selectBatch({ table, after: range.after, upTo: range.through, limit, filter: copy.filter, lock: this.options.lockingRead });
          batch = await this.copyBatch(connection, { sql, after: range.after, through: range.through, limit }, table, layout);
        } finally {
          this.options.gate.batchDone?.();
        }
        const { rows, written, readSeconds, writeSeconds } = batch;
        // The write alone is measured: time spent in the gate or the read would drive the size down.
        this.sizer(copy).recordBatch(rows.length, writeSeconds);
        this.options.onBatch?.({ table: key, rowsRead: rows.length, rowsWritten: written, bytesRead: valueBytes(rows), readSeconds, writeSeconds });
        const last = rows[rows.length - 1];
        const progress = ranges.batchCopied(range, rows.length, last ? batchRowKey(layout, last, table) : undefined, rows.length < limit);
        // The state's lastKey is the frontier: every row up to it copied, whatever finished beyond it.
        state.batchCopied(key, progress.frontierMoved ? ranges.frontier : undefined, rows.length);
        if (ranges.done && copy.phase !== 'done') this.tableDone(copy);
        range = progress.next;
        // The concurrency may have grown, or this range's end made room for another worker.
        this.spawn();
      }
    } finally {
      ranges.workers--;
    }
  }
}

/** Bytes of a batch's values: raw Buffers (typeCast false); a few µs per thousand values. */
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
