// Reading how far replicas lag: those named in the config, plus those the target reports
// (discovery.ts), each through `SHOW REPLICA STATUS` / `SHOW SLAVE STATUS`, and through a
// heartbeat table in pt-heartbeat's format when one is configured (heartbeat.ts: sub-second).
//
// A replica whose lag cannot be read counts as infinitely behind: replication stopped, a NULL
// lag, no heartbeat row, an unreachable replica or one that does not answer. A reason to wait,
// never to go faster (lhm reads NULL as 0 and speeds up). Each replica's trouble is logged once
// when it starts and once when it ends, with the reason, never on every stride.
import type { Connection } from 'mysql2/promise';
import type { Endpoint } from '../db/connection.js';
import { connect } from '../db/connection.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { describeHeartbeatTable, ER_BAD_DB_ERROR, ER_NO_SUCH_TABLE, heartbeatTableName, nowMicros, parseHeartbeat, type HeartbeatSettings } from './heartbeat.js';
import { discoverReplicas, type DiscoveryLog } from './discovery.js';

export interface ReplicaLag {
  readonly seconds: number;
  /** host:port of the replica with the largest lag. */
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

/** The status rows' lag, or why it is unknown. */
export function statusLag(rows: readonly Record<string, unknown>[]): { seconds: number; problem?: string } {
  if (rows.length === 0) return { seconds: Infinity, problem: 'not a replica: its replica status is empty' };
  let worst = 0;
  for (const row of rows) {
    const value = row['Seconds_Behind_Source'] ?? row['Seconds_Behind_Master'];
    const seconds = value === null || value === undefined ? NaN : Number(value);
    if (!Number.isFinite(seconds)) {
      const sql = row['Replica_SQL_Running'] ?? row['Slave_SQL_Running'];
      const io = row['Replica_IO_Running'] ?? row['Slave_IO_Running'];
      const channel = row['Channel_Name'] || row['Connection_name'] ? ` (channel ${String(row['Channel_Name'] ?? row['Connection_name'])})` : '';
      const problem = sql !== undefined && (sql !== 'Yes' || io !== 'Yes')
        ? `replication stopped${channel}: SQL thread ${String(sql)}, IO thread ${String(io)}`
        : `lag unknown${channel}: Seconds_Behind_Source is NULL`;
      return { seconds: Infinity, problem };
    }
    worst = Math.max(worst, seconds);
  }
  return { seconds: worst };
}

/**
 * The lag a replica's status rows say: MySQL 8.0.22+ names the column Seconds_Behind_Source,
 * MariaDB and older MySQL Seconds_Behind_Master. One row per replication channel (MySQL) or
 * none when the server is not a replica; the worst channel counts. NULL (threads stopped) and
 * no row at all are unknown, hence Infinity.
 */
export const lagFromStatus = (rows: readonly Record<string, unknown>[]): number => statusLag(rows).seconds;

interface ReplicaConnection {
  readonly connection: Connection;
  /** The status statement this server understands, once found. */
  statement: string | undefined;
}

export interface ReplicaLagSourceOptions {
  /** Read the lag from this heartbeat table on each replica too (the target's row: serverId). */
  readonly heartbeat?: HeartbeatSettings & { readonly serverId: number };
  /**
   * Watch the replicas the target reports, recursively, reached with `credentials` (user,
   * password, TLS); looked for again every `intervalSeconds` (60).
   */
  readonly discovery?: { readonly target: Endpoint; readonly credentials: Omit<Endpoint, 'host' | 'port'>; readonly intervalSeconds?: number };
  readonly logger?: Logger;
  /** A replica that has not answered within this is unknown lag (its connection is dropped). Default 5 s. */
  readonly readTimeoutSeconds?: number;
  /** After a failed connection, the next attempt waits this long (meanwhile: unknown lag). Default 2 s. */
  readonly reconnectSeconds?: number;
}

interface Watched {
  readonly endpoint: Endpoint;
  readonly discovered: boolean;
}

const keyOf = (endpoint: { host: string; port: number }) => `${endpoint.host}:${endpoint.port}`;

/** Why a lag is unknown; `answered`: the replica answered (its connection is fine). */
class ReadProblem extends Error {
  constructor(message: string, readonly answered = false) {
    super(message);
  }
}

export class ReplicaLagSource implements LagSource {
  private readonly connections = new Map<string, ReplicaConnection>();
  /** The read in flight: concurrent callers share it. */
  private reading: Promise<ReplicaLag> | undefined;
  private closed = false;
  private readonly watched = new Map<string, Watched>();
  /** Each replica's current trouble, said once when it starts and once when it ends. */
  private readonly problems = new Map<string, string>();
  private readonly retryAfter = new Map<string, number>();
  /** Why the last connection to a replica failed (said while its next attempt waits). */
  private readonly connectFailures = new Map<string, string>();
  private nextDiscovery = 0;
  private readonly discoveryLog: DiscoveryLog;
  /** The lag each replica showed at its last read, by host:port (no user: metric labels). */
  readonly lastLagSeconds = new Map<string, number>();

