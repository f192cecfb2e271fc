// TABLE_MAP events: which table a table id stands for, and each column's binlog type and
// metadata (what the row images need to be read). With binlog_row_metadata=FULL the event also
// carries the column names, which tell a changed table from the one read at preflight.
//
// A transaction logs a TABLE_MAP before each statement's rows, so the same map arrives again and
// again: maps are cached per table id on their raw bytes, and one that is byte-for-byte the same
// is not parsed again (`npm run bench -- keepup`: re-parsing them was ~6% of the engine's CPU).
// Layout: libbinlogevents rows_event.h (Table_map_event) and MariaDB's log_event.h.
import { BinlogType, type BinlogColumn } from './column-types.js';

export interface TableMap {
  readonly tableId: number;
  readonly database: string;
  readonly table: string;
  /** Real types (ENUM/SET resolved from STRING) and their metadata, in column order. */
  readonly columns: readonly BinlogColumn[];
  /** Column names from the optional metadata (binlog_row_metadata=FULL); undefined without it. */
  readonly columnNames: readonly string[] | undefined;
}

/** Optional metadata field types (Table_map_event::Optional_metadata_field_type). */
const COLUMN_NAME = 4;

/** A length-encoded integer at `offset` (the MySQL protocol's, as the binlog uses it). */
export function readLengthEncoded(buffer: Buffer, offset: number): { value: number; next: number } {
  const first = buffer[offset]!;
  if (first < 0xfb) return { value: first, next: offset + 1 };
  if (first === 0xfc) return { value: buffer.readUInt16LE(offset + 1), next: offset + 3 };
  if (first === 0xfd) return { value: buffer.readUIntLE(offset + 1, 3), next: offset + 4 };
  if (first === 0xfe) return { value: Number(buffer.readBigUInt64LE(offset + 1)), next: offset + 9 };
  throw new Error(`unexpected length-encoded integer marker 0x${first.toString(16)}`);
}

/** Reads the table id of a TABLE_MAP or rows event: 6 bytes on every server since MySQL 5.1 (post-header 8), 4 before. */
export const readTableId = (buffer: Buffer, offset: number, postHeaderLength: number): number =>
  postHeaderLength === 6 ? buffer.readUInt32LE(offset) : buffer.readUIntLE(offset, 6);

function readColumnMetadata(type: number, buffer: Buffer, offset: number): { column: BinlogColumn; next: number } {
  switch (type) {
    case BinlogType.FLOAT:
    case BinlogType.DOUBLE:
      return { column: { type, metadata: { size: buffer[offset]! } }, next: offset + 1 };
    case BinlogType.VARCHAR:
    case BinlogType.VARCHAR_COMPRESSED:
      return { column: { type, metadata: { max_length: buffer.readUInt16LE(offset) } }, next: offset + 2 };
    case BinlogType.BIT: {
      const bits = buffer[offset]!;
      const bytes = buffer[offset + 1]!;
      return { column: { type, metadata: { bits: bytes * 8 + bits } }, next: offset + 2 };
    }
    case BinlogType.NEWDECIMAL:
      return { column: { type, metadata: { precision: buffer[offset]!, decimals: buffer[offset + 1]! } }, next: offset + 2 };
    case BinlogType.BLOB:
    case BinlogType.BLOB_COMPRESSED:
    case BinlogType.GEOMETRY:
    case BinlogType.JSON:
      return { column: { type, metadata: { length_size: buffer[offset]! } }, next: offset + 1 };
    case BinlogType.STRING:
    case BinlogType.VAR_STRING: {
      // Two bytes, big-endian: the real type (ENUM and SET are logged as STRING) and a length;
      // a CHAR longer than 255 bytes keeps two more length bits in the real-type byte, inverted.
      const metadata = (buffer[offset]! << 8) + buffer[offset + 1]!;
      const realType = metadata >> 8;
      if (realType === BinlogType.ENUM || realType === BinlogType.SET) {
        return { column: { type: realType, metadata: { size: metadata & 0xff } }, next: offset + 2 };
      }
      return { column: { type, metadata: { max_length: (((metadata >> 4) & 0x300) ^ 0x300) + (metadata & 0xff) } }, next: offset + 2 };
    }
    case BinlogType.TIMESTAMP2:
    case BinlogType.DATETIME2:
    case BinlogType.TIME2:
      return { column: { type, metadata: { decimals: buffer[offset]! } }, next: offset + 1 };
    default:
      return { column: { type, metadata: {} }, next: offset };
  }
}

