// The copy gate's pauses: each pause listens for the run's abort, and must stop listening when
// it ends, or a long throttled copy piles up listeners on one signal (Node warns at 11).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { ThrottlingCopyGate } from '../../../src/throttle/copy-gate.js';
import type { LagSource } from '../../../src/throttle/replica-lag.js';

const laggingReplica: LagSource = {
  read: async () => ({ seconds: 60, replica: 'replica' }),
  close: async () => undefined,
};

describe('copy gate pauses', () => {
  it('leaves no abort listener behind after many pauses', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      // A replica always over the allowed lag: every wait pauses (for at most 1 ms here).
      const gate = new ThrottlingCopyGate({ lagSource: laggingReplica, maxLagSeconds: 1, maxPauseSeconds: 0.001, targetSaturated: () => false });
      const run = new AbortController();
      for (let pause = 0; pause < 50; pause++) await gate.wait(run.signal);
      assert.equal(gate.reason, 'replica-lag', 'the gate did pause');
      assert.equal(getEventListeners(run.signal, 'abort').length, 0);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning'), []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('leaves no abort listener behind after pauses for an operator pause', async () => {
    let polls = 0;
    const gate = new ThrottlingCopyGate({ lagSource: undefined, maxLagSeconds: 1, maxPauseSeconds: 1, targetSaturated: () => ++polls <= 3 });
    const run = new AbortController();
    await gate.wait(run.signal);
    assert.ok(polls > 3, 'the gate waited for the saturated target');
    assert.equal(getEventListeners(run.signal, 'abort').length, 0);
  });

  it('ends a pause at once when the run is aborted', async () => {
    const gate = new ThrottlingCopyGate({ lagSource: laggingReplica, maxLagSeconds: 1, maxPauseSeconds: 60, targetSaturated: () => false });
    const run = new AbortController();
    await gate.wait(run.signal); // 0.1 s: the first pause
    const started = performance.now();
    const waiting = gate.wait(run.signal); // 0.2 s unless aborted
    setTimeout(() => run.abort(), 10);
    await waiting;
    assert.ok(performance.now() - started < 150, `the pause went on after the abort (${performance.now() - started} ms)`);
  });

  it('lets one copy batch at a time through while the binlog lag is between half its target and the target, at a quarter of its size', async () => {
    let lag = 0.7;
    const gate = new ThrottlingCopyGate({ lagSource: undefined, maxLagSeconds: 1, maxPauseSeconds: 1, targetSaturated: () => false, binlogLagSeconds: () => lag, binlogLagTargetSeconds: 1 });
    const run = new AbortController();
    await gate.wait(run.signal);
    assert.equal(gate.batchScale(), 0.25);
    let second = false;
    const waiting = gate.wait(run.signal).then(() => (second = true));
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(second, false, 'a second batch went through while one was in flight');
    assert.equal(gate.reason, 'binlog-lag');
    gate.batchDone();
    await waiting;
    assert.equal(second, true);
    // Over the target nothing goes, in flight or not, until the lag is under half the target.
    gate.batchDone();
    lag = 1.5;
    let third = false;
    const held = gate.wait(run.signal).then(() => (third = true));
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(third, false);
    lag = 0.4;
    await held;
    assert.equal(gate.batchScale(), 1);
    run.abort();
  });
});
