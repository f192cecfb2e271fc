// One binlog connection: a mysql2 connection (its handshake, authentication and TLS) that,
// after a short preamble, runs COM_BINLOG_DUMP from a position and hands every event packet to
// the caller as it is parsed, as a view into the socket's own buffer (no copy).
//
// Why not a binlog library: the stream is the engine's hottest path. zongji (used before) built
// an object per event, per row and per value, parsed every TABLE_MAP in full and went through
// iconv for text; reading the packets here, straight into literal text (decode/rows.ts), cut
// the engine's read-and-decode CPU per event by most of it (`npm run bench -- keepup`, see
// bench/results/keepup.md). mysql2 still does the protocol.
import mysql from 'mysql2';
import type { Endpoint } from '../../db/connection.js';
import type { BinlogPosition } from '../position.js';

export interface DumpOptions {
  readonly endpoint: Endpoint;
  readonly serverId: number;
  readonly from: BinlogPosition;
  /** The source sends a heartbeat after this long without events, so a dead socket shows. */
  readonly heartbeatMs: number;
}

export interface DumpHandlers {
  /** Called synchronously for each event packet: the event occupies buffer[start, end). Must not keep `buffer`. */
  readonly onEvent: (buffer: Buffer, start: number, end: number) => void;
  readonly onError: (error: unknown) => void;
}

/** What the preamble learnt about the source. */
export interface DumpSession {
  readonly checksum: boolean;
  readonly mariadb: boolean;
}

// The parts of mysql2's callback connection the dump drives (mysql2 types none of them).
interface RawConnection {
  readonly threadId: number | null;
  readonly stream: {
    on(event: 'data', listener: (chunk: Buffer) => void): void;
    prependListener(event: 'data', listener: () => void): void;
    destroy(): void;
    destroyed: boolean;
  };
  query(sql: string, callback: (error: unknown, rows?: unknown) => void): void;
  addCommand(command: object): void;
  pause(): void;
  resume(): void;
  destroy(): void;
  on(event: 'error', listener: (error: unknown) => void): void;
  _resetSequenceId(): void;
  _bumpSequenceId(packets: number): void;
  write(buffer: Buffer): void;
}

interface RawPacket {
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
  isError(): boolean;
  asError(encoding?: string): Error;
}

const COM_BINLOG_DUMP = 0x12;
// How long the dump may wait on a full socket (the consumer is slow and the socket paused)
// before the server gives up on it: an hour, rather than the default 60 s that would turn every
// long pause into a reconnect.
const NET_WRITE_TIMEOUT_SECONDS = 3600;

function dumpPacket(options: DumpOptions): Buffer {
  const file = Buffer.from(options.from.file, 'utf8');
  const length = 1 + 4 + 2 + 4 + file.length;
  const packet = Buffer.alloc(4 + length);
  packet.writeUIntLE(length, 0, 3);
  packet[3] = 0; // sequence id
  packet[4] = COM_BINLOG_DUMP;
  packet.writeUInt32LE(options.from.position, 5);
  // Flags 0: block at the end of the binlog (no BINLOG_DUMP_NON_BLOCK); MariaDB's 0x02 would add
  // ANNOTATE_ROWS events (each statement's text), which tideferry does not read.
  packet.writeUInt16LE(0, 9);
  packet.writeUInt32LE(options.serverId, 11);
  file.copy(packet, 15);
  return packet;
}

/** The mysql2 command that sends COM_BINLOG_DUMP and then receives the event packets. */
class BinlogDumpCommand {
  private started = false;
  constructor(private readonly packet: Buffer, private readonly handlers: DumpHandlers) {}

  /** mysql2 calls this with no packet first, then once per packet; true ends the command. */
  execute(packet: RawPacket | undefined, connection: RawConnection): boolean {
    if (!this.started) {
      this.started = true;
      connection._resetSequenceId();
      connection._bumpSequenceId(1);
      connection.write(this.packet);
      return false;
    }
    if (!packet) return false;
    const marker = packet.buffer[packet.start + 4];
    if (marker === 0xff) {
      this.handlers.onError(packet.asError('utf8'));
      return true;
    }
    if (marker === 0xfe && packet.end - packet.start < 4 + 9) {
      this.handlers.onError(Object.assign(new Error('the source ended the binlog dump'), { code: 'PROTOCOL_CONNECTION_LOST' }));
      return true;
    }
    // Skip the packet header (4) and the OK marker (1).
    this.handlers.onEvent(packet.buffer, packet.start + 5, packet.end);
    return false;
  }

  /** Network errors reach the command in progress through onResult. */
  onResult(error: unknown): void {
    if (error) this.handlers.onError(error);
  }
}

