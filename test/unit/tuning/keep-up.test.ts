// Saturation from what happens (tuning/keep-up.ts): the applier's busy fraction, the lag's
// trend and the engine's CPU, beside the model's m·R; and the cause named.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeepUpMonitor, lagNote, type KeepUpSample } from '../../../src/tuning/keep-up.js';

/** Ten seconds of samples, one per second, with per-second rates for each figure. */
function feed(monitor: KeepUpMonitor, rates: { busy: number; build?: number; cpu: number; wait?: number; lag: (second: number) => number }, from = 0): void {
  for (let second = 0; second <= 10; second++) {
    const at = from + second;
    const sample: KeepUpSample = {
      at,
      lagSeconds: rates.lag(at),
      busySeconds: rates.busy * at,
      buildSeconds: (rates.build ?? 0.1) * rates.busy * at,
      cpuSeconds: rates.cpu * at,
      cpuWaitSeconds: rates.wait === undefined ? undefined : rates.wait * at,
      // 100 events a second, each with the lag of its second.
      eventLagSumSeconds: Array.from({ length: Math.floor(at) }, (_, index) => 100 * rates.lag(index + 1)).reduce((sum, value) => sum + value, 0),
      eventCount: 100 * Math.floor(at),
    };
    monitor.record(sample);
  }
}

describe('KeepUpMonitor', () => {
  it('keeps up: a lightly busy applier, a flat lag, an engine with CPU to spare', () => {
    const monitor = new KeepUpMonitor();
    feed(monitor, { busy: 0.3, cpu: 0.2, wait: 0.05, lag: () => 0.02 });
    const state = monitor.state(false, 0.1);
    assert.equal(state.saturated, false);
    assert.ok(Math.abs(state.busyFraction - 0.3) < 1e-9);
    assert.ok(Math.abs(state.engineCpu - 0.2) < 1e-9);
    assert.ok(Math.abs(state.lagTrend) < 1e-9);
    assert.equal(state.cause, undefined);
  });

  it('is saturated by a busy applier with a lag over a second whatever m·R says, and names the target when the engine has CPU to spare', () => {
    const keepingUp = new KeepUpMonitor();
    feed(keepingUp, { busy: 0.95, cpu: 0.3, wait: 0.05, lag: () => 0.3 });
    assert.equal(keepingUp.state(false, 0.01).saturated, false, 'busy, but a greedy applier keeps up busy: its batches grow');
    const monitor = new KeepUpMonitor();
    feed(monitor, { busy: 0.95, cpu: 0.3, wait: 0.05, lag: () => 1.3 });
    const state = monitor.state(false, 0.01);
    assert.equal(state.saturated, true);
    assert.equal(state.cause, 'target');
    assert.match(state.explanation!, /the target is the limit: writing the binlog takes 95% of the applier's time \(m·R 0\.01\)/);
  });

  it('names the engine when it uses a whole core, or waits for one, or its building fills the applier', () => {
    const cpuBound = new KeepUpMonitor();
    feed(cpuBound, { busy: 0.95, cpu: 0.97, lag: () => 1.3 });
    assert.equal(cpuBound.state(false, 0.2).cause, 'engine');
    assert.match(cpuBound.state(false, 0.2).explanation!, /the engine itself is the limit: it uses 97% of a core/);
    const starved = new KeepUpMonitor();
    feed(starved, { busy: 0.95, cpu: 0.3, wait: 0.6, lag: () => 1.3 });
    assert.equal(starved.state(false, 0.2).cause, 'engine');
    assert.match(starved.state(false, 0.2).explanation!, /waits for a CPU 60% of the time/);
    const building = new KeepUpMonitor();
    feed(building, { busy: 0.95, build: 0.7, cpu: 0.5, lag: () => 1.3 });
    assert.equal(building.state(false, 0.2).cause, 'engine');
  });

  it('is saturated by a lag that grows over the window, and not by one that is only high', () => {
    const growing = new KeepUpMonitor();
    feed(growing, { busy: 0.7, cpu: 0.3, lag: (second) => 1 + 0.3 * second });
    const state = growing.state(false, 0.3);
    assert.equal(state.saturated, true);
    assert.ok(Math.abs(state.lagTrend - 0.3) < 1e-9);
    assert.match(state.explanation!, /the lag grows by 0\.30 s every second/);
    const flat = new KeepUpMonitor();
    feed(flat, { busy: 0.7, cpu: 0.3, lag: () => 3 });
    assert.equal(flat.state(false, 0.3).saturated, false);
    // Growing, but still under a second: the lag of a burst draining, not saturation.
    const small = new KeepUpMonitor();
    feed(small, { busy: 0.7, cpu: 0.3, lag: (second) => 0.01 * second });
    assert.equal(small.state(false, 0.3).saturated, false);
  });

  it('holds a busy saturation until the busy fraction falls clearly under the bound', () => {
    const monitor = new KeepUpMonitor();
    feed(monitor, { busy: 0.92, cpu: 0.3, lag: () => 1.5 });
    assert.equal(monitor.state(false, 0.5).saturated, true);
    feed(monitor, { busy: 0.85, cpu: 0.3, lag: () => 0.9 }, 20);
    assert.equal(monitor.state(false, 0.5).saturated, true, '0.85 is within 0.1 of the bound, and the lag not yet under half a second');
    feed(monitor, { busy: 0.7, cpu: 0.3, lag: () => 0.9 }, 40);
    assert.equal(monitor.state(false, 0.5).saturated, false);
  });

  it('follows the model when it says m·R is over the bound, even before a window of samples', () => {
    const monitor = new KeepUpMonitor();
    const early = monitor.state(true, 0.95);
    assert.equal(early.saturated, true);
    assert.equal(early.cause, 'target');
  });

  it('explains a measured lag well over the prediction by what was measured, and says nothing when they agree', () => {
    const starved = new KeepUpMonitor();
    feed(starved, { busy: 0.4, cpu: 0.3, wait: 0.5, lag: () => 0.2 });
    const model = { predictedLagSeconds: 0.01, utilisation: 0.2, perBatchSeconds: 0.0005, cycleSeconds: 0.01 };
    const note = lagNote(starved.state(false, 0.2), model);
    assert.match(note!, /the measured lag \(mean 200 ms\) is 20\.0× the model's 10\.0 ms: the engine waited for a CPU 50% of the time; the applier was busy 40% of the time where the model expects 25%/);
    const agreeing = new KeepUpMonitor();
    feed(agreeing, { busy: 0.25, cpu: 0.3, wait: 0.02, lag: () => 0.015 });
    assert.equal(lagNote(agreeing.state(false, 0.2), model), undefined);
  });
});
