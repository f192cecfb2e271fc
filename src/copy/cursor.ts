// The primary-key cursor of the row copy: which rows come after the last key copied.
// Pure SQL building; works for any primary key (integer, string, binary, composite, STORED generated
// columns included), compared as a tuple in the server's own order, so collations and signedness
// are the server's business.
import type { ColumnSchema, TableSchema } from '../db/schema.js';
import { primaryKeyColumns, writableColumns } from '../db/schema.js';
import { literal, quoteIdentifier, quoteTable, type Row } from '../db/sql.js';
import { readExpression } from '../db/values.js';
import { TideferryError } from '../errors.js';

/** The copy cannot continue a table from where its last batch ended (a bug, never a user's doing). */
export class CopyCursorError extends TideferryError {}

/**
 * `(a, b) > (x, y)` written as `a > x OR (a = x AND b > y)`: equivalent, and a form every
 * MariaDB and MySQL version turns into a range scan of the primary key.
 */
export function keyAfter(columns: readonly ColumnSchema[], key: Row): string {
  const terms: string[] = [];
  for (let length = 1; length <= columns.length; length++) {
    const parts = columns.slice(0, length).map((column, index) => {
      const operator = index === length - 1 ? '>' : '=';
      return `${quoteIdentifier(column.name)} ${operator} ${literal(key[index] ?? null, column)}`;
    });
    terms.push(parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`);
  }
  return terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`;
}

export interface BatchQuery {
  readonly table: TableSchema;
  /** Last key copied; undefined to start at the first row. */
  readonly after: Row | undefined;
  /** Last key of the table when the copy started: rows beyond it arrive through the binlog. */
  readonly upTo?: Row | undefined;
  readonly limit: number;
  /** Row filter (a SQL condition from the config), applied as is. */
  readonly filter?: string | undefined;
  readonly lock: 'share' | 'update';
}

/**
 * Select expressions aliased by position: rows are read as arrays, and a column name such as
 * `__proto__` must never become a property name on the client.
 */
export const selectList = (columns: readonly ColumnSchema[]): string =>
  columns.map((column, index) => `${readExpression(column)} AS c${index}`).join(',');

/**
 * ` WHERE … ORDER BY <key>` for the rows of a key range, in key order: after `after`
 * (exclusive), up to `through` (inclusive), within the row filter. Shared by the copy and the
 * verifier, so that both walk a table the same way.
 */
export function keyRange(table: TableSchema, after: Row | undefined, through: Row | undefined, filter: string | undefined): string {
  const keys = primaryKeyColumns(table);
  const conditions: string[] = [];
  if (after) conditions.push(keyAfter(keys, after));
  if (through) conditions.push(`NOT ${keyAfter(keys, through)}`);
  if (filter) conditions.push(`(${filter})`);
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  return `${where} ORDER BY ${keys.map((column) => quoteIdentifier(column.name)).join(',')}`;
}

/**
 * The columns a copy batch reads: the writable ones (written to the target), then the
 * primary-key columns that are generated (MySQL allows STORED ones in a key). Those are never
 * written, the target computes them, but the cursor needs the whole key to advance.
 */
export interface BatchLayout {
  readonly columns: readonly ColumnSchema[];
  /** The first `written` columns of a row are the ones written. */
  readonly written: number;
  /** Position in `columns` of each primary-key column, in key order. */
  readonly keyPositions: readonly number[];
}

export function batchLayout(table: TableSchema): BatchLayout {
  const writable = writableColumns(table);
  const keys = primaryKeyColumns(table);
  const columns = [...writable, ...keys.filter((column) => column.generated)];
  return { columns, written: writable.length, keyPositions: keys.map((column) => columns.indexOf(column)) };
}

/** The locking read of one copy batch: the batch layout's columns, in primary-key order. */
export function selectBatch(query: BatchQuery): string {
  const { columns } = batchLayout(query.table);
  const lock = query.lock === 'share' ? 'LOCK IN SHARE MODE' : 'FOR UPDATE';
  return `SELECT ${selectList(columns)} FROM ${quoteTable(query.table)}${keyRange(query.table, query.after, query.upTo, query.filter)} LIMIT ${query.limit} ${lock}`;
}

/** The row's values as the target gets them: the layout's written columns. */
export const writtenValues = (layout: BatchLayout, row: Row): Row => (row.length > layout.written ? row.slice(0, layout.written) : row);

/**
 * The primary key of a row read by a batch. A key column without a value means the batch
 * cannot say where it ended; continuing from a NULL key would find no row after it and end the
 * table early, silently, so it is an error.
 */
export function batchRowKey(layout: BatchLayout, row: Row, table: TableSchema): Row {
  return layout.keyPositions.map((position, index) => {
    const value = position < 0 ? undefined : row[position];
    if (value === undefined || value === null) {
      throw new CopyCursorError(
        `the copy of ${table.database}.${table.name} cannot tell where its batch ended: the last row read has no value for ` +
          `primary-key column ${table.primaryKey[index]}. The copy stops here rather than mark the table copied; please report this.`,
      );
    }
    return value;
  });
}

/** Reads the last primary key of the table (the copy's end mark). */
export function selectLastKey(table: TableSchema): string {
  const keys = primaryKeyColumns(table);
  return `SELECT ${selectList(keys)} FROM ${quoteTable(table)} ORDER BY ${keys
    .map((column) => `${quoteIdentifier(column.name)} DESC`)
    .join(',')} LIMIT 1`;
}

/** Reads the first primary key of the table (where a split table's first range starts). */
export function selectFirstKey(table: TableSchema): string {
  const keys = primaryKeyColumns(table);
  return `SELECT ${selectList(keys)} FROM ${quoteTable(table)} ORDER BY ${keys.map((column) => quoteIdentifier(column.name)).join(',')} LIMIT 1`;
}
