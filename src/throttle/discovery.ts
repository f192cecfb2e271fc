// The replicas the target reports, found the way lhm finds them but through the servers' own
// lists: `SHOW REPLICAS` (MySQL 8.0.22+) or `SHOW SLAVE HOSTS` (MariaDB, older MySQL) on the
// target, then on each replica found, recursively (chains: replica of a replica). A server lists
// only the replicas that set `report_host` (and `report_port` when not on 3306); a replica without
// it cannot be found: name it in `throttle.replicas`. Each is reached with the configured
// credentials at the host and port it reports. Unlike lhm, replicas on the same host as another
// server are not skipped (they are told apart by port, and by server id).
import type { Connection } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect } from '../db/connection.js';
import { errorMessage } from '../errors.js';

const HOSTS_STATEMENTS = ['SHOW REPLICAS', 'SHOW SLAVE HOSTS'] as const;
const ER_PARSE_ERROR = 1064;
/** Bounds on a topology walk: a loop of misreported hosts must not run away. */
const MAX_DEPTH = 8;
const MAX_REPLICAS = 100;

export interface DiscoveryLog {
  /** A server's replicas could not be listed (said once per server and reason). */
  problem(where: string, reason: string): void;
  /** …and could again. */
  fine(where: string): void;
}

export interface ReportedReplica {
  readonly host: string;
  readonly port: number;
  readonly serverId: number | undefined;
}

/** The replicas a SHOW REPLICAS / SHOW SLAVE HOSTS answer names (those with a report_host). */
export function reportedReplicas(rows: readonly Record<string, unknown>[]): ReportedReplica[] {
  const replicas: ReportedReplica[] = [];
  for (const row of rows) {
    const host = String(row['Host'] ?? '').trim();
    if (!host) continue;
    const port = Number(row['Port'] ?? 0);
    const id = row['Server_id'] ?? row['Server_Id'];
    replicas.push({ host, port: Number.isInteger(port) && port > 0 ? port : 3306, serverId: id === undefined || id === null ? undefined : Number(id) });
  }
  return replicas;
}

export async function listReplicas(connection: Connection): Promise<ReportedReplica[]> {
  for (const statement of HOSTS_STATEMENTS) {
    try {
      const [rows] = await connection.query(statement);
      return reportedReplicas(rows as Record<string, unknown>[]);
    } catch (error) {
      if ((error as { errno?: number }).errno !== ER_PARSE_ERROR) throw error;
    }
  }
  return [];
}

const keyOf = (endpoint: { host: string; port: number }) => `${endpoint.host}:${endpoint.port}`;

export interface DiscoveryOptions {
  readonly target: Endpoint;
  readonly credentials: Omit<Endpoint, 'host' | 'port'>;
  /** Replicas named in the config: walked too (their replicas are found), not answered. */
  readonly known: readonly Endpoint[];
  /** A replica's connection (the lag reader's, shared). */
  readonly connectionTo: (endpoint: Endpoint) => Promise<{ readonly connection: Connection }>;
  readonly log: DiscoveryLog;
}

/** Every replica below the target (and below the named ones) that is not named: host, port, credentials. */
export async function discoverReplicas(options: DiscoveryOptions): Promise<Endpoint[]> {
  const seenKeys = new Set([keyOf(options.target), ...options.known.map(keyOf)]);
  const seenIds = new Set<number>();
  const found: Endpoint[] = [];
  let level: { endpoint: Endpoint; isTarget: boolean }[] = [{ endpoint: options.target, isTarget: true }, ...options.known.map((endpoint) => ({ endpoint, isTarget: false }))];
  for (let depth = 0; depth < MAX_DEPTH && level.length > 0 && found.length < MAX_REPLICAS; depth++) {
    const next: { endpoint: Endpoint; isTarget: boolean }[] = [];
    for (const { endpoint, isTarget } of level) {
      const where = isTarget ? `target ${keyOf(endpoint)}` : keyOf(endpoint);
      let reported: ReportedReplica[];
      try {
        if (isTarget) {
          const connection = await connect(endpoint);
          try {
            const [[server]] = (await connection.query('SELECT @@server_id AS id')) as unknown as [[{ id: number | string }]];
            seenIds.add(Number(server.id));
            reported = await listReplicas(connection);
          } finally {
            await connection.end().catch(() => connection.destroy());
          }
        } else {
          reported = await listReplicas((await options.connectionTo(endpoint)).connection);
        }
        options.log.fine(where);
      } catch (error) {
        // An unreachable replica is the lag reader's to say; a server that refuses the list is said here.
        if (isTarget || (error as { errno?: number }).errno !== undefined) options.log.problem(where, errorMessage(error));
        continue;
      }
      for (const replica of reported) {
        const key = keyOf(replica);
        if (seenKeys.has(key) || (replica.serverId !== undefined && seenIds.has(replica.serverId))) continue;
        seenKeys.add(key);
        if (replica.serverId !== undefined) seenIds.add(replica.serverId);
        const discovered: Endpoint = { ...options.credentials, host: replica.host, port: replica.port };
        found.push(discovered);
        next.push({ endpoint: discovered, isTarget: false });
      }
    }
    level = next;
  }
  return found;
}
