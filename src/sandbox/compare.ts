// Full-row comparison for the tests, the soak and the benchmarks: every row of a table as raw
// bytes, read independently of tideferry's own verifier.
import type { Connection } from 'mysql2/promise';
import { quoteIdentifier } from '../db/sql.js';

/** Every row of a table, fully, as hex text, sorted (FLOAT widened to DOUBLE since the server prints FLOAT with 6 digits). */
export async function dumpTable(connection: Connection, database: string, table: string): Promise<string[]> {
  const [columns] = await connection.query(
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [database, table],
  );
  // String(): a connection left with character_set_results = binary returns the names as bytes.
  const list = (columns as { name: unknown; type: unknown }[])
    .map((column) => ({ name: quoteIdentifier(String(column.name)), type: String(column.type) }))
    .map((column) => (column.type === 'float' ? `CAST(${column.name} AS DOUBLE)` : column.name))
    .join(',');
  await connection.query('SET character_set_results = binary');
  const [rows] = await connection.query({
    sql: `SELECT ${list} FROM ${quoteIdentifier(database)}.${quoteIdentifier(table)} ORDER BY 1`,
    rowsAsArray: true,
    typeCast: ((field: { buffer(): Buffer | null }) => field.buffer()) as never,
  });
  await connection.query('SET character_set_results = utf8mb4');
  return (rows as (Buffer | null)[][]).map((row) => row.map((value) => (value === null ? 'NULL' : value.toString('hex'))).join('|')).sort();
}

export interface TableComparison {
  readonly table: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  /** Rows present on one side only, or different, counted once per side. */
  readonly differing: number;
}

/** Compares every row of `tables` of `database`; a table is equal when `differing` is 0. */
export async function compareTables(source: Connection, target: Connection, database: string, tables: readonly string[]): Promise<TableComparison[]> {
  const comparisons: TableComparison[] = [];
  for (const table of tables) {
    const sourceRows = await dumpTable(source, database, table);
    const targetRows = await dumpTable(target, database, table);
    const targetSet = new Set(targetRows);
    const sourceSet = new Set(sourceRows);
    const differing = sourceRows.filter((row) => !targetSet.has(row)).length + targetRows.filter((row) => !sourceSet.has(row)).length;
    comparisons.push({ table, sourceRows: sourceRows.length, targetRows: targetRows.length, differing });
  }
  return comparisons;
}
