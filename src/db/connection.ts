// Opening connections to the source and target with the session settings that make copying exact.
import mysql from 'mysql2/promise';
import type { Connection, ConnectionOptions, Pool } from 'mysql2/promise';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly tls?: { readonly ca?: string; readonly rejectUnauthorized?: boolean } | undefined;
}

/** host:port@user — what logs and errors show of an endpoint; never the password. */
export const describeEndpoint = (endpoint: Endpoint): string => `${endpoint.user}@${endpoint.host}:${endpoint.port}`;

/**
 * Session settings of every tideferry connection:
 * - time_zone +00:00: TIMESTAMP values are read and written as UTC text, so no DST hour is ambiguous;
 * - sql_mode NO_AUTO_VALUE_ON_ZERO only: a zero key stays zero (not a new AUTO_INCREMENT value),
 *   and zero dates or out-of-range values the source holds are written as they are;
 * - foreign_key_checks 0: rows arrive in key order, not in the order of the foreign keys.
 */
// Which errors are retried, and how, is db/retry.ts's: one policy for every connection of a run.

export const SESSION_SETTINGS = "SET time_zone = '+00:00', sql_mode = 'NO_AUTO_VALUE_ON_ZERO', foreign_key_checks = 0";

function options(endpoint: Endpoint, extra: ConnectionOptions): ConnectionOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    ...(endpoint.tls ? { ssl: { ...(endpoint.tls.ca ? { ca: endpoint.tls.ca } : {}), rejectUnauthorized: endpoint.tls.rejectUnauthorized ?? true } } : {}),
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    charset: 'utf8mb4',
    connectTimeout: 10_000,
    ...extra,
  };
}

export async function connect(endpoint: Endpoint, extra: ConnectionOptions = {}): Promise<Connection> {
  const connection = await mysql.createConnection(options(endpoint, extra));
  await connection.query(SESSION_SETTINGS);
  return connection;
}

export function createPool(endpoint: Endpoint, size: number, extra: ConnectionOptions = {}): Pool {
  const pool = mysql.createPool({ ...options(endpoint, extra), connectionLimit: size, waitForConnections: true });
  // Every pooled connection gets the same session settings before first use.
  pool.on('connection', (connection) => {
    (connection as unknown as { query(sql: string): void }).query(SESSION_SETTINGS);
  });
  return pool;
}
