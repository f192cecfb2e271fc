// The source's estimate of each table's rows (INFORMATION_SCHEMA.TABLES.TABLE_ROWS): free to
// read, no scan; InnoDB's figure is sampled and can be well off. Progress and ETA only.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { tableKey, type TableRef } from './schema.js';

export async function readRowEstimates(connection: Connection, tables: readonly TableRef[]): Promise<Map<string, number>> {
  const estimates = new Map<string, number>();
  const databases = [...new Set(tables.map((table) => table.database))];
  if (databases.length === 0) return estimates;
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, TABLE_ROWS AS estimate FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA IN (?)`,
    [databases],
  );
  const wanted = new Set(tables.map(tableKey));
  for (const row of rows) {
    const key = tableKey({ database: String(row['db']), name: String(row['name']) });
    const estimate = Number(row['estimate']);
    if (wanted.has(key) && Number.isFinite(estimate)) estimates.set(key, estimate);
  }
  return estimates;
}
