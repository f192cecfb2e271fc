// The identity of a run, recorded in the state file and checked on resume: which servers it
// moves between, which tables, with which row filters. A resume against other servers or another
// selection would mix two migrations' progress in one target (copied ranges and a binlog position
// that mean nothing for the new source), so it is refused with what differs.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { tableKey, type TableRef } from '../db/schema.js';

export interface ServerIdentity {
  /** host:port as configured: what the run connected to. */
  readonly address: string;
  readonly serverId: number;
  /** MySQL's @@server_uuid, unique per data directory. MariaDB has none. */
  readonly serverUuid?: string | undefined;
  /** The server's own idea of where it runs: @@hostname and @@port (not the configured address, which a proxy or a DNS name can change). */
  readonly hostname: string;
  readonly port: number;
}

export interface RunIdentity {
  readonly source: ServerIdentity;
  readonly target: ServerIdentity;
  /** Selected tables, `database.table`, sorted. */
  readonly tables: readonly string[];
  /** Row filters by `database.table`. */
  readonly rowFilters: Readonly<Record<string, string>>;
}

export async function readServerIdentity(connection: Connection, address: string): Promise<ServerIdentity> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT @@server_id AS serverId, @@hostname AS hostname, @@port AS port');
  const row: RowDataPacket | Record<string, unknown> = rows[0] ?? {};
  let serverUuid: string | undefined;
  try {
    const [uuidRows] = await connection.query<RowDataPacket[]>('SELECT @@server_uuid AS uuid');
    const uuid = uuidRows[0]?.['uuid'];
    if (typeof uuid === 'string' && uuid !== '') serverUuid = uuid;
  } catch {
    // MariaDB: no server_uuid; server_id, hostname and port identify the server.
  }
  return { address, serverId: Number(row['serverId']), serverUuid, hostname: String(row['hostname'] ?? ''), port: Number(row['port']) };
}

/** The identity of the run about to start or resume. */
export async function readRunIdentity(options: {
  readonly source: { readonly connection: Connection; readonly endpoint: Endpoint };
  readonly target: { readonly connection: Connection; readonly endpoint: Endpoint };
  readonly tables: readonly TableRef[];
  readonly rowFilters: Readonly<Record<string, string>>;
}): Promise<RunIdentity> {
  const { source, target } = options;
  return {
    source: await readServerIdentity(source.connection, `${source.endpoint.host}:${source.endpoint.port}`),
    target: await readServerIdentity(target.connection, `${target.endpoint.host}:${target.endpoint.port}`),
    tables: options.tables.map(tableKey).sort(),
    rowFilters: options.rowFilters,
  };
}

const describeServer = (server: ServerIdentity): string =>
  `${server.serverUuid ? `server_uuid ${server.serverUuid}, ` : ''}server_id ${server.serverId} on ${server.hostname}:${server.port} (connected as ${server.address})`;

function sameServer(saved: ServerIdentity, live: ServerIdentity): boolean {
  if (saved.serverUuid && live.serverUuid) return saved.serverUuid === live.serverUuid;
  return saved.serverId === live.serverId && saved.hostname === live.hostname && saved.port === live.port;
}

/** What differs between the run recorded in a state file and the one configured now; empty when they are the same run. */
export function identityDifferences(saved: RunIdentity, live: RunIdentity): string[] {
  const differences: string[] = [];
  for (const role of ['source', 'target'] as const) {
    if (!sameServer(saved[role], live[role])) {
      differences.push(`the ${role} is another server: the state file's run used ${describeServer(saved[role])}, the config now points at ${describeServer(live[role])}`);
    }
  }
  const savedTables = new Set(saved.tables);
  const liveTables = new Set(live.tables);
  const added = live.tables.filter((table) => !savedTables.has(table));
  const dropped = saved.tables.filter((table) => !liveTables.has(table));
  if (added.length) differences.push(`selected now but not part of the run: ${added.join(', ')}`);
  if (dropped.length) differences.push(`part of the run but not selected now: ${dropped.join(', ')}`);
  for (const table of new Set([...Object.keys(saved.rowFilters), ...Object.keys(live.rowFilters)])) {
    const before = saved.rowFilters[table];
    const now = live.rowFilters[table];
    if (before === now) continue;
    differences.push(`row filter of ${table}: ${before === undefined ? 'none' : JSON.stringify(before)} in the run, ${now === undefined ? 'none' : JSON.stringify(now)} now`);
  }
  return differences;
}
