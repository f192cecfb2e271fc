// The source binlog as a stream of row changes and commit points (docs/architecture.md,
// "The binlog side"): the dump connection (dump.ts), the events read from its packets
// (decode/), the group boundaries a resume may start from (event-groups.ts), and a bounded
// queue the applier takes from (item-queue.ts).
//
// Delivery is at least once: positions advance only at event-group boundaries, and after a
// dropped connection the stream restarts from the last boundary received, so the rows of a
// transaction cut in half are delivered again, whole, after the ones already queued. The
// applier is idempotent, which makes that safe.
//
// Backpressure: once `maxQueuedItems` items (or `maxQueuedBytes` of row images) wait in the
// queue, the binlog socket is paused, after the event being handled: the queue can exceed the
// bound by that one event's rows (a row event holds ~8 KiB of row images on MariaDB,
// binlog_row_event_max_size, more only for a single larger row). It is resumed when the queue
// has drained below half of both bounds.
import type { Endpoint } from '../../db/connection.js';
import { ServerUnreachableError, type RetryPolicy } from '../../db/retry.js';
import type { TableSchema } from '../../db/schema.js';
import { tableKey } from '../../db/schema.js';
import { silentLogger, type Logger } from '../../log.js';
import { unsupportedColumns } from '../decode/table-check.js';
import { BinlogStreamError, ConnectionIdleError, UnsupportedColumnError, explainStreamError, isRetryableConnectionError } from '../errors.js';
import type { RowImage, StreamItem } from '../events.js';
import { describePosition, type BinlogPosition } from '../position.js';
import { BinlogDump } from './dump.js';
import { EventReader } from './event-reader.js';
import { StreamItemQueue } from './item-queue.js';
import { checkBinlogSource } from './source-check.js';

/**
 * Whether a row image belongs to the migration; undefined means no opinion (kept). Changes whose
 * images all fall outside are dropped here; an update with one image inside is passed on whole,
 * and the applier decides (an update leaving the filter is a delete).
 */
export type RowFilter = (table: TableSchema, image: RowImage) => boolean | undefined;

export interface BinlogStreamerOptions {
  readonly endpoint: Endpoint;
  /** The server id presented to the source; unique among its replicas. Default 0x7466xxxx, random. */
  readonly serverId?: number;
  /** The selected tables by `database.table` (tableKey). */
  readonly tables: ReadonlyMap<string, TableSchema>;
  readonly rowFilter?: RowFilter;
  /** Items queued before the socket is paused. Default 10 000. */
  readonly maxQueuedItems?: number;
  /** Estimated bytes of queued row images before the socket is paused (large BLOBs). Default 256 MiB. */
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
  /**
   * The run's retry policy: its settings replace the three above, and its outage tracker hears
   * when the stream loses the source and when it hears from it again.
   */
  readonly retry?: RetryPolicy;
  /** The stream reconnects after a lost connection (its error code). */
  readonly onRetry?: (code: string) => void;
}

export interface BinlogStreamerStats {
  readonly reconnects: number;
  readonly rowsReceived: number;
  readonly commitsReceived: number;
  /** Binlog events read (all types, selected tables or not). */
  readonly eventsRead: number;
  /** Process CPU seconds spent reading and decoding the binlog (see BinlogDump.cpuSeconds). */
  readonly cpuSeconds: number;
  /** Socket chunks the binlog connection received (wakeups). */
  readonly chunks: number;
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
  private session: BinlogDump | undefined;
  private reader: EventReader | undefined;
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
  private counters = { reconnects: 0, rowsReceived: 0, commitsReceived: 0, eventsRead: 0 };
  private finishedSessionsCpuSeconds = 0;
  private finishedSessionsChunks = 0;
  private readonly pushItem = (item: StreamItem): void => this.queue.push(item);

