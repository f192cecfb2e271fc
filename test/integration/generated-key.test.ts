// A primary key that contains a STORED generated column (MySQL allows one). Such a column is
// never written, the target computes it, but the copy must still read it: the cursor advances
// by the whole key. When the copy looked the key up among the written columns, it stopped
// after its first batch and marked the table copied, silently.
//
// MariaDB refuses generated columns in a PRIMARY KEY ("Primary key cannot be defined upon a
// generated column"), and MySQL does not run on the test machines. So the table here has a
// plain primary key and a UNIQUE key over (STORED generated column, id), and tideferry is told
// that the unique key is the primary key: the copy, the verifier and the state walk the table
// by it exactly as they would by such a primary key on MySQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { FixedBatchSizer, RowCopier, type CopyGate } from '../../src/copy/copier.js';
import { InsertRowWriter, LoadDataRowWriter, type RowWriter } from '../../src/copy/writer.js';
import { createPool } from '../../src/db/connection.js';
import { readTableSchema } from '../../src/db/introspect.js';
import { schemaFingerprint, tableKey, type TableSchema } from '../../src/db/schema.js';
import { silentLogger } from '../../src/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { StateTracker, type MigrationState } from '../../src/state/tracker.js';
import { verifyTables } from '../../src/verify/checksum.js';
import { dumpTable } from './helpers.js';

const ROWS = 5000;
const BATCH_ROWS = 300;
const openGate: CopyGate = { wait: async () => undefined };

const DDL = `CREATE TABLE gk.events (
  id INT NOT NULL,
  kind INT NOT NULL,
  bucket INT AS (kind % 7) STORED,
  payload VARBINARY(40),
  shout VARCHAR(50) AS (HEX(payload)) VIRTUAL,
  PRIMARY KEY (id),
  UNIQUE KEY copy_key (bucket, id)
)`;

describe('primary key with a stored generated column', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let table: TableSchema;

  const freshState = () => StateTracker.fresh({ source: 's', target: 't', start: { file: 'binlog.000001', position: 4 }, fingerprints: new Map([[tableKey(table), schemaFingerprint(table)]]) });

  const copy = async (makeWriter: (pool: ReturnType<typeof createPool>) => RowWriter, state: StateTracker, gate = openGate, signal = new AbortController().signal) => {
    const pool = createPool(sandbox.target.endpoint, 2, { flags: ['+LOCAL_FILES'] } as never);
    try {
      await new RowCopier({
        source: sandbox.source.endpoint, writer: makeWriter(pool), tables: [table], rowFilters: new Map(), concurrency: 1, lockingRead: 'share',
        state, gate, sizerFor: () => new FixedBatchSizer(BATCH_ROWS), logger: silentLogger(),
      }).run(signal);
    } finally {
      await pool.end();
    }
  };

  const resetTarget = async () => target.query(`DROP DATABASE IF EXISTS gk; CREATE DATABASE gk; ${DDL}`);

  const assertIdentical = async () => {
    const expected = await dumpTable(source, 'gk', 'events');
    const actual = await dumpTable(target, 'gk', 'events');
    assert.equal(actual.length, expected.length, 'row count differs');
    assert.deepEqual(actual, expected);
    const report = await verifyTables({ source, target, tables: [table] });
    assert.deepEqual(report.differences, []);
    assert.equal(report.rowsChecked, ROWS);
  };

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await source.query(`CREATE DATABASE gk; ${DDL};
      INSERT INTO gk.events (id, kind, payload) SELECT seq, seq * 13 % 101, UNHEX(MD5(seq)) FROM gk.seq_1_to_${ROWS}`);
    const schema = (await readTableSchema(source, { database: 'gk', name: 'events' }))!;
    table = { ...schema, primaryKey: ['bucket', 'id'] };
    assert.ok(table.columns.find((column) => column.name === 'bucket')!.generated, 'bucket is a generated column');
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  for (const [name, makeWriter] of [
    ['multi-row INSERT', (pool: ReturnType<typeof createPool>) => new InsertRowWriter(pool)],
    ['LOAD DATA LOCAL INFILE', (pool: ReturnType<typeof createPool>) => new LoadDataRowWriter(pool)],
  ] as const) {
    it(`copies every row, batch after batch, with ${name}`, async () => {
      await resetTarget();
      const state = freshState();
      await copy(makeWriter, state);
      assert.ok(state.allCopied);
      assert.equal(state.table(tableKey(table)).rowsCopied, ROWS, 'the copy went past its first batch');
      await assertIdentical();
    });
  }

  it('resumes from a state file whose last key holds the generated column', async () => {
    await resetTarget();
    const interrupt = new AbortController();
    let batches = 0;
    const gate: CopyGate = { wait: async () => { if (++batches === 6) interrupt.abort(new Error('interrupted')); } };
    const first = freshState();
    await assert.rejects(copy((pool) => new InsertRowWriter(pool), first, gate, interrupt.signal), /interrupted/);
    // Through JSON, as a state file is: the key's raw bytes must survive the codec.
    const saved = JSON.parse(JSON.stringify(first.snapshot())) as MigrationState;
    assert.equal(saved.tables[tableKey(table)]!.lastKey!.length, 2, 'the saved key has both columns');
    const resumed = new StateTracker(saved);
    await copy((pool) => new InsertRowWriter(pool), resumed);
    assert.equal(resumed.table(tableKey(table)).rowsCopied, ROWS, 'the resumed copy neither skipped nor repeated rows');
    await assertIdentical();
  });

  it('the verifier finds a row that differs, walking by the generated key', async () => {
    await target.query('UPDATE gk.events SET payload = UNHEX(\'00\') WHERE id = 4321');
    const report = await verifyTables({ source, target, tables: [table], chunkRows: 700 });
    assert.equal(report.differences.length, 1);
    assert.equal(report.differences[0]!.different, 1);
    assert.equal(report.rowsChecked, ROWS);
  });
});
