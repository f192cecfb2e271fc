import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchSizeController, type BatchSizeControllerOptions } from '../../../src/tuning/index.js';

// Exact costs, so that m·R is known to many digits: m = 50 µs, o = 5 ms.
const PER_EVENT_SECONDS = 50e-6;
const PER_BATCH_SECONDS = 5e-3;

function writeSeconds(size: number): number {
  return PER_EVENT_SECONDS * size + PER_BATCH_SECONDS;
}

/** Reports `perSecond` arrivals a second, in 10 ms steps, over (from, to]. */
function arrive(controller: BatchSizeController, perSecond: number, from: number, to: number): void {
  for (let step = Math.round(from * 100) + 1; step <= Math.round(to * 100); step++) {
    controller.recordArrivals(perSecond / 100, step / 100);
  }
}

/** Reports `count` exactly-costed batches of varied sizes at `now` (after the arrivals, as on a live clock). */
function writeBatches(controller: BatchSizeController, count: number, now: number): void {
  for (let index = 0; index < count; index++) {
    const size = 80 + 20 * (index % 4);
    controller.recordBatch(size, writeSeconds(size), now);
  }
}

/** A controller that has watched `perSecond` arrivals for 20 s and 40 batches; returns it at t = 20. */
function warmedUp(perSecond: number, options: Partial<BatchSizeControllerOptions> = {}): BatchSizeController {
  // headroom 0.25 keeps the sizes below easy to check by hand; the default (1) has its own test.
  const controller = new BatchSizeController({ min: 1, max: 10_000, initial: 50, headroom: 0.25, ...options });
  controller.recordArrivals(0, 0);
  arrive(controller, perSecond, 0, 20);
  writeBatches(controller, 40, 20);
  return controller;
}

