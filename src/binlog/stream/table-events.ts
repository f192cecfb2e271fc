// The events of a selected table: a TABLE_MAP becomes a row-image reader (after checking it
// still fits the schema read at preflight), a rows event becomes row items.
import type { TableSchema } from '../../db/schema.js';
import { tableKey } from '../../db/schema.js';
import { RowImageReader, UnreadableColumnError } from '../decode/rows.js';
import { readLengthEncoded, type TableMap } from '../decode/table-map.js';
import { tableMapMismatch } from '../decode/table-check.js';
import { BinlogSchemaChangedError, BinlogStreamError, UnsupportedColumnError } from '../errors.js';
import type { RowImage, RowItem } from '../events.js';

export interface TableReader {
  readonly table: TableSchema;
  /** tableKey(table), the RowChange's `table`. */
  readonly key: string;
  readonly images: RowImageReader;
}

/**
 * The reader of `table`'s rows that follow this TABLE_MAP, once the map is checked against
 * the schema: it must carry column names (binlog_row_metadata=FULL) and fit the table's shape.
 */
export function tableReaderFor(map: TableMap, table: TableSchema): TableReader {
  if (!map.columnNames) {
    throw new BinlogStreamError(
      `the TABLE_MAP of ${tableKey(table)} carries no column names: the source's binlog_row_metadata is no longer FULL. ` +
        `Set it back (SET GLOBAL binlog_row_metadata=FULL) and start a new migration.`,
    );
  }
  const mismatch = tableMapMismatch(table, map);
  if (mismatch) throw new BinlogSchemaChangedError(table, undefined, mismatch);
  try {
    return { table, key: tableKey(table), images: new RowImageReader(table, map.columns) };
  } catch (error) {
    if (error instanceof UnreadableColumnError) throw new UnsupportedColumnError(`${tableKey(table)}: ${error.message}`);
    throw error;
  }
}

export type RowsKind = 'insert' | 'update' | 'delete';

/** Whether a columns-present bitmap at `offset` names every one of `columns` (binlog_row_image=FULL; MINIMAL omits some). */
function allColumnsPresent(buffer: Buffer, offset: number, columns: number): boolean {
  for (let index = 0; index < columns; index++) if ((buffer[offset + (index >> 3)]! & (1 << (index & 7))) === 0) return false;
  return true;
}

/**
 * The row items of a rows event whose body is [bodyStart, bodyEnd): post-header (table id and
 * flags, and for the v2 events of MySQL a variable header), column count, the columns-present
 * bitmap(s), then each row's image(s). `keep` is the row filter, if any: a change is dropped
 * only when every image it has is outside it (an update with one image inside is kept whole).
 */
export function readRowsEvent(
  buffer: Buffer,
  bodyStart: number,
  bodyEnd: number,
  postHeaderLength: number,
  version2: boolean,
  kind: RowsKind,
  reader: TableReader,
  timestamp: number,
  push: (item: RowItem) => void,
  keep?: (image: RowImage) => boolean,
): number {
  let offset = bodyStart + postHeaderLength;
  // v2: the variable header's length includes its own two bytes (rows_event.h, Rows_event).
  if (version2) offset += buffer.readUInt16LE(bodyStart + postHeaderLength - 2) - 2;
  const count = readLengthEncoded(buffer, offset);
  offset = count.next;
  const images = reader.images;
  const bitmapBytes = (count.value + 7) >> 3;
  const fullImages =
    count.value === images.columnCount &&
    allColumnsPresent(buffer, offset, count.value) &&
    (kind !== 'update' || allColumnsPresent(buffer, offset + bitmapBytes, count.value));
  if (!fullImages) {
    throw new BinlogStreamError(
      `a row event of ${reader.key} lacks columns: the source's binlog_row_image is not FULL for the writing session. ` +
        `Set binlog_row_image=FULL globally, reconnect the applications, and start a new migration.`,
    );
  }
  offset += kind === 'update' ? 2 * bitmapBytes : bitmapBytes;
  const receivedAt = Date.now() / 1000;
  let rows = 0;
  const table = reader.key;
  while (offset < bodyEnd) {
    rows++;
    if (kind === 'update') {
      const before = images.readImage(buffer, offset);
      const after = images.readImage(buffer, images.offset);
      offset = images.offset;
      if (!keep || keep(before) || keep(after)) push({ kind: 'row', type: 'update', table, before, after, timestamp, receivedAt });
    } else {
      const image = images.readImage(buffer, offset);
      offset = images.offset;
      if (keep && !keep(image)) continue;
      push(kind === 'insert' ? { kind: 'row', type: 'insert', table, after: image, timestamp, receivedAt } : { kind: 'row', type: 'delete', table, before: image, timestamp, receivedAt });
    }
  }
  if (offset !== bodyEnd) throw new BinlogStreamError(`a row event of ${reader.key} does not parse to its end (${offset} ≠ ${bodyEnd}): the binlog does not match the table's TABLE_MAP`);
  return rows;
}
