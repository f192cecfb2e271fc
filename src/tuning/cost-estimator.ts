import { coefficientOfVariation, linearRegressionLine, median, rSquared } from 'simple-statistics';
import { fitLineRobustly, type FitPoint, type RobustLineFitOptions } from './robust-line-fit.js';

/** What one write to the target costs, as fitted from the applier's own batches: T = m·b + o. */
export interface CostEstimate {
  /** m: the marginal cost of one more event in a batch. Never negative. */
  readonly perEventSeconds: number;
  /** o: the fixed cost of one write whatever its size (round trip, commit). Never negative. */
  readonly perBatchSeconds: number;
  /** Of the fit on the points it kept; 0 when the estimate is a guess (not identifiable). */
  readonly rSquared: number;
  /** Batches in the window, outliers included. */
  readonly samples: number;
  /** Batches in the window that the robust fit dropped as outliers. */
  readonly outliers: number;
  /**
   * False when the window cannot tell m and o apart: the batch sizes are
   * (nearly) all the same, or they are so large that o is lost in the noise
   * of m·b. The figures above are then a best guess that keeps o at its last
   * identified value (see CostEstimator).
   */
  readonly identifiable: boolean;
}

export interface CostEstimatorOptions {
  /** Keep at most this many recent batches. Default 200. */
  readonly maxSamples?: number;
  /** Forget batches older than this, so that a change in m is followed within a window. Default 120. */
  readonly windowSeconds?: number;
  /** Robust standard deviations beyond which a batch is an outlier. Default 3.5. */
  readonly outlierThreshold?: number;
  /**
   * Coefficient of variation of the batch sizes below which m and o are not
   * identifiable. Default 0.05: the probe cycle of the controller (±25%) gives
   * about 0.2, equal sizes give 0.
   */
  readonly minimumSizeVariation?: number;
  /**
   * o counts as identified only when the standard error of the fitted
   * intercept is at most this fraction of it. Default 0.25, the controller's
   * hysteresis: B* is proportional to o, so a looser o would move the batch
   * size on noise. Spread in sizes is not enough on its own: a window of
   * large batches (a drain at max) varies in size yet holds o far below the
   * noise of m·b.
   */
  readonly maximumRelativeOverheadError?: number;
  /**
   * Least time between two fits, seconds. Default 0: a fit per batch. A fit costs ~50–100 µs
   * (n ≤ 200), and at small batches the applier writes a thousand a second, so the engine asks
   * for 0.05 (binlog/apply/adaptive-sizer.ts): fitting every batch cost more engine CPU than the
   * events themselves (`npm run bench -- keepup` at 1,000 tps: 32 µs of the tuning loop per
   * event). m and o move over seconds, not milliseconds.
   */
  readonly refitSeconds?: number;
}

/** Fewer batches than this and there is no estimate: five points is the least for which a MAD means anything. */
export const MINIMUM_COST_SAMPLES = 5;

/** The robust fit as CostEstimator runs it by default (also what the benchmarks fit offline with). */
export const DEFAULT_COST_FIT: RobustLineFitOptions = {
  outlierThreshold: 3.5,
  minimumPoints: MINIMUM_COST_SAMPLES,
  maximumPasses: 3,
  minimumXVariation: 0.05,
};

interface BatchSample {
  readonly size: number;
  readonly seconds: number;
  readonly at: number;
}

/**
 * Estimates m and o online from the applier's measured batches: a robust least
 * squares fit of seconds on batch size over a recent window (see
 * robust-line-fit.ts for why that fit). The window is the last maxSamples
 * batches and the last windowSeconds, whichever is fewer, so that a change in
 * the target's costs is followed within a window.
 *
 * o is trusted only when the window can pin it down: the sizes must vary
 * (minimumSizeVariation) and the intercept must be precise
 * (maximumRelativeOverheadError). Otherwise o is held at its last trusted
 * value and m is fitted around it, and the estimate says identifiable: false.
 *
 * The estimate is recomputed on observation (O(n log n), n ≤ 200), at most
 * every refitSeconds, so that estimate() is a cheap read and the o held does
 * not depend on how often someone asks.
 */
