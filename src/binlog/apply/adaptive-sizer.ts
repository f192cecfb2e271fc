// The applier's adaptive batch size: the tuning loop's controller (pure, src/tuning) wired to
// the clock, the source's rate from the events' stamps, and the streamer's queue bound.
// Saturation is judged and said by replication.ts, which feeds the measured verdict back here.
import { BatchSizeController, SourceRate, type BatchSizeControllerOptions, type TuningSnapshot } from '../../tuning/index.js';
import type { BinlogBatchSizer } from './applier.js';

export interface AdaptiveSizerOptions extends BatchSizeControllerOptions {
  /** Told the new queue bound after each batch: backpressure follows B*. */
  readonly onQueueBound?: (items: number) => void;
  /** Start of the arrival-rate window, seconds since the epoch. Default now. */
  readonly startedAt?: number;
}

export class AdaptiveBinlogSizer implements BinlogBatchSizer {
  readonly controller: BatchSizeController;
  /** Batches written while the binlog side was saturated (by the model or by what happened). */
  saturatedBatches = 0;
  private readonly sourceRate = new SourceRate();
  private fedUntil: number;

  constructor(private readonly options: AdaptiveSizerOptions) {
    // A fit per 50 ms, not per batch: see CostEstimatorOptions.refitSeconds.
    this.controller = new BatchSizeController({ ...options, cost: { refitSeconds: 0.05, ...options.cost } });
    // Arrival rates are averaged over the time actually watched, from the start on.
    this.fedUntil = options.startedAt ?? Date.now() / 1000;
    this.controller.recordArrivals(0, this.fedUntil);
  }

  nextBatchSize(now: number, backlog?: number): number {
    this.feedArrivals(now, (backlog ?? 0) === 0);
    return this.controller.nextBatchSize(now, backlog);
  }

  recordSourceTransaction(items: number): void {
    this.controller.recordSourceTransaction(items);
  }

  recordSourceEvents(sourceSecond: number, events: number, now: number): void {
    this.sourceRate.record(sourceSecond, events, now);
  }

  /** What the keep-up monitor measured (busy applier, growing lag): the batch size goes to max meanwhile. */
  setMeasuredSaturation(saturated: boolean): void {
    this.controller.setMeasuredSaturation(saturated);
  }

  /**
   * Hands the controller the source's rate (not receipt counts: under backpressure those fall to
   * the applied rate) as arrivals spread over the time since the last call.
   */
  private feedArrivals(now: number, caughtUp: boolean): void {
    const elapsed = now - this.fedUntil;
    if (elapsed <= 0) return;
    this.controller.recordArrivals(this.sourceRate.rate(now, caughtUp) * elapsed, now);
    this.fedUntil = now;
  }

  recordBatch(size: number, seconds: number, now: number): void {
    this.controller.recordBatch(size, seconds, now);
    if (this.controller.saturated || this.controller.measuredSaturated) this.saturatedBatches++;
    this.options.onQueueBound?.(this.controller.queueBound());
  }

  snapshot(now: number): TuningSnapshot {
    return this.controller.snapshot(now);
  }
}
