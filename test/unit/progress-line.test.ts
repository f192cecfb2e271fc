// The terminal's live progress line (`tideferry run` on a TTY): what it says in each phase, that
// it never wraps, and that log lines are written above it and the line redrawn after them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatProgressLine, TerminalProgress, type ProgressFigures } from '../../src/progress-line.js';

const copying: ProgressFigures = {
  phase: 'copy',
  copy: { rowsCopied: 43_210, estimatedRows: 101_936, fraction: 43_210 / 101_936, rowsPerSecond: 1160.4, etaSeconds: 80.2 },
  tables: { 'shop.a': { verification: { complete: false } }, 'shop.b': { verification: { complete: false } } },
  binlogLagSeconds: 0.026,
  tuning: { hasEstimate: true, predictedLagSeconds: 0.0082 },
  copyPaused: false,
  copyThrottledBecause: null,
  keepUp: { saturated: false },
};

describe('progress line', () => {
  it('shows the phase, rows of the estimate, rate, time left and the lag beside the model', () => {
    assert.equal(formatProgressLine(copying), 'copy · 42% 43,210 of ~101,936 rows · 1,160 rows/s · ETA 1 min 20 s · lag 26 ms (model 8 ms)');
  });

  it('says when the copy is paused, why it waits, and when the binlog side is saturated', () => {
    assert.match(formatProgressLine({ ...copying, copyPaused: true, copyThrottledBecause: 'paused' }), / · PAUSED$/);
    assert.match(formatProgressLine({ ...copying, copyThrottledBecause: 'replica-lag' }), / · copy waits: replica-lag$/);
    assert.match(formatProgressLine({ ...copying, keepUp: { saturated: true }, tuning: { hasEstimate: true, predictedLagSeconds: null } }), /lag 26 ms \(model ∞\) · BINLOG SATURATED$/);
  });

  it('after the copy: the rows copied and the tables verified, no rate', () => {
    const line = formatProgressLine({
      ...copying,
      phase: 'catch-up',
      copy: { rowsCopied: 101_900, estimatedRows: 101_900, fraction: 1, rowsPerSecond: 0, etaSeconds: 0 },
      tables: { 'shop.a': { verification: { complete: true } }, 'shop.b': { verification: { complete: false } } },
      binlogLagSeconds: 1.25,
    });
    assert.equal(line, 'catch-up · 100% 101,900 of ~101,900 rows · lag 1.3 s (model 8 ms) · verified 1/2 tables');
  });

  it('says which server the run waits for, and since when, right after the phase', () => {
    assert.match(formatProgressLine({ phase: 'copy', waiting: 'waiting for the target since 12:03:04' }), /^copy · WAITING FOR THE TARGET SINCE 12:03:04/);
    assert.doesNotMatch(formatProgressLine({ phase: 'copy', waiting: null }), /WAITING/);
  });

  it('before anything is known, the phase alone', () => {
    assert.equal(formatProgressLine({ phase: 'preflight' }), 'preflight');
    assert.equal(formatProgressLine({}), 'starting');
    assert.equal(formatProgressLine({ phase: 'copy', copy: { rowsCopied: 0 } }), 'copy · 0 of ~– rows · – rows/s · ETA –');
  });

  it('never wraps: cut to the terminal width', () => {
    const line = formatProgressLine({ ...copying, copyThrottledBecause: 'binlog-lag' }, 40);
    assert.equal(line.length, 40);
    assert.ok(line.endsWith('…'));
  });

  it('gives durations in seconds, minutes or hours', () => {
    assert.equal(formatDuration(7.4), '7 s');
    assert.equal(formatDuration(3725), '1 h 02 min');
    assert.equal(formatDuration(undefined), '–');
    assert.equal(formatDuration(Infinity), '–');
  });
});

describe('terminal progress', () => {
  it('writes log lines above the line and redraws it; stop clears it and its timer', () => {
    const written: string[] = [];
    let figures = copying;
    const progress = new TerminalProgress({ write: (text) => written.push(text), columns: 200 });
    progress.start(() => figures, 60_000);
    assert.equal(written.length, 1);
    assert.match(written[0]!, /^\r\x1b\[2Kcopy · 42%/);
    figures = { ...copying, phase: 'catch-up' };
    progress.log('12:00:00.000 INFO: phase catch-up\n');
    assert.match(written[1]!, /^\r\x1b\[2K12:00:00\.000 INFO: phase catch-up\ncatch-up · 42%/, 'drawn afresh under the log line');
    progress.stop();
    assert.equal(written[2], '\r\x1b[2K');
    progress.log('after\n');
    assert.equal(written[3], 'after\n', 'no line to redraw after stop');
  });
});
