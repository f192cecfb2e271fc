// One retry policy for every connection of a run (docs/architecture.md, "Retries"). A transient
// error — a lost, refused or reset connection, a server shutting down or starting, too many
// connections, a lock conflict, a target read-only while it restarts — is retried with capped
// exponential backoff and jitter until retry.giveUpAfterSeconds have passed since the first
// failure; anything else fails at once with a sentence naming the server. An outage is said
// once: one log line when it starts (which server, which part, the error), one when it ends (how
// long it lasted); the OutageTracker counts retries and outage seconds for the metrics and
// tells /status what the run is waiting for.
import type { Connection } from 'mysql2/promise';
import type { Endpoint } from './connection.js';
import { describeEndpoint } from './connection.js';
import { TideferryError } from '../errors.js';
import type { Logger } from '../log.js';

export type ServerRole = 'source' | 'target' | 'replica';
/**
 * The part of the run a connection serves. `binlog` is the applier (its retries kept that
 * component label before this module), `stream` the binlog dump connection.
 */
export type RunPart = 'copy' | 'stream' | 'binlog' | 'verify' | 'admin' | 'replica-lag' | 'cutover';
export const SERVER_ROLES: readonly ServerRole[] = ['source', 'target', 'replica'];
export const RUN_PARTS: readonly RunPart[] = ['copy', 'stream', 'binlog', 'verify', 'admin', 'replica-lag', 'cutover'];

export interface RetrySettings {
  /** Seconds of consecutive failure of one part on one server after which the run stops. */
  readonly giveUpAfterSeconds: number;
  /** First wait before a retry; doubles per failure up to maxDelayMs; each wait is jittered (50–100%). */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_SETTINGS: RetrySettings = { giveUpAfterSeconds: 300, initialDelayMs: 100, maxDelayMs: 5000 };

interface ServerErrorShape {
  readonly code?: string;
  readonly errno?: number;
  readonly fatal?: boolean;
  readonly message?: string;
}

// The connection is gone (dropped, killed, refused, reset, timed out) or the server is going
// down, starting, or out of connections: a new connection, later, cures it.
const CONNECTION_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT',
  'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTCONN',
  'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED', 'ER_NET_READ_ERROR', 'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE', 'ER_NET_WRITE_INTERRUPTED', 'ER_NET_PACKETS_OUT_OF_ORDER', 'ER_ABORTING_CONNECTION',
  'ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_CLIENT_INTERACTION_TIMEOUT', 'ER_SERVER_ISNT_AVAILABLE',
  'CONNECTION_CLOSED',
]);
// The same by number, for servers whose codes mysql2 does not name: 1040 too many connections,
// 1053 shutdown in progress, 1152 and 1158–1161 aborted or broken network (1153, a packet too large, is not), 1203 user connections, 1317
// query interrupted, 1927 MariaDB's connection killed, 2002/2003 cannot connect, 2006 gone away,
// 2013 lost during query, 4031 client interaction timeout.
const CONNECTION_ERRNOS = new Set([1040, 1053, 1152, 1158, 1159, 1160, 1161, 1203, 1317, 1927, 2002, 2003, 2006, 2013, 4031]);
const LOCK_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const LOCK_ERRNOS = new Set([1205, 1213]);
// 1290 (--read-only): a target that comes back read-only while it restarts (or a failover whose
// new primary is not writable yet). Retried for the bound only: a target left read-only by hand
// stops the run at the bound with a sentence saying so. 1836 is MySQL's read-only mode.
const READ_ONLY_ERRNOS = new Set([1290, 1836]);

export type ErrorClass = 'connection' | 'lock' | 'read-only' | 'fatal';

/** What kind of error this is: transient (connection, lock, read-only) or fatal (everything else). */
export function classifyError(error: unknown): ErrorClass {
  if (error instanceof TideferryError) return 'fatal';
  const { code, errno, fatal, message } = (error ?? {}) as ServerErrorShape;
  if ((code && LOCK_CODES.has(code)) || (errno !== undefined && LOCK_ERRNOS.has(errno))) return 'lock';
  if (errno !== undefined && READ_ONLY_ERRNOS.has(errno)) return 'read-only';
  if ((code && CONNECTION_CODES.has(code)) || (errno !== undefined && CONNECTION_ERRNOS.has(errno))) return 'connection';
  // mysql2 rejects a query on a connection that has already closed with a code-less fatal error
  // ("Can't add new command when connection is in closed state"); the connection is gone.
  if (errno === undefined && (fatal === true || /connection is in closed state|Connection lost/i.test(message ?? ''))) return 'connection';
  return 'fatal';
}

