// Makes zongji hand over every column value as the raw bytes of the row image, so that
// decode.ts, not zongji, decides what the bytes mean.
//
// Why: zongji's value decoding is lossy in ways that break a byte-exact copy. Text goes through
// iconv (MySQL latin1 bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D, undefined in cp1252, become U+FFFD);
// negative whole-second TIMEs are mis-rendered ('-00:01:00' as '-00:00:64'); YEAR 0000 comes
// back as 1900; temporal values become JS Dates unless dateStrings is set; ENUM/SET become
// names decoded through the same iconv path. zongji has no decoding hook, but it reads each
// value by the type recorded in its table map (zongji.tableMap[tableId].columns), which it
// builds from each TABLE_MAP event just before emitting it. Rewriting that entry when the
// TABLE_MAP event is delivered (synchronously, before the next packet is parsed) makes it read
// raw bytes instead:
//   - fixed-width types are relabelled BIT of the same byte width (BIT is read as a raw slice);
//   - character strings are relabelled VARBINARY (read as the length-prefixed raw bytes);
//   - TEXT/BLOB, GEOMETRY lose their charset (read as raw bytes);
//   - MySQL's binary JSON is left to zongji, which renders it as JSON text (jsonStrings).
// Columns are renamed to their position ("0", "1", …): rows become objects keyed by index, which
// also keeps a column called `__proto__` from landing on Object.prototype.
import type { TableMapEntry } from '@vlasky/zongji';
import { BinlogType, fixedByteWidth, type BinlogColumn } from './column-types.js';

/** What a rewritten table map remembers of the real column types. */
export type RawTableLayout = readonly BinlogColumn[];

const LENGTH_PREFIXED_STRINGS = new Set<number>([BinlogType.VARCHAR, BinlogType.VAR_STRING, BinlogType.STRING, BinlogType.VARCHAR_COMPRESSED]);
const BLOBS = new Set<number>([
  BinlogType.TINY_BLOB, BinlogType.BLOB, BinlogType.MEDIUM_BLOB, BinlogType.LONG_BLOB, BinlogType.BLOB_COMPRESSED, BinlogType.GEOMETRY,
]);

/**
 * Rewrites a zongji table map entry (already filled from a TABLE_MAP event) so its rows arrive
 * as raw bytes, and returns the real column types. Throws for a type it cannot read raw.
 */
export function readRawValues(entry: TableMapEntry): RawTableLayout {
  const columns = entry.columns;
  if (!columns) throw new Error(`zongji table map of ${entry.parentSchema}.${entry.tableName} has no columns`);
  // zongji rebuilds the entry from every self-describing TABLE_MAP, but reuses a cached one on
  // its INFORMATION_SCHEMA path (MariaDB tables with pre-10.3 temporal columns): an entry
  // rewritten before keeps its layout.
  const known = rewritten.get(columns);
  if (known) return known;
  const layout: BinlogColumn[] = [];
  entry.columns = columns.map((column, index) => {
    const real: BinlogColumn = { type: column.type, metadata: { ...column.metadata } };
    layout.push(real);
    const name = String(index);
    const width = fixedByteWidth(real);
    if (width !== undefined) {
      return { name, charset: null, type: BinlogType.BIT, metadata: { bits: width * 8 } };
    }
    if (LENGTH_PREFIXED_STRINGS.has(column.type)) {
      // zongji picks VARBINARY's raw path from the column definition text.
      const schema = entry.columnSchemas[index];
      if (schema) entry.columnSchemas[index] = { ...schema, COLUMN_TYPE: 'varbinary' };
      return { name, charset: null, type: column.type, metadata: column.metadata };
    }
    if (BLOBS.has(column.type)) {
      // GEOMETRY has the BLOB layout; read as a BLOB it stays the server's internal bytes.
      const type = column.type === BinlogType.GEOMETRY ? BinlogType.LONG_BLOB : column.type;
      return { name, charset: null, type, metadata: column.metadata };
    }
    if (column.type === BinlogType.JSON) return { ...column, name };
    throw new Error(`column ${index} of ${entry.parentSchema}.${entry.tableName} has binlog type ${column.type}, which tideferry cannot read`);
  });
  rewritten.set(entry.columns, layout);
  return layout;
}

const rewritten = new WeakMap<object, RawTableLayout>();
