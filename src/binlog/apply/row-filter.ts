// Row filters in binlog replay. A filter is a SQL condition from the config, so it is evaluated
// by the server, never re-implemented here; and it must mean what it means in the copy's WHERE
// on the source. So the images are judged as values of the table's real column types and
// collations: inserted into a session TEMPORARY table with the source's column definitions
// (db/filter-table.ts), the table seen under its own name, in the copy's session settings.
// Judging a bare literal instead is wrong for ENUM/SET (indexes), BIT (bytes), any collation but
// the connection's, DATETIME (text), and more. Per change:
// - insert: kept when the after image matches;
// - update: after image matches → replayed as usual; otherwise the row left the filter (or
//   was never in it) → deleted on the target by both keys;
// - delete: always replayed; deleting a row the target does not have is a no-op.
//
// One round trip per batch for all filtered tables together (unless the images overflow a
// packet). The temporary tables die with their session: they are made on the first batch a
// connection judges, so a connection the applier opened anew (after a retryable error) gets
// its own.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { clearFilterTable, createFilterTable, fillFilterTable, filterTableFor, selectMatching, type FilterTable } from '../../db/filter-table.js';
import type { TableSchema } from '../../db/schema.js';
import type { RowChange, RowImage } from '../events.js';

/** What one connection (one session) has set up. */
interface Session {
  readonly maxStatementBytes: number;
  readonly created: Set<string>;
  readonly filterTables: Map<string, FilterTable>;
}

const sessions = new WeakMap<Connection, Session>();
// Room left in a packet for the protocol's header and the statements' separators.
const PACKET_SLACK_BYTES = 4096;
const ER_NO_SUCH_TABLE = 1146;

async function sessionOf(connection: Connection): Promise<Session> {
  let session = sessions.get(connection);
  if (!session) {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT @@max_allowed_packet AS bytes');
    const bytes = Number(rows[0]?.['bytes']);
    session = { maxStatementBytes: (Number.isFinite(bytes) && bytes > 0 ? bytes : 1 << 20) - PACKET_SLACK_BYTES, created: new Set(), filterTables: new Map() };
    sessions.set(connection, session);
  }
  return session;
}

/**
 * Statements joined into queries of at most `limit` bytes each (a statement longer than that
 * goes alone); `selects` are the positions of the statements whose rows are wanted.
 */
async function runStatements(connection: Connection, statements: readonly string[], selects: ReadonlySet<number>, limit: number): Promise<unknown[][]> {
  const wanted: unknown[][] = [];
  let start = 0;
  while (start < statements.length) {
    let end = start + 1;
    let bytes = statements[start]!.length;
    while (end < statements.length && bytes + statements[end]!.length + 2 <= limit) bytes += statements[end++]!.length + 2;
    const [results] = await connection.query({ sql: statements.slice(start, end).join(';\n'), rowsAsArray: true });
    const perStatement = end - start === 1 ? [results] : (results as unknown[]);
    for (let position = start; position < end; position++) if (selects.has(position)) wanted.push(perStatement[position - start] as unknown[][]);
    start = end;
  }
  return wanted;
}

/** The numbers of the images that match their table's filter. */
async function judge(
  connection: Connection,
  pending: ReadonlyMap<string, { number: number; image: RowImage }[]>,
  filters: ReadonlyMap<string, string>,
): Promise<Set<number>> {
  const session = await sessionOf(connection);
  const statements: string[] = [];
  const selects = new Set<number>();
  const creating: string[] = [];
  for (const [key, images] of pending) {
    const filterTable = session.filterTables.get(key)!;
    if (!session.created.has(key)) {
      statements.push(...createFilterTable(filterTable));
      creating.push(key);
    } else {
      // The previous batch's images (kept until now: emptying here is one statement, and it also
      // covers a round trip that failed half-way). The applier judges before it opens the batch's
      // transaction, which matters: TRUNCATE commits.
      statements.push(clearFilterTable(filterTable));
    }
    statements.push(...fillFilterTable(filterTable, images, session.maxStatementBytes));
    selects.add(statements.length);
    statements.push(selectMatching(filterTable, filters.get(key)!));
  }
  const matched = new Set<number>();
  for (const rows of await runStatements(connection, statements, selects, session.maxStatementBytes)) {
    for (const row of rows as unknown[][]) matched.add(Number(row[0]));
  }
  for (const key of creating) session.created.add(key);
  return matched;
}

export async function applyRowFilters(
  connection: Connection,
  changes: readonly RowChange[],
  tables: ReadonlyMap<string, TableSchema>,
  filters: ReadonlyMap<string, string>,
): Promise<RowChange[]> {
  if (filters.size === 0) return [...changes];
  const session = await sessionOf(connection);
  // The after images to judge, by table; numbered by their change's position in the batch.
  const pending = new Map<string, { number: number; image: RowImage }[]>();
  changes.forEach((change, index) => {
    if (change.type === 'delete' || !filters.has(change.table)) return;
    const table = tables.get(change.table);
    if (!table) return;
    if (!session.filterTables.has(change.table)) session.filterTables.set(change.table, filterTableFor(table, [...filters.keys()].indexOf(change.table), tables.keys()));
    let images = pending.get(change.table);
    if (!images) pending.set(change.table, (images = []));
    images.push({ number: index, image: change.after });
  });
  let matched = new Set<number>();
  if (pending.size > 0) {
    try {
      matched = await judge(connection, pending, filters);
    } catch (error) {
      // A temporary table gone from a session that lives on (dropped by hand, say): set it up again, once.
      if ((error as { errno?: number }).errno !== ER_NO_SUCH_TABLE) throw error;
      session.created.clear();
      matched = await judge(connection, pending, filters);
    }
  }
  const result: RowChange[] = [];
  changes.forEach((change, index) => {
    if (change.type === 'delete' || !pending.has(change.table) || matched.has(index)) result.push(change);
    else if (change.type === 'update') {
      result.push({ type: 'delete', table: change.table, before: change.before });
      result.push({ type: 'delete', table: change.table, before: change.after });
    }
    // an insert outside the filter is dropped
  });
  return result;
}
