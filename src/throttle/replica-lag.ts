// Reading how far replicas lag. A replica whose lag cannot be read counts as infinitely behind:
// a reason to wait, never to go faster.
import type { Connection } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect, describeEndpoint } from '../db/connection.js';

export interface LagSource {
  /** Largest lag in seconds across the sources; Infinity when one cannot be read. */
  read(): Promise<{ seconds: number; replica: string | undefined }>;
  close(): Promise<void>;
}

export class ReplicaLagSource implements LagSource {
  private connections = new Map<string, Connection>();
  constructor(private readonly replicas: readonly Endpoint[]) {}

  private async lagOf(endpoint: Endpoint): Promise<number> {
    const name = describeEndpoint(endpoint);
    try {
      let connection = this.connections.get(name);
      if (!connection) {
        connection = await connect(endpoint);
        this.connections.set(name, connection);
      }
      const [rows] = await connection.query('SHOW SLAVE STATUS');
      const status = (rows as Record<string, unknown>[])[0];
      const lag = status?.['Seconds_Behind_Master'];
      // NULL means the replication threads are not running: unknown, hence a reason to wait.
      return lag === null || lag === undefined ? Infinity : Number(lag);
    } catch {
      const connection = this.connections.get(name);
      this.connections.delete(name);
      await connection?.end().catch(() => undefined);
      return Infinity;
    }
  }

  async read(): Promise<{ seconds: number; replica: string | undefined }> {
    let worst: { seconds: number; replica: string | undefined } = { seconds: 0, replica: undefined };
    for (const endpoint of this.replicas) {
      const seconds = await this.lagOf(endpoint);
      if (seconds > worst.seconds) worst = { seconds, replica: describeEndpoint(endpoint) };
    }
    return worst;
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.end().catch(() => undefined)));
    this.connections.clear();
  }
}
