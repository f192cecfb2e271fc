// Turns a batch of row changes into target statements that give the same result as applying
// them one by one (docs/architecture.md, "The way of the data"): insert → insert-ignore the after image; update → delete
// the before key if the key changed, then upsert the after image; delete → delete by key.
//
// Tables are independent of each other (foreign key checks are off on the target), so each
// table's changes are planned on their own. Within a table, two plans:
// - coalesced (no unique key but the primary key): changes of different rows commute, so each
//   row's changes collapse to their net effect and the table's batch becomes at most three
//   statements — one DELETE, one INSERT IGNORE, one upsert — whatever the order of events;
// - ordered (a secondary unique key exists): changes of different rows may collide on that key
//   in an order-dependent way, so runs of consecutive same-kind changes are joined, in order.
import type { TableSchema } from '../../db/schema.js';
import type { RowChange, RowImage } from '../events.js';
import { appendStatements, keyTuple, tableWrites, valuesTuple, type TableWrites } from './statements.js';

type Operation = 'insert' | 'upsert' | 'delete';

interface Write {
  readonly operation: Operation;
  /** The row's key (keyTuple): its identity, and what a delete writes. */
  readonly key: string;
  /** For insert and upsert: the full image. */
  readonly image?: RowImage;
}

/** The changes of one table as writes, one or two per change, in event order. */
function writesOf(writes: TableWrites, changes: readonly RowChange[]): Write[] {
  const out: Write[] = [];
  for (const change of changes) {
    switch (change.type) {
      case 'insert':
        out.push({ operation: 'insert', key: keyTuple(writes, change.after), image: change.after });
        break;
      case 'delete':
        out.push({ operation: 'delete', key: keyTuple(writes, change.before) });
        break;
      case 'update': {
        const beforeKey = keyTuple(writes, change.before);
        const afterKey = keyTuple(writes, change.after);
        // Never a no-op: a row whose key moved from ahead of the copy cursor to behind it
        // reaches the target only through this upsert.
        if (beforeKey !== afterKey) out.push({ operation: 'delete', key: beforeKey });
        out.push({ operation: 'upsert', key: afterKey, image: change.after });
        break;
      }
    }
  }
  return out;
}

/**
 * The net effect of each row's writes. After an insert or upsert the row exists, so a later
 * insert-ignore of the same key changes nothing; after a delete it does not, so a later insert
 * writes its image, which is what an upsert does. An upsert or delete replaces what came before.
 */
function coalesce(writes: readonly Write[]): Write[] {
  const net = new Map<string, Write>();
  for (const write of writes) {
    const previous = net.get(write.key);
    if (write.operation !== 'insert' || previous === undefined) net.set(write.key, write);
    else if (previous.operation === 'delete') net.set(write.key, { operation: 'upsert', key: write.key, image: write.image! });
    // else: insert after insert/upsert is a no-op
  }
  const deletes: Write[] = [];
  const inserts: Write[] = [];
  const upserts: Write[] = [];
  for (const write of net.values()) (write.operation === 'delete' ? deletes : write.operation === 'insert' ? inserts : upserts).push(write);
  return [...deletes, ...inserts, ...upserts];
}

function statementsOf(writes: TableWrites, planned: readonly Write[], maxBytes: number, out: string[]): void {
  const what = `${writes.table.database}.${writes.table.name}`;
  let index = 0;
  while (index < planned.length) {
    const operation = planned[index]!.operation;
    const tuples: string[] = [];
    for (; index < planned.length && planned[index]!.operation === operation; index++) {
      const write = planned[index]!;
      tuples.push(operation === 'delete' ? write.key : valuesTuple(writes, write.image!));
    }
    // A multi-row INSERT IGNORE, upsert or key-list DELETE processes its rows in order, exactly
    // like one statement per row: joining consecutive writes of one kind changes nothing.
    if (operation === 'insert') appendStatements(out, writes.insertIgnore, tuples, '', maxBytes, what);
    else if (operation === 'upsert') appendStatements(out, writes.upsert, tuples, writes.upsertTail, maxBytes, what);
    else appendStatements(out, writes.deleteHead, tuples, ')', maxBytes, what);
  }
}

export interface PlanOptions {
  /** Collapse each row's changes to their net effect where that is provably the same. Default true. */
  readonly coalesce?: boolean;
  /** Longest statement, in bytes (the target's max_allowed_packet less some room). Default 16 MiB. */
  readonly maxStatementBytes?: number;
}

export function planStatements(changes: readonly RowChange[], tables: ReadonlyMap<string, TableSchema>, options: PlanOptions = {}): string[] {
  const byTable = new Map<string, RowChange[]>();
  for (const change of changes) {
    const list = byTable.get(change.table);
    if (list) list.push(change);
    else byTable.set(change.table, [change]);
  }
  const statements: string[] = [];
  const maxBytes = options.maxStatementBytes ?? 16 * 1024 * 1024;
  for (const [key, tableChanges] of byTable) {
    const table = tables.get(key);
    if (!table) continue;
    const writes = tableWrites(table);
    const planned = writesOf(writes, tableChanges);
    const canCoalesce = (options.coalesce ?? true) && !table.hasSecondaryUniqueKey;
    statementsOf(writes, canCoalesce ? coalesce(planned) : planned, maxBytes, statements);
  }
  return statements;
}
