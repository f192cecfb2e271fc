// The replica-lag throttle steps once per stride (throttle/copy-gate.ts): a stride is as many
// copy batches as there are copy workers active when it began, so several workers ramp the pause
// once per round, as lhm's one copy loop does, not once per batch of each worker.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSettings } from '../../../src/config/live.js';
import { parseConfig } from '../../../src/config/load.js';
import { ThrottlingCopyGate } from '../../../src/throttle/copy-gate.js';
import type { LagSource } from '../../../src/throttle/replica-lag.js';
import type { Logger } from '../../../src/log.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A lag source whose lag the test sets; counts its reads. */
const lagOf = (lag: () => number, readMs = 0) => {
  const source = {
    reads: 0,
    read: async () => {
      source.reads++;
      if (readMs) await sleep(readMs);
      return { seconds: lag(), replica: '127.0.0.1:3307' };
    },
    close: async () => undefined,
  };
  return source satisfies LagSource;
};

/** `workers` copy workers of `batches` batches each (a batch: `batchMs`), as the copier passes the gate. */
async function copy(gate: ThrottlingCopyGate, workers: number, batches: number, batchMs = 2): Promise<void> {
  const signal = new AbortController().signal;
  await Promise.all(Array.from({ length: workers }, async () => {
    for (let batch = 0; batch < batches; batch++) {
      await gate.wait(signal);
      await sleep(batchMs);
      gate.batchDone();
    }
  }));
}

const capture = () => {
  const lines: { level: string; message: string }[] = [];
  const log = (level: string) => (_: unknown, message: string) => lines.push({ level, message });
  return { lines, logger: { warn: log('warn'), info: log('info'), debug: () => undefined } as unknown as Logger };
};

describe('replica-lag throttle strides', () => {
  it('with one worker steps once per batch: exactly lhm\'s sequence', async () => {
    const gate = new ThrottlingCopyGate({ lagSource: lagOf(() => 60), maxLagSeconds: 1, maxPauseSeconds: 0.4, targetSaturated: () => false });
    await copy(gate, 1, 5);
    assert.deepEqual(gate.stepPauses, [0.1, 0.2, 0.4, 0.4, 0.4]);
  });

  it('with four workers steps once per round of the four, not once per batch', async () => {
    const source = lagOf(() => 60);
    const gate = new ThrottlingCopyGate({ lagSource: source, maxLagSeconds: 1, maxPauseSeconds: 0.4, targetSaturated: () => false });
    await copy(gate, 4, 5);
    // 20 batches in 5 rounds; a shared back-off fed by every batch took 20 steps (0.1 → … in 4 rounds' worth per round).
    assert.ok(gate.steps >= 5 && gate.steps <= 6, `${gate.steps} steps for 5 rounds of 4 workers`);
    assert.deepEqual(gate.stepPauses.slice(0, 3), [0.1, 0.2, 0.4]);
    assert.equal(source.reads, gate.steps, 'one lag read per step');
  });

  it('batches arriving while a step reads the lag share that step', async () => {
    const source = lagOf(() => 60, 50);
    const gate = new ThrottlingCopyGate({ lagSource: source, maxLagSeconds: 1, maxPauseSeconds: 0.1, targetSaturated: () => false });
    const signal = new AbortController().signal;
    await Promise.all([gate.wait(signal), sleep(10).then(() => gate.wait(signal)), sleep(20).then(() => gate.wait(signal))]);
    assert.equal(source.reads, 1);
    assert.equal(gate.steps, 1);
  });

  it('halves back to the floor once the lag is fine, a step per round, and says so once each way', async () => {
    let lag = 60;
    const { lines, logger } = capture();
    const gate = new ThrottlingCopyGate({ lagSource: lagOf(() => lag), maxLagSeconds: 1, maxPauseSeconds: 0.4, targetSaturated: () => false, logger });
    await copy(gate, 3, 4);
    lag = 0.2;
    await copy(gate, 3, 5);
    assert.equal(gate.pauseSeconds, 0, 'back to full speed');
    const pauses = gate.stepPauses;
    assert.deepEqual(pauses.slice(pauses.indexOf(0.4)).filter((pause, index, all) => index === 0 || pause !== all[index - 1]), [0.4, 0.2, 0.1, 0]);
    assert.deepEqual(lines.map((line) => line.level), ['warn', 'info'], JSON.stringify(lines));
  });

  it('reads throttle.maxLagSeconds and maxPauseSeconds from the live settings at each stride', async () => {
    const settings = new LiveSettings(parseConfig({ source: { host: 'a', user: 'u' }, target: { host: 'b', user: 'u' }, databases: ['d'], throttle: { maxLagSeconds: 1, maxPauseSeconds: 0.2 } }));
    const gate = new ThrottlingCopyGate({ lagSource: lagOf(() => 3), settings, targetSaturated: () => false });
    await copy(gate, 1, 3);
    assert.deepEqual(gate.stepPauses, [0.1, 0.2, 0.2]);
    settings.apply({ throttle: { maxLagSeconds: 5 } });
    await copy(gate, 1, 2);
    assert.deepEqual(gate.stepPauses.slice(3), [0.1, 0], 'over the raised allowed lag no more');
  });

  it('with floor lhm waits 0.1 s before every batch even when the lag is fine', async () => {
    const gate = new ThrottlingCopyGate({ lagSource: lagOf(() => 0), maxLagSeconds: 1, maxPauseSeconds: 1, floor: 'lhm', targetSaturated: () => false });
    const started = performance.now();
    await copy(gate, 1, 3, 0);
    assert.ok(performance.now() - started >= 290, `${performance.now() - started} ms for 3 batches`);
    assert.deepEqual(gate.stepPauses, [0.1, 0.1, 0.1]);
  });

  it('background work takes no step and no replica-lag pause', async () => {
    const source = lagOf(() => 60);
    const gate = new ThrottlingCopyGate({ lagSource: source, maxLagSeconds: 1, maxPauseSeconds: 5, targetSaturated: () => false });
    const signal = new AbortController().signal;
    await gate.wait(signal); // a copy batch: the pause is 0.1 s now
    gate.batchDone();
    const background = gate.background();
    const started = performance.now();
    for (let chunk = 0; chunk < 20; chunk++) {
      await background.wait(signal);
      background.batchDone?.();
    }
    assert.ok(performance.now() - started < 50, 'background chunks were not paused');
    assert.equal(source.reads, 1);
  });
});

