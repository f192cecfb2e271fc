// The source's estimate of each table's row count, for the copy's progress (status page, terminal
// line). InnoDB's TABLE_ROWS is a sample of the index, often tens of percent off, but one query
// for every table at once; COUNT(*) would read every table whole. Read once, at the start.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { tableKey, type TableRef } from './schema.js';

interface TableRowsRow extends RowDataPacket {
  database: string;
  name: string;
  estimate: number | string | null;
}

/** Estimated rows by table key (`db.table`); a table the server gives no estimate for is missing. */
export async function readEstimatedRows(connection: Connection, tables: readonly TableRef[]): Promise<Map<string, number>> {
  const estimates = new Map<string, number>();
  const databases = [...new Set(tables.map((table) => table.database))];
  if (databases.length === 0) return estimates;
  const wanted = new Set(tables.map(tableKey));
  const [rows] = await connection.query<TableRowsRow[]>(
    `SELECT TABLE_SCHEMA AS \`database\`, TABLE_NAME AS name, TABLE_ROWS AS estimate
       FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA IN (?)`,
    [databases],
  );
  for (const row of rows) {
    const key = tableKey({ database: String(row.database), name: String(row.name) });
    if (wanted.has(key) && row.estimate !== null) estimates.set(key, Number(row.estimate));
  }
  return estimates;
}
