// Row images from the bytes of a rows event, straight to the SQL literal of each value (the
// RowImage of events.ts): one pass over the packet buffer, one string per value, no
// intermediate object. Per TABLE_MAP a reader is compiled once — each column's way of reading
// and its literal's fixed parts — and reused for every row until the map changes.
//
// The literal of each kind is exactly what db/sql.ts's literal() writes for the value the
// bytes hold (decode-roundtrip.test.ts holds them to it, and the target to the source):
//   integers, FLOAT/DOUBLE, YEAR, ENUM index, SET bitmask → the number ('-0e0' for −0);
//   DECIMAL and temporal values → quoted ASCII text ('-12.500', '2020-01-02 03:04:05.123456');
//   text → its bytes in the column's own charset as `_charset X'…'` (never decoded);
//   binary (BINARY(n) re-padded with the zero bytes the image strips) and BIT → X'…';
//   MySQL's binary JSON → its JSON text as _utf8mb4 X'…', or an expression where it holds
//   typed values (mysql-json.ts); MariaDB's JSON is LONGTEXT: text.
// Layouts: MySQL's libbinlogevents (rows_event.h, value.cpp) and MariaDB's log_event.cc.
import type { ColumnSchema, TableSchema } from '../../db/schema.js';
import { valueKind } from '../../db/schema.js';
import type { RowImage } from '../events.js';
import { BinlogType, decimalByteWidth, fractionByteWidth, metadataNumber, type BinlogColumn } from './column-types.js';
import { mysqlJsonLiteral } from './mysql-json.js';
import { decodeDecimal, decodeInteger } from './numeric.js';
import {
  decodeDate, decodeDatetime, decodeDatetime2, decodeTime, decodeTime2, decodeTimestamp, decodeTimestamp2,
} from './temporal.js';

/** How a column's value is read and written; one small integer per column, switched on per value. */
const enum Reader {
  Int8, UInt8, Int16, UInt16, Int24, UInt24, Int32, UInt32, Int64, UInt64,
  Float, Double, Decimal, Year,
  Date, Time, Time2, Datetime, Datetime2, Timestamp, Timestamp2,
  Bit, Enum, Set,
  /** Length-prefixed bytes (1 or 2 byte prefix), written as text with an introducer. */
  ShortText,
  /** Length-prefixed bytes, written as binary (re-padded to `width` for BINARY(n)). */
  ShortBinary,
  /** BLOB/TEXT: a 1–4 byte length prefix. */
  LongText,
  LongBinary,
  MysqlJson,
}

interface ColumnReader {
  readonly reader: Reader;
  /** Bytes of a fixed-width value, the prefix size of a length-prefixed one, BINARY(n)'s width. */
  readonly width: number;
  /** Length prefix bytes of ShortText/ShortBinary. */
  readonly prefix: number;
  readonly decimals: number;
  readonly precision: number;
  /** The `_charset ` introducer of a text column ('' when the charset name is not a plain identifier). */
  readonly introducer: string;
}

export class UnreadableColumnError extends Error {}

// Charset names come from INFORMATION_SCHEMA; only plain identifiers are used as introducers (as literal() does).
const introducerOf = (column: ColumnSchema): string => (column.charset && /^[a-z0-9_]+$/i.test(column.charset) ? `_${column.charset} ` : '');

