// lhm's throttle as a state machine (throttle/backoff.ts): the pause doubles from 0.1 s while the
// lag is over the allowed, up to the maximum, and halves back down to its floor when it is not.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LagBackoff, LHM_MAX_PAUSE_SECONDS } from '../../../src/throttle/backoff.js';

const LHM_SEQUENCE = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4];

describe('LagBackoff (lhm)', () => {
  it('doubles 0.1 → 0.2 → 0.4 … up to lhm\'s 102.4 s while the lag is too much, and stays there', () => {
    const backoff = new LagBackoff(() => ({ maxLagSeconds: 1, maxPauseSeconds: LHM_MAX_PAUSE_SECONDS }), 'lhm');
    assert.equal(backoff.pauseSeconds, 0.1, 'lhm starts at its floor');
    // From lhm's 0.1 s the first step over the lag is 0.2 s (lhm: @timeout_seconds * 2).
    assert.deepEqual(Array.from({ length: 11 }, () => backoff.update(2)), [...LHM_SEQUENCE.slice(1), 102.4]);
  });

  it('with the default floor 0: 0 → 0.1 → 0.2 …, capped at the maximum; halves back to 0 once the lag is fine', () => {
    const backoff = new LagBackoff(() => ({ maxLagSeconds: 1, maxPauseSeconds: LHM_MAX_PAUSE_SECONDS }));
    assert.equal(backoff.pauseSeconds, 0, 'a healthy run is not slowed');
    assert.equal(backoff.update(0.5), 0);
    assert.deepEqual(Array.from({ length: 12 }, () => backoff.update(1.5)), [...LHM_SEQUENCE, 102.4]);
    assert.deepEqual(Array.from({ length: 11 }, () => backoff.update(1)), [...LHM_SEQUENCE.slice(0, -1).reverse(), 0], 'at the allowed lag it halves');
    assert.equal(backoff.update(0), 0);
  });

  it('with floor lhm halves back down to 0.1 s, never under', () => {
    const backoff = new LagBackoff(() => ({ maxLagSeconds: 1, maxPauseSeconds: 5 }), 'lhm');
    assert.deepEqual([2, 2, 2, 0, 0, 0, 0].map((lag) => backoff.update(lag)), [0.2, 0.4, 0.8, 0.4, 0.2, 0.1, 0.1]);
    assert.equal(backoff.backingOff, false, 'at its floor it is not backing off');
  });

  it('caps at a maximum that is not a power of two of 0.1 and comes down from it', () => {
    const backoff = new LagBackoff(() => ({ maxLagSeconds: 1, maxPauseSeconds: 5 }));
    assert.deepEqual([2, 2, 2, 2, 2, 2, 2, 2].map((lag) => backoff.update(lag)), [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5]);
    assert.deepEqual([0, 0, 0, 0, 0, 0, 0].map((lag) => backoff.update(lag)), [2.5, 1.25, 0.625, 0.3125, 0.15625, 0, 0]);
  });

  it('counts an unknown lag (NaN, Infinity) as too much: it never speeds up for it', () => {
    const backoff = new LagBackoff(() => ({ maxLagSeconds: 1, maxPauseSeconds: 5 }));
    assert.deepEqual([NaN, Infinity, NaN].map((lag) => backoff.update(lag)), [0.1, 0.2, 0.4]);
  });

  it('reads its bounds at each step (a live change of throttle.maxLagSeconds or maxPauseSeconds counts at once)', () => {
    const bounds = { maxLagSeconds: 1, maxPauseSeconds: 5 };
    const backoff = new LagBackoff(() => bounds);
    assert.deepEqual([2, 2, 2, 2].map((lag) => backoff.update(lag)), [0.1, 0.2, 0.4, 0.8]);
    bounds.maxPauseSeconds = 0.3;
    assert.equal(backoff.pauseSeconds, 0.3, 'a lowered maximum caps the pause now');
    bounds.maxLagSeconds = 3;
    assert.equal(backoff.update(2), 0.3, 'under the raised allowed lag it halves (from the capped pause)');
    assert.equal(backoff.update(2), 0.15);
  });
});
