import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArrivalRateEstimator } from '../../../src/tuning/index.js';

/** Records `perSecond` events per second from `from` to `to`, in steps of a millisecond. */
function steady(estimator: ArrivalRateEstimator, perSecond: number, from: number, to: number): void {
  for (let millisecond = Math.round(from * 1000) + 1; millisecond <= Math.round(to * 1000); millisecond++) {
    estimator.record(perSecond / 1000, millisecond / 1000);
  }
}

function assertClose(actual: number, expected: number, tolerance: number, message?: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * expected, `${message ?? ''} expected ${expected} ± ${tolerance * 100}%, got ${actual}`);
}

describe('ArrivalRateEstimator', () => {
  it('is zero before anything arrives', () => {
    const estimator = new ArrivalRateEstimator();
    assert.equal(estimator.rate(0), 0);
    estimator.record(0, 0);
    assert.equal(estimator.rate(5), 0);
  });

  it('reads a steady stream over the long window', () => {
    const estimator = new ArrivalRateEstimator();
    estimator.record(0, 0);
    steady(estimator, 1000, 0, 30);
    assertClose(estimator.rate(30), 1000, 0.01);
  });

  it('falls to zero once the window has passed without arrivals', () => {
    const estimator = new ArrivalRateEstimator();
    estimator.record(0, 0);
    steady(estimator, 1000, 0, 5);
    assert.ok(estimator.rate(14) > 0, 'still in the 10 s window');
    assert.equal(estimator.rate(15.1), 0);
  });

  it('divides by the time watched until the window is full', () => {
    const estimator = new ArrivalRateEstimator();
    estimator.record(0, 0);
    steady(estimator, 20_000, 0, 0.005);
    assertClose(estimator.rate(0.005), 20_000, 0.01, 'five milliseconds in');
    steady(estimator, 20_000, 0.005, 2);
    assertClose(estimator.rate(2), 20_000, 0.01, 'two seconds in');
  });

  it('catches a burst within a second, where the long window alone would not', () => {
    const estimator = new ArrivalRateEstimator();
    estimator.record(0, 0);
    steady(estimator, 100, 0, 20);
    steady(estimator, 5000, 20, 21);
    // The long window alone reads (9 s × 100 + 1 s × 5000) / 10 s = 590.
    assertClose(estimator.rate(21), 5000, 0.02, 'one second into the burst');
    steady(estimator, 5000, 21, 21.5);
    assertClose(estimator.rate(21.5), 5000, 0.02);
  });

  it('falls only as the burst leaves the long window', () => {
    const estimator = new ArrivalRateEstimator();
    estimator.record(0, 0);
    steady(estimator, 100, 0, 20);
    steady(estimator, 5000, 20, 21);
    steady(estimator, 100, 21, 25);
    // (6 s × 100 + 1 s × 5000 + 3 s × 100) / 10 s = 590, well above the short window's 100.
    assertClose(estimator.rate(25), 590, 0.02, 'four seconds after the burst');
    steady(estimator, 100, 25, 32);
    assertClose(estimator.rate(32), 100, 0.02, 'eleven seconds after the burst');
  });

  it('counts a whole window in one record as well as spread over many', () => {
    const estimator = new ArrivalRateEstimator();
    estimator.record(0, 0);
    estimator.record(10_000, 5);
    assertClose(estimator.rate(10), 1000, 0.001, 'the long window');
    // Inside the short window too, the same events read as 10 000 a second: the burst rule.
    assertClose(estimator.rate(5.5), 10_000, 0.001, 'the short window');
  });

  it('ignores negative and non-finite counts', () => {
    const estimator = new ArrivalRateEstimator();
    estimator.record(0, 0);
    estimator.record(-5, 1);
    estimator.record(NaN, 1);
    estimator.record(Infinity, 1);
    assert.equal(estimator.rate(2), 0);
  });
});
