// Wires the parts together and runs the phases: preflight → stream from P0 → copy (with the
// applier running) → catch up → cutover (cutover/cutover.ts: stop writers, drain, verify) → summary.
// Errors from any part flow back here as values; this file decides to stop, restore and save.
import type { Connection } from 'mysql2/promise';
import type { Server } from 'node:http';
import { randomInt } from 'node:crypto';
import { describePosition, readSourcePosition } from './binlog/position.js';
import { Replication } from './binlog/replication.js';
import { resolveEndpoint, type Config } from './config/load.js';
import { LiveSettings } from './config/live.js';
import { FixedBatchSizer, RowCopier } from './copy/copier.js';
import { CopyRate, tableProgress, totalProgress, type CopyProgress } from './copy/progress.js';
import { createRowWriter } from './copy/writer-choice.js';
import { connect, createPool, describeEndpoint, type Endpoint } from './db/connection.js';
import { readEstimatedRows } from './db/estimates.js';
import { OutageTracker, reconnectingConnection, RetryPolicy } from './db/retry.js';
import { quoteTable } from './db/sql.js';
import { connectTo, preflight, prepareTarget } from './db/preflight.js';
import { tableKey, type TableSchema } from './db/schema.js';
import { readTableShapes, shapeFingerprint } from './db/shape.js';
import { PreflightError, RunCancelledError, TideferryError } from './errors.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics/registry.js';
import { bridgeRegistry } from './telemetry/metrics-bridge.js';
import { RunTrace } from './telemetry/trace.js';
import { resolveControlToken, type ControlToken } from './server/auth.js';
import { startHttpServer } from './server/http.js';
import { Checkpointer } from './state/checkpointer.js';
import { readRunIdentity } from './state/identity.js';
import { openState } from './state/resume.js';
import type { StateTracker, WritersStopped } from './state/tracker.js';
import { ThrottlingCopyGate } from './throttle/copy-gate.js';
import { checkHeartbeatTable, HeartbeatWriter, parseHeartbeatTable, type HeartbeatSettings } from './throttle/heartbeat.js';
import { ReplicaLagSource } from './throttle/replica-lag.js';
import { ThreadsRunningSource } from './throttle/threads-running.js';
import { CopyBatchSizer, type TuningSnapshot } from './tuning/index.js';
import { runCutover } from './cutover/cutover.js';
import { settleInterruptedCutover } from './cutover/interrupted.js';
import { createWriterStop, ManualWriterStop, ReadOnlyWriterStop, type ManualConfirmation, type WriterStop } from './cutover/writers.js';
import { RunStats, type RunSummary } from './summary.js';
import { openVerification, type RunVerification } from './verify/run-verification.js';

export interface FerryOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Continue from the config's state file instead of starting afresh. */
  readonly resume?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

