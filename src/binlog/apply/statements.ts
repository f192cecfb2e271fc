// The applier's statements, built from row images (SQL literal text per column, events.ts).
// Everything that depends only on the table — the quoted names, which columns are written, the
// key's positions, the ON DUPLICATE KEY clause — is prepared once per table; per row only the
// literals are joined. Statements are cut to stay under the target's max_allowed_packet.
import type { TableSchema } from '../../db/schema.js';
import { quoteIdentifier, quoteTable } from '../../db/sql.js';
import type { RowImage } from '../events.js';
import { PacketTooLargeError } from '../errors.js';

export interface TableWrites {
  readonly table: TableSchema;
  /** Positions (in `table.columns`) of the columns written: all but the generated ones. */
  readonly writable: readonly number[];
  /** Positions of the primary-key columns, in key order. */
  readonly key: readonly number[];
  readonly insertIgnore: string;
  readonly upsert: string;
  readonly upsertTail: string;
  readonly deleteHead: string;
}

const prepared = new WeakMap<TableSchema, TableWrites>();

export function tableWrites(table: TableSchema): TableWrites {
  let writes = prepared.get(table);
  if (writes) return writes;
  const position = (name: string) => {
    const index = table.columns.findIndex((column) => column.name === name);
    if (index < 0) throw new Error(`primary key column ${name} missing from ${table.database}.${table.name}`);
    return index;
  };
  const writable = table.columns.flatMap((column, index) => (column.generated ? [] : [index]));
  const key = table.primaryKey.map(position);
  const names = (positions: readonly number[]) => positions.map((index) => quoteIdentifier(table.columns[index]!.name)).join(',');
  const keyNames = new Set(table.primaryKey);
  const updated = writable.filter((index) => !keyNames.has(table.columns[index]!.name));
  // A table of key columns only has nothing to update: the row being there is the whole image.
  const first = quoteIdentifier(table.columns[writable[0]!]!.name);
  const onDuplicate = updated.length === 0
    ? `${first}=${first}`
    : updated.map((index) => `${quoteIdentifier(table.columns[index]!.name)}=VALUES(${quoteIdentifier(table.columns[index]!.name)})`).join(',');
  writes = {
    table,
    writable,
    key,
    insertIgnore: `INSERT IGNORE INTO ${quoteTable(table)} (${names(writable)}) VALUES `,
    upsert: `INSERT INTO ${quoteTable(table)} (${names(writable)}) VALUES `,
    upsertTail: ` ON DUPLICATE KEY UPDATE ${onDuplicate}`,
    deleteHead: key.length === 1 ? `DELETE FROM ${quoteTable(table)} WHERE ${names(key)} IN (` : `DELETE FROM ${quoteTable(table)} WHERE (${names(key)}) IN (`,
  };
  prepared.set(table, writes);
  return writes;
}

/** `(v1,v2,…)` of the written columns of an image. */
export function valuesTuple(writes: TableWrites, image: RowImage): string {
  if (writes.writable.length === image.length) return `(${image.join(',')})`;
  let text = '(';
  for (let index = 0; index < writes.writable.length; index++) text += (index > 0 ? ',' : '') + image[writes.writable[index]!];
  return text + ')';
}

/**
 * The primary key of an image as it goes into `… IN (…)`: the literal itself for a one-column
 * key, a tuple for a composite one. Also the key's identity when planning: equal keys have equal
 * text, because a value's literal is a function of its stored bytes.
 */
export function keyTuple(writes: TableWrites, image: RowImage): string {
  if (writes.key.length === 1) return image[writes.key[0]!]!;
  let text = '(';
  for (let index = 0; index < writes.key.length; index++) text += (index > 0 ? ',' : '') + image[writes.key[index]!];
  return text + ')';
}

/**
 * Appends `head tuple,tuple,… tail` to `out`, as several statements where one would pass
 * `maxBytes`. Literals are ASCII (decode/ writes text as hex), so a tuple's length is its size.
 */
export function appendStatements(out: string[], head: string, tuples: readonly string[], tail: string, maxBytes: number, what: string): void {
  const fixed = Buffer.byteLength(head) + Buffer.byteLength(tail);
  let start = 0;
  let size = fixed;
  for (let index = 0; index < tuples.length; index++) {
    const length = tuples[index]!.length + 1;
    if (fixed + length > maxBytes) {
      throw new PacketTooLargeError(`${what}: one row makes a statement of ${fixed + length} bytes, more than the target's max_allowed_packet allows (${maxBytes}); raise max_allowed_packet on the target`);
    }
    if (size + length > maxBytes && index > start) {
      out.push(head + tuples.slice(start, index).join(',') + tail);
      start = index;
      size = fixed;
    }
    size += length;
  }
  if (tuples.length > start) out.push(head + (start === 0 ? tuples.join(',') : tuples.slice(start).join(',')) + tail);
}