describe('replica-lag throttle reason', () => {
  it('says replica-lag only while the pause is above its floor (floor lhm: the 0.1 s pace is no hold)', async () => {
    let lag = 0;
    const gate = new ThrottlingCopyGate({ lagSource: lagOf(() => lag), maxLagSeconds: 1, maxPauseSeconds: 1, floor: 'lhm', targetSaturated: () => false });
    const signal = new AbortController().signal;
    await gate.wait(signal);
    gate.batchDone();
    assert.equal(gate.reason, undefined);
    lag = 5;
    const waiting = gate.wait(signal);
    await sleep(20);
    assert.equal(gate.reason, 'replica-lag');
    await waiting;
  });
});

describe('Threads_running throttle (lhm\'s other throttler)', () => {
  it('doubles and halves a pause of its own at the same strides; the copy waits the larger; unreadable counts as too many', async () => {
    let running = 10;
    const source = { read: async () => running, close: async () => undefined };
    const gate = new ThrottlingCopyGate({ lagSource: lagOf(() => 0), maxLagSeconds: 1, maxPauseSeconds: 0.4, targetSaturated: () => false, threadsRunning: { source, maxThreadsRunning: 8 } });
    const signal = new AbortController().signal;
    const pauses: number[] = [];
    for (const value of [10, 10, 10, 4, 4, Infinity, 4, 4]) {
      running = value;
      await gate.wait(signal);
      gate.batchDone();
      pauses.push(gate.pauseSeconds);
    }
    assert.deepEqual(pauses, [0.1, 0.2, 0.4, 0.2, 0.1, 0.2, 0.1, 0]);
    assert.equal(gate.threadsRunning, 4);
  });

  it('runs without a replica-lag source', async () => {
    const gate = new ThrottlingCopyGate({ lagSource: undefined, maxLagSeconds: 1, maxPauseSeconds: 0.2, targetSaturated: () => false, threadsRunning: { source: { read: async () => 50, close: async () => undefined }, maxThreadsRunning: 8 } });
    const signal = new AbortController().signal;
    await gate.wait(signal);
    gate.batchDone();
    const waiting = gate.wait(signal);
    await sleep(20);
    assert.equal(gate.reason, 'target-threads');
    await waiting;
    assert.equal(gate.steps, 2);
  });
});

describe('a step and the run\'s end', () => {
  it('lets a batch waiting on a slow lag read go at once when the run is aborted', async () => {
    const gate = new ThrottlingCopyGate({ lagSource: lagOf(() => 60, 1_000), maxLagSeconds: 1, maxPauseSeconds: 5, targetSaturated: () => false });
    const run = new AbortController();
    const started = performance.now();
    const waiting = gate.wait(run.signal);
    setTimeout(() => run.abort(), 20);
    await waiting;
    assert.ok(performance.now() - started < 300, `waited ${performance.now() - started} ms after the abort`);
  });
});
