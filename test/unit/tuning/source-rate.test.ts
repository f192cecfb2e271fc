import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SourceRate } from '../../../src/tuning/source-rate.js';

describe('SourceRate', () => {
  it('measures the source rate from stamps even when events are received slowly (backpressure)', () => {
    const meter = new SourceRate();
    // The source wrote 5000 events/s for 30 s; the applier receives them at a third of that pace.
    let now = 0;
    for (let second = 100; second < 130; second++) {
      for (let part = 0; part < 10; part++) {
        now += 0.3; // 3 s of wall time per source second
        meter.record(second, 500, now);
      }
    }
    assert.ok(Math.abs(meter.rate(now, false) - 5000) < 1, `rate ${meter.rate(now, false)}`);
  });

  it('counts complete seconds only, and decays to zero on an idle source', () => {
    const meter = new SourceRate({ windowSeconds: 5 });
    meter.record(0, 3, 0.9); // joined part-way through second 0: not counted
    for (let second = 1; second < 10; second++) meter.record(second, 100, second + 0.5);
    meter.record(10, 7, 10.1); // a partial second is not counted yet
    assert.equal(meter.rate(10.1, true), 100);
    assert.equal(meter.rate(30, true), 0, 'idle for 20 s');
    assert.equal(meter.rate(30, false), 100, 'while behind, the source clock stands at the newest stamp');
  });

  it('is zero before any event', () => {
    assert.equal(new SourceRate().rate(5, true), 0);
  });
});
