// Comparing rows of source and target by a per-row hash computed on each server: a key range
// chunk by chunk in primary-key order, or a list of keys. Exact: values are hashed as their
// binary bytes (FLOAT widened to DOUBLE, see db/values.ts), NULL is told apart from the empty
// string, and each value is length-prefixed so that no two rows can concatenate to the same text.
// The target is always read without the row filter: it must hold the rows the filter selects on
// the source and no others, and a row that should have left it would not match the filter there.
// Both connections must return raw bytes (`character_set_results = binary`).
import { onServer, tagConnection } from '../db/retry.js';
import type { Connection } from 'mysql2/promise';
import { keyAfter, keyRange, selectList } from '../copy/cursor.js';
import { connect, type Endpoint } from '../db/connection.js';
import type { ColumnSchema, TableSchema } from '../db/schema.js';
import { primaryKeyColumns, valueKind } from '../db/schema.js';
import { literal, quoteIdentifier, quoteTable, type Row } from '../db/sql.js';
import { readExpression } from '../db/values.js';

export type DifferenceKind = 'missing on target' | 'only on target' | 'different';

/** A connection to each server, both returning raw bytes, as every comparison here needs. */
export interface ComparisonPair {
  readonly source: Connection;
  readonly target: Connection;
}

/** Each side's errors name their server (db/retry.ts), so that a retry's outage is the right one's. */
export async function openComparisonPair(source: Endpoint, target: Endpoint): Promise<ComparisonPair> {
  const sourceConnection = tagConnection(await onServer('source', () => connect(source)), 'source');
  try {
    const targetConnection = tagConnection(await onServer('target', () => connect(target)), 'target');
    try {
      for (const connection of [sourceConnection, targetConnection]) await connection.query('SET character_set_results = binary');
    } catch (error) {
      await targetConnection.end().catch(() => undefined);
      throw error;
    }
    return { source: sourceConnection, target: targetConnection };
  } catch (error) {
    await sourceConnection.end().catch(() => undefined);
    throw error;
  }
}


export interface RowDifference {
  readonly kind: DifferenceKind;
  /** The row's primary key as raw bytes (from whichever side has the row). */
  readonly key: Row;
}

export interface ChunkResult {
  /** Source rows compared. */
  readonly rows: number;
  readonly differences: readonly RowDifference[];
  /** Where the compared part of the range ends (inclusive); undefined: the range's end, open. */
  readonly end: Row | undefined;
  /** The last chunk of the range. */
  readonly final: boolean;
}

function rowHashExpression(table: TableSchema): string {
  const parts = table.columns.map((column) => {
    const value = `CAST(${readExpression(column)} AS BINARY)`;
    return `IFNULL(CONCAT(LENGTH(${value}), ':', ${value}), 'N')`;
  });
  return `MD5(CONCAT(${parts.join(",'|',")}))`;
}

const hashedSelect = (table: TableSchema): string => `SELECT ${selectList(primaryKeyColumns(table))}, ${rowHashExpression(table)} AS row_hash FROM ${quoteTable(table)}`;

function rangeQuery(table: TableSchema, after: Row | undefined, through: Row | undefined, limit: number | undefined, filter: string | undefined): string {
  return `${hashedSelect(table)}${keyRange(table, after, through, filter)}${limit ? ` LIMIT ${limit}` : ''}`;
}

/**
 * `key IN (…)` for key texts as the binlog side writes them (binlog/apply/statements.ts
 * keyTuple) or as keyLiteral() does: a literal for a one-column key, a tuple for a composite one.
 * MariaDB and MySQL read both forms as a range of the primary key.
 */
export function keyIn(table: TableSchema, texts: readonly string[]): string {
  const keys = primaryKeyColumns(table).map((column) => quoteIdentifier(column.name));
  return `${keys.length === 1 ? keys[0] : `(${keys.join(',')})`} IN (${texts.join(',')})`;
}

const NUMBER = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i;

/**
 * The key of a row read by the verifier (raw bytes) as a literal text for keyIn(). Numbers go
 * unquoted, as the binlog side writes them: a quoted '42' beside 42 in one IN list makes the
 * server compare as strings and scan the whole table.
 */
