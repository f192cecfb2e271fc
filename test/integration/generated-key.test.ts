// A primary key that contains a STORED generated column (MySQL allows one). Such a column is
// never written, the target computes it, but the copy must still read it: the cursor advances
// by the whole key. When the copy looked the key up among the written columns, it stopped
// after its first batch and marked the table copied, silently.
//
// MariaDB refuses generated columns in a PRIMARY KEY ("Primary key cannot be defined upon a
// generated column"), and MySQL does not run on the test machines. So the table here has a
// plain primary key and a UNIQUE key over (STORED generated column, id), and tideferry is told
// that the unique key is the primary key: the copy, the verifier and the state walk the table
// by it exactly as they would by such a primary key on MySQL. The live test runs the copy and
// the binlog replay (the Replication unit ferry runs) under a write load that moves rows from
// one key to another, since ferry itself reads the key from the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { readSourcePosition } from '../../src/binlog/position.js';
import { Replication } from '../../src/binlog/replication.js';
import { FixedBatchSizer, RowCopier, type CopyGate } from '../../src/copy/copier.js';
import { InsertRowWriter, LoadDataRowWriter, type RowWriter } from '../../src/copy/writer.js';
import { createPool } from '../../src/db/connection.js';
import { readTableSchema } from '../../src/db/introspect.js';
import { schemaFingerprint, tableKey, type TableSchema } from '../../src/db/schema.js';
import { silentLogger } from '../../src/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { seededRandom } from '../../src/sandbox/random.js';
import { StateTracker, type MigrationState } from '../../src/state/tracker.js';
import { verifyTables } from '../../src/verify/checksum.js';
import { dumpTable, TEST_IDENTITY } from './helpers.js';

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

/** Inserts, deletes and updates (a third of them moving a row to another key) until stopped. */
class MovingKeyLoad {
  private running = true;
  private readonly workers: Promise<void>[] = [];
  private readonly connections: Connection[] = [];
  readonly byKind: Record<string, number> = {};

  async start(sandbox: Sandbox, connections: number): Promise<void> {
    for (let index = 0; index < connections; index++) {
      const connection = await sandbox.source.connectAsApplication({ database: 'gk' });
      this.connections.push(connection);
      this.workers.push(this.work(connection, seededRandom(index + 11)));
    }
  }

  private async work(connection: Connection, random: () => number): Promise<void> {
    const id = () => 1 + Math.floor(random() * (ROWS + 300));
    while (this.running) {
      const choice = random();
      const [kind, sql] =
        choice < 0.35 ? ['key-move', `UPDATE events SET kind = kind + 1 WHERE id = ${id()}`] // bucket = kind % 7 changes
        : choice < 0.55 ? ['update', `UPDATE events SET payload = UNHEX(MD5(RAND())) WHERE id = ${id()}`]
        : choice < 0.8 ? ['insert', `INSERT IGNORE INTO events (id, kind, payload) VALUES (${id()}, ${Math.floor(random() * 100)}, 'new')`]
        : ['delete', `DELETE FROM events WHERE id = ${id()}`];
      try {
        await connection.query(sql);
        this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (code !== 'ER_DUP_ENTRY' && code !== 'ER_LOCK_DEADLOCK' && code !== 'ER_LOCK_WAIT_TIMEOUT') throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  async stop(): Promise<Record<string, number>> {
    this.running = false;
    try {
      await Promise.all(this.workers);
    } finally {
      await Promise.all(this.connections.map((connection) => connection.end().catch(() => undefined)));
    }
    return this.byKind;
  }
}

describe('primary key with a stored generated column', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let table: TableSchema;

  const freshState = () => StateTracker.fresh({ source: 's', target: 't', identity: TEST_IDENTITY, start: { file: 'binlog.000001', position: 4 }, fingerprints: new Map([[tableKey(table), schemaFingerprint(table)]]) });

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

  const assertIdentical = async (rows = ROWS) => {
    const expected = await dumpTable(source, 'gk', 'events');
    const actual = await dumpTable(target, 'gk', 'events');
    assert.equal(actual.length, expected.length, 'row count differs');
    assert.deepEqual(actual, expected);
    const report = await verifyTables({ source, target, tables: [table] });
    assert.deepEqual(report.differences, []);
    assert.equal(report.rowsChecked, rows);
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

  it('migrates live: copy and binlog replay under a load that moves rows between keys, every row equal', { timeout: 180_000 }, async () => {
    await resetTarget();
    const admin = await sandbox.source.connect();
    const load = new MovingKeyLoad();
    let replication: Replication | undefined;
    let byKind: Record<string, number> = {};
    try {
      await load.start(sandbox, 2);
      const start = await readSourcePosition(admin);
      replication = new Replication({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, tables: new Map([[tableKey(table), table]]), batchSize: 50, logger: silentLogger() }, start);
      const state = freshState();
      // A short pause before each batch: the load interleaves with the whole copy.
      const slowGate: CopyGate = { wait: () => new Promise((resolve) => setTimeout(resolve, 30)) };
      await Promise.race([copy((pool) => new InsertRowWriter(pool), state, slowGate), replication.failedWith]);
      assert.ok(state.table(tableKey(table)).rowsCopied > ROWS / 2, `the copy read ${state.table(tableKey(table)).rowsCopied} rows: it stopped early`);
      byKind = await load.stop(); // the writers stop, as at cutover
      await replication.drainTo(await readSourcePosition(admin));
      assert.ok(replication.applier.eventsApplied > 100, `only ${replication.applier.eventsApplied} binlog events applied`);
    } finally {
      await load.stop().catch(() => undefined);
      await replication?.stop();
      await admin.end();
    }
    assert.ok((byKind['key-move'] ?? 0) > 30, `the load moved too few keys: ${JSON.stringify(byKind)}`);
    const [[count]] = (await source.query('SELECT COUNT(*) AS n FROM gk.events')) as unknown as [[{ n: number }]];
    await assertIdentical(Number(count.n));
  });

  it('the verifier finds a row that differs, walking by the generated key', async () => {
    const [[row]] = (await target.query('SELECT id FROM gk.events ORDER BY id LIMIT 1 OFFSET 4000')) as unknown as [[{ id: number }]];
    await target.query(`UPDATE gk.events SET payload = UNHEX('00') WHERE id = ${Number(row.id)}`);
    const report = await verifyTables({ source, target, tables: [table], chunkRows: 700 });
    assert.equal(report.differences.length, 1);
    assert.equal(report.differences[0]!.different, 1);
    const [[count]] = (await source.query('SELECT COUNT(*) AS n FROM gk.events')) as unknown as [[{ n: number }]];
    assert.equal(report.rowsChecked, Number(count.n));
  });
});
