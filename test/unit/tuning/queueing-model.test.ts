import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { optimalBatchSize, predictedLagSeconds, utilisation } from '../../../src/tuning/index.js';
import { cycleSeconds } from '../../../src/tuning/queueing-model.js';

describe('queueing model', () => {
  it('computes B* = o·R / (1 − m·R), the cycle o / (1 − m·R) and the mean lag 1.5 × the cycle', () => {
    // m = 50 µs, o = 6 ms, R = 10 000/s: m·R = 0.5, B* = 0.006·10 000 / 0.5 = 120, cycle 12 ms, lag 18 ms.
    assert.equal(utilisation(50e-6, 10_000), 0.5);
    assert.ok(Math.abs(optimalBatchSize(50e-6, 6e-3, 10_000) - 120) < 1e-9);
    assert.ok(Math.abs(cycleSeconds(50e-6, 6e-3, 10_000) - 0.012) < 1e-12);
    assert.ok(Math.abs(predictedLagSeconds(50e-6, 6e-3, 10_000) - 0.018) < 1e-12);
  });

  it('with a minimum interval longer than the cycle, a batch holds an interval of arrivals', () => {
    // m = 20 µs, o = 0.5 ms, R = 4 000/s: cycle 0.543 ms without; with 10 ms, B = 40 and the lag
    // is 5 ms (half an interval) + the write of 40 events (0.8 + 0.5 ms).
    assert.ok(Math.abs(cycleSeconds(20e-6, 5e-4, 4_000, 0.01) - 0.01) < 1e-12);
    assert.ok(Math.abs(optimalBatchSize(20e-6, 5e-4, 4_000, 0.01) - 40) < 1e-9);
    assert.ok(Math.abs(predictedLagSeconds(20e-6, 5e-4, 4_000, 0.01) - 0.0063) < 1e-12);
    // Shorter than the cycle, the interval changes nothing.
    assert.equal(optimalBatchSize(50e-6, 6e-3, 10_000, 0.001), optimalBatchSize(50e-6, 6e-3, 10_000));
  });

  it('B* holds what arrives while it is written: B* = R·(m·B* + o)', () => {
    const [m, o, rate] = [20e-6, 1e-3, 20_000];
    const batch = optimalBatchSize(m, o, rate);
    assert.ok(Math.abs(batch - rate * (m * batch + o)) < 1e-9);
  });

  it('is infinite at and above m·R = 1, and zero when idle', () => {
    assert.equal(optimalBatchSize(50e-6, 6e-3, 20_000), Infinity);
    assert.equal(predictedLagSeconds(50e-6, 6e-3, 25_000), Infinity);
    assert.equal(optimalBatchSize(50e-6, 6e-3, 0), 0);
    assert.ok(Math.abs(predictedLagSeconds(50e-6, 6e-3, 0) - 0.009) < 1e-12);
  });
});