export class CostEstimator {
  private readonly maxSamples: number;
  private readonly windowSeconds: number;
  private readonly outlierThreshold: number;
  private readonly minimumSizeVariation: number;
  private readonly maximumRelativeOverheadError: number;
  private readonly samples: BatchSample[] = [];
  private current: CostEstimate | undefined;
  private lastIdentifiedPerBatchSeconds: number | undefined;
  private readonly refitSeconds: number;
  private fittedAt = -Infinity;

  constructor(options: CostEstimatorOptions = {}) {
    this.maxSamples = Math.max(MINIMUM_COST_SAMPLES, options.maxSamples ?? 200);
    this.windowSeconds = options.windowSeconds ?? 120;
    this.outlierThreshold = options.outlierThreshold ?? DEFAULT_COST_FIT.outlierThreshold;
    this.minimumSizeVariation = options.minimumSizeVariation ?? DEFAULT_COST_FIT.minimumXVariation;
    this.maximumRelativeOverheadError = options.maximumRelativeOverheadError ?? 0.25;
    this.refitSeconds = options.refitSeconds ?? 0;
  }

  /**
   * Records one written batch. Empty batches and non-finite or negative
   * timings are ignored rather than thrown on: a bad measurement must not stop
   * a live migration, and it carries no information about m or o.
   */
  observe(batchSize: number, seconds: number, now: number): void {
    if (!(batchSize > 0) || !Number.isFinite(batchSize) || !(seconds >= 0) || !Number.isFinite(seconds)) return;
    this.samples.push({ size: batchSize, seconds, at: now });
    this.forgetOldSamples(now);
    // Until the first estimate every batch counts; after it, refit at most every refitSeconds.
    if (this.current !== undefined && now - this.fittedAt < this.refitSeconds) return;
    this.current = this.fit();
    if (this.current !== undefined) this.fittedAt = now;
  }

  /** The current estimate, or undefined before MINIMUM_COST_SAMPLES batches. */
  estimate(): CostEstimate | undefined {
    return this.current;
  }

  /** Batches currently in the window. */
  get sampleCount(): number {
    return this.samples.length;
  }

  private forgetOldSamples(now: number): void {
    const excess = this.samples.length - this.maxSamples;
    if (excess > 0) this.samples.splice(0, excess);
    // Age pruning stops at the minimum: after an idle spell an old estimate is
    // a better start than none, and new batches replace the old ones quickly.
    let stale = 0;
    while (this.samples.length - stale > MINIMUM_COST_SAMPLES && (this.samples[stale]?.at ?? now) < now - this.windowSeconds) {
      stale++;
    }
    if (stale > 0) this.samples.splice(0, stale);
  }

  private fit(): CostEstimate | undefined {
    if (this.samples.length < MINIMUM_COST_SAMPLES) return undefined;
    const sizes = this.samples.map((sample) => sample.size);
    if (coefficientOfVariation(sizes) < this.minimumSizeVariation) return this.guessFromOneSize();

    const points: FitPoint[] = this.samples.map((sample) => [sample.size, sample.seconds]);
    const fit = fitLineRobustly(points, {
      ...DEFAULT_COST_FIT,
      outlierThreshold: this.outlierThreshold,
      minimumXVariation: this.minimumSizeVariation,
    });
    if (!Number.isFinite(fit.slope) || !Number.isFinite(fit.intercept)) return this.guessFromOneSize();
    const outliers = this.samples.length - fit.inliers.length;

    const overheadPinned = fit.interceptStandardError <= this.maximumRelativeOverheadError * fit.intercept;
    if (!overheadPinned && this.lastIdentifiedPerBatchSeconds !== undefined) {
      // The sizes vary but o is lost in the noise of m·b (a run of large
      // batches): m is still well measured, so fit it with o held at its
      // last identified value rather than trust an extrapolated intercept.
      const perBatchSeconds = this.lastIdentifiedPerBatchSeconds;
      const perEventSeconds = slopeThroughIntercept(fit.inliers, perBatchSeconds);
      return this.describe(perEventSeconds, perBatchSeconds, fit.inliers, outliers, false);
    }
    const { perEventSeconds, perBatchSeconds } = clampToNonNegativeCosts(fit.slope, fit.intercept, fit.inliers);
    // Without an earlier o to hold, the clamped fit is the best guess there is; it is still flagged.
    if (!overheadPinned) return this.describe(perEventSeconds, perBatchSeconds, fit.inliers, outliers, false);
    this.lastIdentifiedPerBatchSeconds = perBatchSeconds;
    return this.describe(perEventSeconds, perBatchSeconds, fit.inliers, outliers, true);
  }

