// The column type codes of TABLE_MAP events (sql/field.h enum_field_types, plus MariaDB's
// COMPRESSED variants), how many bytes a value of each fixed-width type takes in a row image,
// and which INFORMATION_SCHEMA data types each code may stand for.

export const BinlogType = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  BLOB_COMPRESSED: 140,
  VARCHAR_COMPRESSED: 141,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

/** A column as the TABLE_MAP event describes it: the real type (ENUM/SET resolved) and its metadata. */
export interface BinlogColumn {
  readonly type: number;
  /** Per-type metadata from the TABLE_MAP (decode/table-map.ts): decimals, precision, bits, size, max_length, length_size. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export const metadataNumber = (column: BinlogColumn, key: string): number => {
  const value = column.metadata[key];
  return typeof value === 'number' ? value : 0;
};

// Bytes of a DECIMAL digit group of 0..9 digits (strings/decimal.c dig2bytes).
const DECIMAL_GROUP_BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4] as const;

/** Bytes of a packed DECIMAL(precision, scale): full groups of 9 digits take 4 bytes each. */
export function decimalByteWidth(precision: number, scale: number): number {
  const integerDigits = precision - scale;
  return (
    Math.floor(integerDigits / 9) * 4 + DECIMAL_GROUP_BYTES[integerDigits % 9]! +
    Math.floor(scale / 9) * 4 + DECIMAL_GROUP_BYTES[scale % 9]!
  );
}

/** Bytes of the fractional-seconds part of TIME2/DATETIME2/TIMESTAMP2 with `decimals` digits. */
export const fractionByteWidth = (decimals: number): number => Math.ceil(decimals / 2);

/**
 * Bytes a value of this column takes in a row image, or undefined for length-prefixed types
 * (strings, blobs, JSON, geometry).
 */
export function fixedByteWidth(column: BinlogColumn): number | undefined {
  switch (column.type) {
    case BinlogType.TINY:
    case BinlogType.YEAR:
      return 1;
    case BinlogType.SHORT:
      return 2;
    case BinlogType.INT24:
    case BinlogType.DATE:
    case BinlogType.TIME:
      return 3;
    case BinlogType.LONG:
    case BinlogType.FLOAT:
    case BinlogType.TIMESTAMP:
      return 4;
    case BinlogType.LONGLONG:
    case BinlogType.DOUBLE:
    case BinlogType.DATETIME:
      return 8;
    case BinlogType.NEWDECIMAL:
      return decimalByteWidth(metadataNumber(column, 'precision'), metadataNumber(column, 'decimals'));
    case BinlogType.TIME2:
      return 3 + fractionByteWidth(metadataNumber(column, 'decimals'));
    case BinlogType.DATETIME2:
      return 5 + fractionByteWidth(metadataNumber(column, 'decimals'));
    case BinlogType.TIMESTAMP2:
      return 4 + fractionByteWidth(metadataNumber(column, 'decimals'));
    case BinlogType.ENUM:
    case BinlogType.SET:
      return metadataNumber(column, 'size');
    case BinlogType.BIT:
      return Math.floor((metadataNumber(column, 'bits') + 7) / 8);
    default:
      return undefined;
  }
}

const TEXT_OR_BLOB = ['tinytext', 'text', 'mediumtext', 'longtext', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'json'];
const GEOMETRY = ['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection'];

// INFORMATION_SCHEMA.COLUMNS.DATA_TYPE values each binlog type code may carry. MariaDB's
// UUID/INET4/INET6 travel as fixed binary strings, its JSON as LONGTEXT.
const DATA_TYPES_BY_BINLOG_TYPE = new Map<number, readonly string[]>([
  [BinlogType.TINY, ['tinyint']],
  [BinlogType.SHORT, ['smallint']],
  [BinlogType.INT24, ['mediumint']],
  [BinlogType.LONG, ['int', 'integer']],
  [BinlogType.LONGLONG, ['bigint']],
  [BinlogType.FLOAT, ['float']],
  [BinlogType.DOUBLE, ['double', 'real']],
  [BinlogType.NEWDECIMAL, ['decimal', 'numeric']],
  [BinlogType.YEAR, ['year']],
  [BinlogType.DATE, ['date']],
  [BinlogType.NEWDATE, ['date']],
  [BinlogType.TIME, ['time']],
  [BinlogType.TIME2, ['time']],
  [BinlogType.DATETIME, ['datetime']],
  [BinlogType.DATETIME2, ['datetime']],
  [BinlogType.TIMESTAMP, ['timestamp']],
  [BinlogType.TIMESTAMP2, ['timestamp']],
  [BinlogType.BIT, ['bit']],
  [BinlogType.ENUM, ['enum']],
  [BinlogType.SET, ['set']],
  [BinlogType.VARCHAR, ['varchar', 'varbinary', 'inet6', 'inet4', 'uuid', 'vector']],
  [BinlogType.VAR_STRING, ['varchar', 'varbinary']],
  [BinlogType.VARCHAR_COMPRESSED, ['varchar', 'varbinary']],
  [BinlogType.STRING, ['char', 'binary', 'inet6', 'inet4', 'uuid']],
  [BinlogType.TINY_BLOB, TEXT_OR_BLOB],
  [BinlogType.BLOB, TEXT_OR_BLOB],
  [BinlogType.MEDIUM_BLOB, TEXT_OR_BLOB],
  [BinlogType.LONG_BLOB, TEXT_OR_BLOB],
  [BinlogType.BLOB_COMPRESSED, TEXT_OR_BLOB],
  [BinlogType.JSON, ['json']],
  [BinlogType.GEOMETRY, GEOMETRY],
]);

/** Whether a column the schema calls `dataType` may be logged with this binlog type code. */
export const binlogTypeMatches = (binlogType: number, dataType: string): boolean =>
  DATA_TYPES_BY_BINLOG_TYPE.get(binlogType)?.includes(dataType) ?? false;

export function binlogTypeName(binlogType: number): string {
  for (const [name, code] of Object.entries(BinlogType)) if (code === binlogType) return name;
  return `type ${binlogType}`;
}
