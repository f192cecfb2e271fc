// The binlog side of a migration as one unit: the stream from the source, the applier that
// writes to the target, the batch sizer between them, and the queue bound that follows it.
// ferry.ts and the benchmarks both run replication through this class, so what is measured is
// what runs (docs/architecture.md, "The binlog side").
import type { Endpoint } from '../db/connection.js';
import type { RetryPolicy } from '../db/retry.js';
import type { TableSchema } from '../db/schema.js';
import type { Logger } from '../log.js';
import { engineLoad } from '../metrics/engine-load.js';
import type { TuningSnapshot } from '../tuning/index.js';
import { KeepUpMonitor, lagNote, type KeepUpState } from '../tuning/keep-up.js';
import { AdaptiveBinlogSizer } from './apply/adaptive-sizer.js';
import { BinlogApplier, FixedBinlogBatchSizer, type AppliedBatch, type BinlogBatchSizer } from './apply/applier.js';
import { compareBinlogPositions, type BinlogPosition } from './position.js';
import { BinlogStreamer } from './stream/streamer.js';

export interface ReplicationOptions {
  readonly source: Endpoint;
  readonly target: Endpoint;
  /** The selected tables by `database.table`. */
  readonly tables: ReadonlyMap<string, TableSchema>;
  /** Server id presented to the source (unique among its replicas). */
  readonly serverId?: number;
  /**
   * A number fixes the batch size; bounds make it adaptive (the tuning loop); a sizer object is
   * used as given (benchmarks that probe costs with sizes of their own).
   */
  readonly batchSize: number | { readonly min: number; readonly max: number; readonly initial: number } | BinlogBatchSizer;
  /** m·R at which the target counts as saturated (adaptive only). Default 0.9. */
  readonly saturationBound?: number;
  /** Upper bound of the in-memory queue; the live bound follows B* (adaptive). Default 50,000. */
  readonly maxQueuedEvents?: number;
  readonly coalesce?: boolean;
  /** Least time between the starts of two writes (binlog.minBatchIntervalMs), seconds. Default 0.01. */
  readonly minBatchIntervalSeconds?: number;
  readonly rowFilters?: ReadonlyMap<string, string>;
  readonly logger: Logger;
  readonly onBatch?: (batch: AppliedBatch) => void;
  /** A binlog batch met a transient error (its code) and is retried. */
  readonly onRetry?: (code: string) => void;
  /** The run's retry policy (db/retry.ts), for the stream and the applier. */
  readonly retry?: RetryPolicy;
  /** Stream at once but apply only after startApplying() (a benchmark that queues a backlog first). */
  readonly deferApplying?: boolean;
}

