import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { linearRegression } from 'simple-statistics';
import { CostEstimator, fitLineRobustly, type FitPoint } from '../../../src/tuning/index.js';
import { seededRandom } from './seeded-random.js';
import { SimulatedTarget } from './simulated-target.js';

function relativeError(estimate: number, truth: number): number {
  return Math.abs(estimate - truth) / truth;
}

/** Feeds `count` batches with sizes uniform in [smallest, largest], one per `interval` seconds from `start`. */
function feed(
  estimator: CostEstimator,
  target: SimulatedTarget,
  random: () => number,
  options: { count: number; smallest: number; largest: number; start?: number; interval?: number },
): number {
  const interval = options.interval ?? 0.01;
  let now = options.start ?? 0;
  for (let index = 0; index < options.count; index++) {
    const size = options.smallest + Math.floor(random() * (options.largest - options.smallest + 1));
    now += interval;
    estimator.observe(size, target.writeSeconds(size), now);
  }
  return now;
}

describe('CostEstimator', () => {
  it('with refitSeconds, refits at most that often (the engine fits every 50 ms, not every batch)', () => {
    const estimator = new CostEstimator({ refitSeconds: 0.05 });
    const cheap = new SimulatedTarget({ perEventSeconds: 20e-6, perBatchSeconds: 0.001, random: seededRandom(3), noise: 0 });
    const now = feed(estimator, cheap, seededRandom(4), { count: 40, smallest: 5, largest: 200, interval: 0.01 });
    const before = estimator.estimate()!;
    assert.ok(relativeError(before.perEventSeconds, 20e-6) < 0.01);
    // Ten times dearer batches, all within 50 ms of the last fit: not seen yet…
    const dear = new SimulatedTarget({ perEventSeconds: 200e-6, perBatchSeconds: 0.001, random: seededRandom(5), noise: 0 });
    const later = feed(estimator, dear, seededRandom(6), { count: 4, smallest: 5, largest: 200, start: now, interval: 0.001 });
    assert.equal(estimator.estimate(), before);
    // …and fitted, all of them, at the first batch after it.
    estimator.observe(100, dear.writeSeconds(100), later + 0.06);
    assert.notEqual(estimator.estimate(), before);
    assert.equal(estimator.estimate()!.samples, 40 + 4 + 1);
  });

  it('has no estimate before five batches', () => {
    const estimator = new CostEstimator();
    for (let index = 0; index < 4; index++) estimator.observe(100 + index * 10, 0.002, index);
    assert.equal(estimator.estimate(), undefined);
    estimator.observe(200, 0.003, 5);
    assert.notEqual(estimator.estimate(), undefined);
  });

  for (const { perEventSeconds, perBatchSeconds, smallest, largest } of [
    { perEventSeconds: 20e-6, perBatchSeconds: 1e-3, smallest: 20, largest: 120 },
    { perEventSeconds: 50e-6, perBatchSeconds: 6e-3, smallest: 60, largest: 240 },
    { perEventSeconds: 5e-6, perBatchSeconds: 0.5e-3, smallest: 50, largest: 200 },
  ]) {
    it(`recovers m = ${perEventSeconds * 1e6} µs and o = ${perBatchSeconds * 1e3} ms within 10% through ±5% noise and 2% slow commits`, () => {
      for (const seed of [1, 2, 3]) {
        const random = seededRandom(seed);
        const target = new SimulatedTarget({ perEventSeconds, perBatchSeconds, outlierProbability: 0.02, random });
        const estimator = new CostEstimator();
        feed(estimator, target, random, { count: 400, smallest, largest });
        const estimate = estimator.estimate();
        assert.ok(estimate, 'an estimate after 400 batches');
        assert.ok(relativeError(estimate.perEventSeconds, perEventSeconds) < 0.1, `seed ${seed}: m = ${estimate.perEventSeconds}`);
        assert.ok(relativeError(estimate.perBatchSeconds, perBatchSeconds) < 0.1, `seed ${seed}: o = ${estimate.perBatchSeconds}`);
        assert.equal(estimate.identifiable, true);
        assert.equal(estimate.samples, 200, 'the window holds the last 200 batches');
        assert.ok(estimate.outliers >= 1, 'the slow commits were dropped');
        assert.ok(estimate.rSquared > 0.8, `r² = ${estimate.rSquared}`);
      }
    });
  }

  it('is not swung by one slow commit, where plain least squares is', () => {
    const random = seededRandom(7);
    const target = new SimulatedTarget({ perEventSeconds: 20e-6, perBatchSeconds: 1e-3, random });
    const points: FitPoint[] = [];
    for (let index = 0; index < 50; index++) {
      const size = 20 + Math.floor(random() * 101);
      points.push([size, target.writeSeconds(size)]);
    }
    // One commit that waited on a lock: 20× its normal time, at the largest size, where it pulls hardest.
    points.push([120, 20 * (20e-6 * 120 + 1e-3)]);

    const plain = linearRegression(points);
    assert.ok(relativeError(plain.m, 20e-6) > 0.5, `least squares is pulled: m = ${plain.m}`);

    const estimator = new CostEstimator();
    points.forEach(([size, seconds], index) => estimator.observe(size, seconds, index * 0.01));
    const estimate = estimator.estimate();
    assert.ok(estimate);
    assert.ok(relativeError(estimate.perEventSeconds, 20e-6) < 0.1, `m = ${estimate.perEventSeconds}`);
    assert.ok(relativeError(estimate.perBatchSeconds, 1e-3) < 0.1, `o = ${estimate.perBatchSeconds}`);
    assert.equal(estimate.outliers, 1);
  });

  it('fits noise-free data exactly and keeps every point', () => {
    const points: FitPoint[] = [10, 20, 30, 40, 50, 60].map((size) => [size, 30e-6 * size + 2e-3]);
    const fit = fitLineRobustly(points, { outlierThreshold: 3.5, minimumPoints: 5, maximumPasses: 3, minimumXVariation: 0.05 });
    assert.ok(Math.abs(fit.slope - 30e-6) < 1e-12);
    assert.ok(Math.abs(fit.intercept - 2e-3) < 1e-12);
    assert.equal(fit.inliers.length, 6);
  });

  it('follows a step change in m within one window (last 200 batches)', () => {
    const random = seededRandom(11);
    const target = new SimulatedTarget({ perEventSeconds: 20e-6, perBatchSeconds: 1e-3, outlierProbability: 0.02, random });
    const estimator = new CostEstimator();
    let now = feed(estimator, target, random, { count: 300, smallest: 20, largest: 120 });
    assert.ok(relativeError(estimator.estimate()?.perEventSeconds ?? NaN, 20e-6) < 0.1);

    target.perEventSeconds = 40e-6;
    now = feed(estimator, target, random, { count: 50, smallest: 20, largest: 120, start: now });
    assert.ok(
      relativeError(estimator.estimate()?.perEventSeconds ?? NaN, 40e-6) > 0.2,
      'a quarter of a window after the step, the old cost still dominates',
    );
    feed(estimator, target, random, { count: 200, smallest: 20, largest: 120, start: now });
    const estimate = estimator.estimate();
    assert.ok(estimate);
    assert.ok(relativeError(estimate.perEventSeconds, 40e-6) < 0.1, `m = ${estimate.perEventSeconds}`);
    assert.ok(relativeError(estimate.perBatchSeconds, 1e-3) < 0.1, `o = ${estimate.perBatchSeconds}`);
  });

  it('forgets batches older than the time window', () => {
    const random = seededRandom(12);
    const target = new SimulatedTarget({ perEventSeconds: 20e-6, perBatchSeconds: 1e-3, random });
    const estimator = new CostEstimator({ maxSamples: 10_000, windowSeconds: 120 });
    // One batch a second: 300 s at m = 20 µs, then 130 s at 40 µs.
    let now = feed(estimator, target, random, { count: 300, smallest: 20, largest: 120, interval: 1 });
    target.perEventSeconds = 40e-6;
    now = feed(estimator, target, random, { count: 130, smallest: 20, largest: 120, interval: 1, start: now });
    const estimate = estimator.estimate();
    assert.ok(estimate);
    assert.ok(estimate.samples <= 121, `only the last 120 s are kept, got ${estimate.samples}`);
    assert.ok(relativeError(estimate.perEventSeconds, 40e-6) < 0.1, `m = ${estimate.perEventSeconds}`);
  });

  it('keeps the last few batches through an idle spell rather than have no estimate', () => {
    const estimator = new CostEstimator({ windowSeconds: 120 });
    [50, 60, 70, 80, 90, 100].forEach((size, index) => estimator.observe(size, 20e-6 * size + 1e-3, index));
    estimator.observe(75, 20e-6 * 75 + 1e-3, 1000);
    const estimate = estimator.estimate();
    assert.ok(estimate);
    assert.equal(estimate.samples, 5);
  });

  it('is not identifiable when every batch has the same size, and keeps o from the last identifiable fit', () => {
    const random = seededRandom(13);
    const target = new SimulatedTarget({ perEventSeconds: 50e-6, perBatchSeconds: 6e-3, random });
    const estimator = new CostEstimator();
    let now = feed(estimator, target, random, { count: 200, smallest: 60, largest: 240 });
    const identified = estimator.estimate();
    assert.ok(identified?.identifiable);

    for (let index = 0; index < 200; index++) estimator.observe(150, target.writeSeconds(150), (now += 0.01));
    const guess = estimator.estimate();
    assert.ok(guess);
    assert.equal(guess.identifiable, false);
    // The last identifiable window was one of the mixed ones on the way, so o is close to, not equal to, the first fit's.
    assert.ok(relativeError(guess.perBatchSeconds, 6e-3) < 0.1, `o is held: ${guess.perBatchSeconds}`);
    assert.ok(relativeError(guess.perEventSeconds, 50e-6) < 0.1, `the rest of T goes on m: ${guess.perEventSeconds}`);

    for (let index = 0; index < 100; index++) estimator.observe(150, target.writeSeconds(150), (now += 0.01));
    assert.equal(estimator.estimate()?.perBatchSeconds, guess.perBatchSeconds, 'o stays held while the sizes stay equal');
  });

  it('with one size and no earlier fit, puts all of T on m', () => {
    const estimator = new CostEstimator();
    for (let index = 0; index < 20; index++) estimator.observe(100, 0.011, index);
    const guess = estimator.estimate();
    assert.ok(guess);
    assert.equal(guess.identifiable, false);
    assert.equal(guess.perBatchSeconds, 0);
    assert.ok(Math.abs(guess.perEventSeconds - 0.011 / 100) < 1e-15);
  });

  it('does not trust o when large batches bury it in the noise of m·b', () => {
    const random = seededRandom(14);
    const target = new SimulatedTarget({ perEventSeconds: 40e-6, perBatchSeconds: 1e-3, random });
    const estimator = new CostEstimator();
    let now = feed(estimator, target, random, { count: 200, smallest: 20, largest: 120 });
    const identified = estimator.estimate();
    assert.ok(identified?.identifiable);
    // A drain at the maximum: sizes 3750–5000 take about 0.2 s ± 10 ms, against o = 1 ms.
    now = feed(estimator, target, random, { count: 200, smallest: 3750, largest: 5000, start: now });
    const estimate = estimator.estimate();
    assert.ok(estimate);
    assert.equal(estimate.identifiable, false);
    assert.ok(relativeError(estimate.perBatchSeconds, 1e-3) < 0.1, `o is held from the small batches: ${estimate.perBatchSeconds}`);
    assert.ok(relativeError(estimate.perEventSeconds, 40e-6) < 0.05, `m is still measured: ${estimate.perEventSeconds}`);
    // Left to itself, the fit's intercept on these batches is far off: that is what identifiable guards against.
    const fit = fitLineRobustly(
      Array.from({ length: 200 }, (): FitPoint => {
        const size = 3750 + Math.floor(random() * 1251);
        return [size, target.writeSeconds(size)];
      }),
      { outlierThreshold: 3.5, minimumPoints: 5, maximumPasses: 3, minimumXVariation: 0.05 },
    );
    assert.ok(fit.interceptStandardError > 1e-3, `the intercept's standard error exceeds o itself: ${fit.interceptStandardError}`);
  });

  it('never reports a negative cost', () => {
    const falling = new CostEstimator();
    [10, 20, 30, 40, 50, 60].forEach((size, index) => falling.observe(size, 0.01 - size * 1e-5, index));
    const flat = falling.estimate();
    assert.ok(flat);
    assert.equal(flat.perEventSeconds, 0);
    assert.ok(Math.abs(flat.perBatchSeconds - (0.01 - 35 * 1e-5)) < 1e-12, 'o is the mean time when m is held at 0');

    const throughZero = new CostEstimator();
    [100, 200, 300, 400, 500, 600].forEach((size, index) => throughZero.observe(size, Math.max(0, 1e-5 * size - 5e-4), index));
    const proportional = throughZero.estimate();
    assert.ok(proportional);
    assert.equal(proportional.perBatchSeconds, 0);
    assert.ok(proportional.perEventSeconds > 0);
  });

  it('ignores empty batches and impossible timings', () => {
    const estimator = new CostEstimator();
    estimator.observe(0, 0.001, 0);
    estimator.observe(100, NaN, 0);
    estimator.observe(100, -1, 0);
    estimator.observe(Infinity, 0.001, 0);
    assert.equal(estimator.sampleCount, 0);
  });
});
