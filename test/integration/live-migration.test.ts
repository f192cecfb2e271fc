// A migration under a concurrent write load, end to end: copy, binlog replay, cutover. The load
// inserts, updates and deletes across the whole key range (rows not copied yet included), moves
// primary keys ahead of and behind the copy cursor, writes zero and negative keys, and deletes and
// re-inserts rows, for the whole run. Afterwards every row of source and target is compared,
// independently of tideferry's own verifier.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mysql2/promise';
import { CutoverError, SchemaChangedError } from '../../src/errors.js';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { LatencyProxy } from '../../src/sandbox/proxy.js';
import { SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import { dumpTable, resetSampleDatabase, sandboxConfig, testLogger, waitFor } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


// Small fixed copy batches make the copy slow enough that the load interleaves with it.
const SLOW_COPY = { batchRows: 300, adaptive: false, concurrency: 2 };

describe('live migration under write load', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let load: WriteLoad | undefined;

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    await resetSampleDatabase(source, target);
    load = new WriteLoad(sandbox.source, { ratePerSecond: 0, connections: 3, seed: Date.now() % 100_000 });
    await load.start();
  });
  afterEach(async () => {
    await load?.stop().catch(() => undefined);
    load = undefined;
  });

  const assertIdentical = async () => {
    for (const table of SAMPLE_TABLES) {
      const expected = await dumpTable(source, 'shop', table);
      const actual = await dumpTable(target, 'shop', table);
      assert.equal(actual.length, expected.length, `${table}: row count differs`);
      assert.deepEqual(actual, expected, `${table}: rows differ`);
    }
  };

  it('converges: every row identical after cutover', { timeout: 180_000 }, async () => {
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { copy: SLOW_COPY, binlog: { batchSize: 50 } }), logger: testLogger() });
    const summary = await ferry.run();
    const stats = await load!.stop();
    load = undefined;
    // The load really did what the test claims, during the run.
    for (const kind of ['insert', 'update', 'delete', 'key-move', 'zero-key', 'reinsert']) {
      assert.ok((stats.byKind[kind] ?? 0) > 10, `load ran too few ${kind} operations: ${JSON.stringify(stats.byKind)}`);
    }
    assert.ok(summary.eventsApplied > 500, `few binlog events applied: ${summary.eventsApplied}`);
    const [[readOnly]] = (await source.query('SELECT @@global.read_only AS value')) as unknown as [[{ value: number }]];
    assert.equal(Number(readOnly.value), 1, 'cutover leaves the source read-only');
    assert.ok(summary.verifiedRows !== undefined && summary.verifiedRows > 90_000);
    assert.ok(summary.downtimeSeconds !== undefined && summary.downtimeSeconds > 0);
    await assertIdentical();
  });

  it('moves only the rows a row filter selects, as rows move in and out of it', { timeout: 180_000 }, async () => {
    // Key moves change id % 2, so rows enter and leave the filter during the run.
    const filter = 'id % 2 = 0';
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { copy: SLOW_COPY, binlog: { batchSize: 50 }, rowFilters: { 'shop.customers': filter } }), logger: testLogger() });
    await ferry.run();
    await load!.stop();
    load = undefined;
    const [expected] = await source.query(`SELECT id, name, email, balance, created FROM shop.customers WHERE ${filter} ORDER BY id`);
    const [actual] = await target.query('SELECT id, name, email, balance, created FROM shop.customers ORDER BY id');
    assert.ok((expected as unknown[]).length > 10_000);
    assert.deepEqual(actual, expected);
    for (const table of SAMPLE_TABLES.filter((name) => name !== 'customers')) {
      assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
    }
  });

  it('cuts over by hand: waits for POST /cutover, then drains and verifies', { timeout: 180_000 }, async () => {
    const config = sandboxConfig(sandbox, { http: { listen: '127.0.0.1:0' }, cutover: { mode: 'manual' } });
    const ferry = new Ferry({ config, logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'cutover', 120_000, 'cutover');
    await sleep(300);
    assert.equal(ferry.phase, 'cutover', 'waits for the operator');
    const status = (await (await fetch(`${ferry.httpUrl}/status`)).json()) as { phase: string };
    assert.equal(status.phase, 'cutover');
    await load!.stop(); // the operator stops the writers…
    load = undefined;
    const response = await fetch(`${ferry.httpUrl}/cutover`, { method: 'POST' }); // …and confirms
    assert.equal(response.status, 202);
    const summary = await running;
    assert.ok(summary.verifiedRows !== undefined);
    // Adaptive sizing (the default): the applier told the sizer the source transactions it saw (rows + commit: at least 2 items).
    assert.ok((summary.tuning?.sourceTransactionSize ?? 0) >= 2, `source transaction size ${summary.tuning?.sourceTransactionSize}`);
    const metrics = await (await fetch(`${ferry.httpUrl}/metrics`).catch(() => undefined))?.text();
    assert.equal(metrics, undefined, 'the listener is closed after the run');
    await assertIdentical();
  });

  it('resumes an interrupted run from its state file', { timeout: 180_000 }, async () => {
    const config = sandboxConfig(sandbox, { copy: SLOW_COPY, binlog: { batchSize: 50 } });
    const first = new Ferry({ config, logger: testLogger() });
    const running = first.run();
    running.catch(() => undefined);
    await waitFor(() => first.phase === 'copy' && first.stats.rowsCopied > 20_000, 60_000, 'copy progress');
    first.cancel('test interrupts the run');
    await assert.rejects(running, /run stopped \(test interrupts the run\)/);
    const saved = JSON.parse(readFileSync(config.stateFile, 'utf8')) as { tables: Record<string, { rowsCopied: number; done: boolean }> };
    const copied = Object.values(saved.tables).reduce((sum, table) => sum + table.rowsCopied, 0);
    assert.ok(copied > 0 && Object.values(saved.tables).some((table) => !table.done), 'the state file holds partial progress');
    const summary = await new Ferry({ config, logger: testLogger(), resume: true }).run();
    assert.ok(summary.rowsCopied < 100_000, `the resumed run copied ${summary.rowsCopied} rows: it did not start over`);
    await load!.stop();
    load = undefined;
    await assertIdentical();
  });

  it('survives the binlog connection being killed mid-stream', { timeout: 180_000 }, async () => {
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { copy: SLOW_COPY, binlog: { batchSize: 50 } }), logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    for (let kill = 0; kill < 2; kill++) {
      await waitFor(() => ferry.binlogThreadId !== undefined && ferry.phase === 'copy', 30_000, 'the binlog stream');
      const threadId = ferry.binlogThreadId!;
      await sleep(300);
      await source.query(`KILL CONNECTION ${threadId}`);
      await waitFor(() => ferry.binlogThreadId !== threadId || ferry.phase !== 'copy', 30_000, 'a reconnect');
    }
    const summary = await running;
    await load!.stop();
    load = undefined;
    assert.ok(ferry.status().phase === 'done');
    assert.ok(summary.verifiedRows !== undefined);
    await assertIdentical();
  });

  it('stops with a clear error when a table is altered during the run', { timeout: 180_000 }, async () => {
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { copy: SLOW_COPY }), logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'copy', 30_000, 'the copy');
    await sleep(200);
    await source.query('ALTER TABLE shop.products ADD COLUMN colour VARCHAR(20)');
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof SchemaChangedError, `expected SchemaChangedError, got ${String(error)}`);
      assert.match(error.message, /shop\.products/);
      return true;
    });
    const [[readOnly]] = (await source.query('SELECT @@global.read_only AS value')) as unknown as [[{ value: number }]];
    assert.equal(Number(readOnly.value), 0, 'the source stays writable');
  });

  it('makes the source writable again when the target is unreachable at cutover', { timeout: 180_000 }, async () => {
    const proxy = await new LatencyProxy({ upstreamHost: '127.0.0.1', upstreamPort: sandbox.target.port }).start();
    try {
      // A target gone for good: the run waits retry.giveUpAfterSeconds for it (3 s here, 300 by default), then stops.
      const config = sandboxConfig(sandbox, { target: { ...sandbox.target.endpoint, port: proxy.port }, binlog: { batchSize: 50 }, retry: { giveUpAfterSeconds: 3 } });
      const ferry = new Ferry({ config, logger: testLogger() });
      const running = ferry.run();
      running.catch(() => undefined);
      await waitFor(() => ferry.phase === 'cutover', 120_000, 'cutover');
      proxy.cut();
      await assert.rejects(running, (error: unknown) => {
        assert.ok(error instanceof CutoverError, `expected CutoverError, got ${String(error)}`);
        assert.match(error.message, /cutover failed, the source is writable again/);
        assert.match(error.message, /the target server \(.*\) was unreachable for \d+ s/);
        return true;
      });
      const [[readOnly]] = (await source.query('SELECT @@global.read_only AS value')) as unknown as [[{ value: number }]];
      assert.equal(Number(readOnly.value), 0, 'the source is writable again');
    } finally {
      await proxy.stop();
    }
  });
});
