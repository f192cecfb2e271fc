// The binlog applier: takes row changes from the stream and writes them to the target in
// batches, one target transaction per batch, in as few round trips as the target's
// max_allowed_packet allows (one, unless rows are large). It reports each batch's (size,
// seconds) to the batch sizer — spirit's Feedback — which answers with the next size, and it
// records the position up to which the target is current.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Endpoint } from '../../db/connection.js';
import { connect } from '../../db/connection.js';
import { classifyError, defaultRetryPolicy, type RetryPolicy } from '../../db/retry.js';
import type { TableSchema } from '../../db/schema.js';
import type { Logger } from '../../log.js';
import { commitTimeEstimate, type RowItem, type StreamItem } from '../events.js';
import type { BinlogPosition } from '../position.js';
import { compareBinlogPositions } from '../position.js';
import { planStatements } from './plan.js';
import { applyRowFilters } from './row-filter.js';

/** Where the applier takes its items from: the stream's queue. */
export interface ItemSource {
  take(maxItems: number, waitMs: number): Promise<StreamItem[]>;
  readonly queuedItems: number;
  /** The oldest item still queued (for the lag), if any. */
  readonly oldestQueued: StreamItem | undefined;
}

/** Sizes binlog batches: a fixed size, or the adaptive controller of src/tuning. */
export interface BinlogBatchSizer {
  nextBatchSize(now: number, backlog?: number): number;
  recordBatch(size: number, seconds: number, now: number): void;
  /** Row events stamped `sourceSecond` on the source, as they are written (see tuning/source-rate.ts). */
  recordSourceEvents?(sourceSecond: number, events: number, now: number): void;
  /** A whole source transaction of `items` stream items (its row events and its commit) was taken. */
  recordSourceTransaction?(items: number): void;
}

export class FixedBinlogBatchSizer implements BinlogBatchSizer {
  constructor(private readonly size: number) {}
  nextBatchSize(): number {
    return this.size;
  }
  recordBatch(): void {}
}

export interface AppliedBatch {
  /** Row events written. */
  readonly size: number;
  /** Target statements the batch became (after joining runs). */
  readonly statements: number;
  /** The applier's busy time for the batch: building its statements and writing them (T = m·b + o). */
  readonly seconds: number;
  /** Of `seconds`: judging row filters, and planning and building the statements (the rest is the write). */
  readonly buildSeconds: number;
  /** Per row event: seconds from its source commit to its apply on the target. */
  readonly lagSeconds: readonly number[];
  readonly position: BinlogPosition;
  /** The batch's row changes, as taken (before row filters and coalescing). */
  readonly changes: readonly RowItem[];
}

export interface BinlogApplierOptions {
  readonly target: Endpoint;
  readonly source: ItemSource;
  readonly tables: ReadonlyMap<string, TableSchema>;
  readonly sizer: BinlogBatchSizer;
  readonly start: BinlogPosition;
  readonly logger: Logger;
  /** Row filters by 'db.table' (SQL conditions), applied to every change's after image. */
  readonly rowFilters?: ReadonlyMap<string, string>;
  /** Collapse each row's changes in a batch to their net effect (see plan.ts). Default true. */
  readonly coalesce?: boolean;
  /**
   * Least time between the starts of two writes, seconds (binlog.minBatchIntervalMs). A batch
   * smaller than the sizer's size waits until then; a full one goes at once. Default 0.
   */
  readonly minBatchIntervalSeconds?: number;
  readonly onBatch?: (batch: AppliedBatch) => void;
  /** A batch met a transient error (its code) and is retried. */
  readonly onRetry?: (code: string) => void;
  /** The run's retry policy (db/retry.ts); a default one otherwise. */
  readonly retry?: RetryPolicy;
}

const now = (): number => Date.now() / 1000;
const cpuSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};
// Room left in a packet for the transaction's own statements and the protocol's header.
const PACKET_SLACK_BYTES = 1024;

/**
 * Sends a query and waits for its results, through mysql2's callback API: its promise wrapper
 * captures a stack trace per query (`npm run bench -- keepup`: 4% of the engine's CPU at 1,000
 * transactions a second), which the applier, a thousand writes a second, does not need.
 */
function send(connection: Connection, sql: string): Promise<void> {
  const raw = (connection as unknown as { connection: { query(sql: string, callback: (error: unknown) => void): void } }).connection;
  return new Promise((resolve, reject) => raw.query(sql, (error) => (error ? reject(error) : resolve())));
}

