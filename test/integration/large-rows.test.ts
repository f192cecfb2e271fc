// Rows of several MB against a target with a small max_allowed_packet (8M here; the server's
// default is 16M, and a row travels as hex in an INSERT, so 3 MB rows need 6 MB statements).
// The copy's batches (INSERT and LOAD DATA) and the binlog's batches must both be cut to fit,
// while a write load rewrites, inserts and deletes big rows during the run; at the end every
// row is equal. A row too big for any INSERT statement is a clear error.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { PacketTooLargeError } from '../../src/binlog/errors.js';
import { FixedBatchSizer, RowCopier } from '../../src/copy/copier.js';
import { InsertRowWriter, LoadDataRowWriter, type RowWriter } from '../../src/copy/writer.js';
import { createPool } from '../../src/db/connection.js';
import { readTableSchema } from '../../src/db/introspect.js';
import { schemaFingerprint, tableKey } from '../../src/db/schema.js';
import { Ferry } from '../../src/ferry.js';
import { silentLogger } from '../../src/log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { seededRandom } from '../../src/sandbox/random.js';
import { StateTracker } from '../../src/state/tracker.js';
import { sandboxConfig, TEST_IDENTITY, testLogger } from './helpers.js';

const TARGET_PACKET = '8M';
const ROWS = 24;
const MB = 1024 * 1024;

// A value of `bytes` bytes made on the server: 32 random bytes repeated.
const bigValue = (bytes: number) => `REPEAT(UNHEX(SHA2(RAND(), 256)), ${Math.ceil(bytes / 32)})`;
const DDL = `CREATE TABLE big.docs (
  id INT NOT NULL PRIMARY KEY,
  body LONGBLOB,
  note MEDIUMTEXT CHARACTER SET utf8mb4,
  tag VARCHAR(20)
)`;

/** Rewrites big rows with new 1–3 MB values, inserts and deletes some, until stopped. */
class BigRowLoad {
  private running = true;
  private worker: Promise<void> | undefined;
  private connection: Connection | undefined;
  readonly byKind: Record<string, number> = {};

  async start(sandbox: Sandbox): Promise<void> {
    this.connection = await sandbox.source.connectAsApplication({ database: 'big' });
    this.worker = this.work(this.connection, seededRandom(7));
  }