export function keyLiteral(table: TableSchema, key: Row): string {
  const columns = primaryKeyColumns(table);
  const literals = columns.map((column, index) => {
    const value = key[index] ?? null;
    const kind = valueKind(column);
    if (Buffer.isBuffer(value) && (kind === 'integer' || kind === 'number') && NUMBER.test(value.toString('latin1'))) return value.toString('latin1');
    return literal(value, column);
  });
  return literals.length === 1 ? literals[0]! : `(${literals.join(',')})`;
}

async function readRows(connection: Connection, sql: string): Promise<Row[]> {
  const [rows] = await connection.query({ sql, rowsAsArray: true, typeCast: ((field: { buffer(): Buffer | null }) => field.buffer()) as never });
  return rows as unknown as Row[];
}

const identity = (row: Row, width: number): string => {
  let text = '';
  for (let index = 0; index < width; index++) {
    const value = row[index];
    text += (index > 0 ? ',' : '') + (Buffer.isBuffer(value) ? value.toString('hex') : String(value));
  }
  return text;
};

/** Source rows against target rows, both `[key…, hash]`: what differs. */
function difference(table: TableSchema, sourceRows: readonly Row[], targetRows: readonly Row[]): RowDifference[] {
  const width = table.primaryKey.length;
  const targetByKey = new Map(targetRows.map((row) => [identity(row, width), row]));
  const differences: RowDifference[] = [];
  for (const row of sourceRows) {
    const id = identity(row, width);
    const other = targetByKey.get(id);
    if (!other) differences.push({ kind: 'missing on target', key: row.slice(0, width) });
    else if (!(other[width] as Buffer).equals(row[width] as Buffer)) differences.push({ kind: 'different', key: row.slice(0, width) });
    targetByKey.delete(id);
  }
  for (const row of targetByKey.values()) differences.push({ kind: 'only on target', key: row.slice(0, width) });
  return differences;
}

export interface RangeComparison {
  readonly source: Connection;
  readonly target: Connection;
  readonly table: TableSchema;
  /** Exclusive start; undefined from the first row. */
  readonly after: Row | undefined;
  /** Inclusive end; undefined to the last row (and any row only the target has past it). */
  readonly through: Row | undefined;
  readonly filter: string | undefined;
  readonly chunkRows: number;
  readonly signal?: AbortSignal | undefined;
  /** Before each chunk (the inline verifier waits for the copy gate here). */
  readonly beforeChunk?: () => Promise<void>;
  /** After each chunk, before the next is read: progress is recorded here. */
  readonly afterChunk?: (chunk: ChunkResult) => void;
}

export interface DifferenceCounts {
  readonly 'missing on target': number;
  readonly 'only on target': number;
  readonly different: number;
}

export interface RangeResult {
  readonly rows: number;
  readonly counts: DifferenceCounts;
  /** The first differences found (at most KEPT_DIFFERENCES): a broken target must not fill memory. */
  readonly differences: readonly RowDifference[];
}

const KEPT_DIFFERENCES = 1000;

export function countDifferences(differences: readonly RowDifference[], into: Record<DifferenceKind, number> = { 'missing on target': 0, 'only on target': 0, different: 0 }): Record<DifferenceKind, number> {
  for (const difference of differences) into[difference.kind]++;
  return into;
}

/**
 * Compares the rows of a key range, chunk by chunk. The source's chunk has at most `chunkRows`
 * rows; the target's covers the same keys, and the range's last chunk reaches the range's end,
 * so that rows only the target has are found too. Returns every chunk's differences.
 */
