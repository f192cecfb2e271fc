// Did the writers really stop? Stopping them is a request, not a proof: users with SUPER or
// READ ONLY ADMIN, the event scheduler, or the replication thread of a chained source still
// write under read_only, and a hook can miss a writer. Whatever they write after the final
// position would never reach the target. So after the drain (and again after verification) the
// source position is read again; if the binlog grew, its new events are read (SHOW BINLOG
// EVENTS) and any that changes a migrated table fails the cutover. Events of other tables (a
// pt-heartbeat table, another database) move the position too but lose nothing of this run.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { compareBinlogPositions, describePosition, readSourcePosition, type BinlogPosition } from '../binlog/position.js';
import type { TableRef } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import { errorMessage } from '../errors.js';

export interface SourceWrite {
  /** The migrated table written, or undefined for a statement that may have written one. */
  readonly table: string | undefined;
  readonly at: BinlogPosition;
  readonly event: string;
}

export interface SourceWritesReport {
  /** The source position now. */
  readonly now: BinlogPosition;
  /** The first event after `final` that changes a migrated table, if any. */
  readonly write: SourceWrite | undefined;
  /** Events after `final` that could not be read: then any growth counts as a write. */
  readonly unreadable?: string | undefined;
}

const PAGE_EVENTS = 1000;
// Statements that only delimit transactions; anything else in a Query event may write.
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|XA\s)/i;

interface BinlogEvent {
  readonly file: string;
  readonly position: number;
  readonly type: string;
  readonly end: number;
  readonly info: string;
}

// String(): the connection may return text as bytes (the verifier sets character_set_results = binary).
const binlogEvent = (row: RowDataPacket): BinlogEvent => ({
  file: String(row['Log_name']),
  position: Number(String(row['Pos'])),
  type: String(row['Event_type']),
  end: Number(String(row['End_log_pos'])),
  info: String(row['Info'] ?? ''),
});

/** `table_id: 33 (shop.customers)` → shop.customers. */
const tableMapTarget = (info: string): string | undefined => /\(([^()]+)\)\s*$/.exec(info)?.[1];

async function binlogFilesFrom(connection: Connection, first: string, last: string): Promise<string[]> {
  if (first === last) return [first];
  const [rows] = await connection.query<RowDataPacket[]>('SHOW BINARY LOGS');
  const files = rows.map((row) => String(row['Log_name']));
  const start = files.indexOf(first);
  const end = files.indexOf(last);
  if (start < 0 || end < start) throw new Error(`binlog file ${first} is no longer on the source (purged?)`);
  return files.slice(start, end + 1);
}

function writeIn(event: BinlogEvent, tables: ReadonlySet<string>, names: readonly string[]): SourceWrite | undefined {
  const { info } = event;
  const at = { file: event.file, position: event.position };
  if (event.type === 'Table_map') {
    const table = tableMapTarget(info);
    return table && tables.has(table) ? { table, at, event: `row event on ${table}` } : undefined;
  }
  if (event.type === 'Query' && !TRANSACTION_CONTROL.test(info)) {
    // A statement (DDL, or DML a session logged as a statement): it may write a migrated table
    // when it names one or runs in a migrated database.
    const text = info.toLowerCase();
    if (names.some((name) => text.includes(name))) return { table: undefined, at, event: `statement ${JSON.stringify(info.slice(0, 120))}` };
  }
  return undefined;
}

/** Reads the source position and whether anything after `final` changed one of `tables`. */
export async function findSourceWritesAfter(connection: Connection, final: BinlogPosition, tables: readonly TableRef[]): Promise<SourceWritesReport> {
  const now = await readSourcePosition(connection);
  if (compareBinlogPositions(now, final) <= 0) return { now, write: undefined };
  const keys = new Set(tables.map(tableKey));
  const names = [...new Set(tables.flatMap((table) => [table.database.toLowerCase(), table.name.toLowerCase()]))];
  try {
    for (const file of await binlogFilesFrom(connection, final.file, now.file)) {
      let from = file === final.file ? final.position : undefined;
      for (;;) {
        const [rows] = await connection.query<RowDataPacket[]>(
          from === undefined ? 'SHOW BINLOG EVENTS IN ? LIMIT ?' : 'SHOW BINLOG EVENTS IN ? FROM ? LIMIT ?',
          from === undefined ? [file, PAGE_EVENTS] : [file, from, PAGE_EVENTS],
        );
        const events = rows.map(binlogEvent);
        for (const event of events) {
          if (file === now.file && event.position >= now.position) return { now, write: undefined };
          const write = writeIn(event, keys, names);
          if (write) return { now, write };
        }
        if (events.length < PAGE_EVENTS) break;
        from = events[events.length - 1]!.end;
      }
    }
    return { now, write: undefined };
  } catch (error) {
    return { now, write: undefined, unreadable: errorMessage(error) };
  }
}

/** The message of a failed check: what was written where, between which positions. */
export function describeSourceWrites(final: BinlogPosition, report: SourceWritesReport): string | undefined {
  const moved = `the source binlog moved from ${describePosition(final)} (the final position) to ${describePosition(report.now)}`;
  if (report.write) {
    return `writes continued after the writers were stopped: ${moved}, with a ${report.write.event} at ${describePosition(report.write.at)} ` +
      '(a user with SUPER or READ ONLY ADMIN, the event scheduler, a replication thread, or a writer the hook missed?)';
  }
  if (report.unreadable) {
    return `writes may have continued after the writers were stopped: ${moved}, and its events cannot be read to tell whether they touch the migrated tables (${report.unreadable})`;
  }
  return undefined;
}