  private async work(connection: Connection, random: () => number): Promise<void> {
    const size = () => MB + Math.floor(random() * 2 * MB);
    const id = () => 1 + Math.floor(random() * (ROWS + 10));
    while (this.running) {
      const choice = random();
      const [kind, sql] =
        choice < 0.5 ? ['update', `UPDATE docs SET body = ${bigValue(size())}, tag = 'upd' WHERE id = ${id()}`]
        : choice < 0.65 ? ['multi-update', `UPDATE docs SET note = CONCAT('multi ✓ ', id), body = ${bigValue(size())} WHERE id BETWEEN ${id()} AND ${id()} + 2`]
        : choice < 0.85 ? ['insert', `INSERT IGNORE INTO docs VALUES (${id()}, ${bigValue(size())}, 'new ✨', 'new')`]
        : ['delete', `DELETE FROM docs WHERE id = ${id()}`];
      try {
        await connection.query(sql);
        this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (code === 'ER_OPTION_PREVENTS_STATEMENT') await new Promise((resolve) => setTimeout(resolve, 20)); // cutover: read-only
        else if (code !== 'ER_LOCK_DEADLOCK' && code !== 'ER_LOCK_WAIT_TIMEOUT') throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  }

  async stop(): Promise<Record<string, number>> {
    this.running = false;
    try {
      await this.worker;
    } finally {
      await this.connection?.end().catch(() => undefined);
    }
    return this.byKind;
  }
}

describe('rows of several MB under a small target max_allowed_packet', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;

  /** Every row, its big values by SHA-256 (dumping 3 MB values as hex would say no more). */
  const rows = async (connection: Connection) => {
    const [result] = await connection.query('SELECT id, LENGTH(body) AS length, SHA2(body, 256) AS body, SHA2(note, 256) AS note, tag FROM big.docs ORDER BY id');
    return result as Record<string, unknown>[];
  };

  before(async () => {
    sandbox = await startSandbox({ targetArgs: [`--max-allowed-packet=${TARGET_PACKET}`] });
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    const [[packet]] = (await target.query('SELECT @@global.max_allowed_packet AS bytes')) as unknown as [[{ bytes: number }]];
    assert.equal(Number(packet.bytes), 8 * MB);
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    await source.query(`SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS big; CREATE DATABASE big; ${DDL}`);
    await target.query('DROP DATABASE IF EXISTS big');
    // 1 to 3 MB each: a copy batch of 8 rows is 16 MB of data, 32 MB as hex.
    for (let id = 1; id <= ROWS; id++) {
      await source.query(`INSERT INTO big.docs VALUES (${id}, ${bigValue(MB + ((id * 709_000) % (2 * MB)))}, REPEAT('ü', ${id * 1000}), 'seed')`);
    }
  });

  for (const writeMethod of ['insert', 'load-data'] as const) {
    it(`migrates them under a write load with copy.writeMethod ${writeMethod}`, { timeout: 300_000 }, async () => {
      const load = new BigRowLoad();
      await load.start(sandbox);
      let byKind: Record<string, number>;
      try {
        const config = sandboxConfig(sandbox, { databases: ['big'], copy: { writeMethod, batchRows: 8, adaptive: false, concurrency: 1 }, binlog: { batchSize: { min: 1, max: 50, initial: 20 } } });
        const summary = await new Ferry({ config, logger: testLogger() }).run();
        assert.ok(summary.rowsCopied >= ROWS - 10, `${summary.rowsCopied} rows copied`);
        assert.ok(summary.eventsApplied > 5, `only ${summary.eventsApplied} binlog events applied`);
        // Batches of several big row changes: more than one packet's worth, cut by the applier.
        assert.ok(summary.maxBatchSize >= 3, `the largest binlog batch held ${summary.maxBatchSize} events`);
        assert.ok(summary.verifiedRows !== undefined);
      } finally {
        byKind = await load.stop();
      }
      assert.ok((byKind['update'] ?? 0) + (byKind['multi-update'] ?? 0) > 5, `the load rewrote too few big rows: ${JSON.stringify(byKind)}`);
      const expected = await rows(source);
      assert.ok(expected.some((row) => Number(row['length']) > 2.5 * MB), 'rows over 2.5 MB were there');
      assert.deepEqual(await rows(target), expected);
    });
  }

  it('stops with a clear error for a row no INSERT can carry, and LOAD DATA copies it', { timeout: 120_000 }, async () => {
    await source.query(`INSERT INTO big.docs VALUES (1000, ${bigValue(5 * MB)}, NULL, 'huge')`);
    await target.query(`CREATE DATABASE big; ${DDL}`);
    const table = (await readTableSchema(source, { database: 'big', name: 'docs' }))!;
    const copy = async (makeWriter: (pool: ReturnType<typeof createPool>) => RowWriter) => {
      const pool = createPool(sandbox.target.endpoint, 1, { flags: ['+LOCAL_FILES'] } as never);
      try {
        const state = StateTracker.fresh({ source: 's', target: 't', identity: TEST_IDENTITY, start: { file: 'binlog.000001', position: 4 }, fingerprints: new Map([[tableKey(table), schemaFingerprint(table)]]) });
        await new RowCopier({
          source: sandbox.source.endpoint, writer: makeWriter(pool), tables: [table], rowFilters: new Map(), concurrency: 1, lockingRead: 'share',
          state, gate: { wait: async () => undefined }, sizerFor: () => new FixedBatchSizer(8), logger: silentLogger(),
        }).run(new AbortController().signal);
      } finally {
        await pool.end();
      }
    };
    await assert.rejects(copy((pool) => new InsertRowWriter(pool)), (error: unknown) => {
      assert.ok(error instanceof PacketTooLargeError, `expected PacketTooLargeError, got ${String(error)}`);
      assert.match(error.message, /copying big\.docs: one row makes an INSERT of 1\d{7} bytes/);
      assert.match(error.message, /Raise max_allowed_packet on the target to at least 1\dM/);
      return true;
    });
    await copy((pool) => new LoadDataRowWriter(pool));
    assert.deepEqual(await rows(target), await rows(source));
  });
});
