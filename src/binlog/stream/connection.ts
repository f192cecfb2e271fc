// One binlog connection through @vlasky/zongji: the dump from a given position, the socket
// controls (pause/resume, activity), and typed access to the few internals tideferry relies on.
//
// zongji opens two mysql2 connections: a control connection (server version, checksum setting,
// KILL of the dump at stop) and the binlog connection that runs COM_BINLOG_DUMP. With
// binlog_row_metadata=FULL every TABLE_MAP carries column names, signedness, charsets and
// ENUM/SET members, so zongji never queries INFORMATION_SCHEMA while streaming; the streamer
// refuses TABLE_MAPs without that metadata rather than let zongji pause the stream to look up
// a schema that may have changed since the event was written.
import ZongJi, { type AnyBinlogEvent, type TableMapEntry } from '@vlasky/zongji';
import type { Endpoint } from '../../db/connection.js';
import type { BinlogPosition } from '../position.js';

export interface ZongjiSessionOptions {
  readonly endpoint: Endpoint;
  readonly serverId: number;
  readonly from: BinlogPosition;
  /** Only TABLE_MAPs (hence row events) of these tables are decoded: database → table names. */
  readonly includeSchema: Record<string, string[]>;
  /** The source sends a heartbeat after this long without events, so a dead socket shows. */
  readonly heartbeatMs: number;
}

export interface ZongjiSessionHandlers {
  /** Called synchronously for each event, before the next packet is read. Must not throw. */
  readonly onEvent: (event: AnyBinlogEvent) => void;
  readonly onError: (error: unknown) => void;
}

// The parts of mysql2's callback Connection that zongji does not type.
interface BinlogSocketConnection {
  readonly threadId: number | null;
  readonly stream?: { on(event: 'data', listener: () => void): void };
  pause(): void;
  resume(): void;
  query(sql: string, callback: (error: unknown) => void): void;
}

// How long the dump may wait on a full socket (the consumer is slow and the socket paused)
// before the server gives up on it: an hour, rather than the default 60 s that would turn every
// long pause into a reconnect.
const NET_WRITE_TIMEOUT_SECONDS = 3600;

export class ZongjiSession {
  private readonly zongji: ZongJi;
  private paused = false;
  private stopping: Promise<void> | undefined;
  /** Date.now() of the last bytes received on the binlog socket (or of the session's start). */
  lastActivityAt = Date.now();

  constructor(options: ZongjiSessionOptions, handlers: ZongjiSessionHandlers) {
    const { endpoint } = options;
    this.zongji = new ZongJi({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      password: endpoint.password,
      ...(endpoint.tls ? { ssl: { ...(endpoint.tls.ca ? { ca: endpoint.tls.ca } : {}), rejectUnauthorized: endpoint.tls.rejectUnauthorized ?? true } } : {}),
      // Values are read raw (raw-values.ts); these only shape what zongji still renders itself:
      // MySQL binary JSON as text, and never a JS Date.
      dateStrings: true,
      timezone: 'Z',
      jsonStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      charset: 'utf8mb4',
      connectTimeout: 10_000,
    });
    this.zongji.on('error', (error: unknown) => {
      if (!this.stopping) handlers.onError(error);
    });
    this.zongji.on('binlog', (event: AnyBinlogEvent) => {
      if (this.stopping) return;
      try {
        handlers.onEvent(event);
      } catch (error) {
        handlers.onError(error);
      }
    });
    this.zongji.start({
      serverId: options.serverId,
      filename: options.from.file,
      position: options.from.position,
      includeSchema: options.includeSchema,
    });
    // start() creates the binlog connection synchronously and sends the dump command only after
    // its preamble queries, so this SET runs on that connection before the dump begins.
    const connection = this.connection;
    if (connection) {
      connection.stream?.on('data', () => {
        this.lastActivityAt = Date.now();
      });
      const heartbeatNanoseconds = Math.max(1, Math.round(options.heartbeatMs)) * 1_000_000;
      // MariaDB and older MySQL read @master_heartbeat_period, newer MySQL @source_heartbeat_period;
      // the one a server does not read is an unused user variable.
      connection.query(
        `SET @master_heartbeat_period = ${heartbeatNanoseconds}, @source_heartbeat_period = ${heartbeatNanoseconds}, ` +
          `@@session.net_write_timeout = ${NET_WRITE_TIMEOUT_SECONDS}`,
        (error) => {
          if (error && !this.stopping) handlers.onError(error);
        },
      );
    }
  }

  private get connection(): BinlogSocketConnection | undefined {
    return (this.zongji.connection as unknown as BinlogSocketConnection | null) ?? undefined;
  }

  /** The server's id of the binlog connection (the thread running the dump), once connected. */
  get threadId(): number | undefined {
    return this.connection?.threadId ?? undefined;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Stops reading the socket: mysql2 pauses the stream and holds packets already received, so
   * no further event is parsed until resume(). TCP flow control then stalls the server's dump.
   */
  pause(): void {
    if (this.paused || this.stopping) return;
    this.paused = true;
    this.connection?.pause();
  }

  resume(): void {
    if (!this.paused || this.stopping) return;
    this.paused = false;
    this.lastActivityAt = Date.now();
    this.connection?.resume();
  }

  /** zongji's table map entry for a TABLE_MAP event being delivered (see raw-values.ts). */
  tableMapEntry(tableId: number): TableMapEntry | undefined {
    return this.zongji.tableMap[tableId];
  }

  /** Closes both connections (zongji KILLs the dump thread through the control connection). */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const timeout = setTimeout(resolve, 2000);
      timeout.unref();
      this.zongji.once('stopped', () => {
        clearTimeout(timeout);
        resolve();
      });
      try {
        this.zongji.stop();
      } catch {
        clearTimeout(timeout);
        resolve();
      }
    });
    return this.stopping;
  }
}
