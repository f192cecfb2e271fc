// Reading how far replicas lag. A replica whose lag cannot be read counts as infinitely behind:
// a reason to wait, never to go faster.
import type { Connection } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect, describeEndpoint } from '../db/connection.js';

export interface ReplicaLag {
  readonly seconds: number;
  readonly replica: string | undefined;
}

export interface LagSource {
  /** Largest lag in seconds across the sources; Infinity when one cannot be read. */
  read(): Promise<ReplicaLag>;
  close(): Promise<void>;
}

// MySQL 8.4 removed SHOW SLAVE STATUS; SHOW REPLICA STATUS exists since MySQL 8.0.22 and
// MariaDB 10.5.1. Older servers know only the first form.
const STATUS_STATEMENTS = ['SHOW REPLICA STATUS', 'SHOW SLAVE STATUS'] as const;
const ER_PARSE_ERROR = 1064;

export const isSyntaxError = (error: unknown): boolean => (error as { errno?: number } | undefined)?.errno === ER_PARSE_ERROR;

/**
 * The lag a replica's status rows say: MySQL 8.0.22+ names the column Seconds_Behind_Source,
 * MariaDB and older MySQL Seconds_Behind_Master. One row per replication channel (MySQL) or
 * none when the server is not a replica; the worst channel counts. NULL (threads stopped) and
 * no row at all are unknown, hence Infinity.
 */
export function lagFromStatus(rows: readonly Record<string, unknown>[]): number {
  if (rows.length === 0) return Infinity;
  let worst = 0;
  for (const row of rows) {
    const value = row['Seconds_Behind_Source'] ?? row['Seconds_Behind_Master'];
    const seconds = value === null || value === undefined ? NaN : Number(value);
    if (!Number.isFinite(seconds)) return Infinity;
    worst = Math.max(worst, seconds);
  }
  return worst;
}

interface ReplicaConnection {
  readonly connection: Connection;
  /** The status statement this server understands, once found. */
  statement: string | undefined;
}

export class ReplicaLagSource implements LagSource {
  private readonly connections = new Map<string, ReplicaConnection>();
  /** The read in flight: concurrent callers (one per copy worker) share it. */
  private reading: Promise<ReplicaLag> | undefined;
  private closed = false;
  /** The lag each replica showed at its last read, by host:port (no user: metric labels). */
  readonly lastLagSeconds = new Map<string, number>();

  constructor(private readonly replicas: readonly Endpoint[]) {}

  /**
   * Shared by concurrent callers, so that two copy workers never open two connections to one
   * replica (the second would replace the first in the map and be left open). After close()
   * nothing is opened again: the lag is then unknown.
   */
  read(): Promise<ReplicaLag> {
    if (this.closed) return Promise.resolve({ seconds: Infinity, replica: undefined });
    this.reading ??= this.readAll().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readAll(): Promise<ReplicaLag> {
    let worst: ReplicaLag = { seconds: 0, replica: undefined };
    for (const endpoint of this.replicas) {
      if (this.closed) return { seconds: Infinity, replica: undefined };
      const seconds = await this.lagOf(endpoint);
      this.lastLagSeconds.set(`${endpoint.host}:${endpoint.port}`, seconds);
      if (seconds > worst.seconds) worst = { seconds, replica: describeEndpoint(endpoint) };
    }
    return worst;
  }

  private async lagOf(endpoint: Endpoint): Promise<number> {
    const name = describeEndpoint(endpoint);
    let replica = this.connections.get(name);
    try {
      if (!replica) {
        const connection = await connect(endpoint);
        if (this.closed) {
          await connection.end().catch(() => undefined);
          return Infinity;
        }
        replica = { connection, statement: undefined };
        this.connections.set(name, replica);
      }
      return lagFromStatus(await this.status(replica));
    } catch {
      this.connections.delete(name);
      await replica?.connection.end().catch(() => undefined);
      return Infinity;
    }
  }

  private async status(replica: ReplicaConnection): Promise<Record<string, unknown>[]> {
    if (replica.statement) return (await replica.connection.query(replica.statement))[0] as Record<string, unknown>[];
    for (const statement of STATUS_STATEMENTS) {
      try {
        const [rows] = await replica.connection.query(statement);
        replica.statement = statement;
        return rows as Record<string, unknown>[];
      } catch (error) {
        if (!isSyntaxError(error)) throw error;
      }
    }
    throw new Error('the replica understands neither SHOW REPLICA STATUS nor SHOW SLAVE STATUS');
  }

  /**
   * Ends every connection. A read in flight does not hold this up (a replica that stopped
   * answering would): a connection it is still opening is ended as soon as it opens.
   */
  async close(): Promise<void> {
    this.closed = true;
    const replicas = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(replicas.map((replica) => replica.connection.end().catch(() => undefined)));
  }
}