/** Parses a TABLE_MAP body (`start` is the body start, after the common header; `end` excludes the checksum). */
export function parseTableMap(buffer: Buffer, start: number, end: number, postHeaderLength: number): TableMap {
  const tableId = readTableId(buffer, start, postHeaderLength);
  let offset = start + postHeaderLength;
  const databaseLength = buffer[offset]!;
  const database = buffer.toString('utf8', offset + 1, offset + 1 + databaseLength);
  offset += 1 + databaseLength + 1;
  const tableLength = buffer[offset]!;
  const table = buffer.toString('utf8', offset + 1, offset + 1 + tableLength);
  offset += 1 + tableLength + 1;
  const count = readLengthEncoded(buffer, offset);
  offset = count.next;
  const typesStart = offset;
  offset += count.value;
  const metadataLength = readLengthEncoded(buffer, offset);
  offset = metadataLength.next;
  const metadataEnd = offset + metadataLength.value;
  const columns: BinlogColumn[] = [];
  for (let index = 0; index < count.value; index++) {
    const read = readColumnMetadata(buffer[typesStart + index]!, buffer, offset);
    columns.push(read.column);
    offset = read.next;
  }
  offset = metadataEnd;
  offset += (count.value + 7) >> 3; // nullability bitmap
  let columnNames: string[] | undefined;
  while (offset < end) {
    const fieldType = buffer[offset]!;
    const length = readLengthEncoded(buffer, offset + 1);
    const fieldEnd = length.next + length.value;
    if (fieldEnd > end) throw new Error(`TABLE_MAP of ${database}.${table}: optional metadata runs past the event`);
    if (fieldType === COLUMN_NAME) {
      columnNames = [];
      for (let at = length.next; at < fieldEnd; ) {
        const nameLength = readLengthEncoded(buffer, at);
        columnNames.push(buffer.toString('utf8', nameLength.next, nameLength.next + nameLength.value));
        at = nameLength.next + nameLength.value;
      }
    }
    offset = fieldEnd;
  }
  return { tableId, database, table, columns, columnNames };
}

/**
 * The TABLE_MAPs seen on one connection, by table id, with what was derived from each (the
 * decoder of its rows). A map whose bytes equal the cached one returns the cached entry.
 */
export class TableMapCache<Derived> {
  private readonly entries = new Map<number, { readonly bytes: Buffer; readonly map: TableMap; readonly derived: Derived }>();

  /** The entry for the TABLE_MAP body at [start, end), parsing and deriving only when it is new or changed. */
  lookup(buffer: Buffer, start: number, end: number, postHeaderLength: number, derive: (map: TableMap) => Derived): { map: TableMap; derived: Derived } {
    const tableId = readTableId(buffer, start, postHeaderLength);
    const cached = this.entries.get(tableId);
    if (cached && cached.bytes.length === end - start && cached.bytes.equals(buffer.subarray(start, end))) return cached;
    const map = parseTableMap(buffer, start, end, postHeaderLength);
    const entry = { bytes: Buffer.from(buffer.subarray(start, end)), map, derived: derive(map) };
    this.entries.set(tableId, entry);
    return entry;
  }

  /** The entry last seen for a table id (what a rows event refers to). */
  get(tableId: number): { map: TableMap; derived: Derived } | undefined {
    return this.entries.get(tableId);
  }

  clear(): void {
    this.entries.clear();
  }
}
