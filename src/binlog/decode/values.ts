// Turning row-image values into `Row`s whose values `literal()` writes back exactly.
//
// zongji is made to deliver raw bytes (raw-values.ts); here each value is read by its binlog
// type and rendered in the representation sql.ts's literal() documents for its column kind:
//   integers  → number, or bigint beyond ±2^53 (BIGINT UNSIGNED 18446744073709551615, …)
//   FLOAT/DOUBLE → number (exact: String() of a JS number reads back to the same float/double)
//   DECIMAL   → exact text ('-0.000000000000000000000000000001')
//   temporal  → ASCII text ('2020-01-02 03:04:05.123456', TIMESTAMP in UTC, '-838:59:59')
//   YEAR      → number (0 for 0000: a numeric 0, unlike the string '0', stores 0000)
//   text      → Buffer of the bytes in the column's own charset (never decoded: no charset
//               conversion can lose a byte that way)
//   binary    → Buffer (BINARY(n) re-padded with the zero bytes the row image strips)
//   BIT       → Buffer, big-endian
//   ENUM      → number: the 1-based index (0 for the '' error value); SET → number bitmask.
//               A number stored into an ENUM/SET is taken as index/bitmask, so no member name
//               goes through a charset conversion. This needs the target's member list in the
//               same order, which the copied schema guarantees.
//   MySQL JSON → text (zongji renders its binary form); MariaDB JSON is LONGTEXT → Buffer.
import type { ColumnSchema, TableSchema } from '../../db/schema.js';
import { valueKind } from '../../db/schema.js';
import type { Row, SqlValue } from '../../db/sql.js';
import { BinlogType, binlogTypeMatches, binlogTypeName, metadataNumber, type BinlogColumn } from './column-types.js';
import { decodeDecimal, decodeDouble, decodeFloat, decodeInteger } from './numeric.js';
import {
  decodeDate, decodeDatetime, decodeDatetime2, decodeTime, decodeTime2, decodeTimestamp, decodeTimestamp2, decodeYear,
} from './temporal.js';
import type { RawTableLayout } from './raw-values.js';

function expectBuffer(raw: unknown, column: ColumnSchema): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  throw new Error(`column ${column.name}: expected raw bytes from the binlog, got ${typeof raw}`);
}

// Classic temporal codes with fractional digits are MariaDB 5.3 "hires" columns, whose layout
// the TABLE_MAP does not describe.
function fractionalDigits(column: ColumnSchema): number {
  const match = /^(?:time|datetime|timestamp)\((\d)\)/i.exec(column.columnType);
  return match ? Number(match[1]) : 0;
}