function columnReader(binlog: BinlogColumn, column: ColumnSchema): ColumnReader {
  const base = { width: 0, prefix: 0, decimals: metadataNumber(binlog, 'decimals'), precision: metadataNumber(binlog, 'precision'), introducer: introducerOf(column) };
  const unsigned = column.unsigned;
  switch (binlog.type) {
    case BinlogType.TINY: return { ...base, reader: unsigned ? Reader.UInt8 : Reader.Int8, width: 1 };
    case BinlogType.SHORT: return { ...base, reader: unsigned ? Reader.UInt16 : Reader.Int16, width: 2 };
    case BinlogType.INT24: return { ...base, reader: unsigned ? Reader.UInt24 : Reader.Int24, width: 3 };
    case BinlogType.LONG: return { ...base, reader: unsigned ? Reader.UInt32 : Reader.Int32, width: 4 };
    case BinlogType.LONGLONG: return { ...base, reader: unsigned ? Reader.UInt64 : Reader.Int64, width: 8 };
    case BinlogType.FLOAT: return { ...base, reader: Reader.Float, width: 4 };
    case BinlogType.DOUBLE: return { ...base, reader: Reader.Double, width: 8 };
    case BinlogType.NEWDECIMAL: return { ...base, reader: Reader.Decimal, width: decimalByteWidth(base.precision, base.decimals) };
    case BinlogType.YEAR: return { ...base, reader: Reader.Year, width: 1 };
    case BinlogType.DATE: return { ...base, reader: Reader.Date, width: 3 };
    case BinlogType.TIME2: return { ...base, reader: Reader.Time2, width: 3 + fractionByteWidth(base.decimals) };
    case BinlogType.DATETIME2: return { ...base, reader: Reader.Datetime2, width: 5 + fractionByteWidth(base.decimals) };
    case BinlogType.TIMESTAMP2: return { ...base, reader: Reader.Timestamp2, width: 4 + fractionByteWidth(base.decimals) };
    case BinlogType.TIME:
    case BinlogType.DATETIME:
    case BinlogType.TIMESTAMP:
      // Classic codes with fractional digits are MariaDB 5.3 "hires" columns, whose layout the TABLE_MAP does not give.
      if (/^(?:time|datetime|timestamp)\([1-6]\)/i.test(column.columnType)) {
        throw new UnreadableColumnError(`column ${column.name} (${column.columnType}) uses MariaDB's pre-10.3 temporal format; rebuild the table (ALTER TABLE … FORCE) before migrating`);
      }
      return binlog.type === BinlogType.TIME ? { ...base, reader: Reader.Time, width: 3 }
        : binlog.type === BinlogType.DATETIME ? { ...base, reader: Reader.Datetime, width: 8 }
        : { ...base, reader: Reader.Timestamp, width: 4 };
    case BinlogType.BIT: return { ...base, reader: Reader.Bit, width: (metadataNumber(binlog, 'bits') + 7) >> 3 };
    case BinlogType.ENUM: return { ...base, reader: Reader.Enum, width: metadataNumber(binlog, 'size') };
    case BinlogType.SET: return { ...base, reader: Reader.Set, width: metadataNumber(binlog, 'size') };
    case BinlogType.VARCHAR:
    case BinlogType.VAR_STRING:
    case BinlogType.STRING: {
      const maxLength = metadataNumber(binlog, 'max_length');
      const prefix = maxLength > 255 ? 2 : 1;
      if (valueKind(column) === 'text') return { ...base, reader: Reader.ShortText, prefix };
      // BINARY(n) is logged without its trailing zero bytes; the stored value has them.
      return { ...base, reader: Reader.ShortBinary, prefix, width: binlog.type === BinlogType.STRING ? maxLength : 0 };
    }
    case BinlogType.TINY_BLOB:
    case BinlogType.MEDIUM_BLOB:
    case BinlogType.LONG_BLOB:
    case BinlogType.BLOB:
      return { ...base, reader: valueKind(column) === 'text' ? Reader.LongText : Reader.LongBinary, width: metadataNumber(binlog, 'length_size') };
    case BinlogType.JSON:
      return { ...base, reader: Reader.MysqlJson, width: metadataNumber(binlog, 'length_size') };
    case BinlogType.VARCHAR_COMPRESSED:
    case BinlogType.BLOB_COMPRESSED:
      throw new UnreadableColumnError(`column ${column.name} is a MariaDB COMPRESSED column, whose binlog values tideferry does not unpack; exclude the table or drop the attribute`);
    default:
      throw new UnreadableColumnError(`column ${column.name} (${column.columnType}) has binlog type ${binlog.type}, which tideferry cannot read`);
  }
}

const quoted = (text: string): string => `'${text}'`;
const numberLiteral = (value: number): string => {
  if (!Number.isFinite(value)) throw new UnreadableColumnError(`a non-finite number in a row image (${value})`);
  return Object.is(value, -0) ? '-0e0' : String(value);
};

/** Reads the images of one table's rows events: compiled from its TABLE_MAP and its schema. */
export class RowImageReader {
  private readonly readers: readonly ColumnReader[];
  /** Offset in the buffer after the last image read. */
  offset = 0;

  constructor(readonly table: TableSchema, columns: readonly BinlogColumn[]) {
    this.readers = columns.map((binlog, index) => columnReader(binlog, table.columns[index]!));
  }

  get columnCount(): number {
    return this.readers.length;
  }

