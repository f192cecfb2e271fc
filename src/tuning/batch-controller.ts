import { coefficientOfVariation, quantileSorted } from 'simple-statistics';
import { ArrivalRateEstimator, type ArrivalRateEstimatorOptions } from './arrival-rate.js';
import { CostEstimator, type CostEstimate, type CostEstimatorOptions } from './cost-estimator.js';
import { ProbeCycle } from './probe-cycle.js';
import { cycleSeconds, optimalBatchSize, predictedLagSeconds, utilisation } from './queueing-model.js';
import { SaturationDetector } from './saturation-detector.js';

export interface BatchSizeControllerOptions {
  /** Smallest batch, in events. At least 1. */
  readonly min: number;
  /** Largest batch, in events: the biggest transaction the target should take. */
  readonly max: number;
  /** Batch size until the first estimate of m and o. */
  readonly initial: number;
  /** m·R at which the target is declared saturated. Default 0.9. */
  readonly saturationBound?: number;
  /** Saturation clears only below saturationBound − this. Default 0.05. See saturation-detector.ts. */
  readonly saturationExitMargin?: number;
  /** The base size moves only when its target, clamp(⌈B*·(1 + headroom)⌉), differs from it by more than this fraction of it. Default 0.25. */
  readonly hysteresis?: number;
  /** Deliberate ± variation around the base size, to keep m and o identifiable. Default 0.25; 0 disables. */
  readonly probeSpread?: number;
  /**
   * Probing runs only while the sizes actually written lack variation: their
   * coefficient of variation over the last probeWindow batches is below this.
   * Default 0.15 (the ±25% cycle alone gives about 0.2). In steady state the
   * applier takes what is queued, and that varies by itself from batch to
   * batch; a probe below it would only leave events behind for one more
   * write, which is lag. Sizes stop varying when every batch is full (a
   * drain, saturation at max), and that is when m and o need the probe.
   */
  readonly probeBelowVariation?: number;
  /** Batches over which probeBelowVariation is judged. Default 30. */
  readonly probeWindow?: number;
  /**
   * The base size is never below this quantile of the recent source
   * transactions' sizes (in stream items: rows and the commit). Default 0.95.
   * A source transaction reaches the binlog at once, at its commit; a batch
   * that cuts one leaves the rest of it a whole write behind, for no gain.
   * B* is a fluid figure (events spread evenly in time) and falls below one
   * transaction at low rates. 0 disables.
   */
  readonly transactionQuantile?: number;
  /** Recent source transactions the quantile is taken over. Default 200. */
  readonly transactionWindow?: number;
  /**
   * The base size aims at B*·(1 + headroom). Default 1: twice B*.
   *
   * B* is the mean of what arrives during one write, and what arrives
   * fluctuates around it; the applier takes only what is queued, so in steady
   * state its batches average about B* whatever the base above it. A base at
   * or near B* cuts every above-average batch and leaves the rest a whole
   * write behind: lag, for nothing. Measured (`npm run bench -- batch-sweep
   * --quick`, adaptive against fixed 1000, which takes everything queued):
   * with headroom 0.25 and the ±25% probe in every batch, adaptive's p99 lag
   * was 13 against 7 ms (1 ms per direction, 6.3k events/s), 40 against 17 ms
   * and 128 against 31 ms (3 ms, 2.3k and 11.9k events/s). Twice B* passes
   * nearly every fluctuation (at B* = 10 with Poisson arrivals, a write sees
   * more than 20 arrivals about one time in 600) and still bounds
   * the target transaction and the queue.
   *
   * It must be at least the hysteresis, so that the base never rests below
   * B*: a base below B* cannot keep up.
   */
  readonly headroom?: number;
  /**
   * A backlog larger than drainFactor × the base size is drained in batches
   * as large as the backlog (up to max). Default 2: in steady state the queue
   * holds about one batch when the applier takes the next, so twice that
   * means it has fallen behind. Must stay below queueBatches, or the queue
   * bound stops the stream before draining starts.
   */
  readonly drainFactor?: number;
  /**
   * Batches the cost window must hold before the controller acts on the
   * estimate (moves the base size or declares saturation). Default 20.
   */
  readonly warmupBatches?: number;
  /** The queue bound is this many base-size batches. Default 4. */
  readonly queueBatches?: number;
  /** The queue bound never goes below this many events. Default 1000. */
  readonly minimumQueueBound?: number;
  readonly cost?: CostEstimatorOptions;
  readonly arrivals?: ArrivalRateEstimatorOptions;
  /**
   * Least time between the starts of two writes, seconds, which the applier keeps
   * (binlog.minBatchIntervalMs). Default 0. B* is then what arrives in a cycle of
   * max(o/(1 − m·R), this), so the base size leaves room for a whole interval's
   * events instead of cutting them into small batches (see queueing-model.ts).
   */
  readonly minIntervalSeconds?: number;
}

