// The source binlog as a stream of row changes and commit points (DESIGN.md steps 2 and 4).
//
// Delivery is at least once: positions advance only at event-group boundaries (event-groups.ts),
// and after a dropped connection the stream restarts from the last boundary received, so the
// rows of a transaction cut in half are delivered again, whole, after the ones already queued.
// The applier is idempotent, which makes that safe.
//
// Backpressure: once `maxQueuedItems` items (or `maxQueuedBytes` of row values) wait in the
// queue, the binlog socket is paused, after the event being handled: the queue can exceed the
// bound by that one event's rows (a row event holds ~8 KiB of row images on MariaDB,
// binlog_row_event_max_size, more only for a single larger row). It is resumed when the queue
// has drained below half of both bounds.
import type { AnyBinlogEvent } from '@vlasky/zongji';
import type { Endpoint } from '../../db/connection.js';
import type { TableRef, TableSchema } from '../../db/schema.js';
import { tableKey } from '../../db/schema.js';
import type { Row } from '../../db/sql.js';
import { silentLogger, type Logger } from '../../log.js';
import { unsupportedColumns } from '../decode/values.js';
import {
  BinlogSchemaChangedError, BinlogStreamError, ConnectionIdleError, StatementLoggedChangeError, UnsupportedColumnError,
  abbreviate, explainStreamError, isRetryableConnectionError,
} from '../errors.js';
import { EventGroupTracker } from './event-groups.js';
import type { StreamItem } from '../events.js';
import { StreamItemQueue } from './item-queue.js';
import { describePosition, type BinlogPosition } from '../position.js';
import { checkBinlogSource } from './source-check.js';
import { classifyStatement } from './statement-guard.js';
import { eventSeconds, rowItemsOf, tableDecoderFor, type RowsEvent, type TableDecoder, type TableMapEvent } from './table-events.js';
import { ZongjiSession } from './connection.js';

/**
 * Whether a row image belongs to the migration; undefined means no opinion (kept). Changes whose
 * images all fall outside are dropped here; an update with one image inside is passed on whole,
 * and the applier decides (an update leaving the filter is a delete).
 */
export type RowFilter = (table: TableSchema, row: Row) => boolean | undefined;

export interface BinlogStreamerOptions {
  readonly endpoint: Endpoint;
  /** The server id presented to the source; unique among its replicas. Default 0x7466xxxx, random. */
  readonly serverId?: number;
  /** The selected tables by `database.table` (tableKey). */
  readonly tables: ReadonlyMap<string, TableSchema>;
  readonly rowFilter?: RowFilter;
  /** Items queued before the socket is paused. Default 10 000. */
  readonly maxQueuedItems?: number;
  /** Estimated bytes of queued row values before the socket is paused (large BLOBs). Default 256 MiB. */
  readonly maxQueuedBytes?: number;
  readonly logger?: Logger;
  /** Heartbeat period asked of the source while it has nothing to send. Default 1 s. */
  readonly heartbeatMs?: number;
  /** No bytes for this long (socket not paused) counts as a dead connection. Default 10 × heartbeat, at least 5 s. */
  readonly idleTimeoutMs?: number;
  /** First wait before reconnecting; doubles per failure up to maxReconnectDelayMs. Defaults 100 ms, 5 s. */
  readonly initialReconnectDelayMs?: number;
  readonly maxReconnectDelayMs?: number;
  /** Consecutive failed reconnection time after which the stream gives up. Default 5 min. */
  readonly giveUpAfterMs?: number;
}

export interface BinlogStreamerStats {
  readonly reconnects: number;
  readonly rowsReceived: number;
  readonly commitsReceived: number;
}

export const defaultBinlogServerId = (): number => 0x7466_0000 + Math.floor(Math.random() * 0x1_0000);

export class BinlogStreamer {
  readonly serverId: number;
  readonly rowFilter: RowFilter | undefined;
  private maxQueuedItems: number;
  private readonly queueCeiling: number;
  private readonly maxQueuedBytes: number;
  private readonly logger: Logger;
  private readonly heartbeatMs: number;
  private readonly idleTimeoutMs: number;
  private readonly queue = new StreamItemQueue();
  private readonly decoders = new Map<number, TableDecoder>();
  private session: ZongjiSession | undefined;
  private tracker: EventGroupTracker | undefined;
  /** Bumped per connection attempt: callbacks of an older session are ignored. */
  private generation = 0;
  private resumeFrom: BinlogPosition | undefined;
  private state: 'idle' | 'running' | 'stopped' | 'failed' = 'idle';
  private backpressured = false;
  private receivedSinceConnect = false;
  private lastEventAt = 0;
  private reconnectDelayMs: number;
  private failingSince: number | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private counters = { reconnects: 0, rowsReceived: 0, commitsReceived: 0 };

