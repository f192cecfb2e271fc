// The events of a selected table: a TABLE_MAP becomes a decoder (after checking it still fits
// the schema read at preflight), a row event becomes row items.
import type { AnyBinlogEvent, TableMapEntry } from '@vlasky/zongji';
import type { TableSchema } from '../../db/schema.js';
import { tableKey } from '../../db/schema.js';
import { literal, type Row } from '../../db/sql.js';
import { decodeRow, legacyTemporalColumns, tableMapMismatch } from '../decode/values.js';
import { BinlogSchemaChangedError, BinlogStreamError, UnsupportedColumnError } from '../errors.js';
import type { RowImage, RowItem } from '../events.js';
import { readRawValues, type RawTableLayout } from '../decode/raw-values.js';

export type TableMapEvent = Extract<AnyBinlogEvent, { getTypeName(): 'TableMap' }>;

/** A row event as zongji builds it; the columns-present bitmaps are untyped properties. */
export type RowsEvent = AnyBinlogEvent & {
  readonly tableId: number;
  readonly rows: readonly unknown[];
  readonly columns_present_bitmap?: Buffer;
  readonly columns_present_bitmap2?: Buffer;
};

export interface TableDecoder {
  readonly table: TableSchema;
  readonly layout: RawTableLayout;
}

/** Source event time in seconds (heartbeats carry none: now). */
export const eventSeconds = (event: AnyBinlogEvent): number =>
  Math.floor((event.timestamp > 0 ? event.timestamp : Date.now()) / 1000);

/**
 * Prepares the rows of `table` that follow this TABLE_MAP to be read raw, and checks the
 * TABLE_MAP against the schema. `entry` is zongji's table map entry for the event.
 */
export function tableDecoderFor(event: TableMapEvent, table: TableSchema, entry: TableMapEntry): TableDecoder {
  if (!event.hasSelfDescribingMetadata()) {
    throw new BinlogStreamError(
      `the TABLE_MAP of ${tableKey(table)} carries no column names: the source's binlog_row_metadata is no longer FULL. ` +
        `Set it back (SET GLOBAL binlog_row_metadata=FULL) and start a new migration.`,
    );
  }
  const layout = readRawValues(entry);
  const mismatch = tableMapMismatch(table, { columnNames: event.columnNames }, layout);
  if (mismatch) throw new BinlogSchemaChangedError(table, undefined, mismatch);
  const legacy = legacyTemporalColumns(table, layout);
  if (legacy.length > 0) {
    throw new UnsupportedColumnError(
      `${tableKey(table)} has temporal columns in MariaDB's pre-10.3 format (${legacy.map((column) => column.name).join(', ')}), ` +
        `whose binlog values cannot be read: rebuild the table on the source (ALTER TABLE … FORCE) before migrating it`,
    );
  }
  return { table, layout };
}

/**
 * The row items of a row event. `keep` is the row filter: a change is dropped only when every
 * image it has is outside (an update with one image inside is kept whole).
 */
export function rowItemsOf(
  event: RowsEvent,
  type: 'insert' | 'update' | 'delete',
  { table, layout }: TableDecoder,
  keep: (row: Row) => boolean,
): RowItem[] {
  const key = tableKey(table);
  const image = (row: Row): RowImage => row.map((value, index) => literal(value, table.columns[index]!));
  if (!allColumnsPresent(event.columns_present_bitmap, layout.length) || (type === 'update' && !allColumnsPresent(event.columns_present_bitmap2, layout.length))) {
    throw new BinlogStreamError(
      `a row event of ${tableKey(table)} lacks columns: the source's binlog_row_image is not FULL for the writing session. ` +
        `Set binlog_row_image=FULL globally, reconnect the applications, and start a new migration.`,
    );
  }
  const timestamp = eventSeconds(event);
  const receivedAt = Date.now() / 1000;
  const items: RowItem[] = [];
  for (const raw of event.rows) {
    if (type === 'update') {
      const images = raw as { before: Record<string, unknown>; after: Record<string, unknown> };
      const before = decodeRow(images.before, layout, table);
      const after = decodeRow(images.after, layout, table);
      if (keep(before) || keep(after)) items.push({ kind: 'row', type, table: key, before: image(before), after: image(after), timestamp, receivedAt });
    } else {
      const row = decodeRow(raw as Record<string, unknown>, layout, table);
      if (!keep(row)) continue;
      items.push(type === 'insert' ? { kind: 'row', type, table: key, after: image(row), timestamp, receivedAt } : { kind: 'row', type, table: key, before: image(row), timestamp, receivedAt });
    }
  }
  return items;
}

/** Whether a columns-present bitmap names every column (binlog_row_image=FULL; MINIMAL omits some). */
function allColumnsPresent(bitmap: Buffer | undefined, columns: number): boolean {
  if (!bitmap) return true;
  for (let index = 0; index < columns; index++) if ((bitmap[index >> 3]! & (1 << (index & 7))) === 0) return false;
  return true;
}