/**
 * Everything the controller knows at one instant, for metrics, logs and the
 * status page. Figures that need an estimate of m and o are NaN until there
 * is one (hasEstimate false); NaN is what a Prometheus gauge shows as "no value".
 */
export interface TuningSnapshot {
  readonly hasEstimate: boolean;
  /** m, seconds. */
  readonly perEventSeconds: number;
  /** o, seconds. */
  readonly perBatchSeconds: number;
  /** R, events per second. */
  readonly arrivalRate: number;
  /** m·R. */
  readonly utilisation: number;
  /** B* = R·max(o / (1 − m·R), minimum interval), unclamped; Infinity when m·R ≥ 1. */
  readonly optimalBatchSize: number;
  /** The current base size (what nextBatchSize varies around when probing). */
  readonly batchSize: number;
  /** The transactionQuantile of recent source transactions, in items; the base size's floor. 0 before any. */
  readonly sourceTransactionSize: number;
  /** The applier's cycle, max(o / (1 − m·R), the minimum interval); Infinity when m·R ≥ 1. */
  readonly cycleSeconds: number;
  /** The mean lag the model predicts (queueing-model.ts): 1.5 · o / (1 − m·R) without a minimum interval; Infinity when m·R ≥ 1. */
  readonly predictedLagSeconds: number;
  readonly fitRSquared: number;
  /** Batches in the cost window. */
  readonly samples: number;
  /** Batches of the window the cost fit dropped as outliers. */
  readonly outliers: number;
  readonly saturated: boolean;
  readonly identifiable: boolean;
  /** The in-memory event-queue bound the streamer should apply. */
  readonly queueBound: number;
}

/**
 * Sizes the binlog applier's batches from what its writes cost and how fast
 * events arrive (the design's "tuning loop"). The applier reports every batch
 * it writes through recordBatch and asks nextBatchSize before taking the next;
 * arrivals come through recordArrivals (AdaptiveBinlogSizer feeds it the
 * source's rate, read from the events' stamps) and source transactions
 * through recordSourceTransaction. Pure: the caller passes the time, in
 * seconds, to every method.
 *
 * The base size follows clamp(max(⌈B*·(1 + headroom)⌉, one source
 * transaction)) with hysteresis. It moves only on an identifiable estimate
 * (a guess of m and o would move it on nothing), except that saturation
 * sends it to max at once: when no size
 * keeps up, the largest batches spend the least on per-write overhead.
 * nextBatchSize varies the size around the base (probing) and drains a large
 * backlog in larger batches.
 */
export class BatchSizeController {
  private readonly min: number;
  private readonly max: number;
  private readonly hysteresis: number;
  private readonly headroom: number;
  private readonly drainFactor: number;
  private readonly queueBatches: number;
  private readonly warmupBatches: number;
  private readonly minimumQueueBound: number;
  private readonly costs: CostEstimator;
  private readonly arrivals: ArrivalRateEstimator;
  private readonly saturation: SaturationDetector;
  private readonly probe: ProbeCycle;
  private readonly probeBelowVariation: number;
  private readonly probeWindow: number;
  private readonly recentSizes: number[] = [];
  private readonly transactionQuantile: number;
  private readonly transactionWindow: number;
  private readonly recentTransactions: number[] = [];
  /** The same, sorted: the quantile is read from it instead of sorting a copy per transaction. */
  private readonly sortedTransactions: number[] = [];
  private transactionFloor = 0;
  private baseSize: number;
  private readonly minIntervalSeconds: number;
  private measured = false;

