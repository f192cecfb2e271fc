// Writing copied rows to the target: multi-row INSERT IGNORE, or a LOAD DATA LOCAL INFILE stream.
// Either way, rows already on the target (written by the binlog applier) are kept as they are.
import { Readable } from 'node:stream';
import type { Pool } from 'mysql2/promise';
import type { ColumnSchema, TableSchema } from '../db/schema.js';
import { valueKind, writableColumns } from '../db/schema.js';
import { insertIgnore } from '../db/statements.js';
import { quoteIdentifier, quoteTable, type Row, type SqlValue } from '../db/sql.js';

export type WriteMethod = 'insert' | 'load-data';

export interface RowWriter {
  readonly method: WriteMethod;
  /** Writes rows (writable columns, raw values) and returns how many the target inserted. */
  write(table: TableSchema, rows: readonly Row[]): Promise<number>;
}

export class InsertRowWriter implements RowWriter {
  readonly method = 'insert';
  constructor(private readonly target: Pool) {}

  async write(table: TableSchema, rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    const [result] = await this.target.query(insertIgnore(table, rows));
    return (result as { affectedRows: number }).affectedRows;
  }
}

// LOAD DATA's text format: tab between fields, newline between rows, backslash escapes, \N for
// NULL. The file is declared CHARACTER SET binary so each value's bytes land unconverted: the
// copier reads text in the column's own charset, so they are already right.
const ESCAPED = new Map<number, number>([
  [0x5c, 0x5c], // backslash
  [0x09, 0x74], // tab
  [0x0a, 0x6e], // newline
  [0x00, 0x30], // NUL, for safety
]);

function escapeField(value: Buffer): Buffer {
  let needed = 0;
  for (const byte of value) if (ESCAPED.has(byte)) needed++;
  if (needed === 0) return value;
  const out = Buffer.allocUnsafe(value.length + needed);
  let at = 0;
  for (const byte of value) {
    const escape = ESCAPED.get(byte);
    if (escape === undefined) out[at++] = byte;
    else {
      out[at++] = 0x5c;
      out[at++] = escape;
    }
  }
  return out;
}

const NULL_FIELD = Buffer.from('\\N');
const TAB = Buffer.from('\t');
const NEWLINE = Buffer.from('\n');

function fieldBytes(value: SqlValue, column: ColumnSchema): Buffer {
  if (value === null) return NULL_FIELD;
  if (valueKind(column) === 'bit') {
    // LOAD DATA cannot load BIT values as bytes; they go as a decimal number, converted by SET.
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'latin1');
    return Buffer.from(BigInt(bytes.length ? '0x' + bytes.toString('hex') : '0').toString());
  }
  if (Buffer.isBuffer(value)) return escapeField(value);
  return escapeField(Buffer.from(String(value), 'utf8'));
}

export function loadDataPayload(columns: readonly ColumnSchema[], rows: readonly Row[]): Buffer {
  const parts: Buffer[] = [];
  for (const row of rows) {
    columns.forEach((column, index) => {
      if (index > 0) parts.push(TAB);
      parts.push(fieldBytes(row[index] ?? null, column));
    });
    parts.push(NEWLINE);
  }
  return Buffer.concat(parts);
}

export function loadDataStatement(table: TableSchema): string {
  const columns = writableColumns(table);
  const targets = columns.map((column, index) => (valueKind(column) === 'bit' ? `@bit${index}` : quoteIdentifier(column.name)));
  const conversions = columns
    .map((column, index) => (valueKind(column) === 'bit' ? `${quoteIdentifier(column.name)} = CAST(@bit${index} AS UNSIGNED)` : undefined))
    .filter((item) => item !== undefined);
  return (
    `LOAD DATA LOCAL INFILE 'tideferry' IGNORE INTO TABLE ${quoteTable(table)} CHARACTER SET binary ` +
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${targets.join(',')})` +
    (conversions.length ? ` SET ${conversions.join(', ')}` : '')
  );
}

export class LoadDataRowWriter implements RowWriter {
  readonly method = 'load-data';
  constructor(private readonly target: Pool) {}

  async write(table: TableSchema, rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    const payload = loadDataPayload(writableColumns(table), rows);
    const [result] = await this.target.query({
      sql: loadDataStatement(table),
      infileStreamFactory: () => Readable.from([payload]),
    });
    return (result as { affectedRows: number }).affectedRows;
  }
}
