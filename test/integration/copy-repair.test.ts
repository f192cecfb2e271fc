// The copy's repair (docs/architecture.md, "Retries"): a copy batch whose source connection is
// lost after its rows were read and before its target write landed has lost its row locks in
// between. A row deleted on the source in that gap, its delete already replayed on the target,
// would be written back by the stale batch. The retry reads the batch again under REPEATABLE
// READ, deletes the target's rows of its key range and writes them again: no row comes back.
//
// The gap is made, not hoped for: a target session holds a row of the second batch, so the copy's
// write waits on it with the batch's rows read; the copier's source connection is then killed, a
// row of the batch deleted on the source and replayed, and the target lock let go.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { dumpTable, sandboxConfig, testLogger, waitFor } from './helpers.js';

const TABLE = 'CREATE TABLE repair.items (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL) ENGINE=InnoDB';

describe('copy repair after a lost source connection', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    for (const server of [source, target]) await server.query('DROP DATABASE IF EXISTS repair; CREATE DATABASE repair');
    await source.query(TABLE);
    await target.query(TABLE);
    const values = Array.from({ length: 5000 }, (_, index) => `(${index + 1}, 'row ${index + 1}')`);
    await source.query(`INSERT INTO repair.items VALUES ${values.join(',')}`);
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  it('does not write back a row deleted while the batch had lost its locks; every row equal', { timeout: 120_000 }, async () => {
    // The second batch (ids 1001–2000) will wait on id 1500, held by this uncommitted insert.
    const holder = await sandbox.target.connect();
    await holder.query('BEGIN');
    await holder.query("INSERT INTO repair.items VALUES (1500, 'held by the test')");
    const ferry = new Ferry({
      config: sandboxConfig(sandbox, {
        databases: ['repair'],
        copy: { adaptive: false, batchRows: 1000, concurrency: 1 },
        verify: { enabled: false },
        cutover: { mode: 'manual' },
        throttle: { discoverReplicas: false },
      }),
      logger: testLogger(),
    });
    const running = ferry.run();
    running.catch(() => undefined);
    try {
      // The copy's write of the second batch waits on the held row.
      await waitFor(async () => {
        // The copy's write, running for a second: it waits (INNODB_TRX does not always list it yet).
        const [rows] = await target.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%' AND TIME_MS > 1000");
        return Number((rows as { n: number }[])[0]?.n) > 0;
      }, 60_000, "the copy's write waiting on the held row");
      // The only source transaction open is the copy batch's (the binlog dump holds none).
      const [trx] = await source.query('SELECT trx_mysql_thread_id AS id FROM information_schema.INNODB_TRX');
      const ids = (trx as { id: number }[]).map((row) => row.id);
      assert.equal(ids.length, 1, `one copy transaction open on the source, found ${ids.length}`);
      await source.query(`KILL ${ids[0]}`);
      // Its row locks are gone: the delete commits at once, and is replayed on the target before
      // the copy's write reaches the row (it waits at 1500; a row under 1500 it has written would
      // hold the replayed delete until the write ends, and the delete would land after it).
      const appliedBefore = (await ferry.metrics.eventsApplied.get()).values[0]?.value ?? 0;
      await source.query('DELETE FROM repair.items WHERE id = 1800');
      await waitFor(async () => ((await ferry.metrics.eventsApplied.get()).values[0]?.value ?? 0) > appliedBefore, 30_000, 'the delete replayed');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    await waitFor(() => ferry.phase === 'cutover', 60_000, 'the manual cutover');
    assert.equal(ferry.confirmCutover().confirmed, true);
    await running;
    const [gone] = await target.query('SELECT id FROM repair.items WHERE id = 1800');
    assert.deepEqual(gone, [], 'the row deleted on the source is not on the target');
    assert.deepEqual(await dumpTable(target, 'repair', 'items'), await dumpTable(source, 'repair', 'items'), 'rows differ');
  });
});
