// Prometheus metrics of a run. Gauges read the components' own figures at scrape time (they
// keep no copy to drift); counters and histograms are fed from the batch reports. Names follow
// Prometheus' conventions: the tideferry_ prefix, base units (_seconds, _bytes, _ratio), _total
// on counters alone. Labels are bounded: table, phase, reason, cause, stage, replica (the
// configured ones) — never a key or a value.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { processMetrics } from './process.js';
import type { TuningSnapshot } from '../tuning/index.js';
import type { KeepUpState } from '../tuning/keep-up.js';

/** A table's copy progress as the gauges read it. */
export interface TableCopyFigures {
  readonly table: string;
  /** The source's estimate of the table's rows at the start (0 when it gave none). */
  readonly estimatedRows: number;
  /** 0 once the table is copied. */
  readonly remainingRows: number;
  /** Undefined before a rate is known. */
  readonly etaSeconds: number | undefined;
}

/** Live figures the gauges read when scraped. */
export interface MetricSources {
  phase(): string;
  tuning(): TuningSnapshot | undefined;
  binlogLagSeconds(): number;
  binlogQueuedEvents(): number;
  binlogReconnects(): number;
  copyPauseSeconds(): number;
  throttleReason(): string | undefined;
  replicaLagSeconds(): number;
  tablesTotal(): number;
  tablesCopied(): number;
  /** Whether the binlog side keeps up, from what happens (tuning/keep-up.ts). */
  keepUp(): KeepUpState | undefined;
  /** Cumulative engine CPU seconds by stage of the binlog side. */
  stageCpuSeconds(): { readonly readDecode: number; readonly build: number; readonly tuning: number } | undefined;
  /** The verifier's figures by table (undefined: verification off, or not started). */
  verification?(): VerificationFigures | undefined;
  /** Seconds the last schema check took on both servers (0 before the first). */
  schemaCheckSeconds?(): number;
  /** Rows remaining and ETA by table (computed in copy/progress.ts, as /status shows them). */
  copyProgress?(): readonly TableCopyFigures[];
  /** Seconds since the state file last held the run's state (undefined before the first write). */
  checkpointAgeSeconds?(): number | undefined;
  /** The lag each watched replica showed at its last read, by host:port (Infinity: unreadable). */
  replicaLags?(): ReadonlyMap<string, number>;
  /** throttle.maxLagSeconds: the replica lag the copy may leave. */
  replicaLagAllowedSeconds?(): number;
  /** binlog.saturationBound: the m·R over which the target counts as saturated. */
  saturationBound?(): number;
  /** Seconds each part found each server unreachable, closed outages and open ones (db/retry.ts). */
  outageSeconds?(): readonly { readonly server: string; readonly part: string; readonly seconds: number }[];
  /** The outages open now. */
  outagesNow?(): readonly { readonly server: string; readonly part: string }[];
}

export interface VerificationFigures {
  readonly tables: readonly string[];
  /** Rows changed since they were verified (and differing rows), waiting to be compared again. */
  pendingRows(table: string): number;
  /** Rows that differed when last compared, waiting to be compared again. */
  mismatches(table: string): number;
}

export const PHASES = ['preflight', 'copy', 'catch-up', 'cutover', 'verify', 'done', 'failed'] as const;
export const THROTTLE_REASONS = ['paused', 'binlog-lag', 'target-saturated', 'replica-lag', 'target-threads'] as const;
export const SATURATION_CAUSES = ['target', 'engine'] as const;
const STAGES = ['readDecode', 'build', 'tuning'] as const;
/** The parts of a run that wait for a server (db/retry.ts's RunPart, less the replica lag, which the throttle reads). */
const OUTAGE_PARTS = ['copy', 'stream', 'binlog', 'verify', 'admin'] as const;
const STAGE_LABELS = { readDecode: 'read_decode', build: 'build', tuning: 'tuning' } as const;

export class Metrics {
  /** This run's own metrics. */
  readonly runRegistry = new Registry();
  /** What /metrics serves: this run's metrics and the process's (metrics/process.ts). */
  readonly registry: Registry;
  readonly rowsCopied: Counter<'table'>;
  readonly copyBatchSeconds: Histogram;
  readonly copyBatchRows: Gauge<'table'>;
  readonly bytesCopied: Counter<'table'>;
  readonly eventsApplied: Counter;
  readonly binlogBatches: Counter;
  readonly binlogBatchSeconds: Histogram;
  readonly binlogBatchSize: Histogram;
  readonly binlogEventLagSeconds: Histogram;
  readonly verifyRowsVerified: Counter<'table'>;
  readonly cutoverDowntimeSeconds: Gauge;
  readonly cutoverDrainSeconds: Gauge;
  readonly cutoverVerifySeconds: Gauge;
  readonly cutoverRowsReverified: Gauge;
  readonly retries: Counter<'component' | 'code' | 'server'>;

