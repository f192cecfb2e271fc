// The verifier: compares every row of source and target by a per-row hash computed on each
// server, chunk by chunk in primary-key order. Exact: values are hashed as their binary bytes
// (FLOAT widened to DOUBLE, see db/values.ts), NULL is told apart from the empty string, and
// each value is length-prefixed so that no two rows can concatenate to the same text.
import type { Connection } from 'mysql2/promise';
import { keyRange, selectList } from '../copy/cursor.js';
import type { TableSchema } from '../db/schema.js';
import { primaryKeyColumns, tableKey } from '../db/schema.js';
import { quoteTable, type Row } from '../db/sql.js';
import { readExpression } from '../db/values.js';

export interface TableDifference {
  readonly table: string;
  readonly missingOnTarget: number;
  readonly extraOnTarget: number;
  readonly different: number;
  /** A few keys of differing rows (hex), for the report. */
  readonly sampleKeys: readonly string[];
}

export interface VerifyReport {
  readonly tablesChecked: number;
  readonly rowsChecked: number;
  readonly differences: readonly TableDifference[];
}

function rowHashExpression(table: TableSchema): string {
  const parts = table.columns.map((column) => {
    const value = `CAST(${readExpression(column)} AS BINARY)`;
    return `IFNULL(CONCAT(LENGTH(${value}), ':', ${value}), 'N')`;
  });
  return `MD5(CONCAT(${parts.join(",'|',")}))`;
}

function chunkQuery(table: TableSchema, after: Row | undefined, through: Row | undefined, limit: number | undefined, filter: string | undefined): string {
  const keys = primaryKeyColumns(table);
  return `SELECT ${selectList(keys)}, ${rowHashExpression(table)} AS row_hash FROM ${quoteTable(table)}${keyRange(table, after, through, filter)}${limit ? ` LIMIT ${limit}` : ''}`;
}

const keyText = (row: Row, width: number): string =>
  row.slice(0, width).map((value) => (Buffer.isBuffer(value) ? value.toString('hex') : String(value))).join(',');

async function readChunk(connection: Connection, sql: string): Promise<Row[]> {
  const [rows] = await connection.query({ sql, rowsAsArray: true, typeCast: ((field: { buffer(): Buffer | null }) => field.buffer()) as never });
  return rows as unknown as Row[];
}

export interface VerifyOptions {
  readonly source: Connection;
  readonly target: Connection;
  readonly tables: readonly TableSchema[];
  readonly rowFilters?: ReadonlyMap<string, string>;
  readonly chunkRows?: number;
  /** Stops between chunks (a run being stopped must not wait for the whole comparison). */
  readonly signal?: AbortSignal;
}

/** Compares every row of the given tables. Both connections should read a quiet state (after cutover). */
export async function verifyTables(options: VerifyOptions): Promise<VerifyReport> {
  const chunkRows = options.chunkRows ?? 10_000;
  for (const connection of [options.source, options.target]) await connection.query('SET character_set_results = binary');
  const differences: TableDifference[] = [];
  let rowsChecked = 0;
  for (const table of options.tables) {
    const width = table.primaryKey.length;
    const filter = options.rowFilters?.get(tableKey(table));
    let missingOnTarget = 0;
    let extraOnTarget = 0;
    let different = 0;
    const sampleKeys: string[] = [];
    const note = (key: string) => sampleKeys.length < 5 && sampleKeys.push(key);
    let after: Row | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      const sourceRows = await readChunk(options.source, chunkQuery(table, after, undefined, chunkRows, filter));
      const lastRow = sourceRows[sourceRows.length - 1];
      const isLastChunk = sourceRows.length < chunkRows;
      // The target's chunk covers the same key range; the last one is open-ended so that
      // rows only the target has, past the source's last key, are found too. It is read without
      // the row filter: the target must hold the rows the filter selects on the source and no
      // others, and a row that should have left it would not match the filter there either.
      const through = isLastChunk ? undefined : lastRow?.slice(0, width);
      const targetRows = await readChunk(options.target, chunkQuery(table, after, through, undefined, undefined));
      const targetHashes = new Map(targetRows.map((row) => [keyText(row, width), String(row[width])]));
      for (const row of sourceRows) {
        const key = keyText(row, width);
        const targetHash = targetHashes.get(key);
        if (targetHash === undefined) {
          missingOnTarget++;
          note(key);
        } else if (targetHash !== String(row[width])) {
          different++;
          note(key);
        }
        targetHashes.delete(key);
      }
      for (const key of targetHashes.keys()) {
        extraOnTarget++;
        note(key);
      }
      rowsChecked += sourceRows.length;
      if (isLastChunk || !lastRow) break;
      after = lastRow.slice(0, width);
    }
    if (missingOnTarget + extraOnTarget + different > 0) {
      differences.push({ table: tableKey(table), missingOnTarget, extraOnTarget, different, sampleKeys });
    }
  }
  return { tablesChecked: options.tables.length, rowsChecked, differences };
}

export function describeDifferences(report: VerifyReport): string {
  return report.differences
    .map((d) => `${d.table}: ${d.missingOnTarget} missing on target, ${d.extraOnTarget} only on target, ${d.different} different (keys ${d.sampleKeys.join('; ')})`)
    .join('\n');
}
