import { quantile } from 'simple-statistics';

export interface CopyBatchSizerOptions {
  /** How long one copy batch's target write should take. Default 0.5 s. */
  readonly targetSeconds?: number;
  /** Default 10 rows. */
  readonly min?: number;
  /** Default 100 000 rows. */
  readonly max?: number;
  /** Default 1000 rows. */
  readonly initial?: number;
  /** Batches whose seconds-per-row the p90 is taken over. Default 10. */
  readonly historySize?: number;
}

// Growth is capped per step: a run of fast batches (empty pages, cached rows)
// must not jump the size to something the next ordinary page cannot write in
// time. Spirit uses the same 1.5 (MaxDynamicStepFactor).
const MAXIMUM_GROWTH_PER_STEP = 1.5;
// A batch at 5× the target means conditions changed (lock contention, a cold
// buffer pool, a replica falling behind): cut by 10× at once instead of
// walking down, as spirit's chunker does on a "panic".
const PANIC_FACTOR = 5;
const PANIC_SHRINK = 10;
// The p90 rather than the mean or median: the size must fit the target for
// the slow batches too, not only for the typical one.
const PERCENTILE = 0.9;

/**
 * Sizes row-copy batches (spirit's chunker): the copier reports each batch's
 * rows and target-write seconds, and the next size is the number of rows the
 * slower recent batches would write in targetSeconds.
 */
export class CopyBatchSizer {
  private readonly targetSeconds: number;
  private readonly min: number;
  private readonly max: number;
  private readonly historySize: number;
  private secondsPerRowHistory: number[] = [];
  private size: number;

  constructor(options: CopyBatchSizerOptions = {}) {
    this.targetSeconds = options.targetSeconds ?? 0.5;
    this.min = options.min ?? 10;
    this.max = options.max ?? 100_000;
    this.historySize = options.historySize ?? 10;
    if (!(this.min >= 1) || !(this.max >= this.min)) {
      throw new RangeError(`copy batch bounds must satisfy 1 ≤ min ≤ max, got min ${this.min}, max ${this.max}`);
    }
    this.size = this.clamp(options.initial ?? 1000);
  }

  /** A batch of `rows` took `seconds` to write to the target (the write only, not the source read). */
  recordBatch(rows: number, seconds: number): void {
    if (!(rows > 0) || !(seconds >= 0) || !Number.isFinite(seconds)) return;
    const secondsPerRow = seconds / rows;
    if (seconds >= PANIC_FACTOR * this.targetSeconds) {
      // The history describes conditions that no longer hold; start it again from this batch.
      this.secondsPerRowHistory = [secondsPerRow];
      this.size = this.clamp(this.size / PANIC_SHRINK);
      return;
    }
    this.secondsPerRowHistory.push(secondsPerRow);
    if (this.secondsPerRowHistory.length > this.historySize) this.secondsPerRowHistory.shift();

    const slowSecondsPerRow = quantile(this.secondsPerRowHistory, PERCENTILE);
    const ideal = slowSecondsPerRow > 0 ? this.targetSeconds / slowSecondsPerRow : Infinity;
    this.size = this.clamp(Math.min(ideal, this.size * MAXIMUM_GROWTH_PER_STEP));
  }

  /** Rows for the next batch. */
  nextBatchSize(): number {
    return this.size;
  }

  private clamp(size: number): number {
    return Math.min(this.max, Math.max(this.min, Math.floor(size)));
  }
}