  constructor(private readonly options: BinlogStreamerOptions) {
    this.serverId = options.serverId ?? defaultBinlogServerId();
    this.rowFilter = options.rowFilter;
    this.maxQueuedItems = Math.max(1, options.maxQueuedItems ?? 10_000);
    this.queueCeiling = this.maxQueuedItems;
    this.maxQueuedBytes = Math.max(1, options.maxQueuedBytes ?? 256 * 1024 * 1024);
    this.logger = options.logger ?? silentLogger();
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? Math.max(5000, 10 * this.heartbeatMs);
    this.reconnectDelayMs = this.initialDelayMs;
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

  private get initialDelayMs(): number {
    return this.options.retry?.settings.initialDelayMs ?? this.options.initialReconnectDelayMs ?? 100;
  }

  /** Whether the stream has lost the source and not heard from it again yet. */
  get down(): boolean {
    return this.failingSince !== undefined;
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
    this.shutdownConnection();
  }

  get queuedItems(): number {
    return this.queue.length;
  }

  /** The oldest item waiting in the queue, if any. */
  get oldestQueued(): StreamItem | undefined {
    return this.queue.head;
  }

  /** Estimated bytes of row images in the queue. */
  get queuedBytes(): number {
    return this.queue.bytes;
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
    return { ...this.counters, rowsReceived: this.counters.rowsReceived + (this.reader?.rowsReceived ?? 0), cpuSeconds: this.finishedSessionsCpuSeconds + (this.session?.cpuSeconds ?? 0), chunks: this.finishedSessionsChunks + (this.session?.chunks ?? 0) };
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
    this.logger.info({ from: describePosition(from), serverId: this.serverId }, 'binlog stream connecting');
    const session = new BinlogDump(
      { endpoint: this.options.endpoint, serverId: this.serverId, from, heartbeatMs: this.heartbeatMs },
      {
        onEvent: (buffer, start, end) => this.handleEvent(generation, buffer, start, end),
        onError: (error) => this.handleError(generation, error),
      },
    );
    this.session = session;
    if (this.backpressured) session.pause();
    try {
      const { checksum } = await session.start();
      if (generation === this.generation) this.reader = new EventReader(from, checksum ? 4 : 0, this.options.tables, this.pushItem, this.rowFilter);
    } catch (error) {
      this.handleError(generation, error);
    }
  }

  private handleEvent(generation: number, buffer: Buffer, start: number, end: number): void {
    if (generation !== this.generation || this.state !== 'running' || !this.reader) return;
    this.lastEventAt = Date.now();
    if (!this.receivedSinceConnect) {
      this.receivedSinceConnect = true;
      this.failingSince = undefined;
      this.reconnectDelayMs = this.initialDelayMs;
      this.options.retry?.tracker.recovered('source', 'stream');
    }
    this.counters.eventsRead++;
    try {
      const read = this.reader.read(buffer, start, end);
      if (read) {
        this.resumeFrom = read.boundary;
        this.counters.commitsReceived++;
        this.queue.push({ kind: 'commit', position: read.boundary, timestamp: read.timestamp, receivedAt: this.lastEventAt / 1000 });
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

  /** Acts on one event and says what it means for the group boundaries (undefined: nothing). */
  private checkIdle(): void {
    const session = this.session;
    if (this.state !== 'running' || !session || session.isPaused || !session.session) return;
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
    const retry = this.options.retry;
    // The tracker says it once per outage (and dates it); without one, each reconnect is logged.
    const since = retry ? Math.min(this.failingSince, retry.tracker.failed('source', 'stream', error)) : this.failingSince;
    const giveUpAfterMs = retry ? retry.settings.giveUpAfterSeconds * 1000 : this.options.giveUpAfterMs ?? 300_000;
    if (now - since >= giveUpAfterMs) {
      if (retry) {
        retry.tracker.gaveUp('source', 'stream');
        this.fail(new ServerUnreachableError('source', 'stream', (now - since) / 1000, retry.tracker.endpoint('source'), error));
      } else {
        this.fail(new BinlogStreamError(`the binlog connection kept failing for ${Math.round((now - this.failingSince) / 1000)} s; last error: ${errorText(error)}`, { cause: error }));
      }
      return;
    }
    // Capped exponential backoff with jitter (50–100% of the doubled wait), as every other retry.
    const delay = retry ? Math.round(this.reconnectDelayMs * (0.5 + Math.random() / 2)) : this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, retry?.settings.maxDelayMs ?? this.options.maxReconnectDelayMs ?? 5000);
    this.counters.reconnects++;
    const code = (error as { code?: string }).code ?? String((error as { errno?: number }).errno ?? 'CONNECTION_CLOSED');
    if (retry) retry.tracker.retried('source', 'stream', code);
    this.options.onRetry?.(code);
    this.logger[retry ? 'debug' : 'warn']({ error: errorText(error), retryInMs: delay, from: this.resumeFrom && describePosition(this.resumeFrom) }, 'binlog connection lost; reconnecting');
    this.shutdownConnection();
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
    this.shutdownConnection();
  }

  private shutdownConnection(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.state !== 'running' && this.watchdog) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
    const session = this.session;
    this.session = undefined;
    if (this.reader) {
      this.counters.rowsReceived += this.reader.rowsReceived;
      this.reader = undefined;
    }
    if (session) {
      this.finishedSessionsCpuSeconds += session.cpuSeconds;
      this.finishedSessionsChunks += session.chunks;
    }
    session?.stop();
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? `${error.message}${(error as { code?: string }).code ? ` (${(error as { code?: string }).code})` : ''}` : String(error));
