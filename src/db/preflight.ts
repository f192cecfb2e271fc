// Preflight: connect to both servers, find the selected tables, read their schemas, and run
// every check in db/checks. Connection failures are turned into messages a user can act on.
import type { Connection } from 'mysql2/promise';
import { PreflightError } from '../errors.js';
import { runChecks } from './checks/index.js';
import { connect, describeEndpoint, type Endpoint } from './connection.js';
import { readTableSchema } from './introspect.js';
import { tableKey, type TableRef, type TableSchema } from './schema.js';
import { quoteIdentifier } from './sql.js';
import { selectTables, type TableSelection } from './tables.js';

export interface PreflightOptions {
  readonly source: Endpoint;
  readonly target: Endpoint;
  readonly selection: TableSelection;
  readonly binlogServerId: number;
  readonly cutoverSetsReadOnly: boolean;
  /** Row filters by database.table (none when absent). */
  readonly rowFilters?: ReadonlyMap<string, string>;
}

export interface PreflightResult {
  readonly tables: readonly TableSchema[];
  /** Target schemas where the target already has the table. */
  readonly existingTargetTables: ReadonlyMap<string, TableSchema | undefined>;
}

/** Opens a connection, translating the usual failures into one clear sentence. */
export async function connectTo(endpoint: Endpoint, role: 'source' | 'target' | 'replica'): Promise<Connection> {
  try {
    return await connect(endpoint);
  } catch (error) {
    throw new PreflightError('connect', describeConnectError(error, role, endpoint), { cause: error });
  }
}

export function describeConnectError(error: unknown, role: string, endpoint: Endpoint): string {
  const { code, message } = error as { code?: string; message?: string };
  const where = `the ${role} at ${endpoint.host}:${endpoint.port}`;
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return `${where} rejected user ${endpoint.user}: wrong password, or the user may not connect from this host (${role}.user / ${role}.password or passwordEnv)`;
    case 'ECONNREFUSED':
      return `cannot reach ${where}: connection refused (is the server running, and is ${role}.port right?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${where}: unknown host ${endpoint.host} (${role}.host)`;
    case 'ETIMEDOUT':
      return `cannot reach ${where}: connection timed out (firewall, or wrong ${role}.host/port?)`;
    case 'ER_DBACCESS_DENIED_ERROR':
      return `${where}: user ${endpoint.user} has no access: ${message ?? ''}`;
    default:
      return `cannot connect to ${where} as ${describeEndpoint(endpoint)}: ${message ?? String(error)}`;
  }
}

async function readSchemas(connection: Connection, tables: readonly TableRef[]): Promise<Map<string, TableSchema | undefined>> {
  const schemas = new Map<string, TableSchema | undefined>();
  for (const table of tables) schemas.set(tableKey(table), await readTableSchema(connection, table));
  return schemas;
}

export async function preflight(options: PreflightOptions): Promise<PreflightResult> {
  const source = await connectTo(options.source, 'source');
  try {
    const target = await connectTo(options.target, 'target');
    try {
      const selectedTables = await selectTables(source, options.selection);
      const sourceSchemas = await readSchemas(source, selectedTables);
      const sourceTables = [...sourceSchemas.values()].filter((table): table is TableSchema => table !== undefined);
      const targetTables = await readSchemas(target, selectedTables);
      await runChecks({
        source,
        target,
        sourceEndpoint: options.source,
        targetEndpoint: options.target,
        selectedTables,
        sourceTables,
        targetTables,
        binlogServerId: options.binlogServerId,
        cutoverSetsReadOnly: options.cutoverSetsReadOnly,
        rowFilters: options.rowFilters ?? new Map(),
      });
      return { tables: sourceTables, existingTargetTables: targetTables };
    } finally {
      await target.end().catch(() => undefined);
    }
  } finally {
    await source.end().catch(() => undefined);
  }
}

/** Creates the databases and the tables the target lacks, from the source's definitions. */
export async function prepareTarget(target: Connection, result: PreflightResult): Promise<string[]> {
  const created: string[] = [];
  for (const table of result.tables) {
    if (result.existingTargetTables.get(tableKey(table))) continue;
    await target.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(table.database)}`);
    await target.query(`USE ${quoteIdentifier(table.database)}`);
    await target.query(table.createStatement);
    created.push(tableKey(table));
  }
  return created;
}
