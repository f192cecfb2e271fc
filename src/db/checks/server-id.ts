// Source and target must be different servers, and the server id tideferry's binlog client
// presents must not collide with the source's own or one of its replicas' (the source would
// drop the other connection).
import type { Connection } from 'mysql2/promise';
import { PreflightError } from '../../errors.js';
import { type Check, variables } from './context.js';

// MySQL 8.4 removed SHOW SLAVE HOSTS: SHOW REPLICAS exists since MySQL 8.0.22, SHOW REPLICA
// HOSTS since MariaDB 10.5.1 (which knows no SHOW REPLICAS); older servers know only the last.
const REPLICA_LISTS = ['SHOW REPLICAS', 'SHOW REPLICA HOSTS', 'SHOW SLAVE HOSTS'] as const;
const ER_PARSE_ERROR = 1064;

/** The server ids of the replicas registered with the server; throws when none of the statements can list them. */
export async function replicaServerIds(connection: Connection): Promise<string[]> {
  let lastError: unknown;
  for (const statement of REPLICA_LISTS) {
    try {
      const [rows] = await connection.query(statement);
      // Server_id in every manual; read whatever its case, as MySQL's names have moved before.
      return (rows as Record<string, unknown>[]).map((row) => {
        const key = Object.keys(row).find((name) => name.toLowerCase() === 'server_id');
        return String(key === undefined ? '' : row[key]);
      });
    } catch (error) {
      lastError = error;
      if ((error as { errno?: number }).errno !== ER_PARSE_ERROR) break;
    }
  }
  throw lastError;
}

export const serverIdCheck: Check = {
  name: 'server-id',
  async run({ source, target, binlogServerId, sourceEndpoint }) {
    const sourceId = (await variables(source, ['server_id'])).get('server_id');
    const targetId = (await variables(target, ['server_id'])).get('server_id');
    if (sourceId === targetId) {
      throw new PreflightError(
        this.name,
        `source and target have the same server_id (${sourceId}): they must be different servers with distinct server_id values`,
      );
    }
    if (String(binlogServerId) === sourceId) {
      throw new PreflightError(this.name, `binlog.serverId ${binlogServerId} is the source's own server_id; choose another`);
    }
    let taken: string[];
    try {
      taken = await replicaServerIds(source);
    } catch (error) {
      // Not knowing the replicas is not a pass: a collision would make the source drop one of
      // its own replicas' connections each time tideferry's binlog client connects.
      throw new PreflightError(
        this.name,
        `cannot list the source's replicas to check that binlog.serverId ${binlogServerId} is free: ${(error as Error).message}. ` +
          `Grant the source user ${sourceEndpoint.user} the privilege to list them: REPLICATION MASTER ADMIN on MariaDB 10.5.2+, ` +
          `REPLICATION SLAVE on MySQL and older MariaDB.`,
        { cause: error },
      );
    }
    if (taken.includes(String(binlogServerId))) {
      throw new PreflightError(this.name, `binlog.serverId ${binlogServerId} is already used by a replica of the source; choose another`);
    }
  },
};
