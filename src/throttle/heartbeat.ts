// A heartbeat table in pt-heartbeat's format, for sub-second replica lag: a writer on the target
// stamps its row (server_id = the target's @@server_id) with the time now, in microseconds, every
// few hundred ms; on each replica, the lag is the time now minus the stamp its copy of the row
// holds. The writer is pt-heartbeat (`pt-heartbeat --update`), or tideferry itself
// (`throttle.heartbeat.write: true`). The writer's clock and tideferry's are compared, as
// pt-heartbeat --check compares its own with the writer's: keep them in sync (NTP).
//
// pt-heartbeat writes `ts` as local time unless given --utc; `throttle.heartbeat.utc` says which
// (tideferry's own writer follows it too).
import type { Connection } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect } from '../db/connection.js';
import { PreflightError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

export interface HeartbeatTable {
  readonly database: string;
  readonly table: string;
}

export interface HeartbeatSettings extends HeartbeatTable {
  /** Whether `ts` is UTC (pt-heartbeat --utc) or the writer's local time. */
  readonly utc: boolean;
}

export const ER_NO_SUCH_TABLE = 1146;
export const ER_BAD_DB_ERROR = 1049;

export const parseHeartbeatTable = (name: string): HeartbeatTable => {
  const [database, table] = name.split('.');
  return { database: database!, table: table! };
};

const quoteName = (name: string) => `\`${name.replace(/`/g, '``')}\``;
export const heartbeatTableName = (table: HeartbeatTable) => `${quoteName(table.database)}.${quoteName(table.table)}`;
export const describeHeartbeatTable = (table: HeartbeatTable) => `${table.database}.${table.table}`;

/** pt-heartbeat's table (its --create-table), so that either writer and either reader fit. */
export const createHeartbeatTableSql = (table: HeartbeatTable) => `CREATE TABLE IF NOT EXISTS ${heartbeatTableName(table)} (
  ts varchar(26) NOT NULL,
  server_id int unsigned NOT NULL PRIMARY KEY,
  file varchar(255) DEFAULT NULL,
  position bigint unsigned DEFAULT NULL,
  relay_master_log_file varchar(255) DEFAULT NULL,
  exec_master_log_pos bigint unsigned DEFAULT NULL
)`;

/** Microseconds since the epoch, from the process clock (sub-millisecond). */
export const nowMicros = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** pt-heartbeat's `ts`: `2026-12-02T05:45:26.123456`, UTC or local time. */
export function formatHeartbeat(micros: number, utc: boolean): string {
  const date = new Date(Math.floor(micros / 1000));
  const fraction = pad(((micros % 1_000_000) + 1_000_000) % 1_000_000, 6);
  const [y, mo, d, h, mi, s] = utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()];
  return `${y}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}.${fraction}`;
}

const TS = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Microseconds since the epoch of a `ts` value; NaN when it is not one. */
export function parseHeartbeat(text: string, utc: boolean): number {
  const match = TS.exec(text.trim());
  if (!match) return NaN;
  const [y, mo, d, h, mi, s] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = utc ? Date.UTC(y, mo - 1, d, h, mi, s) : new Date(y, mo - 1, d, h, mi, s).getTime();
  return millis * 1000 + Number((match[7] ?? '').padEnd(6, '0'));
}

/**
 * The heartbeat as the target holds it, checked before the copy: the table must exist (else a
 * clear error: which table, and how to make it). Answers the target's server_id (the row's key)
 * and whether its row is there yet.
 */
export async function checkHeartbeatTable(target: Connection, table: HeartbeatTable): Promise<{ serverId: number; rowPresent: boolean }> {
  const [[server]] = (await target.query('SELECT @@server_id AS id')) as unknown as [[{ id: number | string }]];
  const serverId = Number(server.id);
  try {
    const [rows] = await target.query(`SELECT ts FROM ${heartbeatTableName(table)} WHERE server_id = ?`, [serverId]);
    return { serverId, rowPresent: (rows as unknown[]).length > 0 };
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    if (errno === ER_NO_SUCH_TABLE || errno === ER_BAD_DB_ERROR) {
      throw new PreflightError('heartbeat',
        `throttle.heartbeat.table ${describeHeartbeatTable(table)} does not exist on the target: create it and run a writer ` +
        `(pt-heartbeat --create-table --update --database ${table.database} --table ${table.table}, against the target), ` +
        'or set throttle.heartbeat.write: true for tideferry to write it');
    }
    throw new PreflightError('heartbeat', `cannot read throttle.heartbeat.table ${describeHeartbeatTable(table)} on the target: ${errorMessage(error)}`);
  }
}

export interface HeartbeatWriterOptions {
  readonly target: Endpoint;
  readonly heartbeat: HeartbeatSettings;
  /** Between two stamps, ms (100–500). */
  readonly intervalMs: number;
  readonly logger: Logger;
}

/**
 * tideferry's own heartbeat writer: one connection to the target, one stamp every interval
 * (a timer that does not keep the process alive, cleared by stop()). A failed write is said once
 * (and once when writes succeed again) and tried again at the next tick on a new connection:
 * meanwhile the replicas' stamps age, which is lag, a reason for the copy to wait.
 */
export class HeartbeatWriter {
  private connection: Connection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private writing: Promise<void> | undefined;
  private failing = false;
  serverId = 0;
  writes = 0;

  constructor(private readonly options: HeartbeatWriterOptions) {}

  /** Creates the table if missing (in an existing database), writes the first stamp, then one every interval. */
  async start(): Promise<void> {
    const { heartbeat } = this.options;
    const connection = await connect(this.options.target);
    this.connection = connection;
    try {
      const [[server]] = (await connection.query('SELECT @@server_id AS id')) as unknown as [[{ id: number | string }]];
      this.serverId = Number(server.id);
      await connection.query(createHeartbeatTableSql(heartbeat));
    } catch (error) {
      this.connection = undefined;
      await connection.end().catch(() => undefined);
      const reason = (error as { errno?: number }).errno === ER_BAD_DB_ERROR
        ? `the database ${heartbeat.database} does not exist on the target; create it (tideferry creates the table, not the database)`
        : errorMessage(error);
      throw new PreflightError('heartbeat', `cannot write throttle.heartbeat.table ${describeHeartbeatTable(heartbeat)} on the target: ${reason}`);
    }
    await this.write();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.writing = this.write().finally(() => {
        this.writing = undefined;
        this.schedule();
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    const { heartbeat, logger } = this.options;
    try {
      this.connection ??= await connect(this.options.target);
      if (this.stopped) return;
      await this.connection.query(
        `INSERT INTO ${heartbeatTableName(heartbeat)} (ts, server_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE ts = VALUES(ts)`,
        [formatHeartbeat(nowMicros(), heartbeat.utc), this.serverId],
      );
      this.writes++;
      if (this.failing) logger.info({ table: describeHeartbeatTable(heartbeat) }, 'heartbeat writes succeed again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) logger.warn({ table: describeHeartbeatTable(heartbeat), reason: errorMessage(error) }, 'heartbeat write failed; retrying every interval (the replicas\' heartbeat ages meanwhile: the copy waits)');
      this.failing = true;
      const connection = this.connection;
      this.connection = undefined;
      await connection?.end().catch(() => connection.destroy());
    }
  }

  /** Stops the timer, waits for a write in flight, ends the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.writing;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.end().catch(() => undefined);
  }
}
