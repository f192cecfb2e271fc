// The binlog applier: takes row changes from the streamer and writes them to the target in
// batches, one target transaction per batch, sending the whole batch in a single round trip.
// It reports each batch's (size, seconds) to the batch sizer — spirit's Feedback — which
// answers with the next size, and it records the position up to which the target is current.
import type { Connection } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect } from '../db/connection.js';
import type { TableSchema } from '../db/schema.js';
import type { Logger } from '../log.js';
import { planStatements } from './applier-statements.js';
import { applyRowFilters } from './row-filter.js';
import { commitTimeEstimate, type RowChange, type StreamItem } from './events.js';
import type { BinlogPosition } from './position.js';
import { compareBinlogPositions } from './position.js';

/** Where the applier takes its items from: the streamer's queue. */
export interface ItemSource {
  take(maxItems: number, waitMs: number): Promise<StreamItem[]>;
  readonly queuedItems: number;
  /** Row events received so far: the arrival count R is estimated from. */
  readonly stats: { readonly rowsReceived: number };
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
  /** Per row event: seconds from its source commit to its apply on the target. */
  readonly lagSeconds: readonly number[];
  readonly position: BinlogPosition;
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
  /** Collapse each row's changes in a batch to their net effect (see applier-statements.ts). Default true. */
  readonly coalesce?: boolean;
  readonly onBatch?: (batch: AppliedBatch) => void;
}

const now = (): number => Date.now() / 1000;
const RETRYABLE = new Set(['ECONNRESET', 'PROTOCOL_CONNECTION_LOST', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'EPIPE', 'ETIMEDOUT']);
const MAX_ATTEMPTS = 5;

export class BinlogApplier {
  private connection: Connection | undefined;
  private applied: BinlogPosition;
  private waiters: { position: BinlogPosition; resolve: () => void }[] = [];
  /** Source time of the last row event applied, and whether the queue was empty after it. */
  private lastEventTime = 0;
  private caughtUp = true;
  /** Row events of the source transaction whose commit has not been taken yet (it can span batches). */
  private rowsInOpenTransaction = 0;
  private busy = false;
  eventsApplied = 0;
  batchesApplied = 0;

  constructor(private readonly options: BinlogApplierOptions) {
    this.applied = options.start;
  }

  get appliedPosition(): BinlogPosition {
    return this.applied;
  }

  /** Seconds the target is behind the source: 0 when every received event is applied. */
  get lagSeconds(): number {
    if (this.caughtUp && this.options.source.queuedItems === 0) return 0;
    return Math.max(0, now() - this.lastEventTime);
  }

  /** Applies batches until the signal aborts; rejects on a target error that retries did not cure. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) {
        const size = this.options.sizer.nextBatchSize(now(), this.options.source.queuedItems);
        const items = await this.options.source.take(size, 100);
        if (items.length === 0) {
          this.caughtUp = true;
          continue;
        }
        this.busy = true;
        try {
          await this.applyBatch(items);
        } finally {
          this.busy = false;
        }
      }
    } finally {
      await this.connection?.end().catch(() => undefined);
      this.connection = undefined;
    }
  }

  /** True while no batch is taken and unwritten. */
  get idle(): boolean {
    return !this.busy;
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
    const changes: RowChange[] = [];
    const timestamps: number[] = [];
    let position: BinlogPosition | undefined;
    const perSourceSecond = new Map<number, number>();
    for (const item of items) {
      if (item.kind === 'row') {
        changes.push(item);
        timestamps.push(commitTimeEstimate(item));
        perSourceSecond.set(item.timestamp, (perSourceSecond.get(item.timestamp) ?? 0) + 1);
        this.rowsInOpenTransaction++;
      } else {
        position = item.position;
        this.options.sizer.recordSourceTransaction?.(this.rowsInOpenTransaction + 1);
        this.rowsInOpenTransaction = 0;
      }
    }
    const filtered = this.options.rowFilters?.size
      ? await applyRowFilters(await this.openConnection(), changes, this.options.tables, this.options.rowFilters)
      : changes;
    const statements = planStatements(filtered, this.options.tables, { coalesce: this.options.coalesce ?? true });
    if (statements.length > 0) await this.write(statements);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const appliedAt = now();
    this.options.sizer.recordBatch(changes.length, seconds, appliedAt);
    for (const [second, events] of perSourceSecond) this.options.sizer.recordSourceEvents?.(second, events, appliedAt);
    this.eventsApplied += changes.length;
    this.batchesApplied++;
    if (timestamps.length > 0) this.lastEventTime = timestamps[timestamps.length - 1]!;
    this.caughtUp = this.options.source.queuedItems === 0;
    if (position) this.advance(position);
    this.options.onBatch?.({
      size: changes.length,
      statements: statements.length,
      seconds,
      lagSeconds: timestamps.map((timestamp) => Math.max(0, appliedAt - timestamp)),
      position: this.applied,
    });
  }

  /** One round trip: the batch's statements inside one transaction. */
  private async write(statements: readonly string[]): Promise<void> {
    const sql = `START TRANSACTION;\n${statements.join(';\n')};\nCOMMIT`;
    for (let attempt = 1; ; attempt++) {
      try {
        const connection = await this.openConnection();
        await connection.query(sql);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        await this.connection?.query('ROLLBACK').catch(() => undefined);
        if (!RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw error;
        // Replaying the batch is safe: every statement is idempotent.
        this.options.logger.warn({ code, attempt }, 'binlog batch failed; retrying');
        await this.connection?.end().catch(() => undefined);
        this.connection = undefined;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  private async openConnection(): Promise<Connection> {
    if (!this.connection) this.connection = await connect(this.options.target, { multipleStatements: true });
    return this.connection;
  }

  private advance(position: BinlogPosition): void {
    this.applied = position;
    const ready = this.waiters.filter((waiter) => compareBinlogPositions(position, waiter.position) >= 0);
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }
}