/** An error from a server or the driver (an errno, a sqlState, or a driver code), not one of the program's own. */
export function isServerError(error: unknown): boolean {
  if (error instanceof TideferryError || !error || typeof error !== 'object') return false;
  const { code, errno, sqlState } = error as ServerErrorShape & { sqlState?: string };
  return errno !== undefined || sqlState !== undefined || (typeof code === 'string' && /^(ER_|E[A-Z]+$|PROTOCOL_|HANDSHAKE_)/.test(code));
}

export const isTransient = (error: unknown): boolean => classifyError(error) !== 'fatal';

/** The error's code as metrics label it (its code, or its number, or CONNECTION_CLOSED). */
export function errorCode(error: unknown): string {
  const { code, errno } = (error ?? {}) as ServerErrorShape;
  if (code) return code;
  if (errno !== undefined) return String(errno);
  return classifyError(error) === 'connection' ? 'CONNECTION_CLOSED' : 'UNKNOWN';
}

const SERVER_TAG = Symbol.for('tideferry.server');

/** Marks which server an error came from (when one operation talks to two). First mark wins. */
export function tagServer<E>(error: E, server: ServerRole): E {
  if (error && typeof error === 'object' && !(SERVER_TAG in error)) (error as Record<symbol, unknown>)[SERVER_TAG] = server;
  return error;
}

export function taggedServer(error: unknown): ServerRole | undefined {
  return error && typeof error === 'object' ? ((error as Record<symbol, unknown>)[SERVER_TAG] as ServerRole | undefined) : undefined;
}

/** Runs `work`, marking its error as coming from `server`. */
export async function onServer<T>(server: ServerRole, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw tagServer(error, server);
  }
}

/** Makes every error of this connection's query() and execute() name `server`. */
export function tagConnection(connection: Connection, server: ServerRole): Connection {
  for (const method of ['query', 'execute'] as const) {
    const original = (connection[method] as (...args: unknown[]) => Promise<unknown>).bind(connection);
    (connection as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => original(...args).catch((error: unknown) => { throw tagServer(error, server); });
  }
  return connection;
}

const messageOf = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const { code } = error as ServerErrorShape;
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
};

/** Past the bound: the run stops with this, the state saved; `tideferry resume` continues. */
export class ServerUnreachableError extends TideferryError {
  constructor(readonly server: ServerRole, readonly part: RunPart, readonly seconds: number, readonly endpoint: string | undefined, cause: unknown) {
    const kind = classifyError(cause);
    const what = kind === 'read-only' ? 'read-only (it refused writes)' : kind === 'lock' ? 'holding locks the run waited for' : 'unreachable';
    super(
      `the ${server} server${endpoint ? ` (${endpoint})` : ''} was ${what} for ${Math.round(seconds)} s ` +
        `(${partNoun(part)}; last error: ${messageOf(cause)}), longer than retry.giveUpAfterSeconds. ` +
        `The run stopped and saved its state; once the ${server} is back${kind === 'read-only' ? ' and writable' : ''}, run \`tideferry resume\` to continue from there.`,
      { cause },
    );
  }
}

/** An error retries cannot cure, said with the server it came from and what to do. */
export class ServerRefusedError extends TideferryError {
  /** The server's error number and code, kept: a caller may still act on them (a fallback on 1064, say). */
  readonly errno: number | undefined;
  readonly code: string | undefined;
  constructor(readonly server: ServerRole, readonly part: RunPart, endpoint: string | undefined, cause: unknown) {
    super(`the ${server} server${endpoint ? ` (${endpoint})` : ''} refused ${partNoun(part)}: ${messageOf(cause)}. ${advice(cause, server)}`, { cause });
    ({ errno: this.errno, code: this.code } = (cause ?? {}) as ServerErrorShape);
  }
}

