// The bookkeeping of rows to compare again (verify/pending.ts, progress.ts, units.ts' merging):
// a re-check forgets only what did not change while it compared, mismatches are counted apart,
// the state file round-trips, and units stay bounded and in key order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PendingRows } from '../../../src/verify/pending.js';
import { MAX_UNITS, TableProgress } from '../../../src/verify/progress.js';
import { mergeUnits } from '../../../src/verify/units.js';

const key = (n: number) => [Buffer.from(String(n))];

describe('rows to compare again', () => {
  it('forgets a compared key, but not one changed while it was compared', () => {
    const pending = new PendingRows();
    pending.changed('db.t', '1');
    pending.changed('db.t', '2');
    const taken = pending.takeKeys('db.t');
    assert.deepEqual(taken.map(([text]) => text), ['1', '2']);
    pending.changed('db.t', '2'); // the binlog wrote a change of row 2 during the comparison
    pending.settleKeys('db.t', taken);
    assert.deepEqual(pending.takeKeys('db.t').map(([text]) => text), ['2']);
    assert.equal(pending.totalKeys, 1);
  });

  it('counts differing rows apart from changed ones, until they change or compare equal', () => {
    const pending = new PendingRows();
    pending.mismatched('db.t', '7');
    pending.mismatched('db.t', '8');
    assert.equal(pending.mismatches('db.t'), 2);
    pending.changed('db.t', '8');
    assert.equal(pending.mismatches('db.t'), 1);
    pending.settleKeys('db.t', pending.takeKeys('db.t'));
    assert.equal(pending.mismatches('db.t'), 0);
    assert.equal(pending.rows('db.t'), 0);
  });

  it('counts the rows of remembered ranges, and a range is forgotten once compared', () => {
    const pending = new PendingRows();
    pending.changed('db.t', '1');
    pending.addRange('db.t', { after: key(10), through: key(20), rows: 500 });
    assert.equal(pending.rows('db.t'), 501);
    const [range] = pending.takeRanges('db.t');
    pending.settleRange('db.t', range!);
    assert.equal(pending.rows('db.t'), 1);
  });

  it('round-trips through the state file', () => {
    const pending = new PendingRows();
    pending.changed('db.t', "_utf8mb4 X'41'");
    pending.mismatched('db.t', '(1,2)');
    pending.addRange('db.t', { after: undefined, through: key(5), rows: 3 });
    const saved = JSON.parse(JSON.stringify(pending.save('db.t')));
    const loaded = new PendingRows();
    loaded.load('db.t', saved);
    assert.deepEqual(loaded.save('db.t'), pending.save('db.t'));
    assert.equal(loaded.mismatches('db.t'), 1);
    assert.equal(loaded.largestTable(), 'db.t');
  });
});

describe('inline verification progress', () => {
  it('verifies what the copy wrote, then the open range once the copy is done', () => {
    const progress = new TableProgress();
    assert.equal(progress.nextRange(undefined, false), undefined, 'nothing copied yet');
    assert.deepEqual(progress.nextRange(key(100), false), { after: undefined, through: key(100) });
    progress.rangeStarted(key(100));
    progress.chunkVerified(60, key(60), false, false);
    progress.chunkVerified(40, key(100), true, false);
    assert.equal(progress.nextRange(key(100), false), undefined, 'verified as far as copied');
    assert.deepEqual(progress.nextRange(key(100), true), { after: key(100), through: undefined });
    progress.rangeStarted(undefined);
    progress.chunkVerified(3, undefined, true, true);
    assert.ok(progress.complete);
    assert.equal(progress.rowsVerified, 103);
    assert.equal(progress.nextRange(key(100), true), undefined);
    const loaded = TableProgress.load(JSON.parse(JSON.stringify(progress.save())));
    assert.deepEqual(loaded.save(), progress.save());
  });

  it('keeps at most MAX_UNITS units, merging neighbours, the last one intact', () => {
    const progress = new TableProgress();
    for (let index = 1; index <= MAX_UNITS + 1; index++) {
      progress.rangeStarted(key(index * 10));
      progress.chunkVerified(10, key(index * 10), true, false);
    }
    assert.ok(progress.units.length <= MAX_UNITS);
    assert.deepEqual(progress.units[progress.units.length - 1]!.through, key((MAX_UNITS + 1) * 10));
    assert.equal(progress.units.reduce((sum, unit) => sum + unit.rows, 0), (MAX_UNITS + 1) * 10);
  });

  it('merges neighbouring dirty units into one range each; the open unit has no end', () => {
    const units = [10, 20, 30, 40].map((n) => ({ through: key(n), rows: n }));
    assert.deepEqual(mergeUnits(units, [2, 0, 1, 3, 4], 7), [{ after: undefined, through: undefined, rows: 107 }]);
    assert.deepEqual(mergeUnits(units, [1, 3], 0), [
      { after: key(10), through: key(20), rows: 20 },
      { after: key(30), through: key(40), rows: 40 },
    ]);
  });
});
