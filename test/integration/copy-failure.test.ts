// When one copy worker fails, the copy stops as a whole: the other workers stop too, and
// run() settles only after they have, so that nothing reads the source or asks the copy gate
// (which reads replica lag) after the copy has ended with its error.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { FixedBatchSizer, RowCopier, type CopyGate } from '../../src/copy/copier.js';
import { InsertRowWriter, type RowWriter } from '../../src/copy/writer.js';
import { createPool } from '../../src/db/connection.js';
import { preflight, prepareTarget } from '../../src/db/preflight.js';
import { schemaFingerprint, tableKey, type TableSchema } from '../../src/db/schema.js';
import { silentLogger } from '../../src/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createSampleDatabase } from '../../src/sandbox/sample.js';
import { StateTracker } from '../../src/state/tracker.js';
import { TEST_IDENTITY } from './helpers.js';

describe('row copy failure', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let tables: readonly TableSchema[];

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await createSampleDatabase(source, { customers: 20_000, orders: 20_000, products: 5000, files: 2000, allTypes: 2000 });
    const checked = await preflight({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, selection: { databases: ['shop'], include: ['*'], exclude: [] }, binlogServerId: 4242, cutoverSetsReadOnly: false });
    tables = checked.tables;
    await prepareTarget(target, checked);
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  it('stops every worker on the first error, and rejects with that error once they have stopped', { timeout: 60_000 }, async () => {
    const pool = createPool(sandbox.target.endpoint, 4);
    const insert = new InsertRowWriter(pool);
    let batches = 0;
    // The third batch of shop.files fails; the other tables are mid-copy at that moment.
    const writer: RowWriter = {
      method: 'insert',
      write: async (table, rows) => {
        if (tableKey(table) === 'shop.files' && ++batches === 3) throw new Error('target refused the batch');
        return insert.write(table, rows);
      },
    };
    let settled = false;
    let gateCallsAfterSettling = 0;
    const gate: CopyGate = {
      wait: async () => {
        if (settled) gateCallsAfterSettling++;
        await new Promise((resolve) => setTimeout(resolve, 2));
      },
    };
    const state = StateTracker.fresh({ source: 's', target: 't', identity: TEST_IDENTITY, start: { file: 'binlog.000001', position: 4 }, fingerprints: new Map(tables.map((table) => [tableKey(table), schemaFingerprint(table)])) });
    const copier = new RowCopier({
      source: sandbox.source.endpoint, writer, tables, rowFilters: new Map(), concurrency: 4, lockingRead: 'share', state, gate,
      sizerFor: () => new FixedBatchSizer(200), logger: silentLogger(),
    });
    try {
      await assert.rejects(copier.run(new AbortController().signal), /target refused the batch/);
      settled = true;
      const [sessions] = await source.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'tideferry'");
      assert.equal(Number((sessions as { n: number }[])[0]?.n), 0, 'every worker closed its source connection before run() settled');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(gateCallsAfterSettling, 0, 'no worker asked the gate after the copy ended');
      assert.ok(!state.allCopied);
    } finally {
      await pool.end();
    }
  });
});
