// The applier's adaptive batch size: the tuning loop's controller (pure, src/tuning) wired to
// the clock, the streamer's queue bound, and the log line an operator needs when the target
// saturates.
import type { Logger } from '../../log.js';
import { BatchSizeController, SourceRate, type BatchSizeControllerOptions, type TuningSnapshot } from '../../tuning/index.js';
import type { BinlogBatchSizer } from './applier.js';

export interface AdaptiveSizerOptions extends BatchSizeControllerOptions {
  readonly logger: Logger;
  /** Told the new queue bound after each batch: backpressure follows B*. */
  readonly onQueueBound?: (items: number) => void;
  /** Start of the arrival-rate window, seconds since the epoch. Default now. */
  readonly startedAt?: number;
}

export class AdaptiveBinlogSizer implements BinlogBatchSizer {
  readonly controller: BatchSizeController;
  /** Batches written while the target was saturated. */
  saturatedBatches = 0;
  private saturated = false;
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
    // A snapshot costs more than a batch of a few events is worth; only a change of state needs one.
    if (this.controller.saturated) this.saturatedBatches++;
    if (this.controller.saturated !== this.saturated) this.noteSaturation(this.controller.snapshot(now));
    this.options.onQueueBound?.(this.controller.queueBound());
  }

  snapshot(now: number): TuningSnapshot {
    return this.controller.snapshot(now);
  }

  /** Says so loudly when the target cannot keep up (m·R over the bound), and when it recovers. */
  private noteSaturation(snapshot: TuningSnapshot): void {
    this.saturated = snapshot.saturated;
    const figures = { m: snapshot.perEventSeconds, o: snapshot.perBatchSeconds, R: snapshot.arrivalRate, utilisation: snapshot.utilisation };
    if (snapshot.saturated) {
      this.options.logger.warn(figures, 'target saturated: m·R is over the bound, no batch size keeps up; the row copy yields to the binlog applier');
    } else {
      this.options.logger.info(figures, 'target no longer saturated: the row copy goes on');
    }
  }
}
