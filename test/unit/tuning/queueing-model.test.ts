import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { optimalBatchSize, predictedLagSeconds, utilisation } from '../../../src/tuning/index.js';

describe('queueing model', () => {
  it('computes B* = o·R / (1 − m·R) and the lag o / (1 − m·R)', () => {
    // m = 50 µs, o = 6 ms, R = 10 000/s: m·R = 0.5, B* = 0.006·10 000 / 0.5 = 120, lag = 12 ms.
    assert.equal(utilisation(50e-6, 10_000), 0.5);
    assert.ok(Math.abs(optimalBatchSize(50e-6, 6e-3, 10_000) - 120) < 1e-9);
    assert.ok(Math.abs(predictedLagSeconds(50e-6, 6e-3, 10_000) - 0.012) < 1e-12);
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
    assert.equal(predictedLagSeconds(50e-6, 6e-3, 0), 6e-3);
  });
});