  constructor(sources: MetricSources) {
    const registry = this.runRegistry;
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
    const tuning = (pick: (snapshot: TuningSnapshot) => number) => () => {
      const snapshot = sources.tuning();
      return snapshot ? pick(snapshot) : NaN;
    };

    new Gauge({
      name: 'tideferry_phase', help: 'Current phase of the run (1 for the current phase)', labelNames: ['phase'], registers: [registry],
      collect() { for (const phase of PHASES) this.set({ phase }, phase === sources.phase() ? 1 : 0); },
    });
    gauge('tideferry_tables', 'Tables selected for the migration', sources.tablesTotal);
    gauge('tideferry_tables_copied', 'Tables whose row copy is complete', sources.tablesCopied);
    this.rowsCopied = new Counter({ name: 'tideferry_rows_copied_total', help: 'Rows written to the target by the row copy', labelNames: ['table'], registers: [registry] });
    this.bytesCopied = new Counter({ name: 'tideferry_copy_bytes_total', help: 'Bytes of column values read from the source by the row copy (raw stored bytes, as written to the target)', labelNames: ['table'], registers: [registry] });
    this.copyBatchRows = new Gauge({ name: 'tideferry_copy_batch_rows', help: 'Rows read from the source in the latest copy batch of each table', labelNames: ['table'], registers: [registry] });
    this.copyBatchSeconds = new Histogram({ name: 'tideferry_copy_batch_write_seconds', help: 'Time to write one copy batch to the target', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] });
    const progress = (read: (figures: TableCopyFigures) => number | undefined) =>
      function (this: Gauge<'table'>) {
        this.reset();
        for (const figures of sources.copyProgress?.() ?? []) {
          const value = read(figures);
          if (value !== undefined) this.set({ table: figures.table }, value);
        }
      };
    new Gauge({ name: 'tideferry_copy_rows_estimated', help: "The source's estimate of each table's rows at the start (INFORMATION_SCHEMA TABLE_ROWS, sampled)", labelNames: ['table'], registers: [registry], collect: progress((figures) => figures.estimatedRows) });
    new Gauge({ name: 'tideferry_copy_rows_remaining', help: 'Rows of each table left to copy: the estimate less the rows copied (0 once the table is copied)', labelNames: ['table'], registers: [registry], collect: progress((figures) => figures.remainingRows) });
    new Gauge({ name: 'tideferry_copy_eta_seconds', help: "Seconds to copy each table's remaining rows at this run's copy rate of the table (absent before its first batch)", labelNames: ['table'], registers: [registry], collect: progress((figures) => figures.etaSeconds) });

