// The config file's schema. Every key is checked: an unknown key, a wrong type or a missing
// field is an error that names the key (see load.ts for the message).
import { z } from 'zod';
import { rowFilterProblem } from './row-filter.js';

const endpoint = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(3306),
    user: z.string().min(1),
    /** The password itself; prefer passwordEnv so that it never sits in a file. */
    password: z.string().optional(),
    /** Name of an environment variable holding the password. */
    passwordEnv: z.string().min(1).optional(),
    tls: z
      .strictObject({
        /** Path of a PEM file with the CA certificate(s). */
        ca: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .optional(),
  })
  .refine((value) => !(value.password !== undefined && value.passwordEnv !== undefined), {
    message: 'give either password or passwordEnv, not both',
  });

const positiveSeconds = z.number().positive();

export const configSchema = z.strictObject({
  source: endpoint,
  target: endpoint,
  /** Databases to migrate; tables keep their database and name on the target. */
  databases: z.array(z.string().min(1)).min(1),
  tables: z
    .strictObject({
      /** Patterns `table` or `db.table`, with `*` as wildcard. Default: every base table. */
      include: z.array(z.string().min(1)).default(['*']),
      exclude: z.array(z.string().min(1)).default([]),
    })
    .default({ include: ['*'], exclude: [] }),
  /**
   * Per-table row filter, `db.table: "<SQL condition>"`, e.g. to move one tenant's rows. It may
   * depend on the row alone (see row-filter.ts): the copy and replay evaluate it on different servers.
   */
  rowFilters: z
    .record(
      z.string().regex(/^[^.]+\.[^.]+$/, 'keys are db.table'),
      z.string().min(1).superRefine((filter, context) => {
        const problem = rowFilterProblem(filter);
        if (problem) context.addIssue({ code: 'custom', message: `${JSON.stringify(filter)} cannot be a row filter: ${problem}` });
      }),
    )
    .default({}),
  copy: z
    .strictObject({
      /** Rows in the first batch; later batches are sized to take targetBatchSeconds. */
      batchRows: z.number().int().min(1).max(100_000).default(1000),
      /** Fixed batch size (no adaptation) when false. */
      adaptive: z.boolean().default(true),
      targetBatchSeconds: positiveSeconds.default(0.5),
      /** Tables copied at the same time. */
      concurrency: z.number().int().min(1).max(64).default(4),
      /** Locking read of each batch: `share` (works on a read-only source) or `update`. */
      lockingRead: z.enum(['share', 'update']).default('share'),
      /** Target write path: LOAD DATA LOCAL INFILE where the target allows it, or multi-row INSERT. */
      writeMethod: z.enum(['auto', 'insert', 'load-data']).default('auto'),
    })
    .default({ batchRows: 1000, adaptive: true, targetBatchSeconds: 0.5, concurrency: 4, lockingRead: 'share', writeMethod: 'auto' }),
  binlog: z
    .strictObject({
      /** A number fixes the batch size; an object bounds the adaptive size. */
      batchSize: z
        .union([
          z.number().int().min(1).max(100_000),
          z.strictObject({
            min: z.number().int().min(1).default(1),
            max: z.number().int().min(1).max(100_000).default(5000),
            initial: z.number().int().min(1).default(100),
          }),
        ])
        .default({ min: 1, max: 5000, initial: 100 }),
      /** Utilisation m·R at which the target is declared saturated and the copy yields. */
      saturationBound: z.number().gt(0).lt(1).default(0.9),
      /** Server id the binlog client presents to the source; must be unique among its replicas. */
      serverId: z.number().int().min(1).max(4294967295).optional(),
      /** Upper bound of the in-memory event queue (backpressure on the binlog socket); the live bound follows B*. */
      maxQueuedEvents: z.number().int().min(100).default(50_000),
      /** Collapse each row's changes within a batch to their net effect (tables without secondary unique keys). */
      coalesce: z.boolean().default(true),
      /**
       * Least time between the starts of two binlog writes, ms: a batch smaller than the batch size
       * waits for an interval's events to gather. Each write costs the engine and the target CPU
       * of its own; at 1,000 transactions/s writing every few events spent most of the engine's
       * CPU on that (see README, "How the binlog batch size is chosen"). 0 writes at once.
       */
      minBatchIntervalMs: z.number().min(0).max(1000).default(10),
    })
    .default({ batchSize: { min: 1, max: 5000, initial: 100 }, saturationBound: 0.9, maxQueuedEvents: 50_000, coalesce: true, minBatchIntervalMs: 10 }),
  throttle: z
    .strictObject({
      /** Replicas of the target whose lag slows the row copy. */
      replicas: z.array(endpoint).default([]),
      maxLagSeconds: positiveSeconds.default(1),
      maxPauseSeconds: positiveSeconds.default(5),
      /**
       * The binlog lag the row copy may leave the applier at: over it the copy holds, and goes on
       * once the lag is back under half of it. The applier has the right of way.
       */
      binlogLagTargetSeconds: positiveSeconds.default(1),
      /**
       * The least pause between copy strides: 0 (a healthy run is not slowed), or `lhm` for lhm's
       * 0.1 s (it always waits that long), or a number of seconds. See README, "Throttling".
       */
      floor: z.union([z.literal('lhm'), z.number().min(0).max(60)]).default(0),
      /**
       * Also watch the replicas the target reports (SHOW REPLICAS / SHOW SLAVE HOSTS, recursively;
       * replicas that set report_host), reached with the target's user, password and TLS.
       */
      discoverReplicas: z.boolean().default(true),
      /**
       * lhm's other throttler, off unless set: over this many Threads_running on the target (tideferry's
       * own sessions count) the pause between copy strides doubles, at or under it halves.
       */
      maxThreadsRunning: z.number().int().min(1).optional(),
      /** Sub-second lag from a heartbeat table in pt-heartbeat's format (README, "Throttling"). */
      heartbeat: z
        .strictObject({
          /** `database.table`; outside the migrated tables. */
          table: z.string().regex(/^[^.`]+\.[^.`]+$/, 'give database.table'),
          /** tideferry writes the target's row itself (creating the table in an existing database); otherwise pt-heartbeat --update does. */
          write: z.boolean().default(false),
          /** Between two of tideferry's stamps, ms. */
          intervalMs: z.number().int().min(100).max(500).default(250),
          /** Stamps are UTC (pt-heartbeat --utc), not the writer's local time. */
          utc: z.boolean().default(false),
        })
        .optional(),
    })
    .default({ replicas: [], maxLagSeconds: 1, maxPauseSeconds: 5, binlogLagTargetSeconds: 1, floor: 0, discoverReplicas: true }),
  cutover: z
    .strictObject({
      /** How writers are stopped: `read-only` (SET GLOBAL read_only on the source), `hook`, or `manual`. */
      mode: z.enum(['read-only', 'hook', 'manual']).default('read-only'),
      /** Binlog lag under which cutover starts. */
      maxLagSeconds: positiveSeconds.default(1),
      /** For mode hook: a shell command that stops the writers; non-zero exit fails the run. */
      hook: z.string().optional(),
      /** For mode hook: a shell command that lets the writers go again if the run fails. */
      undoHook: z.string().optional(),
      hookTimeoutSeconds: positiveSeconds.default(300),
    })
    .refine((value) => value.mode !== 'hook' || value.hook !== undefined, { message: 'mode hook needs cutover.hook' })
    .default({ mode: 'read-only', maxLagSeconds: 1, hookTimeoutSeconds: 300 }),
  verify: z
    .strictObject({
      /** Verify every row: while copying, then the rows changed since, at cutover (see README, "Verification"). */
      enabled: z.boolean().default(true),
      /**
       * What cutover compares: `changed`, the rows the binlog changed since they were verified
       * (downtime follows the rows changed); `all`, every row again (downtime grows with the data,
       * but a row changed on the target behind tideferry's back is found even if the source never
       * changed it).
       */
      atCutover: z.enum(['changed', 'all']).default('changed'),
      /** Verification workers (each reads both servers); `tideferry verify` runs as many. */
      concurrency: z.number().int().min(1).max(32).default(2),
      /**
       * Changed rows remembered by key, in all tables; past it the largest table's keys become key
       * ranges (logged once). Each key costs 50–80 bytes of memory and the state file holds them
       * all: 100,000 keys are 5–7 MB of JSON and 15–70 ms to write per checkpoint (1,000,000 were
       * 10–69 MB and 180–700 ms, too much every 2 s).
       */
      maxPendingKeys: z.number().int().min(1000).max(10_000_000).default(100_000),
      /** Seconds between schema fingerprints of every table on both servers; 0: only at cutover. */
      schemaIntervalSeconds: z.number().min(0).default(60),
    })
    .default({ enabled: true, atCutover: 'changed', concurrency: 2, maxPendingKeys: 100_000, schemaIntervalSeconds: 60 }),
  /**
   * Transient errors (a lost or refused connection, a restarting server, too many connections, a
   * lock conflict, a target read-only while it restarts) are retried with capped exponential
   * backoff and jitter, by every part of the run, until giveUpAfterSeconds of failure; then the
   * run stops, its state saved, and `tideferry resume` continues (see README, "When a server goes away").
   */
  retry: z
    .strictObject({
      giveUpAfterSeconds: positiveSeconds.default(300),
      initialDelayMs: z.number().int().min(1).max(60_000).default(100),
      maxDelayMs: z.number().int().min(1).max(600_000).default(5000),
    })
    .default({ giveUpAfterSeconds: 300, initialDelayMs: 100, maxDelayMs: 5000 }),
  /** Where progress is saved every few seconds; `tideferry resume` continues from it. */
  stateFile: z.string().default('tideferry.state.json'),
  checkpointSeconds: positiveSeconds.default(2),
  http: z
    .strictObject({
      /** host:port of the HTTP listener (metrics, status, control). Loopback unless you say otherwise. */
      listen: z.string().default('127.0.0.1:9107'),
      enabled: z.boolean().default(true),
      /**
       * Name of an environment variable holding the control API's bearer token: every request that
       * changes something (POST, PUT) must then send `Authorization: Bearer <token>`. The token
       * itself never sits in the config; set but unset or empty in the environment is an error.
       */
      tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable').optional(),
    })
    .default({ listen: '127.0.0.1:9107', enabled: true }),
  log: z
    .strictObject({
      format: z.enum(['pretty', 'json']).default('pretty'),
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
    })
    .default({ format: 'pretty', level: 'info' }),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type EndpointConfig = z.output<typeof endpoint>;
