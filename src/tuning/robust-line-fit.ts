import { coefficientOfVariation, linearRegression, median, weightedQuantile } from 'simple-statistics';

/** One observation: x = batch size, y = seconds. A mutable pair because simple-statistics takes number[][]. */
export type FitPoint = [x: number, y: number];

export interface RobustLineFitOptions {
  /** Points whose residual lies further than this many robust standard deviations from the median residual are dropped. */
  readonly outlierThreshold: number;
  /** A refit never uses fewer points than this; if trimming would go below it, the previous pass stands. */
  readonly minimumPoints: number;
  /** Trim-and-refit passes at most; each pass is O(n log n). */
  readonly maximumPasses: number;
  /**
   * A refit is refused if its points' x values have a coefficient of
   * variation below this: a slope fitted to (nearly) one x is noise.
   */
  readonly minimumXVariation: number;
}

export interface RobustLineFit {
  readonly slope: number;
  readonly intercept: number;
  /** The points the final fit used. */
  readonly inliers: readonly FitPoint[];
  /**
   * The standard error of the intercept, from the inliers' residuals:
   * s·√(1/n + x̄²/Sxx). Large when the points sit far from x = 0 relative to
   * their spread and noise, so that the intercept is an extrapolation.
   */
  readonly interceptStandardError: number;
}

interface Line {
  readonly m: number;
  readonly b: number;
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
 * A line through points with rare, huge outliers: start from a robust line,
 * drop every point whose residual is more than k robust standard deviations
 * (scaled MAD) from the median residual, refit the rest by least squares, and
 * repeat against the new line until the kept set stops changing.
 *
 * Why this: write times have one-sided, rare and huge outliers (a commit that
 * waited on a lock or an fsync stall takes 20× longer, never 20× shorter).
 * The MAD ignores them however large they are, and the final least-squares
 * refit on the clean points keeps the full efficiency of least squares.
 *
 * Why not start from least squares: its line can be wrecked before trimming
 * begins. Four 3-second commits among 200 writes of 0.2 s, with the sizes in
 * two clusters (a drain alternating 3750 and 5000 events), tilt it so far that
 * a whole cluster looks like the outliers, and the "robust" fit then keeps
 * the wrong points (seen in the simulation, test/unit/tuning). Hence the
 * robust start (see robustStartingLine). Theil–Sen would also do, but costs
 * O(n²) per fit, and the controller refits after every batch; IRLS needs a
 * starting line just the same. Measured on node 20 over 10 000 fits of 200
 * points: about 60 µs a fit (0.1 ms for a whole CostEstimator.observe),
 * against batch writes of a millisecond or more.
 */
export function fitLineRobustly(points: readonly FitPoint[], options: RobustLineFitOptions): RobustLineFit {
  let line = robustStartingLine(points) ?? linearRegression(points.slice());
  let inliers: FitPoint[] = points.slice();
  let fittedByLeastSquares = false;
  const scaleFloor = RELATIVE_SCALE_FLOOR * median(points.map(([, y]) => Math.abs(y))) + Number.MIN_VALUE;
  for (let pass = 0; pass < options.maximumPasses; pass++) {
    const kept = pointsNearLine(points, line, options.outlierThreshold, scaleFloor);
    if (fittedByLeastSquares && kept.length === inliers.length) break;
    if (kept.length < options.minimumPoints) break;
    if (!(coefficientOfVariation(kept.map(([x]) => x)) >= options.minimumXVariation)) break;
    const refit = linearRegression(kept);
    if (!Number.isFinite(refit.m) || !Number.isFinite(refit.b)) break;
    inliers = kept;
    line = refit;
    fittedByLeastSquares = true;
  }
  if (!fittedByLeastSquares) {
    // Trimming could not run (too few or too alike points): plain least squares on everything.
    inliers = points.slice();
    line = linearRegression(inliers);
  }
  return {
    slope: line.m,
    intercept: line.b,
    inliers,
    interceptStandardError: interceptStandardError(inliers, line),
  };
}

/**
 * The points whose residual from `line` is within `threshold` robust standard
 * deviations (scaled MAD, never below `scaleFloor`) of the median residual.
 */
function pointsNearLine(points: readonly FitPoint[], line: Line, threshold: number, scaleFloor: number): FitPoint[] {
  const residuals = points.map(([x, y]) => y - (line.m * x + line.b));
  const center = median(residuals);
  const deviations = residuals.map((residual) => Math.abs(residual - center));
  // The MAD, from the deviations already at hand (simple-statistics' medianAbsoluteDeviation would find the median again).
  const scale = MAD_TO_STANDARD_DEVIATION * median(deviations);
  const limit = threshold * Math.max(scale, scaleFloor);
  return points.filter((_, index) => (deviations[index] ?? Infinity) <= limit);
}

/**
 * A line that a minority of outliers cannot move: the slope is the median of
 * the slopes from each point to the coordinate-wise median point, weighted by
 * horizontal distance (a far point's slope is less disturbed by its noise, the
 * same weighting least squares gives it); the intercept is the median of
 * y − slope·x. O(n log n). Undefined when every x is the median x.
 */
function robustStartingLine(points: readonly FitPoint[]): Line | undefined {
  const centerX = median(points.map(([x]) => x));
  const centerY = median(points.map(([, y]) => y));
  const slopes: number[] = [];
  const weights: number[] = [];
  for (const [x, y] of points) {
    const run = x - centerX;
    if (run === 0) continue;
    slopes.push((y - centerY) / run);
    weights.push(Math.abs(run));
  }
  if (slopes.length === 0) return undefined;
  const slope = weightedQuantile(slopes, weights, 0.5);
  const intercept = median(points.map(([x, y]) => y - slope * x));
  return { m: slope, b: intercept };
}

function interceptStandardError(points: readonly FitPoint[], line: Line): number {
  const count = points.length;
  if (count < 3) return Infinity;
  let sumX = 0;
  for (const [x] of points) sumX += x;
  const meanX = sumX / count;
  let squaredResiduals = 0;
  let spreadOfX = 0;
  for (const [x, y] of points) {
    squaredResiduals += (y - (line.m * x + line.b)) ** 2;
    spreadOfX += (x - meanX) ** 2;
  }
  if (spreadOfX === 0) return Infinity;
  const residualStandardDeviation = Math.sqrt(squaredResiduals / (count - 2));
  return residualStandardDeviation * Math.sqrt(1 / count + (meanX * meanX) / spreadOfX);
}
