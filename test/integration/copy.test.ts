// The row copy alone (no concurrent writes): every row of every type arrives byte-exact, with
// either write path; a row filter is honoured; an interrupted copy resumes where it stopped;
// and the verifier finds each kind of difference.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { FixedBatchSizer, RowCopier, type CopyGate } from '../../src/copy/copier.js';
import { InsertRowWriter, LoadDataRowWriter, type RowWriter } from '../../src/copy/writer.js';
import { createPool } from '../../src/db/connection.js';
import { preflight, prepareTarget } from '../../src/db/preflight.js';
import { schemaFingerprint, tableKey, type TableSchema } from '../../src/db/schema.js';
import { silentLogger } from '../../src/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createSampleDatabase, SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import { StateTracker } from '../../src/state/tracker.js';
import { verifyTables } from '../../src/verify/checksum.js';
import { dumpTable, TEST_IDENTITY } from './helpers.js';

const openGate: CopyGate = { wait: async () => undefined };

describe('row copy', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let tables: readonly TableSchema[];

  const freshState = () =>
    StateTracker.fresh({ source: 's', target: 't', identity: TEST_IDENTITY, start: { file: 'binlog.000001', position: 4 }, fingerprints: new Map(tables.map((table) => [tableKey(table), schemaFingerprint(table)])) });

  const copy = async (writer: (pool: ReturnType<typeof createPool>) => RowWriter, options: { state?: StateTracker; filters?: Map<string, string>; gate?: CopyGate; signal?: AbortSignal } = {}) => {
    const pool = createPool(sandbox.target.endpoint, 4, { flags: ['+LOCAL_FILES'] } as never);
    const state = options.state ?? freshState();
    try {
      await new RowCopier({
        source: sandbox.source.endpoint,
        writer: writer(pool),
        tables,
        rowFilters: options.filters ?? new Map(),
        concurrency: 3,
        lockingRead: 'share',
        state,
        gate: options.gate ?? openGate,
        sizerFor: () => new FixedBatchSizer(3000),
        logger: silentLogger(),
      }).run(options.signal ?? new AbortController().signal);
    } finally {
      await pool.end();
    }
    return state;
  };

  const resetTarget = async () => {
    await target.query('DROP DATABASE IF EXISTS shop');
    const result = await preflight({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, selection: { databases: ['shop'], include: ['*'], exclude: [] }, binlogServerId: 4242, cutoverSetsReadOnly: false });
    await prepareTarget(target, result);
  };

  const assertIdentical = async () => {
    for (const table of SAMPLE_TABLES) {
      const expected = await dumpTable(source, 'shop', table);
      const actual = await dumpTable(target, 'shop', table);
      assert.equal(actual.length, expected.length, `${table}: row count`);
      assert.deepEqual(actual, expected, `${table}: rows differ`);
    }
  };

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await createSampleDatabase(source);
    const result = await preflight({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, selection: { databases: ['shop'], include: ['*'], exclude: [] }, binlogServerId: 4242, cutoverSetsReadOnly: false });
    tables = result.tables;
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  for (const [name, writer] of [
    ['multi-row INSERT', (pool: ReturnType<typeof createPool>) => new InsertRowWriter(pool)],
    ['LOAD DATA LOCAL INFILE', (pool: ReturnType<typeof createPool>) => new LoadDataRowWriter(pool)],
  ] as const) {
    it(`copies every row byte-exact with ${name}`, async () => {
      await resetTarget();
      const state = await copy(writer);
      assert.ok(state.allCopied);
      const [[count]] = (await source.query('SELECT COUNT(*) AS n FROM shop.customers')) as unknown as [[{ n: number }]];
      assert.equal(state.table('shop.customers').rowsCopied, Number(count.n));
      await assertIdentical();
      const report = await verifyTables({ source, target, tables });
      assert.deepEqual(report.differences, []);
      assert.ok(report.rowsChecked > 100_000);
    });
  }

  it('copies only the rows a row filter selects', async () => {
    await resetTarget();
    await copy((pool) => new InsertRowWriter(pool), { filters: new Map([['shop.customers', 'id % 3 = 0']]) });
    const [[expected]] = (await source.query('SELECT COUNT(*) AS n, SUM(id) AS s FROM shop.customers WHERE id % 3 = 0')) as unknown as [[{ n: number; s: string }]];
    const [[actual]] = (await target.query('SELECT COUNT(*) AS n, SUM(id) AS s, SUM(id % 3 <> 0) AS other FROM shop.customers')) as unknown as [[{ n: number; s: string; other: string }]];
    assert.equal(actual.n, expected.n);
    assert.equal(actual.s, expected.s);
    assert.equal(Number(actual.other), 0);
    const report = await verifyTables({ source, target, tables, rowFilters: new Map([['shop.customers', 'id % 3 = 0']]) });
    assert.deepEqual(report.differences, []);
  });

  it('resumes an interrupted copy from the state', async () => {
    await resetTarget();
    const stop = new AbortController();
    let batches = 0;
    const gate: CopyGate = { wait: async () => { if (++batches === 8) stop.abort(new Error('interrupted')); } };
    const state = freshState();
    await assert.rejects(copy((pool) => new InsertRowWriter(pool), { state, gate, signal: stop.signal }), /interrupted/);
    assert.ok(!state.allCopied, 'the interruption came before the end');
    assert.ok(Object.values(state.snapshot().tables).some((table) => table.lastKey !== null), 'some progress was recorded');
    await copy((pool) => new InsertRowWriter(pool), { state: new StateTracker(state.snapshot()) });
    await assertIdentical();
  });

  it('the verifier finds missing, extra and different rows', async () => {
    await target.query("DELETE FROM shop.orders LIMIT 1; UPDATE shop.all_types SET f32 = f32 * 1.0000001 WHERE id = 5; INSERT INTO shop.products (sku, title, price) VALUES ('zzz-only-target', 'x', 1)");
    const report = await verifyTables({ source, target, tables });
    const byTable = new Map(report.differences.map((difference) => [difference.table, difference]));
    assert.equal(byTable.get('shop.orders')?.missingOnTarget, 1);
    assert.equal(byTable.get('shop.all_types')?.different, 1);
    assert.equal(byTable.get('shop.products')?.extraOnTarget, 1);
    assert.equal(report.differences.length, 3);
  });
});