/** The queries of one target transaction holding `statements`, each at most `limit` bytes. */
export function transactionQueries(statements: readonly string[], limit: number): string[] {
  if (statements.length === 0) return [];
  if (statements.length === 1) return [statements[0]!];
  const queries: string[] = [];
  let current = 'START TRANSACTION';
  for (const statement of statements) {
    if (current.length + statement.length + 2 > limit) {
      queries.push(current);
      current = statement;
    } else {
      current += `;\n${statement}`;
    }
  }
  queries.push(`${current};\nCOMMIT`);
  return queries;
}

export class BinlogApplier {
  private connection: Connection | undefined;
  private maxPacketBytes = 16 * 1024 * 1024;
  private applied: BinlogPosition;
  private waiters: { position: BinlogPosition; resolve: () => void }[] = [];
  /** Commit estimate of the oldest event of the batch being written (undefined when none is). */
  private inFlightSince: number | undefined;
  /** Row events of the source transaction whose commit has not been taken yet (it can span batches). */
  private rowsInOpenTransaction = 0;
  eventsApplied = 0;
  batchesApplied = 0;
  /** Seconds spent building and writing batches since the start: busy ÷ wall time is the applier's utilisation. */
  busySeconds = 0;
  /** Of busySeconds: judging row filters, planning and building statements. */
  buildSeconds = 0;
  /** Process CPU seconds spent planning and building statements (the synchronous part of a batch before its write). */
  buildCpuSeconds = 0;
  /** Process CPU seconds spent in the batch sizer (the tuning loop). */
  tuningCpuSeconds = 0;
  /** The sum of every applied event's lag, seconds (with eventsApplied, the mean lag over any span). */
  eventLagSumSeconds = 0;

  constructor(private readonly options: BinlogApplierOptions) {
    this.applied = options.start;
  }

  get appliedPosition(): BinlogPosition {
    return this.applied;
  }

  /**
   * Source commit time (estimate, seconds since the epoch) of the oldest event received and not
   * yet on the target; undefined when every received event is applied.
   */
  get oldestPendingCommit(): number | undefined {
    if (this.inFlightSince !== undefined) return this.inFlightSince;
    const queued = this.options.source.oldestQueued;
    return queued ? commitTimeEstimate(queued) : undefined;
  }

