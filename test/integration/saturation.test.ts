// When the binlog applier needs the whole target (m·R over the bound), the row copy yields:
// no copy batch runs while the controller says saturated, and the copy resumes after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FixedBatchSizer, RowCopier } from '../../src/copy/copier.js';
import { InsertRowWriter } from '../../src/copy/writer.js';
import { createPool } from '../../src/db/connection.js';
import { preflight, prepareTarget } from '../../src/db/preflight.js';
import { schemaFingerprint, tableKey } from '../../src/db/schema.js';
import { silentLogger } from '../../src/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { StateTracker } from '../../src/state/tracker.js';
import { TEST_IDENTITY } from './helpers.js';
import { ThrottlingCopyGate } from '../../src/throttle/copy-gate.js';
import { BatchSizeController } from '../../src/tuning/index.js';

describe('saturation', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox();
    const admin = await sandbox.source.connect();
    await admin.query('CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO shop.items SELECT seq, CONCAT("v", seq) FROM shop.seq_1_to_20000');
    await admin.end();
  });
  after(async () => sandbox?.stop());

  it('holds the row copy while m·R is over the bound, and lets it go after', async () => {
    // The applier's measurements, on a clock the test drives: m = 1 ms/event, o = 5 ms.
    const controller = new BatchSizeController({ min: 1, max: 5000, initial: 100, saturationBound: 0.9 });
    let clock = 1000;
    const feed = (rate: number, seconds: number) => {
      for (let step = 0; step < seconds * 10; step++) {
        clock += 0.1;
        controller.recordArrivals(rate * 0.1, clock);
        const size = 50 + (step % 3) * 25;
        controller.recordBatch(size, 0.001 * size + 0.005, clock);
      }
    };
    feed(1000, 30); // m·R = 1.0: saturated
    assert.ok(controller.snapshot(clock).saturated, `expected saturation, utilisation ${controller.snapshot(clock).utilisation}`);

    const result = await preflight({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, selection: { databases: ['shop'], include: ['*'], exclude: [] }, binlogServerId: 4242, cutoverSetsReadOnly: false });
    const admin = await sandbox.target.connect();
    await prepareTarget(admin, result);
    const gate = new ThrottlingCopyGate({ lagSource: undefined, maxLagSeconds: 1, maxPauseSeconds: 1, targetSaturated: () => controller.snapshot(clock).saturated });
    const state = StateTracker.fresh({ source: 's', target: 't', identity: TEST_IDENTITY, start: { file: 'b.000001', position: 4 }, fingerprints: new Map(result.tables.map((table) => [tableKey(table), schemaFingerprint(table)])) });
    const pool = createPool(sandbox.target.endpoint, 2);
    const copy = new RowCopier({
      source: sandbox.source.endpoint, writer: new InsertRowWriter(pool), tables: result.tables, rowFilters: new Map(), concurrency: 1,
      lockingRead: 'share', state, gate, sizerFor: () => new FixedBatchSizer(1000), logger: silentLogger(),
    }).run(new AbortController().signal);

    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(state.table('shop.items').rowsCopied, 0, 'no copy batch while saturated');
    assert.equal(gate.reason, 'target-saturated');

    feed(200, 30); // m·R = 0.2
    assert.ok(!controller.snapshot(clock).saturated);
    await copy;
    assert.equal(state.table('shop.items').rowsCopied, 20_000);
    const [[count]] = (await admin.query('SELECT COUNT(*) AS n FROM shop.items')) as unknown as [[{ n: number }]];
    assert.equal(Number(count.n), 20_000);
    assert.ok(gate.throttledSeconds >= 0.6, `the copy waited ${gate.throttledSeconds} s`);
    await admin.end();
    await pool.end();
  });
});