  constructor(private readonly options: BinlogStreamerOptions) {
    this.serverId = options.serverId ?? defaultBinlogServerId();
    this.rowFilter = options.rowFilter;
    this.maxQueuedItems = Math.max(1, options.maxQueuedItems ?? 10_000);
    this.queueCeiling = this.maxQueuedItems;
    this.maxQueuedBytes = Math.max(1, options.maxQueuedBytes ?? 256 * 1024 * 1024);
    this.logger = options.logger ?? silentLogger();
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? Math.max(5000, 10 * this.heartbeatMs);
    this.reconnectDelayMs = options.initialReconnectDelayMs ?? 100;
    for (const table of options.tables.values()) {
      const unsupported = unsupportedColumns(table);
      if (unsupported.length > 0) {
        throw new UnsupportedColumnError(
          `${tableKey(table)} has columns whose values tideferry cannot replay exactly: ` +
            `${unsupported.map((column) => `${column.name} ${column.columnType}`).join(', ')}`,
        );
      }
    }
    this.queue.onTaken = () => {
      if (this.backpressured && this.queue.length <= this.maxQueuedItems / 2 && this.queue.bytes <= this.maxQueuedBytes / 2) {
        this.backpressured = false;
        // Deferred: resuming replays held packets synchronously, which must not happen inside take().
        setImmediate(() => {
          if (!this.backpressured) this.session?.resume();
        });
      }
    };
  }

  /**
   * Moves the item bound (the batch-size controller makes it follow B*), never above the
   * configured maxQueuedItems. A lower bound takes effect at the next event.
   */
  setQueueBound(items: number): void {
    this.maxQueuedItems = Math.max(1, Math.min(this.queueCeiling, Math.round(items)));
  }

  /** Starts streaming from `from` (a group boundary: P0, or a commit item's position). */
  start(from: BinlogPosition): void {
    if (this.state !== 'idle') throw new Error(`BinlogStreamer.start: the streamer is ${this.state}`);
    this.state = 'running';
    this.resumeFrom = from;
    this.watchdog = setInterval(() => this.checkIdle(), Math.max(100, Math.min(this.heartbeatMs, 1000)));
    this.watchdog.unref();
    void this.connect();
  }

  /**
   * Up to `maxItems` items, waiting up to `waitMs` for the first one (an empty array when none
   * came). Rejects with the stream's error once the items received before it have been taken.
   */
  take(maxItems: number, waitMs: number): Promise<StreamItem[]> {
    return this.queue.take(maxItems, waitMs);
  }

  async stop(): Promise<void> {
    if (this.state === 'running' || this.state === 'idle') this.state = 'stopped';
    this.queue.close();
    await this.shutdownConnection();
  }

  get queuedItems(): number {
    return this.queue.length;
  }

  /** The oldest item waiting in the queue, if any. */
  get oldestQueued(): StreamItem | undefined {
    return this.queue.head;
  }

  /**
   * Whether the stream is connected and has heard from the source since (an event or a
   * heartbeat). While it is not, nothing is known of what the source wrote since lastContactAt.
   */
  get connected(): boolean {
    return this.state === 'running' && this.session !== undefined && this.receivedSinceConnect;
  }

  /** Date.now() when the last event or heartbeat arrived from the source (0: never). */
  get lastContactAt(): number {
    return this.lastEventAt;
  }

  /** Estimated bytes of row values in the queue. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** The last group boundary received (the start position until the first one arrives). */
  get lastReceivedPosition(): BinlogPosition | undefined {
    return this.resumeFrom;
  }

  /** The source's thread id of the binlog dump connection, while connected. */
  get binlogConnectionThreadId(): number | undefined {
    return this.session?.threadId;
  }

  get socketPaused(): boolean {
    return this.session?.isPaused ?? false;
  }

  /** How many times the binlog connection was lost and re-opened. */
  get reconnects(): number {
    return this.counters.reconnects;
  }

  get stats(): BinlogStreamerStats {
    return { ...this.counters };
  }

  private async connect(): Promise<void> {
    if (this.state !== 'running' || !this.resumeFrom) return;
    const generation = ++this.generation;
    const from = this.resumeFrom;
    this.receivedSinceConnect = false;
    try {
      await checkBinlogSource(this.options.endpoint, from);
    } catch (error) {
      if (generation === this.generation) this.handleError(generation, error);
      return;
    }
    if (generation !== this.generation || this.state !== 'running') return;
    this.tracker = new EventGroupTracker(from);
    this.decoders.clear();
    this.logger.info({ from: describePosition(from), serverId: this.serverId }, 'binlog stream connecting');
    this.session = new ZongjiSession(
      {
        endpoint: this.options.endpoint,
        serverId: this.serverId,
        from,
        includeSchema: this.includeSchema(),
        heartbeatMs: this.heartbeatMs,
      },
      {
        onEvent: (event) => this.handleEvent(generation, event),
        onError: (error) => this.handleError(generation, error),
      },
    );
    if (this.backpressured) this.session.pause();
  }

  private includeSchema(): Record<string, string[]> {
    const schema: Record<string, string[]> = {};
    for (const table of this.options.tables.values()) (schema[table.database] ??= []).push(table.name);
    return schema;
  }

