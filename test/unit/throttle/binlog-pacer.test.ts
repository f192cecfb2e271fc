// The copy's pace from the binlog lag (throttle/binlog-pacer.ts): every worker under half the
// target, one batch at a time up to the target, none above it until the lag is back under half.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BinlogPacer } from '../../../src/throttle/binlog-pacer.js';

describe('BinlogPacer', () => {
  it('goes full under half the target, one at a time up to it, and holds above it', () => {
    const pacer = new BinlogPacer({ targetSeconds: 1 });
    assert.equal(pacer.update(0), 'full');
    assert.equal(pacer.update(0.5), 'full');
    assert.equal(pacer.update(0.51), 'one');
    assert.equal(pacer.update(1), 'one');
    assert.equal(pacer.update(1.01), 'hold');
  });

  it('holds until the lag is back under half the target, not just under the target', () => {
    const pacer = new BinlogPacer({ targetSeconds: 2 });
    assert.equal(pacer.update(2.5), 'hold');
    assert.equal(pacer.update(1.9), 'hold');
    assert.equal(pacer.update(1.01), 'hold');
    assert.equal(pacer.update(1), 'full');
    assert.equal(pacer.update(1.5), 'one');
  });

  it('treats an unknown lag (NaN) as over the target', () => {
    assert.equal(new BinlogPacer({ targetSeconds: 1 }).update(NaN), 'hold');
  });
});