  private describe(
    perEventSeconds: number,
    perBatchSeconds: number,
    inliers: readonly FitPoint[],
    outliers: number,
    identifiable: boolean,
  ): CostEstimate {
    const fitQuality = rSquared(inliers, linearRegressionLine({ m: perEventSeconds, b: perBatchSeconds }));
    return {
      perEventSeconds,
      perBatchSeconds,
      // rSquared is 0/0 when every kept time is equal; the line then explains nothing more than the mean does.
      rSquared: Number.isFinite(fitQuality) ? fitQuality : 0,
      samples: this.samples.length,
      outliers,
      identifiable,
    };
  }

  /**
   * With one batch size, only T(b) at that b is known. Keep o from the last
   * fit that could tell m and o apart (it depends on the network and the
   * commit, which change slowly) and put the rest on m. Without a previous o,
   * all of T goes on m: T/b is then the real per-event cost at this size, so
   * m·R is the fraction of time the applier is actually busy and saturation is
   * still judged right. Medians, because outliers cannot be trimmed without a line.
   */
  private guessFromOneSize(): CostEstimate {
    const typicalSize = median(this.samples.map((sample) => sample.size));
    const typicalSeconds = median(this.samples.map((sample) => sample.seconds));
    const perBatchSeconds = Math.min(this.lastIdentifiedPerBatchSeconds ?? 0, typicalSeconds);
    return {
      perEventSeconds: (typicalSeconds - perBatchSeconds) / typicalSize,
      perBatchSeconds,
      rSquared: 0,
      samples: this.samples.length,
      outliers: 0,
      identifiable: false,
    };
  }
}

/** Least-squares slope with the intercept held at `intercept`: Σx(y − o) / Σx², never negative. */
function slopeThroughIntercept(points: readonly FitPoint[], intercept: number): number {
  let crossProducts = 0;
  let squares = 0;
  for (const [x, y] of points) {
    crossProducts += x * (y - intercept);
    squares += x * x;
  }
  return Math.max(0, crossProducts / squares);
}

/**
 * Costs cannot be negative, but noise can make a fitted slope or intercept
 * so. The answer is then the best fit under the constraint, not a clamp of the
 * unconstrained one: with m = 0 the best o is the mean time; with o = 0 the best
 * m is the least-squares slope through the origin.
 */
function clampToNonNegativeCosts(
  slope: number,
  intercept: number,
  points: readonly FitPoint[],
): { perEventSeconds: number; perBatchSeconds: number } {
  if (slope < 0) {
    const meanSeconds = points.reduce((sum, [, seconds]) => sum + seconds, 0) / points.length;
    return { perEventSeconds: 0, perBatchSeconds: Math.max(0, meanSeconds) };
  }
  if (intercept < 0) return { perEventSeconds: slopeThroughIntercept(points, 0), perBatchSeconds: 0 };
  return { perEventSeconds: slope, perBatchSeconds: intercept };
}
