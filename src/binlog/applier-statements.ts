// Turns a batch of row changes into target statements that give the same result as applying
// them one by one (DESIGN.md step 4): insert → insert-ignore the after image; update → delete
// the before key if the key changed, then upsert the after image; delete → delete by key.
// Consecutive changes of one table and one kind become one multi-row statement, which is
// provably the same as one statement each (see planStatements).
import type { TableSchema } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import { deleteByKeys, insertIgnore, primaryKeyOf, upsert, writableValues } from '../db/statements.js';
import type { Row } from '../db/sql.js';
import type { RowChange } from './events.js';

type Operation = 'insert' | 'upsert' | 'delete';

interface Run {
  readonly table: TableSchema;
  readonly operation: Operation;
  readonly rows: Row[];
}

const sameKey = (a: Row, b: Row): boolean =>
  a.length === b.length &&
  a.every((value, index) => {
    const other = b[index];
    if (Buffer.isBuffer(value) && Buffer.isBuffer(other)) return value.equals(other);
    return String(value) === String(other) && (value === null) === (other === null);
  });

/**
 * One statement per run of consecutive same-table, same-operation rows, runs in event order.
 * Joining is safe because a multi-row INSERT IGNORE, upsert or key-list DELETE processes its
 * rows in order exactly as separate statements would; a key-changing update is a delete and an
 * upsert, two operations, so it splits runs where order matters.
 */
export function planStatements(changes: readonly RowChange[], tables: ReadonlyMap<string, TableSchema>): string[] {
  const runs: Run[] = [];
  const push = (table: TableSchema, operation: Operation, row: Row) => {
    const last = runs[runs.length - 1];
    if (last && last.table === table && last.operation === operation) last.rows.push(row);
    else runs.push({ table, operation, rows: [row] });
  };
  for (const change of changes) {
    const table = tables.get(tableKey(change.table));
    if (!table) continue;
    switch (change.type) {
      case 'insert':
        push(table, 'insert', writableValues(table, change.after));
        break;
      case 'delete':
        push(table, 'delete', primaryKeyOf(table, change.before));
        break;
      case 'update': {
        const beforeKey = primaryKeyOf(table, change.before);
        if (!sameKey(beforeKey, primaryKeyOf(table, change.after))) push(table, 'delete', beforeKey);
        push(table, 'upsert', writableValues(table, change.after));
        break;
      }
    }
  }
  return runs.map((run) => {
    switch (run.operation) {
      case 'insert':
        return insertIgnore(run.table, run.rows);
      case 'upsert':
        return upsert(run.table, run.rows);
      case 'delete':
        return deleteByKeys(run.table, run.rows);
    }
  });
}
