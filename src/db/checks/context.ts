import type { Connection } from 'mysql2/promise';
import type { Endpoint } from '../connection.js';
import type { TableRef, TableSchema } from '../schema.js';

/** What every preflight check may look at. Checks read; they never change a server. */
export interface CheckContext {
  readonly source: Connection;
  readonly target: Connection;
  readonly sourceEndpoint: Endpoint;
  readonly targetEndpoint: Endpoint;
  readonly selectedTables: readonly TableRef[];
  /** Source schemas of the selected tables. */
  readonly sourceTables: readonly TableSchema[];
  /** Target schemas of the selected tables; undefined where the target has no such table yet. */
  readonly targetTables: ReadonlyMap<string, TableSchema | undefined>;
  /** The server id tideferry's binlog client presents to the source. */
  readonly binlogServerId: number;
  /** Whether cutover will set the source read-only (needs the privilege to do so). */
  readonly cutoverSetsReadOnly: boolean;
  /** The config's row filters, by database.table. */
  readonly rowFilters: ReadonlyMap<string, string>;
}

export interface Check {
  readonly name: string;
  run(context: CheckContext): Promise<void>;
}

export async function variables(connection: Connection, names: readonly string[]): Promise<Map<string, string>> {
  const [rows] = await connection.query(
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(',')})`,
    [...names],
  );
  const result = new Map<string, string>();
  for (const row of rows as { Variable_name: string; Value: string }[]) result.set(row.Variable_name.toLowerCase(), String(row.Value));
  return result;
}
