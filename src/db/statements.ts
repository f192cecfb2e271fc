// SQL statements that write rows to the target, shared by the row copier and the binlog applier.
import type { ColumnSchema, TableSchema } from './schema.js';
import { primaryKeyColumns, writableColumns } from './schema.js';
import { literal, literalRow, quoteIdentifier, quoteTable, type Row } from './sql.js';

/** Picks the writable columns' values out of a full row (generated columns dropped). */
export function writableValues(table: TableSchema, row: Row): Row {
  if (!table.columns.some((column) => column.generated)) return row;
  return row.filter((_, index) => !table.columns[index]!.generated);
}

const columnList = (columns: readonly ColumnSchema[]) => columns.map((column) => quoteIdentifier(column.name)).join(',');

/** Multi-row INSERT IGNORE: writes rows that are absent, keeps rows that are there. `rows` hold writable columns only. */
export function insertIgnore(table: TableSchema, rows: readonly Row[]): string {
  const columns = writableColumns(table);
  return `INSERT IGNORE INTO ${quoteTable(table)} (${columnList(columns)}) VALUES ${rows.map((row) => literalRow(row, columns)).join(',')}`;
}

/** Multi-row upsert: writes each row's full image whether or not a row with its key is there. */
export function upsert(table: TableSchema, rows: readonly Row[]): string {
  const columns = writableColumns(table);
  const keys = new Set(table.primaryKey);
  const updates = columns.filter((column) => !keys.has(column.name));
  // A table of key columns only has nothing to update: the row being there is the whole image.
  const onDuplicate = updates.length === 0
    ? `${quoteIdentifier(columns[0]!.name)}=${quoteIdentifier(columns[0]!.name)}`
    : updates.map((column) => `${quoteIdentifier(column.name)}=VALUES(${quoteIdentifier(column.name)})`).join(',');
  return `INSERT INTO ${quoteTable(table)} (${columnList(columns)}) VALUES ${rows.map((row) => literalRow(row, columns)).join(',')} ON DUPLICATE KEY UPDATE ${onDuplicate}`;
}

/** DELETE of the rows with these primary keys (each key in primary-key column order). */
export function deleteByKeys(table: TableSchema, keys: readonly Row[]): string {
  const columns = primaryKeyColumns(table);
  if (columns.length === 1) {
    const column = columns[0]!;
    return `DELETE FROM ${quoteTable(table)} WHERE ${quoteIdentifier(column.name)} IN (${keys.map((key) => literal(key[0] ?? null, column)).join(',')})`;
  }
  return `DELETE FROM ${quoteTable(table)} WHERE (${columnList(columns)}) IN (${keys.map((key) => literalRow(key, columns)).join(',')})`;
}

/** The primary-key values of a full row, in key order. */
export function primaryKeyOf(table: TableSchema, row: Row): Row {
  return table.primaryKey.map((name) => row[table.columns.findIndex((column) => column.name === name)] ?? null);
}