  private handleEvent(generation: number, event: AnyBinlogEvent): void {
    if (generation !== this.generation || this.state !== 'running' || !this.tracker) return;
    this.lastEventAt = Date.now();
    if (!this.receivedSinceConnect) {
      this.receivedSinceConnect = true;
      this.failingSince = undefined;
      this.reconnectDelayMs = this.options.initialReconnectDelayMs ?? 100;
    }
    try {
      switch (event.getTypeName()) {
        case 'TableMap':
          this.onTableMap(event as TableMapEvent);
          break;
        case 'WriteRows':
          this.onRows(event as RowsEvent, 'insert');
          break;
        case 'UpdateRows':
          this.onRows(event as RowsEvent, 'update');
          break;
        case 'DeleteRows':
          this.onRows(event as RowsEvent, 'delete');
          break;
        case 'Query':
          this.onStatement(event as Extract<AnyBinlogEvent, { getTypeName(): 'Query' }>);
          break;
      }
      const boundary = this.tracker.observe(event);
      if (boundary) {
        this.resumeFrom = boundary;
        this.counters.commitsReceived++;
        this.queue.push({ kind: 'commit', position: boundary, timestamp: eventSeconds(event), receivedAt: Date.now() / 1000 });
      }
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!this.backpressured && (this.queue.length >= this.maxQueuedItems || this.queue.bytes >= this.maxQueuedBytes)) {
      this.backpressured = true;
      this.session?.pause();
    }
  }

  private onTableMap(event: TableMapEvent): void {
    const table = this.options.tables.get(`${event.schemaName}.${event.tableName}`);
    const entry = this.session?.tableMapEntry(event.tableId);
    if (table && entry) this.decoders.set(event.tableId, tableDecoderFor(event, table, entry));
  }

  private onRows(event: RowsEvent, type: 'insert' | 'update' | 'delete'): void {
    const decoder = this.decoders.get(event.tableId);
    if (!decoder) throw new BinlogStreamError(`row event for table id ${event.tableId} without a TABLE_MAP of a selected table`);
    this.counters.rowsReceived += event.rows.length;
    const keep = (row: Row): boolean => this.rowFilter?.(decoder.table, row) !== false;
    for (const item of rowItemsOf(event, type, decoder, keep)) this.queue.push(item);
  }

  private onStatement(event: Extract<AnyBinlogEvent, { getTypeName(): 'Query' }>): void {
    const effect = classifyStatement(event.query, event.schema, (reference) => this.selectedMatching(reference));
    if (effect.kind === 'none') return;
    const table = effect.tables[0]!;
    if (effect.kind === 'row-change') throw new StatementLoggedChangeError(table, event.query);
    throw new BinlogSchemaChangedError(table, event.query, `statement: ${abbreviate(event.query)}`);
  }

  // Names are compared without case: a false match stops a run, a missed one corrupts it.
  private selectedMatching(reference: TableRef): TableRef[] {
    const database = reference.database.toLowerCase();
    const name = reference.name.toLowerCase();
    return [...this.options.tables.values()].filter(
      (table) => table.database.toLowerCase() === database && (name === '*' || table.name.toLowerCase() === name),
    );
  }

  private checkIdle(): void {
    const session = this.session;
    if (this.state !== 'running' || !session || session.isPaused) return;
    const idleMs = Date.now() - session.lastActivityAt;
    if (idleMs > this.idleTimeoutMs) {
      this.handleError(this.generation, new ConnectionIdleError(`nothing received on the binlog connection for ${idleMs} ms`));
    }
  }

  private handleError(generation: number, error: unknown): void {
    if (generation !== this.generation || this.state !== 'running') return;
    if (!isRetryableConnectionError(error)) {
      this.fail(error);
      return;
    }
    // Invalidate the failed session at once: its late events and errors are ignored from here.
    this.generation++;
    const now = Date.now();
    this.failingSince ??= now;
    const giveUpAfterMs = this.options.giveUpAfterMs ?? 300_000;
    if (now - this.failingSince > giveUpAfterMs) {
      this.fail(new BinlogStreamError(`the binlog connection kept failing for ${Math.round((now - this.failingSince) / 1000)} s; last error: ${errorText(error)}`, { cause: error }));
      return;
    }
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, this.options.maxReconnectDelayMs ?? 5000);
    this.counters.reconnects++;
    this.logger.warn({ error: errorText(error), retryInMs: delay, from: this.resumeFrom && describePosition(this.resumeFrom) }, 'binlog connection lost; reconnecting');
    void this.shutdownConnection();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private fail(error: unknown): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.generation++;
    const failure = explainStreamError(error);
    this.logger.error({ error: failure.message }, 'binlog stream stopped');
    this.queue.fail(failure);
    void this.shutdownConnection();
  }

  private async shutdownConnection(): Promise<void> {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.state !== 'running' && this.watchdog) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
    const session = this.session;
    this.session = undefined;
    await session?.stop();
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? `${error.message}${(error as { code?: string }).code ? ` (${(error as { code?: string }).code})` : ''}` : String(error));