describe('BatchSizeController', () => {
  it('uses the initial size until it has an estimate, and clamps it', () => {
    const controller = new BatchSizeController({ min: 10, max: 1000, initial: 200, probeSpread: 0 });
    assert.equal(controller.nextBatchSize(0), 200);
    const snapshot = controller.snapshot(0);
    assert.equal(snapshot.hasEstimate, false);
    assert.ok(Number.isNaN(snapshot.perEventSeconds));
    assert.equal(snapshot.saturated, false);
    assert.equal(new BatchSizeController({ min: 10, max: 1000, initial: 5000 }).nextBatchSize(0), 1000);
    assert.equal(new BatchSizeController({ min: 10, max: 1000, initial: 1 }).nextBatchSize(0), 10);
  });

  it('refuses bounds that cannot hold a batch', () => {
    assert.throws(() => new BatchSizeController({ min: 0, max: 10, initial: 5 }), RangeError);
    assert.throws(() => new BatchSizeController({ min: 10, max: 5, initial: 5 }), RangeError);
    assert.throws(() => new BatchSizeController({ min: 1, max: 10, initial: NaN }), RangeError);
  });

  it('sets the base size to B*·(1 + headroom) from the estimates', () => {
    // R = 10 000/s: m·R = 0.5, B* = 0.005·10 000 / 0.5 = 100, target ⌈125⌉.
    const snapshot = warmedUp(10_000).snapshot(20);
    assert.ok(Math.abs(snapshot.perEventSeconds - PER_EVENT_SECONDS) < 1e-12);
    assert.ok(Math.abs(snapshot.perBatchSeconds - PER_BATCH_SECONDS) < 1e-12);
    assert.ok(Math.abs(snapshot.arrivalRate - 10_000) < 1, `R = ${snapshot.arrivalRate}`);
    assert.ok(Math.abs(snapshot.optimalBatchSize - 100) < 0.1, `B* = ${snapshot.optimalBatchSize}`);
    assert.equal(snapshot.batchSize, 125);
    assert.ok(Math.abs(snapshot.predictedLagSeconds - 0.015) < 1e-5, 'the mean lag: 1.5 × the 10 ms cycle');
    assert.equal(snapshot.identifiable, true);
    assert.equal(snapshot.saturated, false);

    assert.equal(warmedUp(10_000, { headroom: 0 }).snapshot(20).batchSize, 100);
    assert.equal(warmedUp(10_000, { headroom: undefined }).snapshot(20).batchSize, 200, 'by default, twice B*');
  });

  it('moves the base size only beyond the hysteresis', () => {
    const controller = warmedUp(10_000, { headroom: 0 });
    assert.equal(controller.snapshot(20).batchSize, 100);
    // R = 11 000/s: B* = 55 / 0.45 ≈ 122.2, 22% above 100: inside the 25% band, so no move.
    arrive(controller, 11_000, 20, 40);
    assert.equal(controller.snapshot(40).batchSize, 100);
    // R = 12 000/s: B* = 60 / 0.4 = 150, 50% above: moves.
    arrive(controller, 12_000, 40, 60);
    assert.equal(controller.snapshot(60).batchSize, 150);
  });

  it('declares saturation exactly when m·R reaches the bound, and clears it only below bound − 0.05', () => {
    // 17 800/s: m·R = 0.89, just under 0.9.
    const under = warmedUp(17_800).snapshot(20);
    assert.ok(Math.abs(under.utilisation - 0.89) < 1e-3, `m·R = ${under.utilisation}`);
    assert.equal(under.saturated, false);
    assert.ok(under.batchSize < 10_000);

    // 18 200/s: m·R = 0.91, just over.
    const controller = warmedUp(18_200);
    const over = controller.snapshot(20);
    assert.ok(Math.abs(over.utilisation - 0.91) < 1e-3, `m·R = ${over.utilisation}`);
    assert.equal(over.saturated, true);
    assert.equal(over.batchSize, 10_000, 'saturated: the largest batches');
    assert.ok(Number.isFinite(over.optimalBatchSize), 'B* is still finite below m·R = 1');
    assert.equal(controller.queueBound(), 40_000);

    // Down to 0.87: inside the exit margin, still saturated.
    arrive(controller, 17_400, 20, 40);
    assert.equal(controller.snapshot(40).saturated, true);
    // Down to 0.84: cleared, and the base size returns to B*·1.25.
    arrive(controller, 16_800, 40, 60);
    const cleared = controller.snapshot(60);
    assert.equal(cleared.saturated, false);
    assert.equal(cleared.batchSize, Math.ceil(1.25 * cleared.optimalBatchSize));
  });

  it('reports B* and the lag as infinite at m·R ≥ 1', () => {
    const snapshot = warmedUp(25_000).snapshot(20);
    assert.equal(snapshot.saturated, true);
    assert.equal(snapshot.optimalBatchSize, Infinity);
    assert.equal(snapshot.predictedLagSeconds, Infinity);
    assert.equal(snapshot.batchSize, 10_000);
  });

  it('does not act on the first few batches', () => {
    const controller = new BatchSizeController({ min: 1, max: 10_000, initial: 100, warmupBatches: 20 });
    controller.recordArrivals(0, 0);
    arrive(controller, 25_000, 0, 20);
    writeBatches(controller, 19, 20);
    const early = controller.snapshot(20);
    assert.equal(early.hasEstimate, true);
    assert.equal(early.saturated, false, 'an estimate from 19 batches does not declare saturation');
    assert.equal(early.batchSize, 100);
    writeBatches(controller, 1, 20);
    assert.equal(controller.snapshot(20).saturated, true);
  });

  it('cycles base, below, above when probing, and not at all with probeSpread 0', () => {
    const probing = warmedUp(10_000, { probeBelowVariation: 1 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => probing.nextBatchSize(20)), [125, 94, 156, 125, 94, 156]);
    const steady = warmedUp(10_000, { probeSpread: 0 });
    assert.deepEqual([1, 2, 3].map(() => steady.nextBatchSize(20)), [125, 125, 125]);
  });

  it('probes below what is queued when that is less than the base', () => {
    const controller = warmedUp(10_000, { probeBelowVariation: 1 });
    assert.equal(controller.nextBatchSize(20, 110), 125);
    assert.equal(controller.nextBatchSize(20, 110), 83, 'three quarters of the 110 queued, not of the base');
    assert.equal(controller.nextBatchSize(20, 110), 156);
  });

  it('is not identifiable when every batch has one size and probing is off, and then holds the base size', () => {
    for (const probeSpread of [0, 0.25]) {
      const controller = new BatchSizeController({ min: 1, max: 10_000, initial: 300, probeSpread });
      controller.recordArrivals(0, 0);
      arrive(controller, 10_000, 0, 20);
      for (let index = 0; index < 60; index++) {
        const size = controller.nextBatchSize(20);
        controller.recordBatch(size, writeSeconds(size), 20);
      }
      const snapshot = controller.snapshot(20);
      if (probeSpread === 0) {
        assert.equal(snapshot.identifiable, false);
        assert.equal(snapshot.batchSize, 300, 'a guess does not move the base');
      } else {
        assert.equal(snapshot.identifiable, true);
        assert.equal(snapshot.batchSize, 200, 'B* = 100, twice that by default');
      }
    }
  });

  it('never sets the base size below one source transaction (its 95th percentile)', () => {
    // R = 2000/s: m·R = 0.1, B* = 0.005·2000 / 0.9 ≈ 11.1, target ⌈13.9⌉ = 14.
    const controller = warmedUp(2000);
    assert.equal(controller.snapshot(20).batchSize, 14);
    assert.equal(controller.snapshot(20).sourceTransactionSize, 0);
    // Source transactions of 41 items (40 rows and the commit), one in ten of 81.
    for (let index = 0; index < 100; index++) controller.recordSourceTransaction(index % 10 === 9 ? 81 : 41);
    const snapshot = controller.snapshot(20);
    assert.equal(snapshot.sourceTransactionSize, 81, 'the 95th percentile of 90 × 41 and 10 × 81');
    assert.equal(snapshot.batchSize, 81);
    assert.ok(Math.abs(snapshot.optimalBatchSize - 100 / 9) < 0.01, 'B* itself is unchanged');
    // Transactions far smaller than B* change nothing.
    const busy = warmedUp(10_000);
    for (let index = 0; index < 100; index++) busy.recordSourceTransaction(11);
    assert.equal(busy.snapshot(20).batchSize, 125);
    // Off.
    const off = warmedUp(2000, { transactionQuantile: 0 });
    for (let index = 0; index < 100; index++) off.recordSourceTransaction(41);
    assert.equal(off.snapshot(20).batchSize, 14);
  });

  it('probes only while the sizes written vary too little by themselves', () => {
    // warmedUp wrote sizes 80, 100, 120, 140 in turn: a coefficient of variation of 0.2.
    const varied = warmedUp(10_000);
    assert.deepEqual([1, 2, 3].map(() => varied.nextBatchSize(20, 110)), [125, 125, 125], 'no probe: nothing is left behind');
    const uniform = warmedUp(10_000, { probeBelowVariation: 0.15 });
    for (let index = 0; index < 30; index++) uniform.recordBatch(125, writeSeconds(125), 20);
    assert.deepEqual([1, 2, 3].map(() => uniform.nextBatchSize(20)), [125, 94, 156], 'every batch full at 125: probe');
    for (let index = 0; index < 30; index++) uniform.recordBatch(index % 2 ? 90 : 130, writeSeconds(index % 2 ? 90 : 130), 20);
    assert.deepEqual([1, 2].map(() => uniform.nextBatchSize(20)), [125, 125], 'varied again: the probe stops');
  });

  it('keeps the base size through an idle spell, and drains a burst in large batches', () => {
    const controller = warmedUp(10_000, { max: 2000, probeBelowVariation: 1 });
    assert.equal(controller.snapshot(20).batchSize, 125);
    const idle = controller.snapshot(60);
    assert.equal(idle.arrivalRate, 0);
    assert.equal(idle.batchSize, 125, 'not collapsed to min');

    controller.recordArrivals(5000, 60);
    assert.equal(controller.nextBatchSize(60, 5000), 2000, 'a backlog far above B* drains at max');
    assert.equal(controller.nextBatchSize(60, 1500), 1125, 'the drain probes too');
    assert.equal(controller.nextBatchSize(60, 1000), 1250, 'a cap above the backlog: the applier takes the 1000 queued');
  });

  it('drains only a backlog beyond twice the base size', () => {
    const controller = warmedUp(10_000, { probeSpread: 0 });
    assert.equal(controller.nextBatchSize(20, 250), 125);
    assert.equal(controller.nextBatchSize(20, 251), 251);
  });

  it('bounds the queue at four base-size batches, and never below the floor', () => {
    const controller = warmedUp(10_000, { minimumQueueBound: 100 });
    assert.equal(controller.queueBound(), 500);
    assert.equal(warmedUp(10_000).queueBound(), 1000);
    assert.equal(controller.snapshot(20).queueBound, 500);
  });
});