type Phase = 'preflight' | 'copy' | 'catch-up' | 'cutover' | 'verify' | 'done' | 'failed';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Ferry {
  phase: Phase = 'preflight';
  readonly stats = new RunStats();
  readonly source: Endpoint;
  readonly target: Endpoint;
  private readonly abort = new AbortController();
  private replication: Replication | undefined;
  private gate: ThrottlingCopyGate | undefined;
  private copier: RowCopier | undefined;
  private writerStop: WriterStop;
  private state: StateTracker | undefined;
  private verification: RunVerification | undefined;
  private tables: readonly TableSchema[] = [];
  private cancelledBecause: string | undefined;
  private estimatedRows = new Map<string, number>();
  private readonly copyRate = new CopyRate();
  private copyPauseAsked = false;
  private checkpointer: Checkpointer | undefined;
  private lagSource: ReplicaLagSource | undefined;
  readonly metrics: Metrics;
  /** Outages by server and part, and the one retry policy every connection of the run follows (db/retry.ts). */
  readonly outages: OutageTracker;
  readonly retry: RetryPolicy;
  /** Spans through @opentelemetry/api (no-ops unless the CLI started the SDK: telemetry/sdk.ts). */
  private readonly trace = new RunTrace();
  /**
   * The settings PUT /config may change while the run runs (config/live.ts), made from the
   * config. The copier reads them at each batch, the copy gate at each stride.
   */
  readonly settings: LiveSettings;
  /** The control API's bearer token (http.tokenEnv), resolved when the ferry is made: a missing one fails before anything starts. */
  private readonly controlToken: ControlToken | undefined;
  private abortedByControl = false;

  constructor(private readonly options: FerryOptions) {
    const { config } = options;
    this.source = resolveEndpoint(config.source, 'source', options.env);
    this.target = resolveEndpoint(config.target, 'target', options.env);
    this.writerStop = createWriterStop(config.cutover, this.source, options.logger);
    this.settings = new LiveSettings(config);
    this.controlToken = config.http.enabled ? resolveControlToken(config.http.tokenEnv, options.env) : undefined;
    this.outages = new OutageTracker(options.logger, { source: describeEndpoint(this.source), target: describeEndpoint(this.target) });
    this.retry = new RetryPolicy(config.retry, this.outages, options.logger);
    this.metrics = new Metrics({
      outageSeconds: () => this.outages.outageSeconds(),
      outagesNow: () => this.outages.current(),
      phase: () => this.phase,
      tuning: () => this.tuning(),
      binlogLagSeconds: () => this.replication?.lagSeconds() ?? 0,
      binlogQueuedEvents: () => this.replication?.streamer.queuedItems ?? 0,
      binlogReconnects: () => this.replication?.streamer.reconnects ?? 0,
      copyPauseSeconds: () => this.gate?.pauseSeconds ?? 0,
      throttleReason: () => this.gate?.reason,
      replicaLagSeconds: () => this.gate?.replicaLagSeconds ?? 0,
      tablesTotal: () => this.tables.length,
      tablesCopied: () => this.tables.filter((table) => this.state?.table(tableKey(table)).done).length,
      keepUp: () => this.replication?.health(),
      stageCpuSeconds: () => this.replication && {
        readDecode: this.replication.streamer.stats.cpuSeconds,
        build: this.replication.applier.buildCpuSeconds,
        tuning: this.replication.applier.tuningCpuSeconds,
      },
      verification: () => this.verification?.figures(),
      schemaCheckSeconds: () => this.verification?.schemaCheckSeconds ?? 0,
      copyProgress: () => this.tables.map((table) => {
        const key = tableKey(table);
        const progress = this.tableProgress(key);
        const estimatedRows = this.estimatedRows.get(key) ?? 0;
        const remainingRows = progress?.fraction === 1 ? 0 : Math.max(0, (progress?.estimatedRows ?? estimatedRows) - (progress?.rowsCopied ?? 0));
        return { table: key, estimatedRows, remainingRows, etaSeconds: progress?.etaSeconds };
      }),
      checkpointAgeSeconds: () => this.checkpointer?.ageSeconds,
      replicaLags: () => this.lagSource?.lastLagSeconds ?? new Map(),
      replicaLagAllowedSeconds: () => this.settings.throttle.maxLagSeconds,
      saturationBound: () => config.binlog.saturationBound,
    });
    // Every retry of every part, counted once, by component (the part), code and server.
    this.outages.listen({ retried: (server, part, code) => this.metrics.retries.inc({ component: part, code, server }) });
    // The same figures over OTel metrics, read from this registry when the SDK collects (a no-op meter without one).
    bridgeRegistry(this.metrics.registry);
  }

  /** Where the status page, /metrics and the control API listen, once the run has started. */
  httpUrl: string | undefined;

  /** The copy gate, once the copy has started (tests and the throttle bench read its steps). */
  get copyGate(): ThrottlingCopyGate | undefined {
    return this.gate;
  }

  /** Thread id of the binlog connection on the source (tests kill it). */
  get binlogThreadId(): number | undefined {
    return this.replication?.streamer.binlogConnectionThreadId;
  }

  /** How many times the binlog stream reconnected to the source. */
  replicationReconnects(): number {
    return this.replication?.streamer.reconnects ?? 0;
  }

  /** Thread id of the binlog applier's connection on the target (tests kill it). */
  get applierThreadId(): number | undefined {
    return this.replication?.applier.connectionThreadId;
  }

  tuning(): TuningSnapshot | undefined {
    return this.replication?.tuning();
  }

  /**
   * Stops the run (SIGINT/SIGTERM): the copy and the binlog stop, the writers are let go again if
   * cutover had stopped them, the state is saved, and run() rejects with a RunCancelledError.
   */
  cancel(reason = 'cancelled'): void {
    this.cancelledBecause ??= reason;
    this.abort.abort(new Error(reason));
  }

  /**
   * POST /abort: the same clean stop as SIGINT/SIGTERM (copy and binlog stopped, writers let go if
   * cutover had stopped them, state saved); run() rejects with a RunCancelledError that says so.
   * Refused once the run has ended.
   */
  abortByControlApi(): { readonly confirmed: true } | { readonly confirmed: false; readonly reason: string } {
    if (this.phase === 'done' || this.phase === 'failed') return { confirmed: false, reason: `the run has already ended (phase ${this.phase})` };
    if (this.cancelledBecause && !this.abortedByControl) return { confirmed: false, reason: `the run is already stopping (${this.cancelledBecause})` };
    this.abortedByControl = true;
    this.cancel('aborted by the control API');
    return { confirmed: true };
  }

  /** Whether POST /abort stopped the run (the CLI exits with its own code then). */
  get abortedByControlApi(): boolean {
    return this.abortedByControl;
  }

  /** Manual cutover confirmation (SIGUSR2 or POST /cutover): accepted only while the run waits for it. */
  confirmCutover(): ManualConfirmation {
    if (!(this.writerStop instanceof ManualWriterStop)) return { confirmed: false, reason: `cutover.mode is ${this.writerStop.mode}: the run cuts over by itself` };
    const answer = this.writerStop.confirm();
    return answer.confirmed ? answer : { confirmed: false, reason: `${answer.reason} (phase ${this.phase})` };
  }

  /** Holds or lets go the row copy (POST /pause, /resume); asked before the copy starts, it holds it from the start. */
  pauseCopy(paused: boolean): void {
    this.copyPauseAsked = paused;
    if (paused) this.gate?.pause();
    else this.gate?.resume();
  }

  private enterPhase(phase: Phase): void {
    this.phase = phase;
    this.trace.enterPhase(phase);
    this.options.logger.info({ phase }, `phase ${phase}`);
  }

  /** A table's copy progress (copy/progress.ts): what /status, the status page and the metrics show. */
  private tableProgress(key: string): CopyProgress | undefined {
    const saved = this.state?.table(key);
    return saved && tableProgress({ ...saved, estimatedRows: this.estimatedRows.get(key), rowsPerSecond: this.copyRate.rowsPerSecond(key) });
  }

  /** What /status returns (and the status page and the terminal line show): no credentials, endpoints as user@host:port. */
  status(): Record<string, unknown> {
    const tables = this.tables.map((table) => {
      const key = tableKey(table);
      return { key, saved: this.state?.table(key), progress: this.tableProgress(key) };
    });
    const copy = tables.length > 0 && tables.every((table) => table.progress) ? totalProgress(tables.map((table) => table.progress!), this.copyRate.rowsPerSecond()) : undefined;
    return {
      phase: this.phase,
      source: describeEndpoint(this.source),
      target: describeEndpoint(this.target),
      copy,
      tables: Object.fromEntries(tables.map(({ key, saved, progress }) => [key, saved && { ...saved, shapes: undefined, ...progress, verification: this.verification?.status(key) }])),
      binlogApplied: this.replication ? describePosition(this.replication.appliedPosition) : undefined,
      binlogLagSeconds: this.replication?.lagSeconds(),
      binlogQueued: this.replication?.streamer.queuedItems,
      copyThrottledBecause: this.gate?.reason ?? null,
      waiting: this.outages.waitingFor() ?? null,
      outages: this.outages.current(),
      copyPaused: this.gate?.isPaused ?? this.copyPauseAsked,
      copyWorkers: this.copier?.activeWorkers ?? 0,
      settings: this.settings.values,
      control: { tokenRequired: this.controlToken !== undefined, ...(this.controlToken ? { tokenEnv: this.controlToken.envName } : {}) },
      writersStopped: this.state?.writersStopped ?? null,
      tuning: this.tuning(),
      keepUp: this.replication?.health(),
      ...this.stats.live(),
    };
  }

  async run(): Promise<RunSummary> {
    const { config, logger } = this.options;
    const signal = this.abort.signal;
    let http: Server | undefined;
    let checkpointer: Checkpointer | undefined;
    const binlogServerId = config.binlog.serverId ?? randomInt(0x7466_0000, 0x7466_ffff);
    this.trace.started({ 'tideferry.databases': config.databases.join(','), 'tideferry.resume': this.options.resume ?? false });
    this.trace.enterPhase('preflight');
    try {
      if (config.http.enabled) {
        http = await startHttpServer(config.http.listen, this.metrics.registry, {
          status: () => this.status(),
          pause: () => this.pauseCopy(true),
          resume: () => this.pauseCopy(false),
          cutover: () => this.confirmCutover(),
          abort: () => this.abortByControlApi(),
          settings: this.settings,
        }, logger, { token: this.controlToken });
        const address = http.address();
        if (address && typeof address === 'object') this.httpUrl = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
      }
      logger.info({ source: describeEndpoint(this.source), target: describeEndpoint(this.target) }, 'preflight');
      const checked = await preflight({
        source: this.source,
        target: this.target,
        selection: { databases: config.databases, include: config.tables.include, exclude: config.tables.exclude },
        binlogServerId,
        cutoverSetsReadOnly: config.cutover.mode === 'read-only',
        rowFilters: new Map(Object.entries(config.rowFilters)),
      });
      this.tables = checked.tables;
      // Used through the whole run: a restart of their server takes them along, so they open
      // themselves again and their (read-only or idempotent) queries are retried.
      const sourceAdmin = reconnectingConnection(() => connect(this.source), this.retry, { server: 'source', part: 'admin', signal }, await connectTo(this.source, 'source'));
      const targetAdmin = reconnectingConnection(() => connect(this.target), this.retry, { server: 'target', part: 'admin', signal }, await connectTo(this.target, 'target'));
      try {
        this.estimatedRows = await readEstimatedRows(sourceAdmin, this.tables);
        const sourceShapes = await readTableShapes(sourceAdmin, this.tables);
        // The state first: a resume against the wrong servers is refused before anything is written.
        this.state = await openState({
          path: config.stateFile,
          resume: this.options.resume ?? false,
          identity: await readRunIdentity({
            source: { connection: sourceAdmin, endpoint: this.source },
            target: { connection: targetAdmin, endpoint: this.target },
            tables: this.tables,
            rowFilters: config.rowFilters,
          }),
          fingerprints: new Map([...sourceShapes].map(([key, shape]) => [key, shapeFingerprint(shape)])),
          shapes: sourceShapes,
          source: describeEndpoint(this.source),
          target: describeEndpoint(this.target),
          readStart: () => readSourcePosition(sourceAdmin),
          logger,
        });
        const created = await prepareTarget(targetAdmin, checked);
        if (created.length) logger.info({ tables: created }, 'created target tables from the source definitions');
        this.verification = await openVerification({
          settings: config.verify, source: this.source, target: this.target, tables: this.tables, rowFilters: new Map(Object.entries(config.rowFilters)), state: this.state, logger,
          resume: { resuming: this.options.resume ?? false, stateFile: config.stateFile, createdTables: created },
          targetAdmin,
          sourceShapes,
          retry: this.retry,
          onRowsVerified: (table, rows) => {
            this.stats.rowsCompared(rows);
            this.metrics.verifyRowsVerified.inc({ table }, rows);
            this.trace.verifiedRows(table, rows);
          },
        });
        if (this.verification.enabled) this.stats.verificationOn();
        const saving = new Checkpointer(config.stateFile, this.state, config.checkpointSeconds, logger);
        checkpointer = saving;
        this.checkpointer = saving;
        const flushState = () => saving.flush();
        const readOnlyStop = () => new ReadOnlyWriterStop(() => connect(this.source));
        const alreadyStopped = await settleInterruptedCutover({ state: this.state, writerStop: this.writerStop, readOnlyStop, flushState, logger });
        await this.migrate({ sourceAdmin, targetAdmin, binlogServerId, signal, alreadyStopped, flushState });
      } finally {
        await sourceAdmin.end().catch(() => undefined);
        await targetAdmin.end().catch(() => undefined);
      }
      this.enterPhase('done');
      const summary = this.stats.summary(this.tuning(), this.replication?.adaptive?.saturatedBatches ?? 0);
      // Nested: a terminal's pretty line leaves it to the summary the CLI prints; JSON lines carry it whole.
      logger.info({ summary }, 'migration complete');
      this.trace.finished();
      return summary;
    } catch (error) {
      this.trace.finished(error);
      const phase = this.phase;
      this.phase = 'failed';
      // A cancelled run fails with whatever the cancel interrupted; say why it stopped instead.
      if (this.cancelledBecause && !(error instanceof TideferryError)) {
        throw new RunCancelledError(`run stopped (${this.cancelledBecause}) during ${phase}; state saved, resume with \`tideferry resume\``, { cause: error });
      }
      throw error;
    } finally {
      this.abort.abort(new Error('run finished'));
      // Saved first: stopping the applier waits for its batch in flight, which a stalled target can hold.
      checkpointer?.save();
      await this.replication?.stop().catch(() => undefined);
      await this.verification?.stop().catch(() => undefined);
      checkpointer?.stop();
      http?.close();
    }
  }

  private async migrate(run: {
    sourceAdmin: Connection;
    targetAdmin: Connection;
    binlogServerId: number;
    signal: AbortSignal;
    alreadyStopped: WritersStopped | undefined;
    flushState: () => void;
  }): Promise<void> {
    const { sourceAdmin, targetAdmin, binlogServerId, signal } = run;
    const { config, logger } = this.options;
    const state = this.state!;
    const verification = this.verification!;
    const tablesByKey = new Map(this.tables.map((table) => [tableKey(table), table]));
    const rowFilters = new Map(Object.entries(config.rowFilters));
    const replication = new Replication(
      {
        source: this.source,
        target: this.target,
        tables: tablesByKey,
        serverId: binlogServerId,
        batchSize: config.binlog.batchSize,
        saturationBound: config.binlog.saturationBound,
        maxQueuedEvents: config.binlog.maxQueuedEvents,
        coalesce: config.binlog.coalesce,
        minBatchIntervalSeconds: config.binlog.minBatchIntervalMs / 1000,
        rowFilters,
        logger,
        retry: this.retry,
        onBatch: (batch) => {
          // Remembered before the position moves past them: a state saved in between has both or neither.
          verification.noteChanges(batch.changes);
          state.binlogApplied(batch.position);
          this.stats.binlogBatch(batch);
          this.trace.applyBatch(batch);
          this.metrics.eventsApplied.inc(batch.size);
          this.metrics.binlogBatches.inc();
          this.metrics.binlogBatchSeconds.observe(batch.seconds);
          this.metrics.binlogBatchSize.observe(batch.size);
          for (const lag of batch.lagSeconds) this.metrics.binlogEventLagSeconds.observe(lag);
        },
      },
      state.snapshot().binlogApplied,
    );
    this.replication = replication;
    // A failure of the binlog side or of verification (a changed schema, say) stops the run with its error.
    const guard = <T>(work: Promise<T>): Promise<T> => Promise.race([work, replication.failedWith, verification.failedWith]);

    this.enterPhase('copy');
    this.stats.copyStarted();
    const { throttle } = config;
    // The heartbeat (throttle/heartbeat.ts): checked on the target before the copy, or written by us.
    let heartbeat: (HeartbeatSettings & { serverId: number }) | undefined;
    let heartbeatWriter: HeartbeatWriter | undefined;
    let lagSource: ReplicaLagSource | undefined;
    const threadsRunning = throttle.maxThreadsRunning === undefined ? undefined : new ThreadsRunningSource(this.target, logger);
    try {
      if (throttle.heartbeat) {
        const table = parseHeartbeatTable(throttle.heartbeat.table);
        if (tablesByKey.has(throttle.heartbeat.table)) {
          throw new PreflightError('heartbeat', `throttle.heartbeat.table ${throttle.heartbeat.table} is one of the migrated tables: the heartbeat needs a table of its own on the target (pt-heartbeat's default database is percona)`);
        }
        const settings = { ...table, utc: throttle.heartbeat.utc };
        if (throttle.heartbeat.write) {
          heartbeatWriter = new HeartbeatWriter({ target: this.target, heartbeat: settings, intervalMs: throttle.heartbeat.intervalMs, logger });
          await heartbeatWriter.start();
          heartbeat = { ...settings, serverId: heartbeatWriter.serverId };
        } else {
          const checked = await checkHeartbeatTable(targetAdmin, table);
          if (!checked.rowPresent) logger.warn({ table: throttle.heartbeat.table, serverId: checked.serverId }, 'the heartbeat table has no row of the target yet: is pt-heartbeat --update running against the target? Until it writes, the replicas\' lag counts as unknown');
          heartbeat = { ...settings, serverId: checked.serverId };
        }
      }
      lagSource = throttle.replicas.length || throttle.discoverReplicas
        ? new ReplicaLagSource(throttle.replicas.map((replica) => resolveEndpoint(replica, 'replica', this.options.env)), {
          heartbeat,
          discovery: throttle.discoverReplicas ? { target: this.target, credentials: { user: this.target.user, password: this.target.password, tls: this.target.tls } } : undefined,
          logger,
        })
        : undefined;
      this.lagSource = lagSource;
      this.gate = new ThrottlingCopyGate({
        lagSource,
        settings: this.settings,
        floor: throttle.floor,
        targetSaturated: () => replication.saturated,
        binlogLagSeconds: () => replication.lagSeconds(),
        logger,
        threadsRunning: threadsRunning && { source: threadsRunning, maxThreadsRunning: throttle.maxThreadsRunning! },
      });
      if (this.copyPauseAsked) this.gate.pause();
      // Verification in the background passes the gate's holds (a pause, the binlog lag), not the
      // replica-lag pause (copy-gate.ts). The lag source is closed when the run ends.
      if (lagSource) logger.info({ replicas: await lagSource.discover() }, 'replicas watched for lag');
      verification.start(this.gate.background(), signal);
      // Sized for the most workers copy.concurrency allows (it may grow mid-run); connections open as they are needed.
      const pool = createPool(this.target, 64, { flags: ['+LOCAL_FILES'] } as never);
      try {
        const writer = await createRowWriter(config.copy.writeMethod, pool, targetAdmin, logger);
        const copier = new RowCopier({
          source: this.source,
          writer,
          tables: this.tables,
          rowFilters,
          settings: this.settings,
          lockingRead: config.copy.lockingRead,
          state,
          gate: this.gate,
          sizerFor: () => {
            const { batchRows } = this.settings.copy;
            return config.copy.adaptive ? new CopyBatchSizer({ initial: batchRows, targetSeconds: config.copy.targetBatchSeconds }) : new FixedBatchSizer(batchRows);
          },
          logger,
          retry: this.retry,
          signal,
          deleteTargetRange: async (table, where) => { await pool.query(`DELETE FROM ${quoteTable(table)}${where}`); },
          onBatch: (batch) => {
            this.stats.copyBatch(batch);
            this.copyRate.add(batch.table, batch.rowsRead);
            this.trace.copyBatch(batch);
            this.metrics.rowsCopied.inc({ table: batch.table }, batch.rowsWritten);
            this.metrics.copyBatchRows.set({ table: batch.table }, batch.rowsRead);
            this.metrics.bytesCopied.inc({ table: batch.table }, batch.bytesRead);
            this.metrics.copyBatchSeconds.observe(batch.writeSeconds);
            verification.wake();
          },
        });
        this.copier = copier;
        await guard(copier.run(signal));
      } finally {
        await pool.end().catch(() => undefined);
      }
      this.stats.copyFinished();
      logger.info({ rows: this.stats.rowsCopied, seconds: this.stats.copySeconds }, 'row copy complete');

      this.enterPhase('catch-up');
      // Never while a server is down: the stream must be connected and no part may be waiting for the target.
      while (!replication.caughtUp(config.cutover.maxLagSeconds) || !verification.ready || replication.streamer.down || this.outages.isDown('target') || this.outages.isDown('source')) {
        signal.throwIfAborted();
        await guard(sleep(100));
      }

      this.enterPhase('cutover');
      try {
        const outcome = await runCutover({
          writerStop: this.writerStop,
          replication,
          sourceAdmin,
          tables: this.tables,
          verify: verification.atCutover,
          state,
          flushState: run.flushState,
          guard,
          signal,
          logger,
          alreadyStopped: run.alreadyStopped,
          onPhase: (phase) => this.enterPhase(phase),
        });
        this.stats.cutover({ ...outcome, mode: this.writerStop.mode });
        this.trace.cutoverDone(outcome);
        this.metrics.cutoverDowntimeSeconds.set(outcome.downtimeSeconds);
        this.metrics.cutoverDrainSeconds.set(outcome.drainSeconds);
        this.metrics.cutoverVerifySeconds.set(outcome.verifySeconds);
        this.metrics.cutoverRowsReverified.set(outcome.verify?.rowsChecked ?? 0);
      } finally {
        await replication.stop();
      }
    } finally {
      await heartbeatWriter?.stop();
      await lagSource?.close();
      await threadsRunning?.close();
    }
  }
}