  /**
   * One row image at `offset`: its NULL bitmap (one bit per column, every column being
   * present), then the values of the columns that are not NULL. Leaves `this.offset` after it.
   */
  readImage(buffer: Buffer, offset: number): RowImage {
    const count = this.readers.length;
    const nullBitmap = offset;
    let at = offset + ((count + 7) >> 3);
    const image: string[] = new Array<string>(count);
    for (let index = 0; index < count; index++) {
      if ((buffer[nullBitmap + (index >> 3)]! & (1 << (index & 7))) !== 0) {
        image[index] = 'NULL';
        continue;
      }
      const column = this.readers[index]!;
      let literal: string;
      switch (column.reader) {
        case Reader.Int8: literal = String(buffer.readInt8(at)); at += 1; break;
        case Reader.UInt8: literal = String(buffer[at]!); at += 1; break;
        case Reader.Int16: literal = String(buffer.readInt16LE(at)); at += 2; break;
        case Reader.UInt16: literal = String(buffer.readUInt16LE(at)); at += 2; break;
        case Reader.Int24: literal = String(buffer.readIntLE(at, 3)); at += 3; break;
        case Reader.UInt24: literal = String(buffer.readUIntLE(at, 3)); at += 3; break;
        case Reader.Int32: literal = String(buffer.readInt32LE(at)); at += 4; break;
        case Reader.UInt32: literal = String(buffer.readUInt32LE(at)); at += 4; break;
        case Reader.Int64:
        case Reader.UInt64: {
          const low = buffer.readUInt32LE(at);
          const high = column.reader === Reader.Int64 ? buffer.readInt32LE(at + 4) : buffer.readUInt32LE(at + 4);
          // Within ±2^53 the double is exact; beyond, the digits come from a BigInt.
          literal = high >= -0x20_0000 && high < 0x20_0000
            ? String(high * 0x1_0000_0000 + low)
            : (column.reader === Reader.Int64 ? buffer.readBigInt64LE(at) : buffer.readBigUInt64LE(at)).toString();
          at += 8;
          break;
        }
        case Reader.Float: literal = numberLiteral(buffer.readFloatLE(at)); at += 4; break;
        case Reader.Double: literal = numberLiteral(buffer.readDoubleLE(at)); at += 8; break;
        case Reader.Decimal: literal = quoted(decodeDecimal(buffer.subarray(at, at + column.width), column.precision, column.decimals)); at += column.width; break;
        case Reader.Year: { const year = buffer[at]!; literal = year === 0 ? '0' : String(1900 + year); at += 1; break; }
        case Reader.Date: literal = quoted(decodeDate(buffer.subarray(at, at + 3))); at += 3; break;
        case Reader.Time: literal = quoted(decodeTime(buffer.subarray(at, at + 3))); at += 3; break;
        case Reader.Time2: literal = quoted(decodeTime2(buffer.subarray(at, at + column.width), column.decimals)); at += column.width; break;
        case Reader.Datetime: literal = quoted(decodeDatetime(buffer.subarray(at, at + 8))); at += 8; break;
        case Reader.Datetime2: literal = quoted(decodeDatetime2(buffer.subarray(at, at + column.width), column.decimals)); at += column.width; break;
        case Reader.Timestamp: literal = quoted(decodeTimestamp(buffer.subarray(at, at + 4))); at += 4; break;
        case Reader.Timestamp2: literal = quoted(decodeTimestamp2(buffer.subarray(at, at + column.width), column.decimals)); at += column.width; break;
        case Reader.Bit: literal = column.width === 0 ? "X''" : `X'${buffer.toString('hex', at, at + column.width)}'`; at += column.width; break;
        case Reader.Enum:
        case Reader.Set:
          literal = column.width <= 6 ? String(buffer.readUIntLE(at, column.width)) : String(decodeInteger(buffer.subarray(at, at + column.width), true));
          at += column.width;
          break;
        case Reader.ShortText:
        case Reader.ShortBinary:
        case Reader.LongText:
        case Reader.LongBinary: {
          const short = column.reader === Reader.ShortText || column.reader === Reader.ShortBinary;
          const prefix = short ? column.prefix : column.width;
          const length = prefix === 1 ? buffer[at]! : prefix === 2 ? buffer.readUInt16LE(at) : buffer.readUIntLE(at, prefix);
          at += prefix;
          if (column.reader === Reader.ShortText || column.reader === Reader.LongText) {
            literal = length === 0 ? "''" : `${column.introducer}X'${buffer.toString('hex', at, at + length)}'`;
          } else {
            const padding = column.reader === Reader.ShortBinary && length < column.width ? '00'.repeat(column.width - length) : '';
            literal = length === 0 && padding === '' ? "X''" : `X'${buffer.toString('hex', at, at + length)}${padding}'`;
          }
          at += length;
          break;
        }
        case Reader.MysqlJson: {
          const length = buffer.readUIntLE(at, column.width);
          at += column.width;
          // An empty binary JSON is how MySQL logs a JSON NULL written by some paths: NULL.
          literal = length === 0 ? 'NULL' : mysqlJsonLiteral(buffer.subarray(at, at + length));
          at += length;
          break;
        }
      }
      image[index] = literal;
    }
    this.offset = at;
    return image;
  }
}
