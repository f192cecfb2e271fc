// What tideferry knows of a table: read once from INFORMATION_SCHEMA at preflight.
import { createHash } from 'node:crypto';

export interface ColumnSchema {
  readonly name: string;
  /** INFORMATION_SCHEMA.COLUMNS.DATA_TYPE, lower case: 'int', 'varchar', 'datetime', … */
  readonly dataType: string;
  /** INFORMATION_SCHEMA.COLUMNS.COLUMN_TYPE: 'int(10) unsigned', "enum('a','b')", … */
  readonly columnType: string;
  readonly unsigned: boolean;
  /** Character set of a text column; null for numbers, dates and binary strings. */
  readonly charset: string | null;
  /** Collation of a text (or ENUM/SET) column; null where charset is. Row filters compare by it. */
  readonly collation: string | null;
  /**
   * Whether JSON functions take the column's values as JSON: MySQL's JSON type, or MariaDB's
   * JSON (LONGTEXT with the column check `json_valid(column)`, which is what makes it JSON there).
   */
  readonly json: boolean;
  readonly nullable: boolean;
  /** Generated (virtual or stored) columns are never written: the target computes them. */
  readonly generated: boolean;
}

export interface TableSchema {
  readonly database: string;
  readonly name: string;
  /** Every column in table order, generated ones included. */
  readonly columns: readonly ColumnSchema[];
  /** Primary-key column names in key order. */
  readonly primaryKey: readonly string[];
  /**
   * Whether a unique index other than the primary key exists. Such a table's binlog changes are
   * replayed in their order; without one, changes of different rows commute and are coalesced.
   */
  readonly hasSecondaryUniqueKey: boolean;
  /** SHOW CREATE TABLE, used to create the target table when it is absent. */
  readonly createStatement: string;
}

export interface TableRef {
  readonly database: string;
  readonly name: string;
}

export const tableKey = (table: TableRef): string => `${table.database}.${table.name}`;

/** Columns the copier and the applier write (generated columns excluded). */
export const writableColumns = (table: TableSchema): readonly ColumnSchema[] =>
  table.columns.filter((column) => !column.generated);

export const primaryKeyColumns = (table: TableSchema): readonly ColumnSchema[] =>
  table.primaryKey.map((name) => {
    const column = table.columns.find((candidate) => candidate.name === name);
    if (!column) throw new Error(`primary key column ${name} missing from ${tableKey(table)}`);
    return column;
  });

/**
 * A fingerprint of what matters for correctness: column names, types, charsets, nullability,
 * generation and the primary key. Recorded in the state; a resume refuses a changed schema.
 */
export function schemaFingerprint(table: TableSchema): string {
  const shape = {
    columns: table.columns.map((c) => [c.name, c.columnType, c.charset, c.nullable, c.generated]),
    primaryKey: table.primaryKey,
  };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

export type ValueKind = 'integer' | 'number' | 'text' | 'binary' | 'bit' | 'temporal' | 'other';

/** How a column's values are read and written; decides the literal encoding. */
export function valueKind(column: ColumnSchema): ValueKind {
  const type = column.dataType;
  if (INTEGER_TYPES.has(type)) return 'integer';
  if (type === 'decimal' || type === 'float' || type === 'double' || type === 'year') return 'number';
  if (type === 'bit') return 'bit';
  if (BINARY_TYPES.has(type)) return 'binary';
  if (TEXT_TYPES.has(type)) return column.charset === null || column.charset === 'binary' ? 'binary' : 'text';
  if (type === 'date' || type === 'datetime' || type === 'timestamp' || type === 'time') return 'temporal';
  return 'other';
}
