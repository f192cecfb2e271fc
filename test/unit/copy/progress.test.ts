// The copy's progress figures (/status, the status page, the terminal line): the rate over the
// last seconds, per table and in all; the estimated total never below what was copied; the time
// left at the current rate.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CopyRate, RATE_WINDOW_SECONDS, tableProgress, totalProgress } from '../../../src/copy/progress.js';

function clockAt(start: number) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

describe('copy rate', () => {
  it('is unknown for a table until its copy has run half a second', () => {
    const clock = clockAt(100);
    const rate = new CopyRate(clock.read);
    assert.equal(rate.rowsPerSecond('a'), undefined);
    rate.add('a', 500);
    clock.now = 100.4;
    rate.add('a', 500);
    assert.equal(rate.rowsPerSecond('a'), undefined);
    clock.now = 100.5;
    assert.equal(rate.rowsPerSecond('a'), 1000);
  });

  it('counts the rows copied after the first batch, over the time since it', () => {
    const clock = clockAt(0);
    const rate = new CopyRate(clock.read);
    rate.add('a', 1000); // the start: copied before anything was measured
    for (let second = 1; second <= 2; second++) {
      clock.now = second;
      rate.add('a', 300);
    }
    assert.equal(rate.rowsPerSecond('a'), 300);
  });

  it('forgets batches older than the window, and falls to zero while nothing is copied', () => {
    const clock = clockAt(0);
    const rate = new CopyRate(clock.read);
    rate.add('a', 100);
    for (let second = 1; second <= 10; second++) {
      clock.now = second;
      rate.add('a', second <= 5 ? 1000 : 100);
    }
    assert.equal(rate.rowsPerSecond('a'), 100);
    clock.now = 10 + RATE_WINDOW_SECONDS;
    assert.equal(rate.rowsPerSecond('a'), 0);
  });

  it('in all is the rate of every table together', () => {
    const clock = clockAt(0);
    const rate = new CopyRate(clock.read);
    rate.add('a', 10);
    clock.now = 1;
    rate.add('a', 200);
    rate.add('b', 50); // b's first batch: b's own rate is unknown, but the rows count in all
    clock.now = 2;
    rate.add('a', 200);
    rate.add('b', 100);
    assert.equal(rate.rowsPerSecond(), 275);
    assert.equal(rate.rowsPerSecond('a'), 200);
    assert.equal(rate.rowsPerSecond('b'), 100);
  });
});

describe('copy progress', () => {
  it('gives the fraction and the time left at the current rate', () => {
    assert.deepEqual(tableProgress({ rowsCopied: 250, estimatedRows: 1000, done: false, rowsPerSecond: 50 }), {
      rowsCopied: 250,
      estimatedRows: 1000,
      fraction: 0.25,
      rowsPerSecond: 50,
      etaSeconds: 15,
    });
  });

  it('never shows an estimate below what was copied (the server estimates from a sample)', () => {
    const progress = tableProgress({ rowsCopied: 1200, estimatedRows: 1000, done: false, rowsPerSecond: 100 });
    assert.equal(progress.estimatedRows, 1200);
    assert.equal(progress.fraction, 1);
    assert.equal(progress.etaSeconds, 0);
  });

  it('takes what was copied as the total of a done table', () => {
    assert.deepEqual(tableProgress({ rowsCopied: 900, estimatedRows: 1000, done: true, rowsPerSecond: 80 }), {
      rowsCopied: 900,
      estimatedRows: 900,
      fraction: 1,
      rowsPerSecond: 0,
      etaSeconds: 0,
    });
  });

  it('leaves the time left unknown without a rate, or with none at all (paused)', () => {
    assert.equal(tableProgress({ rowsCopied: 0, estimatedRows: 1000, done: false, rowsPerSecond: undefined }).etaSeconds, undefined);
    assert.equal(tableProgress({ rowsCopied: 10, estimatedRows: 1000, done: false, rowsPerSecond: 0 }).etaSeconds, undefined);
    assert.equal(tableProgress({ rowsCopied: 10, estimatedRows: undefined, done: false, rowsPerSecond: 5 }).fraction, undefined);
  });

  it('adds the tables up, at the rate of all of them', () => {
    const tables = [
      tableProgress({ rowsCopied: 500, estimatedRows: 500, done: true, rowsPerSecond: undefined }),
      tableProgress({ rowsCopied: 100, estimatedRows: 1000, done: false, rowsPerSecond: undefined }),
      tableProgress({ rowsCopied: 0, estimatedRows: 500, done: false, rowsPerSecond: undefined }),
    ];
    assert.deepEqual(totalProgress(tables, 100), { rowsCopied: 600, estimatedRows: 2000, fraction: 0.3, rowsPerSecond: 100, etaSeconds: 14 });
    assert.equal(totalProgress([tables[0]!], 100).etaSeconds, 0);
    assert.equal(totalProgress([tables[0]!], 100).fraction, 1);
  });
});