  constructor(options: BatchSizeControllerOptions) {
    if (!Number.isInteger(options.min) || options.min < 1) {
      throw new RangeError(`batch size min must be an integer of at least 1, got ${options.min}`);
    }
    if (!Number.isInteger(options.max) || options.max < options.min) {
      throw new RangeError(`batch size max must be an integer no smaller than min (${options.min}), got ${options.max}`);
    }
    if (!Number.isFinite(options.initial)) {
      throw new RangeError(`initial batch size must be a number, got ${options.initial}`);
    }
    this.min = options.min;
    this.max = options.max;
    this.hysteresis = options.hysteresis ?? 0.25;
    this.headroom = options.headroom ?? 1;
    this.drainFactor = options.drainFactor ?? 2;
    this.queueBatches = options.queueBatches ?? 4;
    this.warmupBatches = options.warmupBatches ?? 20;
    this.minimumQueueBound = options.minimumQueueBound ?? 1000;
    this.costs = new CostEstimator(options.cost);
    this.arrivals = new ArrivalRateEstimator(options.arrivals);
    this.saturation = new SaturationDetector({ bound: options.saturationBound, exitMargin: options.saturationExitMargin });
    this.probe = new ProbeCycle(options.probeSpread ?? 0.25);
    this.probeBelowVariation = options.probeBelowVariation ?? 0.15;
    this.probeWindow = Math.max(2, options.probeWindow ?? 30);
    this.transactionQuantile = options.transactionQuantile ?? 0.95;
    this.transactionWindow = Math.max(1, options.transactionWindow ?? 200);
    this.minIntervalSeconds = Math.max(0, options.minIntervalSeconds ?? 0);
    this.baseSize = this.clamp(options.initial);
  }

  /** The applier wrote a batch of `size` events in `seconds` (the write and commit only, not the wait for events). */
  recordBatch(size: number, seconds: number, now: number): void {
    this.costs.observe(size, seconds, now);
    if (size > 0) {
      this.recentSizes.push(size);
      if (this.recentSizes.length > this.probeWindow) this.recentSizes.shift();
    }
    this.reconsider(now);
  }

  /** A source transaction of `items` stream items (its row events and its commit) reached the applier. */
  recordSourceTransaction(items: number): void {
    if (!(items > 0) || this.transactionQuantile <= 0) return;
    this.recentTransactions.push(items);
    insertSorted(this.sortedTransactions, items);
    if (this.recentTransactions.length > this.transactionWindow) removeSorted(this.sortedTransactions, this.recentTransactions.shift()!);
    this.transactionFloor = Math.ceil(quantileSorted(this.sortedTransactions, this.transactionQuantile));
  }

  /**
   * `events` binlog events arrived at `now`: count them as the streamer reads
   * them from the socket (what it enqueues), not as the applier takes them.
   */
  recordArrivals(events: number, now: number): void {
    this.arrivals.record(events, now);
  }

  /**
   * How many events the applier should take for its next batch. Take fewer
   * when fewer are queued: never wait to fill a batch, which would only add lag.
   *
   * `backlog`, the events now queued, lets a backlog far above the base size
   * (after a burst, a slow write or an idle spell) drain in batches as large as
   * the backlog, up to max. While the backlog lasts, its events have already
   * waited; what matters is how soon the last of them lands, and that is
   * throughput, which larger batches raise by paying o less often.
   */
  nextBatchSize(now: number, backlog?: number): number {
    this.reconsider(now);
    // Draining probes too: a long drain at max would otherwise fill the cost window with one size.
    const draining = backlog !== undefined && backlog > this.drainFactor * this.baseSize;
    const around = draining ? this.clamp(backlog) : this.baseSize;
    return this.needsProbe() ? this.clamp(this.probe.next(around, backlog)) : around;
  }

  /** Whether the recent batch sizes vary too little for the cost fit (see probeBelowVariation). */
  private needsProbe(): boolean {
    if (this.recentSizes.length < this.probeWindow) return true;
    return coefficientOfVariation(this.recentSizes) < this.probeBelowVariation;
  }

  /** Whether the target counts as saturated by the model now (m·R over the bound, as of the last batch or size asked for). */
  get saturated(): boolean {
    return this.saturation.saturated;
  }

  /**
   * Saturation measured outside the model (tuning/keep-up.ts: the applier busy nearly all the
   * time, or the lag growing): the base size goes to max while it lasts, as for m·R over the bound.
   */
  setMeasuredSaturation(saturated: boolean): void {
    this.measured = saturated;
  }

