// The key ranges of a table's copy (copy/ranges.ts): ranges complete in any order, the frontier
// (the state's lastKey) moves only over a done prefix, the table is done when its ranges reach
// upTo (not when a range returns few rows), sparse ranges widen the next ones, and a range
// handed back is continued from its last key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { integerKey, TableRanges, type CopyRange } from '../../../src/copy/ranges.js';
import type { Row } from '../../../src/db/sql.js';

const raw = (value: number): Row => [Buffer.from(String(value))];
const key = (row: Row | undefined): bigint | undefined => (row ? integerKey(row[0]!) : undefined);

/** Rows a range holds in a table of the given keys, as a batch of `limit` would read them. */
function read(keys: readonly number[], range: CopyRange, limit: number): { rows: number; last: Row | undefined; exhausted: boolean } {
  const after = key(range.after);
  const through = key(range.through)!;
  const found = keys.filter((value) => (after === undefined || BigInt(value) > after) && BigInt(value) <= through).slice(0, limit);
  return { rows: found.length, last: found.length ? raw(found[found.length - 1]!) : undefined, exhausted: found.length < limit };
}

describe('copy key ranges', () => {
  it('splits a dense table into ranges of about a batch, bounded by upTo', () => {
    const ranges = new TableRanges({ splittable: true, lastKey: undefined, upTo: raw(10_000), firstKey: raw(1) });
    const taken = [ranges.take(1000)!, ranges.take(1000)!, ranges.take(1000)!];
    assert.deepEqual(taken.map((range) => [key(range.after), key(range.through)]), [[0n, 1000n], [1000n, 2000n], [2000n, 3000n]]);
    assert.ok(ranges.hasWork);
    assert.equal(ranges.done, false);
  });

  it('moves the frontier only over the done prefix, whatever order ranges finish in', () => {
    const keys = Array.from({ length: 3000 }, (_, index) => index + 1);
    const ranges = new TableRanges({ splittable: true, lastKey: undefined, upTo: raw(3000), firstKey: raw(1) });
    const [a, b, c] = [ranges.take(1000)!, ranges.take(1000)!, ranges.take(1000)!];
    assert.equal(ranges.take(1000), undefined, 'the key space is handed out through upTo');
    assert.equal(ranges.hasWork, false);
    // The last and the middle range finish first: nothing below them is copied yet.
    for (const range of [c, b]) {
      const batch = read(keys, range, 1000);
      const progress = ranges.batchCopied(range, batch.rows, batch.last, batch.exhausted);
      assert.equal(progress.next, undefined, 'a range whose last row is its end is done');
      assert.equal(progress.frontierMoved, false);
      assert.equal(ranges.frontier, undefined);
    }
    assert.equal(ranges.doneBeyondFrontier, 2);
    assert.equal(ranges.done, false);
    // The first range in two batches: the frontier follows its cursor, then jumps over the done ranges.
    let batch = read(keys, a, 400);
    let progress = ranges.batchCopied(a, batch.rows, batch.last, batch.exhausted);
    assert.equal(key(ranges.frontier), 400n);
    assert.ok(progress.next);
    batch = read(keys, progress.next, 1000);
    progress = ranges.batchCopied(progress.next, batch.rows, batch.last, batch.exhausted);
    assert.equal(progress.next, undefined);
    assert.ok(progress.frontierMoved);
    assert.equal(key(ranges.frontier), 3000n);
    assert.ok(ranges.done);
  });

  it('is done only when the ranges reach upTo: a sparse range that returns few rows is not the end', () => {
    // Keys 1..100, then nothing until 5000..5100: the first ranges are sparse or empty.
    const keys = [...Array.from({ length: 100 }, (_, index) => index + 1), ...Array.from({ length: 101 }, (_, index) => 5000 + index)];
    const ranges = new TableRanges({ splittable: true, lastKey: undefined, upTo: raw(5100), firstKey: raw(1) });
    let copied = 0;
    let queries = 0;
    for (let range = ranges.take(50); range; range = ranges.take(50)) {
      for (let current: CopyRange | undefined = range; current; ) {
        const batch = read(keys, current, 50);
        queries++;
        copied += batch.rows;
        current = ranges.batchCopied(current, batch.rows, batch.last, batch.exhausted).next;
        if (!ranges.done) assert.ok(key(ranges.frontier) === undefined || key(ranges.frontier)! <= 5100n);
      }
    }
    assert.ok(ranges.done);
    assert.equal(copied, keys.length, 'every row copied once');
    assert.equal(key(ranges.frontier), 5100n);
    // Across the gap the spans grow from the density seen: far fewer queries than 5100 / 50.
    assert.ok(queries < 30, `${queries} queries`);
  });

  it('a range handed back (a worker retired) is continued from its last key, before new ranges', () => {
    const keys = Array.from({ length: 5000 }, (_, index) => index + 1);
    const ranges = new TableRanges({ splittable: true, lastKey: undefined, upTo: raw(5000), firstKey: raw(1) });
    const first = ranges.take(1000)!;
    const batch = read(keys, first, 300);
    const progress = ranges.batchCopied(first, batch.rows, batch.last, batch.exhausted);
    ranges.handBack(progress.next!);
    const again = ranges.take(1000)!;
    assert.equal(key(again.after), 300n);
    assert.equal(key(again.through), 1000n);
    assert.equal(key(ranges.take(1000)!.after), 1000n, 'then new ranges past the last');
  });

  it('resumes from the frontier; a table whose frontier is upTo has nothing left', () => {
    const resumed = new TableRanges({ splittable: true, lastKey: raw(2500), upTo: raw(3000) });
    assert.deepEqual([key(resumed.take(1000)!.after), key(resumed.frontier)], [2500n, 2500n]);
    const finished = new TableRanges({ splittable: true, lastKey: raw(3000), upTo: raw(3000) });
    assert.ok(finished.done);
    assert.equal(finished.take(1000), undefined);
  });

  it('an unsplittable key is one range, walked to its end by one worker', () => {
    const upTo: Row = [Buffer.from('zzz')];
    const ranges = new TableRanges({ splittable: false, lastKey: [Buffer.from('mmm')], upTo });
    const range = ranges.take(1000)!;
    assert.deepEqual(range, { after: [Buffer.from('mmm')], through: upTo });
    assert.equal(ranges.take(1000), undefined, 'one worker at a time');
    let progress = ranges.batchCopied(range, 1000, [Buffer.from('ppp')], false);
    assert.deepEqual(ranges.frontier, [Buffer.from('ppp')]);
    assert.equal(ranges.done, false);
    progress = ranges.batchCopied(progress.next!, 10, [Buffer.from('xxx')], true);
    assert.equal(progress.next, undefined);
    assert.ok(ranges.done);
    assert.deepEqual(ranges.frontier, upTo);
  });

  it('handles keys beyond 2^53 and negative keys exactly', () => {
    const ranges = new TableRanges({ splittable: true, lastKey: undefined, upTo: [Buffer.from('18446744073709551615')], firstKey: [Buffer.from('18446744073709550000')] });
    const first = ranges.take(1000)!;
    assert.equal(key(first.through), 18446744073709550999n);
    const negative = new TableRanges({ splittable: true, lastKey: undefined, upTo: raw(-1), firstKey: raw(-2500) });
    assert.deepEqual([key(negative.take(1000)!.through), key(negative.take(1000)!.through), key(negative.take(1000)!.through)], [-1501n, -501n, -1n]);
  });
});
