// Transient errors are retried and counted: a binlog batch that waits on a row another session
// holds on the target times out (ER_LOCK_WAIT_TIMEOUT), is retried once the lock is gone, and
// tideferry_retries_total{component="binlog",code="ER_LOCK_WAIT_TIMEOUT"} says so; every row equal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import { dumpTable, metricSum, resetSampleDatabase, sandboxConfig, testLogger, waitFor } from './helpers.js';

describe('retries', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await resetSampleDatabase(source, target);
  });
  after(async () => {
    await target?.query('SET GLOBAL innodb_lock_wait_timeout = 50').catch(() => undefined);
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  const retries = (ferry: Ferry, component: string, code: string): Promise<number> => metricSum(ferry, 'tideferry_retries_total', { component, code });

  it('counts a binlog batch retried after a lock wait timeout on the target, and ends with every row equal', { timeout: 120_000 }, async () => {
    // Sessions opened from now on give up on a lock after 1 s (the applier's among them).
    await target.query('SET GLOBAL innodb_lock_wait_timeout = 1');
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { cutover: { mode: 'manual' } }), logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'cutover', 90_000, 'the cutover');
    const locker = await sandbox.target.connect();
    try {
      await locker.query('BEGIN');
      await locker.query("SELECT * FROM shop.products WHERE sku = 'A-000003' FOR UPDATE");
      await source.query("UPDATE shop.products SET title = 'changed while locked on the target' WHERE sku = 'A-000003'");
      await waitFor(async () => (await retries(ferry, 'binlog', 'ER_LOCK_WAIT_TIMEOUT')) >= 1, 30_000, 'the retry counted');
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    assert.equal(ferry.confirmCutover().confirmed, true);
    await running;
    assert.ok((await retries(ferry, 'binlog', 'ER_LOCK_WAIT_TIMEOUT')) >= 1);
    for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  });
});
