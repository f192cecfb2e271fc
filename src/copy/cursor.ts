// The primary-key cursor of the row copy: which rows come after the last key copied.
// Pure SQL building; works for any primary key (integer, string, binary, composite), compared
// as a tuple in the server's own order, so collations and signedness are the server's business.
import type { ColumnSchema, TableSchema } from '../db/schema.js';
import { primaryKeyColumns } from '../db/schema.js';
import { literal, quoteIdentifier, quoteTable, type Row } from '../db/sql.js';
import { readExpression } from '../db/values.js';

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

/** The locking read of one copy batch: writable columns, in primary-key order. */
export function selectBatch(query: BatchQuery): string {
  const columns = query.table.columns.filter((column) => !column.generated);
  const lock = query.lock === 'share' ? 'LOCK IN SHARE MODE' : 'FOR UPDATE';
  return `SELECT ${selectList(columns)} FROM ${quoteTable(query.table)}${keyRange(query.table, query.after, query.upTo, query.filter)} LIMIT ${query.limit} ${lock}`;
}

/** Reads the last primary key of the table (the copy's end mark). */
export function selectLastKey(table: TableSchema): string {
  const keys = primaryKeyColumns(table);
  return `SELECT ${selectList(keys)} FROM ${quoteTable(table)} ORDER BY ${keys
    .map((column) => `${quoteIdentifier(column.name)} DESC`)
    .join(',')} LIMIT 1`;
}