const isSizer = (value: ReplicationOptions['batchSize']): value is BinlogBatchSizer =>
  typeof value === 'object' && typeof (value as BinlogBatchSizer).nextBatchSize === 'function';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Replication {
  readonly streamer: BinlogStreamer;
  readonly applier: BinlogApplier;
  /** The tuning loop, when the batch size is adaptive. */
  readonly adaptive: AdaptiveBinlogSizer | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private failure: unknown;
  private readonly failed: Promise<never>;
  private fail: (error: unknown) => void = () => undefined;
  private readonly startedAt = performance.now();
  private readonly keepUp: KeepUpMonitor;
  private readonly sampler: NodeJS.Timeout;
  private wasSaturated = false;

  constructor(private readonly options: ReplicationOptions, start: BinlogPosition) {
    const interval = options.minBatchIntervalSeconds ?? 0.01;
    this.streamer = new BinlogStreamer({
      endpoint: options.source,
      ...(options.serverId !== undefined ? { serverId: options.serverId } : {}),
      tables: options.tables,
      maxQueuedItems: options.maxQueuedEvents ?? 50_000,
      logger: options.logger,
      ...(options.retry ? { retry: options.retry } : {}),
    });
    let sizer: BinlogBatchSizer;
    if (typeof options.batchSize === 'number') sizer = new FixedBinlogBatchSizer(options.batchSize);
    else if (isSizer(options.batchSize)) sizer = options.batchSize;
    else {
      this.adaptive = new AdaptiveBinlogSizer({
        ...options.batchSize,
        minIntervalSeconds: interval,
        saturationBound: options.saturationBound ?? 0.9,
        onQueueBound: (items) => this.streamer.setQueueBound(items),
      });
      sizer = this.adaptive;
    }
    this.applier = new BinlogApplier({
      target: options.target,
      source: this.streamer,
      tables: options.tables,
      sizer,
      start,
      logger: options.logger,
      ...(options.rowFilters ? { rowFilters: options.rowFilters } : {}),
      ...(options.coalesce !== undefined ? { coalesce: options.coalesce } : {}),
      minBatchIntervalSeconds: interval,
      ...(options.onBatch ? { onBatch: options.onBatch } : {}),
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
    });
    this.failed = new Promise<never>((_, reject) => {
      this.fail = reject;
    });
    this.failed.catch(() => undefined);
    this.keepUp = new KeepUpMonitor({ busyBound: options.saturationBound ?? 0.9 });
    // Once a second: enough for a 10 s window, and cheap (a getrusage and a read of /proc).
    this.sampler = setInterval(() => this.sample(), 1000);
    this.sampler.unref();
    this.streamer.start(start);
    if (!options.deferApplying) this.startApplying();
  }

  private sample(): void {
    const load = engineLoad();
    this.keepUp.record({
      at: performance.now() / 1000,
      lagSeconds: this.lagSeconds(),
      busySeconds: this.applier.busySeconds,
      buildSeconds: this.applier.buildSeconds,
      cpuSeconds: load.cpuSeconds,
      cpuWaitSeconds: load.cpuWaitSeconds,
      eventLagSumSeconds: this.applier.eventLagSumSeconds,
      eventCount: this.applier.eventsApplied,
    });
    const health = this.health();
    this.adaptive?.setMeasuredSaturation(health.saturated);
    if (health.saturated === this.wasSaturated) return;
    this.wasSaturated = health.saturated;
    const figures = {
      cause: health.cause,
      busy: round(health.busyFraction),
      engineCpu: round(health.engineCpu),
      engineCpuWait: round(health.engineCpuWait),
      lagTrend: round(health.lagTrend),
      utilisation: round(this.tuning()?.utilisation ?? NaN),
    };
    if (health.saturated) this.options.logger.warn(figures, `the binlog side cannot keep up: ${health.explanation}`);
    else this.options.logger.info(figures, 'the binlog side keeps up again: the row copy goes on');
  }

  /**
   * Whether replication keeps up, from what happens (the applier's busy fraction, the lag's
   * trend, the engine's CPU) and from the model (m·R), and if not, what limits it.
   */
  health(): KeepUpState & { readonly lagNote: string | undefined } {
    const tuning = this.tuning();
    const state = this.keepUp.state(tuning?.saturated ?? false, tuning?.utilisation ?? NaN);
    return { ...state, lagNote: lagNote(state, tuning?.hasEstimate ? tuning : undefined) };
  }

  /** Saturated by the model or by what happens (see health()). */
  get saturated(): boolean {
    return this.health().saturated;
  }

  /** Starts the applier (done by the constructor unless deferApplying). */
  startApplying(): void {
    this.running ??= this.applier.run(this.abort.signal).catch((error: unknown) => {
      this.failure = error;
      this.fail(error);
    });
  }

  /** Rejects with the error that stopped the applier (a stream error arrives through it too). */
  get failedWith(): Promise<never> {
    return this.failed;
  }

  /** Throws the error that stopped the applier, if one did. */
  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  get appliedPosition(): BinlogPosition {
    return this.applier.appliedPosition;
  }

  /**
   * How far the target is behind the source, in seconds: from the source commit of the oldest
   * event received and not yet applied. With nothing pending it is 0 only while the stream is
   * connected and has heard from the source within the heartbeat; otherwise the source may have
   * written since it last did, and the time since then is the least the lag can be.
   */
  lagSeconds(nowMs = Date.now()): number {
    const now = nowMs / 1000;
    const pending = this.applier.oldestPendingCommit;
    let lag = pending === undefined ? 0 : Math.max(0, now - pending);
    const streamer = this.streamer;
    if (!streamer.socketPaused) {
      const lastContact = streamer.lastContactAt;
      const silence = lastContact > 0 ? (nowMs - lastContact) / 1000 : (performance.now() - this.startedAt) / 1000;
      // Heartbeats come every second while the source is quiet; silence beyond that (or a stream
      // that is reconnecting) means the target may be behind by at least that much.
      if (!streamer.connected || silence > HEARTBEAT_GRACE_SECONDS) lag = Math.max(lag, silence);
    }
    return lag;
  }

  /** True when the stream is connected and the target is within `maxLagSeconds` of the source. */
  caughtUp(maxLagSeconds: number): boolean {
    return this.streamer.connected && this.lagSeconds() <= maxLagSeconds;
  }

  /**
   * Whether the target is current up to `final`. The last events before `final` need not be row
   * events of the selected tables (nor carry a commit item at exactly `final`): once the stream
   * has read up to `final` and nothing is queued or being written, the target is current.
   */
  isDrainedTo(final: BinlogPosition): boolean {
    if (compareBinlogPositions(this.applier.appliedPosition, final) >= 0) return true;
    const received = this.streamer.lastReceivedPosition;
    return !!received && compareBinlogPositions(received, final) >= 0 && this.streamer.queuedItems === 0 && this.applier.idle;
  }

  /** Waits until the target is current up to `final`; rejects if the applier fails or the signal aborts. */
  async drainTo(final: BinlogPosition, signal?: AbortSignal): Promise<void> {
    while (!this.isDrainedTo(final)) {
      signal?.throwIfAborted();
      this.check();
      await sleep(5);
    }
  }

  tuning(now = Date.now() / 1000): TuningSnapshot | undefined {
    return this.adaptive?.snapshot(now);
  }

  /** Stops applying and streaming; resolves once both have stopped. Does not throw the run's error. */
  async stop(): Promise<void> {
    clearInterval(this.sampler);
    this.abort.abort(new Error('replication stopped'));
    await this.running;
    await this.streamer.stop();
  }
}

const round = (value: number): number | undefined => (Number.isFinite(value) ? Number(value.toFixed(2)) : undefined);

/** Heartbeat period (1 s, see stream/streamer.ts) plus room for scheduling delays. */
const HEARTBEAT_GRACE_SECONDS = 2;