const partNoun = (part: RunPart): string =>
  ({ copy: 'the row copy', stream: 'the binlog stream', binlog: 'the binlog applier', verify: 'the verifier', admin: "the run's administrative queries", 'replica-lag': 'the replica lag check', cutover: 'the cutover' })[part];

function advice(error: unknown, server: ServerRole): string {
  const { errno, code } = (error ?? {}) as ServerErrorShape;
  if (errno === 1045 || errno === 1044 || errno === 1142 || errno === 1143 || errno === 1227 || code === 'ER_ACCESS_DENIED_ERROR') {
    return `Check the ${server} user's password and grants (see README, "Privileges"), then run \`tideferry resume\`.`;
  }
  if (errno === 1146 || errno === 1049 || errno === 1054) return `A table, database or column the run uses is gone from the ${server}: restore it, or start a new migration.`;
  if (errno === 1064) return 'This is a bug in tideferry: please report it with the log.';
  if (errno === 1153 || errno === 1301 || code === 'ER_NET_PACKET_TOO_LARGE') return `Raise max_allowed_packet on the ${server}, then run \`tideferry resume\`.`;
  return 'The run stopped and saved its state: fix the cause and run `tideferry resume`.';
}

interface Outage {
  readonly server: ServerRole;
  readonly part: RunPart;
  readonly since: number;
  lastError: string;
  code: string;
  failures: number;
}

export interface OutageListener {
  /** A transient error was retried. */
  retried?(server: ServerRole, part: RunPart, code: string): void;
  /** An outage ended (or the run gave up on it): its length. */
  ended?(server: ServerRole, part: RunPart, seconds: number): void;
}

export interface OutageStatus {
  readonly server: ServerRole;
  readonly part: RunPart;
  /** ISO time of the first failure. */
  readonly since: string;
  readonly seconds: number;
  readonly error: string;
}

/**
 * Outages by (server, part): started by the first transient connection error of a part, ended by
 * its first success. Logs once at each end; counts outage seconds (closed outages, plus the open
 * ones up to now) for the metrics.
 */
export class OutageTracker {
  private readonly open = new Map<string, Outage>();
  private readonly closedSeconds = new Map<string, number>();
  private readonly listeners: OutageListener[] = [];

  constructor(private readonly logger: Logger, private readonly endpoints: Partial<Record<ServerRole, string>> = {}) {}

  listen(listener: OutageListener): void {
    this.listeners.push(listener);
  }

  endpoint(server: ServerRole): string | undefined {
    return this.endpoints[server];
  }

  /** Records a failure; returns when its outage began (Date.now() ms). */
  failed(server: ServerRole, part: RunPart, error: unknown): number {
    const key = `${server}/${part}`;
    let outage = this.open.get(key);
    if (!outage) {
      outage = { server, part, since: Date.now(), lastError: messageOf(error), code: errorCode(error), failures: 0 };
      this.open.set(key, outage);
      this.logger.warn({ server, part, endpoint: this.endpoints[server], error: outage.lastError }, `${server} unreachable from ${partNoun(part)}: ${outage.lastError}; retrying until it is back`);
    }
    outage.failures++;
    outage.lastError = messageOf(error);
    outage.code = errorCode(error);
    return outage.since;
  }

  retried(server: ServerRole, part: RunPart, code: string): void {
    for (const listener of this.listeners) listener.retried?.(server, part, code);
  }

  /** The part reached its server again. */
  recovered(server: ServerRole, part: RunPart): void {
    const key = `${server}/${part}`;
    const outage = this.open.get(key);
    if (!outage) return;
    this.close(key, outage);
    const seconds = (Date.now() - outage.since) / 1000;
    this.logger.warn({ server, part, seconds: Number(seconds.toFixed(1)), retries: outage.failures }, `${server} reachable again from ${partNoun(part)} after ${seconds.toFixed(1)} s`);
  }

  /** The run gave up on this outage: it is closed (its seconds counted) without a "reachable" line. */
  gaveUp(server: ServerRole, part: RunPart): void {
    const key = `${server}/${part}`;
    const outage = this.open.get(key);
    if (outage) this.close(key, outage);
  }

