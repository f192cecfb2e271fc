import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CopyProgress } from '../../../src/metrics/copy-progress.js';

describe('copy progress', () => {
  const estimates = new Map([['shop.orders', 10_000]]);

  it('has the estimate as remaining and no ETA before the first batch', () => {
    const progress = new CopyProgress(estimates);
    assert.deepEqual(progress.figures('shop.orders', 0, false), { table: 'shop.orders', estimatedRows: 10_000, remainingRows: 10_000, etaSeconds: undefined });
  });

  it('gives the ETA from the rows copied this run over the time since its first batch began', () => {
    const progress = new CopyProgress(estimates);
    progress.batchCopied('shop.orders', 1000, 0.5, 100.5); // began at 100
    progress.batchCopied('shop.orders', 1000, 0.5, 102); // 2,000 rows in 2 s: 1,000 rows/s
    const figures = progress.figures('shop.orders', 2000, false);
    assert.equal(figures.remainingRows, 8000);
    assert.equal(figures.etaSeconds, 8);
  });

  it('counts rows copied before a resume as copied, not in the rate', () => {
    const progress = new CopyProgress(estimates);
    progress.batchCopied('shop.orders', 500, 1, 11); // 500 rows/s this run
    assert.deepEqual(progress.figures('shop.orders', 6000, false), { table: 'shop.orders', estimatedRows: 10_000, remainingRows: 4000, etaSeconds: 8 });
  });

  it('has nothing remaining once the table is done, and never below zero when the estimate was low', () => {
    const progress = new CopyProgress(estimates);
    progress.batchCopied('shop.orders', 12_000, 2, 2);
    assert.equal(progress.figures('shop.orders', 12_000, false).remainingRows, 0);
    assert.equal(progress.figures('shop.orders', 12_000, false).etaSeconds, 0);
    assert.deepEqual(progress.figures('shop.orders', 12_000, true), { table: 'shop.orders', estimatedRows: 10_000, remainingRows: 0, etaSeconds: 0 });
  });

  it('takes a table without an estimate as 0 rows estimated', () => {
    assert.equal(new CopyProgress(estimates).figures('shop.notes', 0, false).estimatedRows, 0);
  });
});
