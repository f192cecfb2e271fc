// Where the binlog stream is: a file and a byte offset in it, and, where the server has them,
// the GTIDs executed up to that point. Recorded as P0 before the copy starts (docs/architecture.md, "The phases"),
// carried by every commit item, and read again at cutover as the point the applier drains to.
import type { Connection, RowDataPacket } from 'mysql2/promise';

export interface BinlogPosition {
  readonly file: string;
  readonly position: number;
  /**
   * The GTID state at this position: a MariaDB GTID position ('0-101-42,1-7-3') or a MySQL GTID
   * set ('uuid:1-42'). Informational: the streamer resumes by file and position.
   */
  readonly gtid?: string | undefined;
}

export const describePosition = (position: BinlogPosition): string => `${position.file}:${position.position}`;

// binlog.000123 → 123. Files of one server are numbered in order; the base name is fixed per
// server (log_bin), so the number alone orders them.
function fileSequence(file: string): number | undefined {
  const match = /\.(\d+)$/.exec(file);
  return match ? Number(match[1]) : undefined;
}

/** Negative when `a` comes before `b` in the binlog, zero when they are the same point. */
export function compareBinlogPositions(a: BinlogPosition, b: BinlogPosition): number {
  if (a.file !== b.file) {
    const sequenceA = fileSequence(a.file);
    const sequenceB = fileSequence(b.file);
    if (sequenceA !== undefined && sequenceB !== undefined && sequenceA !== sequenceB) return sequenceA - sequenceB;
    return a.file < b.file ? -1 : 1;
  }
  return a.position - b.position;
}

interface ErrorWithNumber {
  readonly errno?: number;
}

/**
 * The source's current binlog position (the end of its binlog). On MariaDB the GTID position is
 * computed for exactly that file and offset with BINLOG_GTID_POS, so the two agree even while
 * transactions commit between the two statements; on MySQL both come from one status row.
 */
export async function readSourcePosition(connection: Connection): Promise<BinlogPosition> {
  const status = await readBinlogStatus(connection);
  const file = String(status['File'] ?? '');
  const position = Number(status['Position']);
  if (!file || !Number.isSafeInteger(position)) throw new Error(`unexpected binlog status row: ${JSON.stringify(status)}`);

  const mysqlGtids = status['Executed_Gtid_Set'];
  if (typeof mysqlGtids === 'string') {
    const gtid = mysqlGtids.replace(/\s+/g, '');
    return { file, position, gtid: gtid === '' ? undefined : gtid };
  }
  try {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [file, position]);
    const gtid = rows[0]?.['gtid'];
    return { file, position, gtid: typeof gtid === 'string' && gtid !== '' ? gtid : undefined };
  } catch {
    // Not MariaDB (or a MariaDB without the function): the position stands on its own.
    return { file, position };
  }
}

async function readBinlogStatus(connection: Connection): Promise<Record<string, unknown>> {
  let rows: RowDataPacket[];
  try {
    [rows] = await connection.query<RowDataPacket[]>('SHOW MASTER STATUS');
  } catch (error) {
    // MySQL 8.4 removed SHOW MASTER STATUS in favour of SHOW BINARY LOG STATUS.
    if ((error as ErrorWithNumber).errno !== 1064) throw error;
    [rows] = await connection.query<RowDataPacket[]>('SHOW BINARY LOG STATUS');
  }
  const status = rows[0];
  if (!status) throw new Error('the source has binary logging disabled (SHOW MASTER STATUS is empty): start it with log_bin');
  return status;
}
