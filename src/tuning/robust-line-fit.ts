import { linearRegression, median, medianAbsoluteDeviation } from 'simple-statistics';

/** One observation: x = batch size, y = seconds. A mutable pair because simple-statistics takes number[][]. */
export type FitPoint = [x: number, y: number];

export interface RobustLineFitOptions {
  /** Points whose residual lies further than this many robust standard deviations from the median residual are dropped. */
  readonly outlierThreshold: number;
  /** A refit never uses fewer points than this; if trimming would go below it, the previous pass stands. */
  readonly minimumPoints: number;
  /** Trim-and-refit passes at most; each pass is O(n log n). */
  readonly maximumPasses: number;
}

export interface RobustLineFit {
  readonly slope: number;
  readonly intercept: number;
  /** The points the final fit used. */
  readonly inliers: readonly FitPoint[];
}

// For normally distributed residuals MAD = 0.6745·σ; scaling by 1/0.6745 lets
// the threshold be read in standard deviations (3.5 is Iglewicz and Hoaglin's
// usual cut-off for the modified z-score).
const MAD_TO_STANDARD_DEVIATION = 1.4826;

// Noise-free data has a MAD of 0; without a floor, floating-point rounding in a
// residual would make a perfectly good point an "outlier". A millionth of the
// typical y is far below any real measurement noise.
const RELATIVE_SCALE_FLOOR = 1e-6;

/**
 * Least squares, then drop points whose residual is more than k robust
 * standard deviations (scaled MAD) from the median residual, then refit, until
 * nothing more is dropped.
 *
 * Why this and not Theil–Sen or IRLS: write times have one-sided, rare and huge
 * outliers (a commit waiting on a lock or an fsync stall takes 20× longer, never
 * 20× shorter). The MAD ignores them however large they are (50% breakdown),
 * so one pass finds them even though the first least-squares line was pulled
 * towards them, and the refit on the clean points keeps the full efficiency of
 * least squares. Theil–Sen is O(n²) per fit, which matters when the controller
 * refits after every batch; IRLS needs weighted regression, which simple-statistics
 * does not offer, and converges to much the same line here.
 */
export function fitLineRobustly(points: readonly FitPoint[], options: RobustLineFitOptions): RobustLineFit {
  let inliers = points.slice();
  let line = linearRegression(inliers);
  for (let pass = 0; pass < options.maximumPasses; pass++) {
    const residuals = inliers.map(([x, y]) => y - (line.m * x + line.b));
    const center = median(residuals);
    const scale = MAD_TO_STANDARD_DEVIATION * medianAbsoluteDeviation(residuals);
    const floor = RELATIVE_SCALE_FLOOR * median(inliers.map(([, y]) => Math.abs(y))) + Number.MIN_VALUE;
    const limit = options.outlierThreshold * Math.max(scale, floor);
    const kept = inliers.filter((_, index) => Math.abs((residuals[index] ?? 0) - center) <= limit);
    if (kept.length === inliers.length || kept.length < options.minimumPoints) break;
    const refit = linearRegression(kept);
    // Trimming can leave points that all share one x; then the slope is 0/0 and the previous line is the better answer.
    if (!Number.isFinite(refit.m) || !Number.isFinite(refit.b)) break;
    inliers = kept;
    line = refit;
  }
  return { slope: line.m, intercept: line.b, inliers };
}
