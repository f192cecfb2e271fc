import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CopyBatchSizer } from '../../../src/tuning/index.js';

describe('CopyBatchSizer', () => {
  it('starts at the initial size', () => {
    assert.equal(new CopyBatchSizer().nextBatchSize(), 1000);
    assert.equal(new CopyBatchSizer({ initial: 250 }).nextBatchSize(), 250);
  });

  it('grows toward the target by at most 1.5× a step, then holds', () => {
    // 0.1 ms a row against a 0.5 s target: 5000 rows is right.
    const sizer = new CopyBatchSizer({ targetSeconds: 0.5, initial: 1000 });
    const sizes = [sizer.nextBatchSize()];
    for (let step = 0; step < 12; step++) {
      const rows = sizer.nextBatchSize();
      sizer.recordBatch(rows, rows * 1e-4);
      sizes.push(sizer.nextBatchSize());
    }
    assert.deepEqual(sizes.slice(0, 5), [1000, 1500, 2250, 3375, 5000]);
    for (let step = 1; step < sizes.length; step++) {
      assert.ok((sizes[step] ?? 0) <= 1.5 * (sizes[step - 1] ?? 0), `step ${step}: ${sizes[step - 1]} → ${sizes[step]}`);
    }
    assert.ok(sizes.slice(4).every((size) => size === 5000), `holds at 5000: ${sizes.join(', ')}`);
  });

  it('sizes from the slow batches (p90), not the typical one', () => {
    const sizer = new CopyBatchSizer({ targetSeconds: 0.5, initial: 5000 });
    // Eight batches at 0.1 ms a row, two at 0.2 ms: the p90 is 0.2 ms, so 2500 rows.
    for (let batch = 0; batch < 8; batch++) sizer.recordBatch(5000, 0.5);
    sizer.recordBatch(2500, 0.5);
    sizer.recordBatch(2500, 0.5);
    const rows = sizer.nextBatchSize();
    assert.ok(rows >= 2400 && rows <= 2600, `got ${rows}`);
  });

  it('shrinks 10× at once when a batch takes 5× the target', () => {
    const sizer = new CopyBatchSizer({ targetSeconds: 0.5, initial: 5000 });
    sizer.recordBatch(5000, 0.5);
    assert.equal(sizer.nextBatchSize(), 5000);
    sizer.recordBatch(5000, 2.5);
    assert.equal(sizer.nextBatchSize(), 500);
  });

  it('does not panic just under 5× the target', () => {
    const sizer = new CopyBatchSizer({ targetSeconds: 0.5, initial: 5000 });
    sizer.recordBatch(5000, 2.49);
    // 0.498 ms a row: about 1004 rows, a fifth, not a tenth.
    const rows = sizer.nextBatchSize();
    assert.ok(rows > 900 && rows < 1100, `got ${rows}`);
  });

  it('climbs back gradually after a panic', () => {
    const sizer = new CopyBatchSizer({ targetSeconds: 0.5, initial: 5000 });
    sizer.recordBatch(5000, 2.5);
    let previous = sizer.nextBatchSize();
    for (let step = 0; step < 10; step++) {
      const rows = sizer.nextBatchSize();
      sizer.recordBatch(rows, rows * 1e-4);
      assert.ok(sizer.nextBatchSize() <= 1.5 * previous);
      previous = sizer.nextBatchSize();
    }
    assert.equal(sizer.nextBatchSize(), 5000);
  });

  it('stays within min and max', () => {
    const capped = new CopyBatchSizer({ max: 2000, initial: 1000 });
    for (let step = 0; step < 10; step++) capped.recordBatch(capped.nextBatchSize(), 0.001);
    assert.equal(capped.nextBatchSize(), 2000);

    const floored = new CopyBatchSizer({ min: 10, initial: 1000 });
    for (let step = 0; step < 5; step++) floored.recordBatch(floored.nextBatchSize(), 10);
    assert.equal(floored.nextBatchSize(), 10);

    assert.equal(new CopyBatchSizer({ min: 10, max: 100, initial: 5000 }).nextBatchSize(), 100);
    assert.throws(() => new CopyBatchSizer({ min: 100, max: 10 }), RangeError);
  });

  it('grows on batches that take no measurable time, still by at most 1.5×', () => {
    const sizer = new CopyBatchSizer({ initial: 1000 });
    sizer.recordBatch(1000, 0);
    assert.equal(sizer.nextBatchSize(), 1500);
  });

  it('ignores empty batches and impossible timings', () => {
    const sizer = new CopyBatchSizer({ initial: 1000 });
    sizer.recordBatch(0, 1);
    sizer.recordBatch(1000, NaN);
    sizer.recordBatch(1000, -1);
    assert.equal(sizer.nextBatchSize(), 1000);
  });
});