    this.eventsApplied = new Counter({ name: 'tideferry_binlog_events_applied_total', help: 'Row events written to the target by the binlog applier', registers: [registry] });
    this.binlogBatches = new Counter({ name: 'tideferry_binlog_batches_total', help: 'Binlog batches (target transactions) written', registers: [registry] });
    this.binlogBatchSeconds = new Histogram({ name: 'tideferry_binlog_batch_seconds', help: 'Write time of one binlog batch (T = m·b + o)', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] });
    this.binlogBatchSize = new Histogram({ name: 'tideferry_binlog_batch_events', help: 'Row events per binlog batch (target transaction size)', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000], registers: [registry] });
    this.binlogEventLagSeconds = new Histogram({ name: 'tideferry_binlog_event_lag_seconds', help: 'Per row event: seconds from source commit to target apply', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: [registry] });
    gauge('tideferry_binlog_lag_seconds', 'Seconds the target is behind the source (0 when every received event is applied)', sources.binlogLagSeconds);
    gauge('tideferry_binlog_queued_events', 'Binlog items received and not yet applied', sources.binlogQueuedEvents);
    let reconnects = 0;
    new Counter({
      name: 'tideferry_binlog_reconnects_total', help: 'Times the binlog stream reconnected to the source', registers: [registry],
      collect() {
        const now = sources.binlogReconnects();
        if (now > reconnects) this.inc(now - reconnects);
        reconnects = now;
      },
    });

    gauge('tideferry_tuning_event_cost_seconds', 'm: estimated marginal target cost of one row event', tuning((s) => s.perEventSeconds));
    gauge('tideferry_tuning_batch_overhead_seconds', 'o: estimated fixed cost of one target write (round trip + commit)', tuning((s) => s.perBatchSeconds));
    gauge('tideferry_tuning_arrival_rate', 'R: row events arriving per second', tuning((s) => s.arrivalRate));
    gauge('tideferry_tuning_utilisation', 'm·R: share of the target the binlog needs; 1 means no batch size keeps up', tuning((s) => s.utilisation));
    gauge('tideferry_tuning_optimal_batch_size', 'B* = o·R / (1 − m·R), before clamping', tuning((s) => (Number.isFinite(s.optimalBatchSize) ? s.optimalBatchSize : -1)));
    gauge('tideferry_tuning_batch_size', 'Binlog batch size in force: twice B*, never below one source transaction', tuning((s) => s.batchSize));
    gauge('tideferry_tuning_source_transaction_items', '95th percentile of recent source transactions, in items (rows + commit): the batch size floor', tuning((s) => s.sourceTransactionSize));
    gauge('tideferry_tuning_predicted_lag_seconds', 'Mean binlog lag the model predicts: half a cycle plus a write, cycle = max(o / (1 − m·R), binlog.minBatchIntervalMs)', tuning((s) => (Number.isFinite(s.predictedLagSeconds) ? s.predictedLagSeconds : -1)));
    gauge('tideferry_tuning_fit_r_squared', 'R² of the robust fit of batch write time on batch size that gives m and o (low: a noisy target, or too little variation in batch size yet)', tuning((s) => s.fitRSquared));
    gauge('tideferry_tuning_saturation_bound', 'binlog.saturationBound: the m·R over which the target counts as saturated', () => sources.saturationBound?.() ?? NaN);
    gauge('tideferry_target_saturated', '1 while the model says the target is saturated: m·R over binlog.saturationBound', tuning((s) => (s.saturated ? 1 : 0)));

    const keepUp = (pick: (state: KeepUpState) => number) => () => {
      const state = sources.keepUp();
      return state ? pick(state) : NaN;
    };
    gauge('tideferry_binlog_applier_busy_ratio', 'Share of wall time the binlog applier spent building and writing batches, over the last 10 s (saturated at the bound)', keepUp((s) => s.busyFraction));
    gauge('tideferry_binlog_lag_trend', 'Seconds of binlog lag gained per second, least squares over the last 10 s (over 0.05 with the lag over 1 s: saturated)', keepUp((s) => s.lagTrend));
    gauge('tideferry_engine_cpu_ratio', "The engine process's CPU over the last 10 s, in cores", keepUp((s) => s.engineCpu));
    gauge('tideferry_engine_cpu_wait_ratio', "Share of the last 10 s the engine's event-loop thread waited for a CPU held by other processes (Linux)", keepUp((s) => s.engineCpuWait));
    new Gauge({
      name: 'tideferry_binlog_saturated', help: '1 while the binlog side cannot keep up, labelled with what limits it: the target (its writes) or the engine (its CPU)', labelNames: ['cause'], registers: [registry],
      collect() { const state = sources.keepUp(); for (const cause of SATURATION_CAUSES) this.set({ cause }, state?.saturated && state.cause === cause ? 1 : 0); },
    });
    const stageTotals = { readDecode: 0, build: 0, tuning: 0 };
    new Counter({
      name: 'tideferry_engine_cpu_seconds_total', help: "The engine's CPU seconds spent by the binlog side, by stage: reading and decoding the binlog, planning and building statements, the tuning loop", labelNames: ['stage'], registers: [registry],
      collect() {
        const now = sources.stageCpuSeconds();
        if (!now) return;
        for (const stage of STAGES) {
          const delta = now[stage] - stageTotals[stage];
          if (delta > 0) this.inc({ stage: STAGE_LABELS[stage] }, delta);
          stageTotals[stage] = now[stage];
        }
      },
    });

    gauge('tideferry_copy_pause_seconds', 'Current pause between copy batches from replica lag (lhm backoff)', sources.copyPauseSeconds);
    gauge('tideferry_replica_lag_seconds', 'Largest lag of the watched replicas at the copy gate\'s last read (-1 when one is unreadable)', () => {
      const lag = sources.replicaLagSeconds();
      return Number.isFinite(lag) ? lag : -1;
    });
    new Gauge({
      name: 'tideferry_replica_lag_by_replica_seconds', help: 'Lag of each watched replica (host:port) at its last read (-1 when unreadable)', labelNames: ['replica'], registers: [registry],
      collect() {
        for (const [replica, lag] of sources.replicaLags?.() ?? []) this.set({ replica }, Number.isFinite(lag) ? lag : -1);
      },
    });
    gauge('tideferry_replica_lag_allowed_seconds', 'throttle.maxLagSeconds: the replica lag over which the copy backs off', () => sources.replicaLagAllowedSeconds?.() ?? NaN);
    new Gauge({
      name: 'tideferry_copy_throttled', help: 'Why the row copy is held back (1 for the current reason)', labelNames: ['reason'], registers: [registry],
      collect() { for (const reason of THROTTLE_REASONS) this.set({ reason }, reason === sources.throttleReason() ? 1 : 0); },
    });

    // Verification (verify/inline.ts): rows compared, rows waiting to be compared again.
    this.verifyRowsVerified = new Counter({ name: 'tideferry_verify_rows_verified_total', help: 'Rows compared between source and target: while copying, again after the binlog changed them, and at cutover', labelNames: ['table'], registers: [registry] });
    const byTable = (read: (figures: VerificationFigures, table: string) => number) =>
      function (this: Gauge<'table'>) {
        const figures = sources.verification?.();
        if (figures) for (const table of figures.tables) this.set({ table }, read(figures, table));
      };
    new Gauge({ name: 'tideferry_verify_rows_pending', help: 'Rows changed since they were verified (or differing), waiting to be compared again', labelNames: ['table'], registers: [registry], collect: byTable((figures, table) => figures.pendingRows(table)) });
    new Gauge({ name: 'tideferry_verify_mismatches', help: 'Rows that differed when last compared while the writers ran (a change in flight, usually), waiting to be compared again', labelNames: ['table'], registers: [registry], collect: byTable((figures, table) => figures.mismatches(table)) });
    gauge('tideferry_schema_check_seconds', 'Time the last schema fingerprint of every table took, both servers', () => sources.schemaCheckSeconds?.() ?? 0);
    gauge('tideferry_checkpoint_age_seconds', 'Seconds since the state file last held the run\'s state: the progress a crash now would redo (-1 before the first write)', () => sources.checkpointAgeSeconds?.() ?? -1);

    // Cutover, measured once it is done.
    this.cutoverDowntimeSeconds = new Gauge({ name: 'tideferry_cutover_downtime_seconds', help: 'Writers stopped → migration done, measured at cutover', registers: [registry] });
    this.cutoverDrainSeconds = new Gauge({ name: 'tideferry_cutover_drain_seconds', help: 'Of the downtime: writers stopped → binlog drained to the final position', registers: [registry] });
    this.cutoverVerifySeconds = new Gauge({ name: 'tideferry_cutover_verify_seconds', help: 'Of the downtime: comparing the rows changed since they were verified', registers: [registry] });
    this.cutoverRowsReverified = new Gauge({ name: 'tideferry_cutover_rows_reverified', help: 'Rows compared again at cutover', registers: [registry] });

    // Transient errors retried (db/retry.ts), by component (the part: copy, stream, binlog — the
    // applier —, verify, admin), the server (source, target) and the error code: ER_LOCK_DEADLOCK
    // and ER_LOCK_WAIT_TIMEOUT are lock conflicts, the rest connection losses and restarts.
    this.retries = new Counter({ name: 'tideferry_retries_total', help: 'Operations retried after a transient error, by component (copy, stream, binlog (the applier), verify, admin), server and error code (ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT: lock conflicts; connection losses, restarts, read-only)', labelNames: ['component', 'code', 'server'], registers: [registry] });
    const outageTotals = new Map<string, number>();
    new Counter({
      name: 'tideferry_outage_seconds_total', help: 'Seconds each part of the run (component) found a server unreachable and waited for it, ended outages and the one under way', labelNames: ['server', 'component'], registers: [registry],
      collect() {
        // Every (server, part) from the start, at 0: a dashboard's rate() has a series before the first outage.
        for (const server of ['source', 'target']) for (const component of OUTAGE_PARTS) this.inc({ server, component }, 0);
        for (const { server, part, seconds } of sources.outageSeconds?.() ?? []) {
          const key = `${server}/${part}`;
          const delta = seconds - (outageTotals.get(key) ?? 0);
          if (delta > 0) this.inc({ server, component: part }, delta);
          outageTotals.set(key, Math.max(seconds, outageTotals.get(key) ?? 0));
        }
      },
    });
    new Gauge({
      name: 'tideferry_outages', help: 'Parts of the run (component) waiting for a server now: 1 while that part finds that server unreachable', labelNames: ['server', 'component'], registers: [registry],
      collect() {
        this.reset();
        for (const server of ['source', 'target']) for (const component of OUTAGE_PARTS) this.set({ server, component }, 0);
        for (const { server, part } of sources.outagesNow?.() ?? []) this.set({ server, component: part }, 1);
      },
    });

    this.registry = Registry.merge([registry, processMetrics()]);
  }
}
