// Turns a batch of row changes into target statements that give the same result as applying
// them one by one (DESIGN.md step 4): insert → insert-ignore the after image; update → delete
// the before key if the key changed, then upsert the after image; delete → delete by key.
//
// Tables are independent of each other (foreign key checks are off on the target), so each
// table's changes are planned on their own. Within a table, two plans:
// - coalesced (no unique key but the primary key): changes of different rows commute, so each
//   row's changes collapse to their net effect and the table's batch becomes at most three
//   statements — one DELETE, one INSERT IGNORE, one upsert — whatever the order of events;
// - ordered (a secondary unique key exists): changes of different rows may collide on that key
//   in an order-dependent way, so runs of consecutive same-kind changes are joined, in order.
import type { TableSchema } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import { deleteByKeys, insertIgnore, primaryKeyOf, upsert, writableValues } from '../db/statements.js';
import type { Row } from '../db/sql.js';
import type { RowChange } from './events.js';

type Operation = 'insert' | 'upsert' | 'delete';

interface Write {
  readonly operation: Operation;
  /** For delete: the key; otherwise the full row. */
  readonly row: Row;
}

const keyText = (key: Row): string =>
  key.map((value) => (value === null ? 'N' : Buffer.isBuffer(value) ? `b${value.toString('hex')}` : `v${String(value)}`)).join('\u0000');

/** The changes of one table as writes, one or two per change, in event order. */
function writesOf(table: TableSchema, changes: readonly RowChange[]): Write[] {
  const writes: Write[] = [];
  for (const change of changes) {
    switch (change.type) {
      case 'insert':
        writes.push({ operation: 'insert', row: change.after });
        break;
      case 'delete':
        writes.push({ operation: 'delete', row: primaryKeyOf(table, change.before) });
        break;
      case 'update': {
        const beforeKey = primaryKeyOf(table, change.before);
        // Never a no-op: a row whose key moved from ahead of the copy cursor to behind it
        // reaches the target only through this upsert.
        if (keyText(beforeKey) !== keyText(primaryKeyOf(table, change.after))) writes.push({ operation: 'delete', row: beforeKey });
        writes.push({ operation: 'upsert', row: change.after });
        break;
      }
    }
  }
  return writes;
}

/**
 * The net effect of each row's writes. After an insert or upsert the row exists, so a later
 * insert-ignore of the same key changes nothing; after a delete it does not, so a later insert
 * writes its image, which is what an upsert does. An upsert or delete replaces what came before.
 */
function coalesce(table: TableSchema, writes: readonly Write[]): Write[] {
  const net = new Map<string, Write>();
  for (const write of writes) {
    const key = keyText(write.operation === 'delete' ? write.row : primaryKeyOf(table, write.row));
    const previous = net.get(key);
    if (write.operation !== 'insert' || previous === undefined) net.set(key, write);
    else if (previous.operation === 'delete') net.set(key, { operation: 'upsert', row: write.row });
    // else: insert after insert/upsert is a no-op
  }
  const order: Operation[] = ['delete', 'insert', 'upsert'];
  return order.flatMap((operation) => [...net.values()].filter((write) => write.operation === operation));
}

function statementsOf(table: TableSchema, writes: readonly Write[]): string[] {
  const runs: { operation: Operation; rows: Row[] }[] = [];
  for (const write of writes) {
    const last = runs[runs.length - 1];
    const row = write.operation === 'delete' ? write.row : writableValues(table, write.row);
    if (last && last.operation === write.operation) last.rows.push(row);
    else runs.push({ operation: write.operation, rows: [row] });
  }
  // A multi-row INSERT IGNORE, upsert or key-list DELETE processes its rows in order, exactly
  // like one statement per row: joining consecutive writes of one kind changes nothing.
  return runs.map((run) =>
    run.operation === 'insert' ? insertIgnore(table, run.rows) : run.operation === 'upsert' ? upsert(table, run.rows) : deleteByKeys(table, run.rows),
  );
}

export interface PlanOptions {
  /** Collapse each row's changes to their net effect where that is provably the same. Default true. */
  readonly coalesce?: boolean;
}

export function planStatements(changes: readonly RowChange[], tables: ReadonlyMap<string, TableSchema>, options: PlanOptions = {}): string[] {
  const byTable = new Map<TableSchema, RowChange[]>();
  for (const change of changes) {
    const table = tables.get(tableKey(change.table));
    if (!table) continue;
    const list = byTable.get(table);
    if (list) list.push(change);
    else byTable.set(table, [change]);
  }
  const statements: string[] = [];
  for (const [table, tableChanges] of byTable) {
    const writes = writesOf(table, tableChanges);
    const canCoalesce = (options.coalesce ?? true) && !table.hasSecondaryUniqueKey;
    statements.push(...statementsOf(table, canCoalesce ? coalesce(table, writes) : writes));
  }
  return statements;
}