const query = (connection: RawConnection, sql: string): Promise<unknown> =>
  new Promise((resolve, reject) => connection.query(sql, (error, rows) => (error ? reject(error) : resolve(rows))));

export class BinlogDump {
  private connection: RawConnection | undefined;
  private paused = false;
  private stopped = false;
  /** Date.now() of the last bytes received on the binlog socket (or of the session's start). */
  lastActivityAt = Date.now();
  session: DumpSession | undefined;
  /**
   * Process CPU seconds spent handling the socket's data: mysql2's packet framing and, inside
   * it, every onEvent (reading, decoding, queueing). Measured per chunk received (a few hundred
   * events at high rates), so it costs two getrusage calls per chunk, not per event.
   */
  cpuSeconds = 0;
  /** Socket chunks received (each a wakeup of the event loop and a read). */
  chunks = 0;

  constructor(private readonly options: DumpOptions, private readonly handlers: DumpHandlers) {}

  /** Connects, runs the preamble and starts the dump; errors after it arrive through onError. */
  async start(): Promise<DumpSession> {
    const { endpoint } = this.options;
    const connection = mysql.createConnection({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      password: endpoint.password,
      ...(endpoint.tls ? { ssl: { ...(endpoint.tls.ca ? { ca: endpoint.tls.ca } : {}), rejectUnauthorized: endpoint.tls.rejectUnauthorized ?? true } } : {}),
      charset: 'utf8mb4',
      connectTimeout: 10_000,
    }) as unknown as RawConnection;
    this.connection = connection;
    connection.on('error', (error) => {
      if (!this.stopped) this.handlers.onError(error);
    });
    // mysql2 parses each chunk in its own 'data' listener, added when the connection was made:
    // one listener before it and one after bracket the work the chunk causes.
    let chunkStarted: NodeJS.CpuUsage | undefined;
    connection.stream.prependListener('data', () => {
      chunkStarted = process.cpuUsage();
    });
    connection.stream.on('data', () => {
      this.lastActivityAt = Date.now();
      this.chunks++;
      if (chunkStarted) {
        const used = process.cpuUsage(chunkStarted);
        this.cpuSeconds += (used.user + used.system) / 1e6;
        chunkStarted = undefined;
      }
    });
    const rows = (await query(connection, 'SELECT @@GLOBAL.binlog_checksum AS checksum, VERSION() AS version')) as { checksum: string | null; version: string }[];
    const checksum = String(rows[0]?.checksum ?? 'NONE').toUpperCase() === 'CRC32';
    const mariadb = /mariadb/i.test(String(rows[0]?.version ?? ''));
    const heartbeatNanoseconds = Math.max(1, Math.round(this.options.heartbeatMs)) * 1_000_000;
    // A client that does not declare it can read checksums gets none (older servers) or is refused.
    // MariaDB and older MySQL read the @master_ names, newer MySQL the @source_ ones; the one a
    // server does not read is an unused user variable. MariaDB's capability 4 asks for GTID
    // events as they are (without it, the server rewrites them into BEGIN queries).
    await query(
      connection,
      `SET @master_binlog_checksum = @@GLOBAL.binlog_checksum, @source_binlog_checksum = @@GLOBAL.binlog_checksum, ` +
        `@master_heartbeat_period = ${heartbeatNanoseconds}, @source_heartbeat_period = ${heartbeatNanoseconds}, ` +
        `@@session.net_write_timeout = ${NET_WRITE_TIMEOUT_SECONDS}` +
        (mariadb ? ', @mariadb_slave_capability = 4' : ''),
    );
    if (this.stopped) throw Object.assign(new Error('binlog dump stopped while starting'), { code: 'PROTOCOL_CONNECTION_LOST' });
    this.session = { checksum, mariadb };
    this.lastActivityAt = Date.now();
    connection.addCommand(new BinlogDumpCommand(dumpPacket(this.options), this.handlers));
    if (this.paused) connection.pause();
    return this.session;
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
   * no further event is handled until resume(). TCP flow control then stalls the server's dump.
   */
  pause(): void {
    if (this.paused || this.stopped) return;
    this.paused = true;
    this.connection?.pause();
  }

  resume(): void {
    if (!this.paused || this.stopped) return;
    this.paused = false;
    this.lastActivityAt = Date.now();
    this.connection?.resume();
  }

  /**
   * Closes the connection at once; the server ends the dump thread when its next write fails.
   * mysql2's destroy() only half-closes (stream.end()): the dump's heartbeats would keep the
   * socket, and the process, alive. So the socket itself is destroyed.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.connection?.destroy();
    this.connection?.stream.destroy();
  }
}