  constructor(replicas: readonly Endpoint[], private readonly options: ReplicaLagSourceOptions = {}) {
    for (const endpoint of replicas) this.watched.set(keyOf(endpoint), { endpoint, discovered: false });
    const said = new Map<string, string>();
    this.discoveryLog = {
      problem: (where, reason) => {
        if (said.get(where) === reason) return;
        said.set(where, reason);
        options.logger?.warn({ server: where, reason }, 'cannot list the replicas of a server; those it reports are not watched until it can (name them in throttle.replicas, or grant REPLICATION SLAVE / REPLICATION MASTER ADMIN)');
      },
      fine: (where) => {
        if (said.delete(where)) options.logger?.info({ server: where }, 'the replicas of a server can be listed again');
      },
    };
  }

  /** host:port of every replica watched now (named and discovered). */
  get replicas(): string[] {
    return [...this.watched.keys()];
  }

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

  /** Looks for the target's replicas now (read() does when due); answers the host:port watched. */
  async discover(): Promise<string[]> {
    const discovery = this.options.discovery;
    if (!discovery || this.closed) return this.replicas;
    this.nextDiscovery = Date.now() + (discovery.intervalSeconds ?? 60) * 1000;
    const found = await discoverReplicas({
      target: discovery.target,
      credentials: discovery.credentials,
      known: [...this.watched.values()].filter((replica) => !replica.discovered).map((replica) => replica.endpoint),
      connectionTo: (endpoint) => this.connectionTo(endpoint),
      log: this.discoveryLog,
    });
    if (this.closed) return this.replicas;
    const current = new Set(found.map(keyOf));
    for (const [key, replica] of this.watched) {
      if (replica.discovered && !current.has(key)) {
        this.watched.delete(key);
        this.forget(key);
        this.options.logger?.info({ replica: key }, 'a discovered replica is no longer reported; no longer watched');
      }
    }
    for (const endpoint of found) {
      const key = keyOf(endpoint);
      if (this.watched.has(key)) continue;
      this.watched.set(key, { endpoint, discovered: true });
      this.options.logger?.info({ replica: key }, 'watching a replica the target reports (discovered)');
    }
    return this.replicas;
  }

  private forget(key: string): void {
    this.lastLagSeconds.delete(key);
    if (this.problems.delete(key)) this.options.logger?.info({ replica: key }, 'replica lag readable again');
    const replica = this.connections.get(key);
    this.connections.delete(key);
    void replica?.connection.end().catch(() => undefined);
  }

  private async readAll(): Promise<ReplicaLag> {
    if (this.options.discovery && Date.now() >= this.nextDiscovery) await this.discover();
    const replicas = [...this.watched.values()];
    const lags = await Promise.all(replicas.map((replica) => this.lagOf(replica.endpoint)));
    if (this.closed) return { seconds: Infinity, replica: undefined };
    let worst: ReplicaLag = { seconds: 0, replica: undefined };
    replicas.forEach((replica, index) => {
      const key = keyOf(replica.endpoint);
      const seconds = lags[index]!;
      if (this.watched.has(key)) this.lastLagSeconds.set(key, seconds);
      if (seconds > worst.seconds || (worst.replica === undefined && seconds === worst.seconds && seconds > 0)) worst = { seconds, replica: key };
    });
    return worst;
  }

  private say(key: string, problem: string | undefined): void {
    const had = this.problems.get(key);
    if (problem === undefined) {
      if (had !== undefined) {
        this.problems.delete(key);
        this.options.logger?.info({ replica: key }, 'replica lag readable again');
      }
      return;
    }
    if (had !== undefined) return;
    this.problems.set(key, problem);
    this.options.logger?.warn({ replica: key, reason: problem }, 'replica lag unknown: counted as too much lag (the copy waits) until it can be read');
  }

