// The one place where SQL text is assembled from names and values. Identifiers always go
// through quoteIdentifier; values through literal() (or placeholders).
import type { ColumnSchema, TableRef } from './schema.js';
import { valueKind } from './schema.js';

/**
 * A column value as tideferry carries it from source to target.
 * - Buffer: the value's bytes exactly as the server sent them with `character_set_results =
 *   binary` (text in the column's own charset, numbers and dates as ASCII, binary as is).
 * - string: a decoded JS string (from the binlog): text in Unicode, numbers and dates as text.
 * - number / bigint: a numeric value.
 */
export type SqlValue = null | Buffer | string | number | bigint;
export type Row = readonly SqlValue[];

export function quoteIdentifier(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export const quoteTable = (table: TableRef): string => `${quoteIdentifier(table.database)}.${quoteIdentifier(table.name)}`;

const STRING_ESCAPES: Record<string, string> = {
  '\0': '\\0', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', "'": "\\'", '\\': '\\\\', '"': '\\"', '\b': '\\b', '\t': '\\t',
};

/** A quoted string literal, for ASCII-safe text such as numbers and dates (and SQL building). */
export function quoteString(text: string): string {
  return "'" + text.replace(/[\0\n\r\x1a'\\"\b\t]/g, (character) => STRING_ESCAPES[character] ?? character) + "'";
}

// Charset names come from INFORMATION_SCHEMA; only plain identifiers are used as introducers.
const charsetIntroducer = (charset: string): string => (/^[a-z0-9_]+$/i.test(charset) ? `_${charset} ` : '');

/**
 * The SQL literal that writes `value` into `column` byte-exactly. Text goes as a hex literal with
 * a charset introducer (no escaping, no connection-charset conversion); binary as a plain hex
 * literal; numbers and dates as ASCII text.
 */
export function literal(value: SqlValue, column: ColumnSchema): string {
  if (value === null || value === undefined) return 'NULL';
  const kind = valueKind(column);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`non-finite number for column ${column.name}`);
    return Object.is(value, -0) ? '-0e0' : String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) {
    switch (kind) {
      case 'text':
        return value.length === 0 ? "''" : `${charsetIntroducer(column.charset ?? '')}X'${value.toString('hex')}'`;
      case 'binary':
      case 'bit':
        return value.length === 0 ? "X''" : `X'${value.toString('hex')}'`;
      default:
        return quoteString(value.toString('latin1'));
    }
  }
  // A decoded JS string: Unicode text goes as UTF-8 bytes, converted by the server to the
  // column's charset; anything else is ASCII text.
  if (kind === 'text') return value.length === 0 ? "''" : `_utf8mb4 X'${Buffer.from(value, 'utf8').toString('hex')}'`;
  if (kind === 'binary' || kind === 'bit') return `X'${Buffer.from(value, 'latin1').toString('hex')}'`;
  return quoteString(value);
}

export const literalRow = (row: Row, columns: readonly ColumnSchema[]): string =>
  '(' + columns.map((column, index) => literal(row[index] ?? null, column)).join(',') + ')';