  get measuredSaturated(): boolean {
    return this.measured;
  }

  /**
   * The in-memory event-queue bound for backpressure on the binlog stream:
   * queueBatches base-size batches (one being written, one filling, the rest
   * slack for bursts), and never less than minimumQueueBound, so that a small
   * B* does not stall the stream on every multi-row transaction. It follows
   * the base size, and so B*; when saturated, the base is max and the queue
   * holds several of the largest batches.
   */
  queueBound(): number {
    return Math.max(this.queueBatches * this.baseSize, this.minimumQueueBound);
  }

  /**
   * The controller's view at `now`. It brings saturation and the base size up
   * to date, as nextBatchSize would, but does not advance the probe cycle, so
   * polling it (a status page, a metrics scrape) does not change the batches.
   */
  snapshot(now: number): TuningSnapshot {
    const { estimate, arrivalRate } = this.reconsider(now);
    const common = {
      arrivalRate,
      batchSize: this.baseSize,
      sourceTransactionSize: this.transactionFloor,
      samples: this.costs.sampleCount,
      saturated: this.saturation.saturated,
      queueBound: this.queueBound(),
    };
    if (estimate === undefined) {
      return {
        ...common,
        hasEstimate: false,
        perEventSeconds: NaN,
        perBatchSeconds: NaN,
        utilisation: NaN,
        optimalBatchSize: NaN,
        predictedLagSeconds: NaN,
        cycleSeconds: NaN,
        fitRSquared: NaN,
        outliers: 0,
        identifiable: false,
      };
    }
    const { perEventSeconds: m, perBatchSeconds: o } = estimate;
    return {
      ...common,
      hasEstimate: true,
      perEventSeconds: m,
      perBatchSeconds: o,
      utilisation: utilisation(m, arrivalRate),
      optimalBatchSize: optimalBatchSize(m, o, arrivalRate, this.minIntervalSeconds),
      predictedLagSeconds: predictedLagSeconds(m, o, arrivalRate, this.minIntervalSeconds),
      cycleSeconds: cycleSeconds(m, o, arrivalRate, this.minIntervalSeconds),
      fitRSquared: estimate.rSquared,
      outliers: estimate.outliers,
      identifiable: estimate.identifiable,
    };
  }

  /** Re-evaluates saturation and the base size at `now`. */
  private reconsider(now: number): { estimate: CostEstimate | undefined; arrivalRate: number } {
    const estimate = this.costs.estimate();
    const arrivalRate = this.arrivals.rate(now);
    if (estimate === undefined || estimate.samples < this.warmupBatches) return { estimate, arrivalRate };

    const { perEventSeconds: m, perBatchSeconds: o } = estimate;
    if (this.saturation.update(utilisation(m, arrivalRate)) || this.measured) {
      this.baseSize = this.max;
      return { estimate, arrivalRate };
    }
    // Idle (R = 0) makes B* 0; keep the size that served the last traffic
    // instead, so the next burst does not start from min.
    if (arrivalRate === 0 || !estimate.identifiable) return { estimate, arrivalRate };

    const target = this.clamp(Math.max(ceilingOf(optimalBatchSize(m, o, arrivalRate, this.minIntervalSeconds) * (1 + this.headroom)), this.transactionFloor));
    if (Math.abs(target - this.baseSize) > this.hysteresis * this.baseSize) this.baseSize = target;
    return { estimate, arrivalRate };
  }

  /** Rounds to whole events and bounds to [min, max]; NaN falls back to the base size. */
  private clamp(size: number): number {
    if (Number.isNaN(size)) return this.baseSize;
    return Math.min(this.max, Math.max(this.min, Math.round(size)));
  }
}

/** Index of the first element of `sorted` not below `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

const insertSorted = (sorted: number[], value: number): void => void sorted.splice(lowerBound(sorted, value), 0, value);
const removeSorted = (sorted: number[], value: number): void => void sorted.splice(lowerBound(sorted, value), 1);

/**
 * Whole events enough to hold `size`: a batch below B* cannot keep up, so
 * round up, but ignore floating-point dust (an exact B* of 100 computed as
 * 100.00000000000001 is 100, not 101).
 */
function ceilingOf(size: number): number {
  return Math.ceil(size - 1e-9 * Math.max(1, Math.abs(size)));
}
