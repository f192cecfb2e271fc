// Row filters in binlog replay. A filter is a SQL condition from the config, so it is evaluated
// by the server (the target, over the images as literals), never re-implemented here. Per change:
// - insert: kept when the after image matches;
// - update: after image matches → replayed as usual; otherwise the row left the filter (or
//   was never in it) → deleted on the target by both keys;
// - delete: always replayed; deleting a row the target does not have is a no-op.
import type { Connection } from 'mysql2/promise';
import type { TableSchema } from '../../db/schema.js';
import { quoteIdentifier } from '../../db/sql.js';
import type { RowChange, RowImage } from '../events.js';

function matchQuery(table: TableSchema, filter: string, rows: readonly RowImage[]): string {
  return rows
    .map((row, index) => {
      const columns = table.columns.map((column, position) => `${row[position] ?? 'NULL'} AS ${quoteIdentifier(column.name)}`).join(', ');
      return `SELECT ${index} AS i, (${filter}) IS TRUE AS m FROM (SELECT ${columns}) AS t`;
    })
    .join(' UNION ALL ');
}

export async function applyRowFilters(
  connection: Connection,
  changes: readonly RowChange[],
  tables: ReadonlyMap<string, TableSchema>,
  filters: ReadonlyMap<string, string>,
): Promise<RowChange[]> {
  if (filters.size === 0) return [...changes];
  // Which after images need judging, grouped by table: one query per table per batch.
  const pending = new Map<string, number[]>();
  changes.forEach((change, index) => {
    const key = change.table;
    if (change.type !== 'delete' && filters.has(key)) pending.set(key, [...(pending.get(key) ?? []), index]);
  });
  const matches = new Map<number, boolean>();
  for (const [key, indexes] of pending) {
    const table = tables.get(key);
    if (!table) continue;
    const images = indexes.map((index) => (changes[index] as Extract<RowChange, { after: RowImage }>).after);
    const [rows] = await connection.query(matchQuery(table, filters.get(key)!, images));
    for (const row of rows as { i: number | string; m: number | string }[]) matches.set(indexes[Number(row.i)]!, Number(row.m) === 1);
  }
  const result: RowChange[] = [];
  changes.forEach((change, index) => {
    const matched = matches.get(index);
    if (change.type === 'delete' || matched === undefined || matched) result.push(change);
    else if (change.type === 'update') {
      result.push({ type: 'delete', table: change.table, before: change.before });
      result.push({ type: 'delete', table: change.table, before: change.after });
    }
    // an insert outside the filter is dropped
  });
  return result;
}