  private close(key: string, outage: Outage): void {
    this.open.delete(key);
    const seconds = (Date.now() - outage.since) / 1000;
    this.closedSeconds.set(key, (this.closedSeconds.get(key) ?? 0) + seconds);
    for (const listener of this.listeners) listener.ended?.(outage.server, outage.part, seconds);
  }

  /** Whether any part finds `server` down now. */
  isDown(server: ServerRole): boolean {
    for (const outage of this.open.values()) if (outage.server === server) return true;
    return false;
  }

  /** Seconds of outage so far by (server, part), closed and open. */
  outageSeconds(now = Date.now()): { server: ServerRole; part: RunPart; seconds: number }[] {
    const totals = new Map<string, number>(this.closedSeconds);
    for (const [key, outage] of this.open) totals.set(key, (totals.get(key) ?? 0) + (now - outage.since) / 1000);
    return [...totals].map(([key, seconds]) => {
      const [server, part] = key.split('/') as [ServerRole, RunPart];
      return { server, part, seconds };
    });
  }

  /** The outages open now, oldest first. */
  current(now = Date.now()): OutageStatus[] {
    return [...this.open.values()]
      .sort((a, b) => a.since - b.since)
      .map((outage) => ({ server: outage.server, part: outage.part, since: new Date(outage.since).toISOString(), seconds: (now - outage.since) / 1000, error: outage.lastError }));
  }

  /** "waiting for the target since 12:03:04" (UTC), or undefined when nothing is down. */
  waitingFor(): string | undefined {
    const outages = this.current();
    if (outages.length === 0) return undefined;
    const byServer = new Map<ServerRole, string>();
    for (const outage of outages) if (!byServer.has(outage.server)) byServer.set(outage.server, outage.since.slice(11, 19));
    return `waiting for the ${[...byServer].map(([server, since]) => `${server} since ${since}`).join(' and the ')}`;
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', abort, { once: true });
  });

export interface RetryCall {
  readonly server: ServerRole;
  readonly part: RunPart;
  readonly signal?: AbortSignal | undefined;
  /** Called before each retry: close the broken connection, roll back. */
  readonly beforeRetry?: (error: unknown) => Promise<void> | void;
  /** Called per retry, after the tracker counted it (a component's own counter). */
  readonly onRetry?: (code: string) => void;
  /** Where the error came from when it names no server (an operation that talks to two). */
  readonly what?: string;
}

/**
 * The one retry policy. run() calls `work` until it succeeds, a fatal error comes, or the
 * failures of that part on that server have lasted giveUpAfterSeconds.
 */
export class RetryPolicy {
  readonly tracker: OutageTracker;

  constructor(readonly settings: RetrySettings, tracker?: OutageTracker, private readonly logger?: Logger) {
    this.tracker = tracker ?? new OutageTracker(logger ?? silent);
  }

  /** The wait before retry number `attempt` (1-based): capped exponential, jittered to 50–100%. */
  delayMs(attempt: number): number {
    const capped = Math.min(this.settings.maxDelayMs, this.settings.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(capped * (0.5 + Math.random() / 2));
  }

  async run<T>(call: RetryCall, work: (attempt: number) => Promise<T>): Promise<T> {
    let firstFailure: number | undefined;
    const failedOn = new Set<ServerRole>();
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await work(attempt);
        for (const server of failedOn) this.tracker.recovered(server, call.part);
        return result;
      } catch (error) {
        if (call.signal?.aborted) throw error;
        const server = taggedServer(error) ?? call.server;
        const kind = classifyError(error);
        if (kind === 'fatal') {
          for (const down of failedOn) this.tracker.gaveUp(down, call.part);
          // A server's refusal gets a sentence naming it; the program's own errors pass unchanged.
          throw isServerError(error) ? new ServerRefusedError(server, call.part, this.tracker.endpoint(server), error) : error;
        }
        const now = Date.now();
        firstFailure ??= now;
        // A lock conflict is the servers at work, not an outage: retried, counted, not announced.
        const since = kind === 'lock' ? firstFailure : Math.min(firstFailure, this.tracker.failed(server, call.part, error));
        if (kind !== 'lock') failedOn.add(server);
        const seconds = (now - since) / 1000;
        if (seconds >= this.settings.giveUpAfterSeconds) {
          for (const down of failedOn) this.tracker.gaveUp(down, call.part);
          const stop = new ServerUnreachableError(server, call.part, seconds, this.tracker.endpoint(server), error);
          (this.logger ?? silent).error({ server, part: call.part, seconds: Math.round(seconds) }, stop.message);
          throw stop;
        }
        const code = errorCode(error);
        this.tracker.retried(server, call.part, code);
        call.onRetry?.(code);
        (this.logger ?? silent).debug({ server, part: call.part, code, attempt }, 'transient error; retrying');
        await call.beforeRetry?.(error);
        // The last wait ends at the bound: one more try then, not a whole backoff past it.
        const left = this.settings.giveUpAfterSeconds * 1000 - (Date.now() - since);
        await sleep(Math.max(1, Math.min(this.delayMs(attempt), left)), call.signal);
      }
    }
  }
}