  /** Applies batches until the signal aborts; rejects on a target error that retries did not cure. */
  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    const intervalMs = (this.options.minBatchIntervalSeconds ?? 0) * 1000;
    let lastStartMs = -Infinity;
    try {
      while (!signal.aborted) {
        const tuningStarted = process.cpuUsage();
        const size = this.options.sizer.nextBatchSize(now(), this.options.source.queuedItems);
        this.tuningCpuSeconds += cpuSince(tuningStarted);
        // Fewer than a full batch queued: let a whole interval's events gather before writing
        // (an isolated event after a quiet spell still goes at once).
        const waitMs = lastStartMs + intervalMs - performance.now();
        if (waitMs > 0 && this.options.source.queuedItems < size) await new Promise((resolve) => setTimeout(resolve, waitMs));
        const items = await this.options.source.take(size, 100);
        lastStartMs = performance.now();
        if (items.length === 0) continue;
        this.inFlightSince = commitTimeEstimate(items[0]!);
        try {
          await this.applyBatch(items);
        } finally {
          this.inFlightSince = undefined;
        }
      }
    } finally {
      await this.connection?.end().catch(() => undefined);
      this.connection = undefined;
    }
  }

  /** The target's thread id of the applier's connection, while it has one (tests kill it). */
  get connectionThreadId(): number | undefined {
    return this.connection?.threadId ?? undefined;
  }

  /** True while no batch is taken and unwritten. */
  get idle(): boolean {
    return this.inFlightSince === undefined;
  }

  /** Resolves once every event before `position` is written to the target. */
  waitForPosition(position: BinlogPosition): Promise<void> {
    if (compareBinlogPositions(this.applied, position) >= 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  private async applyBatch(items: readonly StreamItem[]): Promise<void> {
    // T is the applier's whole busy time for the batch: turning events into statements costs per
    // event too, and the next batch cannot start before it is done. Only waiting for events is left out.
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    const changes: RowItem[] = [];
    const commitTimes: number[] = [];
    let position: BinlogPosition | undefined;
    let sourceSecond = -1;
    let eventsInSecond = 0;
    const perSourceSecond: [number, number][] = [];
    for (const item of items) {
      if (item.kind === 'row') {
        changes.push(item);
        commitTimes.push(commitTimeEstimate(item));
        if (item.timestamp !== sourceSecond) {
          if (eventsInSecond > 0) perSourceSecond.push([sourceSecond, eventsInSecond]);
          sourceSecond = item.timestamp;
          eventsInSecond = 0;
        }
        eventsInSecond++;
        this.rowsInOpenTransaction++;
      } else {
        position = item.position;
        this.options.sizer.recordSourceTransaction?.(this.rowsInOpenTransaction + 1);
        this.rowsInOpenTransaction = 0;
      }
    }
    if (eventsInSecond > 0) perSourceSecond.push([sourceSecond, eventsInSecond]);
    this.buildCpuSeconds += cpuSince(cpuStarted);
    const { statements, built } = changes.length > 0 ? await this.write(changes) : { statements: 0, built: process.hrtime.bigint() };
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const buildSeconds = Number(built - started) / 1e9;
    this.busySeconds += seconds;
    this.buildSeconds += buildSeconds;
    const appliedAt = now();
    const tuningStarted = process.cpuUsage();
    this.options.sizer.recordBatch(changes.length, seconds, appliedAt);
    for (const [second, events] of perSourceSecond) this.options.sizer.recordSourceEvents?.(second, events, appliedAt);
    this.tuningCpuSeconds += cpuSince(tuningStarted);
    this.eventsApplied += changes.length;
    this.batchesApplied++;
    if (position) this.advance(position);
    for (let index = 0; index < commitTimes.length; index++) {
      commitTimes[index] = Math.max(0, appliedAt - commitTimes[index]!);
      this.eventLagSumSeconds += commitTimes[index]!;
    }
    if (this.options.onBatch) {
      this.options.onBatch({ size: changes.length, statements, seconds, buildSeconds, lagSeconds: commitTimes, position: this.applied, changes });
    }
  }

  /**
   * Judges the row filters, plans the statements and writes them in one transaction: one round
   * trip when they fit in a packet, several otherwise (large rows), the transaction held open
   * across them; a lone statement goes without BEGIN/COMMIT (it is a transaction by itself).
   * The whole of it is retried by the run's policy on a transient error (a lost connection, a
   * restarting or read-only target, a lock conflict), on a new connection after a lost one,
   * until retry.giveUpAfterSeconds: judging and every statement are idempotent.
   *
   * A COMMIT whose reply was lost (the connection dropped, the target restarted) may have
   * committed, or not: applying the batch again is safe either way. The applied position (and
   * with it the state file's) moves only after a batch's success, and every statement writes a
   * whole row image (an upsert of the after image, a delete by key), so applying the same images
   * again leaves the same rows — exactly what a resume does with the events after the saved position.
   */
  private async write(changes: readonly RowItem[]): Promise<{ statements: number; built: bigint }> {
    this.retryPolicy ??= this.options.retry ?? defaultRetryPolicy(this.options.logger);
    return this.retryPolicy.run(
      {
        server: 'target',
        part: 'binlog',
        signal: this.signal,
        onRetry: (code) => this.options.onRetry?.(code),
        beforeRetry: async (error) => {
          if (classifyError(error) === 'connection') {
            this.connection?.destroy();
            this.connection = undefined;
          } else {
            await this.connection?.query('ROLLBACK').catch(() => undefined);
          }
        },
      },
      async () => {
        const connection = await this.openConnection();
        const filtered = this.options.rowFilters?.size
          ? await applyRowFilters(connection, changes, this.options.tables, this.options.rowFilters)
          : changes;
        const planStarted = process.cpuUsage();
        const limit = this.maxPacketBytes - PACKET_SLACK_BYTES;
        const statements = planStatements(filtered, this.options.tables, { coalesce: this.options.coalesce ?? true, maxStatementBytes: limit });
        const queries = transactionQueries(statements, limit);
        this.buildCpuSeconds += cpuSince(planStarted);
        const built = process.hrtime.bigint();
        for (const sql of queries) await send(connection, sql);
        return { statements: statements.length, built };
      },
    );
  }
  private retryPolicy: RetryPolicy | undefined;
  private signal: AbortSignal | undefined;

  private async openConnection(): Promise<Connection> {
    if (this.connection) return this.connection;
    // Identity queryFormat: mysql2 otherwise scans every query for placeholders (`npm run bench --
    // keepup`: 3–4% of the engine's CPU on large batches). Nothing on this connection uses any.
    const connection = await connect(this.options.target, { multipleStatements: true, queryFormat: (sql: string) => sql });
    const [rows] = await connection.query<RowDataPacket[]>('SELECT @@max_allowed_packet AS bytes');
    const bytes = Number(rows[0]?.['bytes']);
    if (Number.isFinite(bytes) && bytes > 0) this.maxPacketBytes = bytes;
    this.connection = connection;
    return connection;
  }

  private advance(position: BinlogPosition): void {
    this.applied = position;
    const ready = this.waiters.filter((waiter) => compareBinlogPositions(position, waiter.position) >= 0);
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }
}