export async function compareRange(options: RangeComparison): Promise<RangeResult> {
  const { table, chunkRows, filter } = options;
  const width = table.primaryKey.length;
  let after = options.after;
  let rows = 0;
  const differences: RowDifference[] = [];
  const counts = countDifferences([]);
  for (;;) {
    options.signal?.throwIfAborted();
    await options.beforeChunk?.();
    const sourceRows = await readRows(options.source, rangeQuery(table, after, options.through, chunkRows, filter));
    const final = sourceRows.length < chunkRows;
    const lastKey = sourceRows.length > 0 ? sourceRows[sourceRows.length - 1]!.slice(0, width) : undefined;
    const end = final ? options.through : lastKey;
    const targetRows = await readRows(options.target, rangeQuery(table, after, end, undefined, undefined));
    const chunk = difference(table, sourceRows, targetRows);
    rows += sourceRows.length;
    countDifferences(chunk, counts);
    for (const found of chunk) if (differences.length < KEPT_DIFFERENCES) differences.push(found);
    options.afterChunk?.({ rows: sourceRows.length, differences: chunk, end, final });
    if (final) return { rows, counts, differences };
    after = lastKey;
  }
}

export interface KeyDifference extends RowDifference {
  /** The row is past the copy's last key (on the side that has it): not copied yet. */
  readonly beyondCopy: boolean;
}

export interface KeyComparison {
  readonly source: Connection;
  readonly target: Connection;
  readonly table: TableSchema;
  /** Key texts for keyIn(), all of one form (see keyIn: a mixed list is read as a full scan). */
  readonly keys: readonly string[];
  readonly filter: string | undefined;
  /** The copy's last key, to tell rows not copied yet; null once the whole table is copied. */
  readonly copiedThrough: Row | undefined | null;
}

/**
 * Compares the rows of the given keys; a key absent on both sides is equal. Each server says for
 * the rows it has whether they lie past the copy's last key (compared in the column's own order).
 */
export async function compareKeys(options: KeyComparison): Promise<KeyDifference[]> {
  const { table, filter, copiedThrough } = options;
  const width = table.primaryKey.length;
  const beyond = copiedThrough === null ? '0' : copiedThrough === undefined ? '1' : `(${keyAfter(primaryKeyColumns(table), copiedThrough)})`;
  const select = `SELECT ${selectList(primaryKeyColumns(table))}, ${rowHashExpression(table)} AS row_hash, ${beyond} AS beyond FROM ${quoteTable(table)} WHERE ${keyIn(table, options.keys)}`;
  const sourceRows = await readRows(options.source, `${select}${filter ? ` AND (${filter})` : ''}`);
  const targetRows = await readRows(options.target, select);
  const isBeyond = (row: Row | undefined) => row !== undefined && String(row[width + 1]) === '1';
  const targetByKey = new Map(targetRows.map((row) => [identity(row, width), row]));
  const differences: KeyDifference[] = [];
  for (const row of sourceRows) {
    const id = identity(row, width);
    const other = targetByKey.get(id);
    targetByKey.delete(id);
    if (other && (other[width] as Buffer).equals(row[width] as Buffer)) continue;
    differences.push({ kind: other ? 'different' : 'missing on target', key: row.slice(0, width), beyondCopy: isBeyond(row) || isBeyond(other) });
  }
  for (const row of targetByKey.values()) differences.push({ kind: 'only on target', key: row.slice(0, width), beyondCopy: isBeyond(row) });
  return differences;
}

const TEXT_DECODING: Record<string, BufferEncoding> = { latin1: 'latin1', ascii: 'latin1', utf8: 'utf8', utf8mb3: 'utf8', utf8mb4: 'utf8' };

function describeValue(value: Row[number], column: ColumnSchema): string {
  if (value === null || value === undefined) return 'NULL';
  if (!Buffer.isBuffer(value)) return String(value);
  const kind = valueKind(column);
  if (kind === 'binary' || kind === 'bit') return `0x${value.toString('hex')}`;
  if (kind === 'text') {
    const encoding = TEXT_DECODING[column.charset ?? ''];
    return encoding ? JSON.stringify(value.toString(encoding)) : `0x${value.toString('hex')} (${column.charset})`;
  }
  return value.toString('latin1');
}

/** A key for people: `id=42`, `customer_id=7, order_no=3`, `sku="A-000012"`. */
export function describeKey(table: TableSchema, key: Row): string {
  return primaryKeyColumns(table)
    .map((column, index) => `${column.name}=${describeValue(key[index] ?? null, column)}`)
    .join(', ');
}
