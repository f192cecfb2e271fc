// Shared pieces of the binlog integration tests: a tiny applier that writes stream items with
// plain INSERT/UPDATE/DELETE built from the items' literal images, and draining a streamer up to a position.
import type { Connection } from 'mysql2/promise';
import { compareBinlogPositions, type BinlogPosition } from '../../../src/binlog/position.js';
import type { RowImage, StreamItem } from '../../../src/binlog/events.js';
import type { BinlogStreamer } from '../../../src/binlog/stream/streamer.js';
import type { TableSchema } from '../../../src/db/schema.js';
import { quoteIdentifier, quoteTable } from '../../../src/db/sql.js';

function keyCondition(table: TableSchema, image: RowImage): string {
  return table.primaryKey
    .map((name) => `${quoteIdentifier(name)} = ${image[table.columns.findIndex((column) => column.name === name)]}`)
    .join(' AND ');
}

/** The SQL statement that applies one row item (none for commit items), from its literal images. */
export function statementFor(item: StreamItem, tables: ReadonlyMap<string, TableSchema>): string | undefined {
  if (item.kind !== 'row') return undefined;
  const table = tables.get(item.table)!;
  const writable = table.columns.map((column, index) => ({ column, index })).filter(({ column }) => !column.generated);
  switch (item.type) {
    case 'insert':
      return `INSERT INTO ${quoteTable(table)} (${writable.map(({ column }) => quoteIdentifier(column.name)).join(',')}) VALUES (${writable
        .map(({ index }) => item.after[index])
        .join(',')})`;
    case 'update':
      return `UPDATE ${quoteTable(table)} SET ${writable
        .map(({ column, index }) => `${quoteIdentifier(column.name)} = ${item.after[index]}`)
        .join(', ')} WHERE ${keyCondition(table, item.before)}`;
    case 'delete':
      return `DELETE FROM ${quoteTable(table)} WHERE ${keyCondition(table, item.before)}`;
  }
}

/** Takes items until a commit at or past `until` arrived; returns every item taken. */
export async function drainUntil(streamer: BinlogStreamer, until: BinlogPosition, timeoutMs = 20_000): Promise<StreamItem[]> {
  const taken: StreamItem[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const received = streamer.lastReceivedPosition;
    if (received && compareBinlogPositions(received, until) >= 0 && streamer.queuedItems === 0) return taken;
    if (Date.now() > deadline) throw new Error(`stream did not reach ${until.file}:${until.position} (at ${received?.file}:${received?.position})`);
    taken.push(...(await streamer.take(1000, 200)));
  }
}

/** Applies row items one statement at a time, each source transaction in a target transaction. */
export async function applyItems(target: Connection, items: readonly StreamItem[], tables: ReadonlyMap<string, TableSchema>): Promise<void> {
  await target.query('BEGIN');
  for (const item of items) {
    if (item.kind === 'commit') {
      await target.query('COMMIT');
      await target.query('BEGIN');
      continue;
    }
    await target.query(statementFor(item, tables)!);
  }
  await target.query('COMMIT');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