const CURRENT = Symbol('tideferry.currentConnection');
const RESET = Symbol('tideferry.resetConnection');

/**
 * A Connection that opens itself again: query() and execute() are retried by the policy (after
 * a lost connection, on a new one), so they must be statements that may run twice — reads, SETs,
 * the admin queries of a run. Everything else goes to the connection open now. A connection's
 * session state (SET SESSION …) is whatever `open` sets: a new one gets it again.
 */
export function reconnectingConnection(open: () => Promise<Connection>, policy: RetryPolicy, call: Omit<RetryCall, 'beforeRetry'>, first?: Connection): Connection {
  let current: Connection | undefined = first;
  let opening: Promise<Connection> | undefined;
  const get = async (): Promise<Connection> => {
    if (current) return current;
    opening ??= open().then(
      (connection) => {
        current = connection;
        opening = undefined;
        // A connection that breaks while idle is dropped at once: the next query opens another.
        connection.on('error', () => { if (current === connection) current = undefined; });
        return connection;
      },
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    );
    return opening;
  };
  if (first) first.on('error', () => { if (current === first) current = undefined; });
  const reset = () => {
    const broken = current;
    current = undefined;
    broken?.destroy();
  };
  const retried = (method: 'query' | 'execute') => (...args: unknown[]) =>
    policy.run({ ...call, beforeRetry: (error) => { if (classifyError(error) === 'connection') reset(); } }, async () => {
      const connection = await get();
      return (connection[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    });
  const handle = {
    query: retried('query'),
    execute: retried('execute'),
    end: async () => { const connection = current; current = undefined; await connection?.end().catch(() => undefined); },
    destroy: () => reset(),
    [CURRENT]: get,
    [RESET]: reset,
  };
  return new Proxy(handle as unknown as Connection, {
    get(target, property) {
      if (property in handle) return (handle as Record<PropertyKey, unknown>)[property];
      const connection = current ?? first;
      if (!connection) return undefined;
      const value = Reflect.get(connection, property);
      return typeof value === 'function' ? value.bind(connection) : value;
    },
  });
}

/** The connection a reconnectingConnection holds now (opened if it holds none); the connection itself otherwise. */
export async function currentConnection(connection: Connection): Promise<Connection> {
  const get = (connection as unknown as Record<symbol, (() => Promise<Connection>) | undefined>)[CURRENT];
  return get ? get() : connection;
}

/** Drops a reconnectingConnection's connection (broken): the next use opens a new one. */
export function resetConnection(connection: Connection): void {
  (connection as unknown as Record<symbol, (() => void) | undefined>)[RESET]?.();
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, trace() {}, fatal() {}, child() { return silent; } } as unknown as Logger;

/** The policy of a run with no settings of its own (tests, benchmarks, one-off tools). */
export const defaultRetryPolicy = (logger?: Logger): RetryPolicy => new RetryPolicy(DEFAULT_RETRY_SETTINGS, undefined, logger);

/** The endpoints the tracker names in its lines. */
export const endpointNames = (endpoints: Partial<Record<ServerRole, Endpoint>>): Partial<Record<ServerRole, string>> =>
  Object.fromEntries(Object.entries(endpoints).map(([role, endpoint]) => [role, endpoint && describeEndpoint(endpoint)]));