/** One non-NULL value of `column`, logged with type `binlog`. */
export function decodeValue(raw: unknown, binlog: BinlogColumn, column: ColumnSchema): SqlValue {
  if (binlog.type === BinlogType.JSON) {
    // zongji's own rendering of MySQL binary JSON, as text (jsonStrings); an empty value is NULL.
    return raw === null || raw === undefined ? null : typeof raw === 'string' ? raw : JSON.stringify(raw);
  }
  // Copied: zongji's values are views into the socket chunk, which they would keep alive.
  const bytes = Buffer.from(expectBuffer(raw, column));
  const decimals = metadataNumber(binlog, 'decimals');
  switch (binlog.type) {
    case BinlogType.TINY:
    case BinlogType.SHORT:
    case BinlogType.INT24:
    case BinlogType.LONG:
    case BinlogType.LONGLONG:
      return decodeInteger(bytes, column.unsigned);
    case BinlogType.FLOAT:
      return decodeFloat(bytes);
    case BinlogType.DOUBLE:
      return decodeDouble(bytes);
    case BinlogType.NEWDECIMAL:
      return decodeDecimal(bytes, metadataNumber(binlog, 'precision'), decimals);
    case BinlogType.YEAR:
      return decodeYear(bytes);
    case BinlogType.DATE:
      return decodeDate(bytes);
    case BinlogType.TIME2:
      return decodeTime2(bytes, decimals);
    case BinlogType.DATETIME2:
      return decodeDatetime2(bytes, decimals);
    case BinlogType.TIMESTAMP2:
      return decodeTimestamp2(bytes, decimals);
    case BinlogType.TIME:
    case BinlogType.DATETIME:
    case BinlogType.TIMESTAMP:
      if (fractionalDigits(column) > 0) {
        throw new Error(`column ${column.name} (${column.columnType}) uses MariaDB's pre-10.3 temporal format; rebuild the table (ALTER TABLE … FORCE) before migrating`);
      }
      return binlog.type === BinlogType.TIME ? decodeTime(bytes) : binlog.type === BinlogType.DATETIME ? decodeDatetime(bytes) : decodeTimestamp(bytes);
    case BinlogType.ENUM:
    case BinlogType.SET:
      return decodeInteger(bytes, true);
    case BinlogType.BIT:
      return bytes;
    case BinlogType.STRING: {
      // BINARY(n) is logged without its trailing zero bytes; the stored value has them, and a
      // key lookup by the short value would not match it.
      const width = metadataNumber(binlog, 'max_length');
      if (valueKind(column) === 'binary' && bytes.length < width) return Buffer.concat([bytes, Buffer.alloc(width - bytes.length)]);
      return bytes;
    }
    default:
      return bytes;
  }
}

/** A zongji row (values keyed by column position, see raw-values.ts) as a `Row` of `table`. */
export function decodeRow(values: Readonly<Record<string, unknown>>, layout: RawTableLayout, table: TableSchema): Row {
  return table.columns.map((column, index) => {
    const raw = values[String(index)];
    if (raw === null || raw === undefined) return null;
    return decodeValue(raw, layout[index]!, column);
  });
}

/** What a TABLE_MAP event says beyond the column types (those are in the layout). */
export interface TableMapShape {
  readonly columnNames: readonly string[] | undefined;
}

/**
 * Why a TABLE_MAP does not fit the schema read at preflight (undefined when it does): another
 * column count, name or type means the table was altered, and its rows would be misread.
 */
export function tableMapMismatch(table: TableSchema, shape: TableMapShape, layout: RawTableLayout): string | undefined {
  if (layout.length !== table.columns.length) {
    return `the binlog describes ${layout.length} columns, the schema read at start has ${table.columns.length}`;
  }
  for (const [index, column] of table.columns.entries()) {
    const loggedName = shape.columnNames?.[index];
    if (loggedName !== undefined && loggedName.toLowerCase() !== column.name.toLowerCase()) {
      return `column ${index + 1} is ${loggedName} in the binlog but ${column.name} in the schema read at start`;
    }
    const binlog = layout[index]!;
    if (!binlogTypeMatches(binlog.type, column.dataType)) {
      return `column ${column.name} is logged as ${binlogTypeName(binlog.type)} but is ${column.columnType} in the schema read at start`;
    }
  }
  return undefined;
}

/**
 * Columns logged with a classic temporal code but fractional seconds: MariaDB 5.3 "hires"
 * columns, whose row-image width the TABLE_MAP does not give, so no row of the table can be read.
 */
export const legacyTemporalColumns = (table: TableSchema, layout: RawTableLayout): readonly ColumnSchema[] =>
  table.columns.filter((column, index) => {
    const type = layout[index]?.type;
    return (type === BinlogType.TIME || type === BinlogType.DATETIME || type === BinlogType.TIMESTAMP) && fractionalDigits(column) > 0;
  });

/** Columns whose values literal() cannot write back exactly (spatial, MariaDB UUID/INET, …). */
export const unsupportedColumns = (table: TableSchema): readonly ColumnSchema[] =>
  table.columns.filter((column) => !column.generated && valueKind(column) === 'other');