  /** The open connection to a replica, opened if need be (shared by the lag reads and discovery). */
  private async connectionTo(endpoint: Endpoint): Promise<ReplicaConnection> {
    const key = keyOf(endpoint);
    const open = this.connections.get(key);
    if (open) return open;
    const retryAt = this.retryAfter.get(key) ?? 0;
    if (Date.now() < retryAt) throw new ReadProblem(this.connectFailures.get(key) ?? 'unreachable');
    let connection: Connection;
    try {
      connection = await connect(endpoint, { connectTimeout: (this.options.readTimeoutSeconds ?? 5) * 1000 });
    } catch (error) {
      this.retryAfter.set(key, Date.now() + (this.options.reconnectSeconds ?? 2) * 1000);
      const reason = `unreachable with the configured credentials: ${errorMessage(error)}`;
      this.connectFailures.set(key, reason);
      throw new ReadProblem(reason);
    }
    this.connectFailures.delete(key);
    if (this.closed) {
      await connection.end().catch(() => undefined);
      throw new ReadProblem('closed');
    }
    // Idle replica connections must not fail the process when the server goes away.
    connection.on('error', () => undefined);
    const replica = { connection, statement: undefined };
    this.connections.set(key, replica);
    return replica;
  }

  private async lagOf(endpoint: Endpoint): Promise<number> {
    const key = keyOf(endpoint);
    const timeout = (this.options.readTimeoutSeconds ?? 5) * 1000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const seconds = await Promise.race([
        this.readLag(endpoint),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ReadProblem(`no answer within ${timeout / 1000} s`)), timeout);
        }),
      ]);
      this.say(key, undefined);
      return seconds;
    } catch (error) {
      if (!this.closed) this.say(key, error instanceof ReadProblem ? error.message : `cannot read its lag: ${errorMessage(error)}`);
      // A replica that answered (stopped, no heartbeat row) keeps its connection; any other failure drops it.
      if (!(error instanceof ReadProblem && error.answered)) {
        const replica = this.connections.get(key);
        this.connections.delete(key);
        replica?.connection.destroy();
      }
      return Infinity;
    } finally {
      clearTimeout(timer);
    }
  }

  private async readLag(endpoint: Endpoint): Promise<number> {
    const replica = await this.connectionTo(endpoint);
    const status = statusLag(await this.status(replica));
    if (status.problem) throw new ReadProblem(status.problem, true);
    const heartbeat = this.options.heartbeat;
    if (!heartbeat) return status.seconds;
    let rows: { ts: string }[];
    try {
      [rows] = (await replica.connection.query(`SELECT ts FROM ${heartbeatTableName(heartbeat)} WHERE server_id = ?`, [heartbeat.serverId])) as unknown as [{ ts: string }[]];
    } catch (error) {
      const errno = (error as { errno?: number }).errno;
      if (errno === ER_NO_SUCH_TABLE || errno === ER_BAD_DB_ERROR) throw new ReadProblem(`the heartbeat table ${describeHeartbeatTable(heartbeat)} does not exist on this replica`, true);
      throw error;
    }
    const row = rows[0];
    if (!row) throw new ReadProblem(`no heartbeat row for server_id ${heartbeat.serverId} (the target's) in ${describeHeartbeatTable(heartbeat)}: is its writer running?`, true);
    const stamp = parseHeartbeat(String(row.ts), heartbeat.utc);
    if (!Number.isFinite(stamp)) throw new ReadProblem(`the heartbeat row holds ${JSON.stringify(String(row.ts))}, not a pt-heartbeat timestamp`, true);
    return Math.max(0, (nowMicros() - stamp) / 1e6);
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
    throw new ReadProblem('the replica understands neither SHOW REPLICA STATUS nor SHOW SLAVE STATUS', true);
  }

  /**
   * Ends every connection. A read in flight does not hold this up (a replica that stopped
   * answering would): a connection it is still opening is ended as soon as it opens.
   */
  async close(): Promise<void> {
    this.closed = true;
    const replicas = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(replicas.map((replica) => replica.connection.end().catch(() => replica.connection.destroy())));
  }
}
