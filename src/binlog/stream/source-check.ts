// Checked before every (re)connection of the binlog stream: settings that make the stream
// unusable and a start file that is gone fail with a message saying what to change, instead of
// surfacing later as rows that silently lack columns, or as the server's terse error 1236.
import type { RowDataPacket } from 'mysql2/promise';
import { connect, type Endpoint } from '../../db/connection.js';
import { BinlogStreamError } from '../errors.js';
import { describePosition, type BinlogPosition } from '../position.js';

const REQUIRED_SETTINGS: readonly (readonly [string, string, string])[] = [
  ['log_bin', 'ON', 'the source writes no binlog'],
  ['binlog_format', 'ROW', 'row events are what the applier replays'],
  ['binlog_row_image', 'FULL', 'updates and deletes must carry every column'],
  ['binlog_row_metadata', 'FULL', 'row events must carry column names and types (MariaDB 10.5+, MySQL 8.0.1+)'],
];

/** Throws BinlogStreamError for a permanent problem; connection errors are thrown as they are. */
export async function checkBinlogSource(endpoint: Endpoint, from: BinlogPosition): Promise<void> {
  const connection = await connect(endpoint);
  try {
    const [variables] = await connection.query<RowDataPacket[]>(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${REQUIRED_SETTINGS.map(() => '?').join(',')})`,
      REQUIRED_SETTINGS.map(([name]) => name),
    );
    const values = new Map(variables.map((row) => [String(row['Variable_name']).toLowerCase(), String(row['Value']).toUpperCase()]));
    const wrong = REQUIRED_SETTINGS.filter(([name, value]) => values.get(name) !== value);
    if (wrong.length > 0) {
      throw new BinlogStreamError(
        `the source binlog cannot be streamed: ${wrong.map(([name, value, why]) => `${name} is ${values.get(name) ?? 'unsupported'}, needs ${value} (${why})`).join('; ')}`,
      );
    }
    let files: string[];
    try {
      const [logs] = await connection.query<RowDataPacket[]>('SHOW BINARY LOGS');
      files = logs.map((row) => String(row['Log_name']));
    } catch (error) {
      if ((error as { errno?: number }).errno === 1227) {
        throw new BinlogStreamError(
          'the binlog user may not list binlog files (SHOW BINARY LOGS): grant BINLOG MONITOR (MariaDB) or REPLICATION CLIENT (MySQL)',
          { cause: error },
        );
      }
      throw error;
    }
    if (!files.includes(from.file)) {
      throw new BinlogStreamError(
        `binlog file ${from.file} (needed to stream from ${describePosition(from)}) is no longer on the source; it holds ${files[0] ?? 'nothing'}` +
          `${files.length > 1 ? ` to ${files[files.length - 1]}` : ''}. The binlog was purged before tideferry read it: keep binlogs longer ` +
          `(binlog_expire_logs_seconds / expire_logs_days) and start a new migration.`,
      );
    }
  } finally {
    await connection.end().catch(() => undefined);
  }
}
