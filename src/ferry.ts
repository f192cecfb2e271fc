// Wires the parts together and runs the phases: preflight → stream from P0 → copy (with the
// applier running) → catch up → cutover (stop writers, drain, verify) → summary.
// Errors from any part flow back here as values; this file decides to stop, restore and save.
import type { Connection } from 'mysql2/promise';
import type { Server } from 'node:http';
import { randomInt } from 'node:crypto';
import { describePosition, readSourcePosition } from './binlog/position.js';
import { Replication } from './binlog/replication.js';
import { resolveEndpoint, type Config } from './config/load.js';
import { FixedBatchSizer, RowCopier } from './copy/copier.js';
import { createRowWriter } from './copy/writer-choice.js';
import { createPool, describeEndpoint, type Endpoint } from './db/connection.js';
import { connectTo, preflight, prepareTarget } from './db/preflight.js';
import { schemaFingerprint, tableKey, type TableSchema } from './db/schema.js';
import { CutoverError, ResumeError, SchemaChangedError, TideferryError, VerificationError, errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics/registry.js';
import { startHttpServer } from './server/http.js';
import { Checkpointer } from './state/checkpointer.js';
import { readStateFile } from './state/file.js';
import { StateTracker } from './state/tracker.js';
import { ThrottlingCopyGate } from './throttle/copy-gate.js';
import { ReplicaLagSource } from './throttle/replica-lag.js';
import { CopyBatchSizer, type TuningSnapshot } from './tuning/index.js';
import { createWriterStop, type WriterStop, ManualWriterStop } from './cutover/writers.js';
import { describeDifferences, verifyTables, type VerifyReport } from './verify/checksum.js';
import { RunStats, type RunSummary } from './summary.js';

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
  private writerStop: WriterStop;
  private state: StateTracker | undefined;
  private tables: readonly TableSchema[] = [];
  private cancelledBecause: string | undefined;
  readonly metrics: Metrics;

  constructor(private readonly options: FerryOptions) {
    const { config } = options;
    this.source = resolveEndpoint(config.source, 'source', options.env);
    this.target = resolveEndpoint(config.target, 'target', options.env);
    this.writerStop = createWriterStop(config.cutover, this.source, options.logger);
    this.metrics = new Metrics({
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
    });
  }

  /** Where the status page, /metrics and the control API listen, once the run has started. */
  httpUrl: string | undefined;

  /** Thread id of the binlog connection on the source (tests kill it). */
  get binlogThreadId(): number | undefined {
    return this.replication?.streamer.binlogConnectionThreadId;
  }

  tuning(): TuningSnapshot | undefined {
    return this.replication?.tuning();
  }

  /** Stops the run (SIGINT/SIGTERM): state is saved, the source is restored if cutover began. */
  cancel(reason = 'cancelled'): void {
    this.cancelledBecause = reason;
    this.abort.abort(new Error(reason));
  }

  /** Manual cutover confirmation (SIGUSR2 or POST /cutover). */
  confirmCutover(): boolean {
    return this.writerStop instanceof ManualWriterStop ? this.writerStop.confirm() : false;
  }

  status(): Record<string, unknown> {
    return {
      phase: this.phase,
      source: describeEndpoint(this.source),
      target: describeEndpoint(this.target),
      tables: Object.fromEntries(this.tables.map((table) => [tableKey(table), this.state?.table(tableKey(table))])),
      binlogApplied: this.replication ? describePosition(this.replication.appliedPosition) : undefined,
      binlogLagSeconds: this.replication?.lagSeconds(),
      binlogQueued: this.replication?.streamer.queuedItems,
      copyThrottledBecause: this.gate?.reason ?? null,
      copyPaused: this.gate?.isPaused ?? false,
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
    try {
      if (config.http.enabled) {
        http = await startHttpServer(config.http.listen, this.metrics.registry, {
          status: () => this.status(),
          pause: () => this.gate?.pause(),
          resume: () => this.gate?.resume(),
          cutover: () => this.confirmCutover(),
        }, logger);
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
      const sourceAdmin = await connectTo(this.source, 'source');
      const targetAdmin = await connectTo(this.target, 'target');
      try {
        const created = await prepareTarget(targetAdmin, checked);
        if (created.length) logger.info({ tables: created }, 'created target tables from the source definitions');
        this.state = await this.loadState(sourceAdmin);
        checkpointer = new Checkpointer(config.stateFile, this.state, config.checkpointSeconds, logger);
        await this.migrate(sourceAdmin, targetAdmin, binlogServerId, signal);
      } finally {
        await sourceAdmin.end().catch(() => undefined);
        await targetAdmin.end().catch(() => undefined);
      }
      this.phase = 'done';
      const summary = this.stats.summary(this.tuning(), this.replication?.adaptive?.saturatedBatches ?? 0);
      logger.info(summary, 'migration complete');
      return summary;
    } catch (error) {
      this.phase = 'failed';
      // A cancelled run fails with whatever the cancel interrupted; say why it stopped instead.
      if (this.cancelledBecause && !(error instanceof TideferryError)) throw new TideferryError(`run stopped (${this.cancelledBecause}); resume with \`tideferry resume\``, { cause: error });
      throw error;
    } finally {
      this.abort.abort(new Error('run finished'));
      await this.replication?.stop().catch(() => undefined);
      checkpointer?.stop();
      http?.close();
    }
  }

  private async loadState(source: Connection): Promise<StateTracker> {
    const { config, logger } = this.options;
    const fingerprints = new Map(this.tables.map((table) => [tableKey(table), schemaFingerprint(table)]));
    if (!this.options.resume) {
      // P0: recorded before streaming starts, and streaming starts before the copy.
      const start = await readSourcePosition(source);
      logger.info({ position: describePosition(start), gtid: start.gtid }, 'recorded source binlog position P0');
      return StateTracker.fresh({ source: describeEndpoint(this.source), target: describeEndpoint(this.target), start, fingerprints });
    }
    const saved = readStateFile(config.stateFile);
    if (saved.cutoverDone) throw new ResumeError(`state file ${config.stateFile} belongs to a migration that already cut over; nothing to resume`);
    for (const [key, fingerprint] of fingerprints) {
      const table = saved.tables[key];
      if (!table) throw new ResumeError(`table ${key} is selected now but was not part of the run in ${config.stateFile}; start a new run`);
      if (table.fingerprint !== fingerprint) throw new ResumeError(`table ${key} changed schema since ${config.stateFile} was written; start a new run`);
    }
    logger.info({ from: describePosition(saved.binlogApplied) }, 'resuming');
    return new StateTracker(saved);
  }

  private async migrate(sourceAdmin: Connection, targetAdmin: Connection, binlogServerId: number, signal: AbortSignal): Promise<void> {
    const { config, logger } = this.options;
    const state = this.state!;
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
        onBatch: (batch) => {
          state.binlogApplied(batch.position);
          this.stats.binlogBatch(batch);
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
    // A failure of the binlog side stops the run with its error.
    const guard = <T>(work: Promise<T>): Promise<T> => Promise.race([work, replication.failedWith]);

    this.phase = 'copy';
    this.stats.copyStarted();
    const lagSource = config.throttle.replicas.length
      ? new ReplicaLagSource(config.throttle.replicas.map((replica) => resolveEndpoint(replica, 'replica', this.options.env)))
      : undefined;
    this.gate = new ThrottlingCopyGate({
      lagSource,
      maxLagSeconds: config.throttle.maxLagSeconds,
      maxPauseSeconds: config.throttle.maxPauseSeconds,
      targetSaturated: () => replication.saturated,
      binlogLagSeconds: () => replication.lagSeconds(),
      binlogLagTargetSeconds: config.throttle.binlogLagTargetSeconds,
    });
    const pool = createPool(this.target, config.copy.concurrency, { flags: ['+LOCAL_FILES'] } as never);
    try {
      const writer = await createRowWriter(config.copy.writeMethod, pool, targetAdmin, logger);
      const copier = new RowCopier({
        source: this.source,
        writer,
        tables: this.tables,
        rowFilters,
        concurrency: config.copy.concurrency,
        lockingRead: config.copy.lockingRead,
        state,
        gate: this.gate,
        sizerFor: () => (config.copy.adaptive ? new CopyBatchSizer({ initial: config.copy.batchRows, targetSeconds: config.copy.targetBatchSeconds }) : new FixedBatchSizer(config.copy.batchRows)),
        logger,
        onBatch: (batch) => {
          this.stats.copyBatch(batch);
          this.metrics.rowsCopied.inc({ table: batch.table }, batch.rowsWritten);
          this.metrics.copyBatchRows.set({ table: batch.table }, batch.rowsRead);
          this.metrics.copyBatchSeconds.observe(batch.writeSeconds);
        },
      });
      await guard(copier.run(signal));
    } finally {
      await pool.end().catch(() => undefined);
      await lagSource?.close();
    }
    this.stats.copyFinished();
    logger.info({ rows: this.stats.rowsCopied, seconds: this.stats.copySeconds }, 'row copy complete');

    this.phase = 'catch-up';
    while (!replication.caughtUp(config.cutover.maxLagSeconds)) {
      signal.throwIfAborted();
      await guard(sleep(100));
    }

    this.phase = 'cutover';
    const stoppedAt = performance.now();
    await guard(this.writerStop.stop(signal));
    try {
      const final = await readSourcePosition(sourceAdmin);
      logger.info({ position: describePosition(final) }, 'writers stopped; draining the binlog to the final position');
      await guard(replication.drainTo(final, signal));
      const drainedAt = performance.now();
      this.phase = 'verify';
      let report: VerifyReport | undefined;
      if (config.verify.enabled) {
        report = await guard(verifyTables({ source: sourceAdmin, target: targetAdmin, tables: this.tables, rowFilters }));
        if (report.differences.length > 0) throw new VerificationError(`source and target differ after cutover:\n${describeDifferences(report)}`);
      }
      state.cutoverCompleted();
      this.stats.cutover({ drainSeconds: (drainedAt - stoppedAt) / 1000, downtimeSeconds: (performance.now() - stoppedAt) / 1000, verify: report, mode: this.writerStop.mode });
      this.metrics.cutoverDowntimeSeconds.set(this.stats.downtimeSeconds ?? 0);
    } catch (error) {
      await this.writerStop.restore().then(
        () => logger.warn({ mode: this.writerStop.mode }, 'cutover failed: the source writers were let go again'),
        (restoreError: unknown) => logger.error({ error: errorMessage(restoreError) }, 'cutover failed AND restoring the source failed: check read_only on the source by hand'),
      );
      if (error instanceof VerificationError || error instanceof SchemaChangedError) throw error;
      throw new CutoverError(`cutover failed, the source is writable again: ${errorMessage(error)}`, { cause: error });
    } finally {
      await replication.stop();
    }
  }
}
