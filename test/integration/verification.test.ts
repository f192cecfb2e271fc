// Verification while copying (verify/inline.ts) and the schema watch (verify/schema-watch.ts):
// a row changed behind tideferry's back is named at cutover; a row the source changes again
// after its range was verified is remembered and compared again; a resumed run neither repeats
// nor skips what was verified; a table altered on the target, or a collation changed on the
// source without the binlog seeing it, stops the run with the table, the side and the change.
// Where a load runs, every row of every table is compared at the end.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import type { Connection } from 'mysql2/promise';
import { SchemaChangedError, VerificationError } from '../../src/errors.js';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import type { MigrationState } from '../../src/state/tracker.js';
import type { TableVerificationStatus } from '../../src/verify/inline.js';
import { dumpTable, metricSum, resetSampleDatabase, sandboxConfig, testLogger, waitFor } from './helpers.js';



const verification = (ferry: Ferry, table: string): TableVerificationStatus | undefined =>
  (ferry.status().tables as Record<string, { verification?: TableVerificationStatus } | undefined>)[table]?.verification;

const copied = (ferry: Ferry, table: string): { rowsCopied: number; done: boolean } | undefined =>
  (ferry.status().tables as Record<string, { rowsCopied: number; done: boolean } | undefined>)[table];

/** Rows verified per table, as the metric counts them (inline, again, at cutover). */
const rowsVerifiedMetric = (ferry: Ferry, table: string): Promise<number> => metricSum(ferry, 'tideferry_verify_rows_verified_total', { table });

describe('verification while copying', () => {
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
  });
  afterEach(async () => {
    await load?.stop().catch(() => undefined);
    load = undefined;
  });

  const startLoad = async () => {
    load = new WriteLoad(sandbox.source, { ratePerSecond: 300, connections: 2, seed: Date.now() % 100_000 });
    await load.start();
  };
  const stopLoad = async () => {
    await load?.stop();
    load = undefined;
  };
  const assertIdentical = async (tables: readonly string[] = SAMPLE_TABLES) => {
    for (const table of tables) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  };

  it('names at cutover a row changed on the target behind its back after its range was verified', { timeout: 120_000 }, async () => {
    await startLoad();
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { http: { listen: '127.0.0.1:0' }, cutover: { mode: 'manual' } }), logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    // Ready: every table verified, the changed rows compared again; waiting for the operator.
    await waitFor(() => ferry.phase === 'cutover', 90_000, 'the cutover');
    assert.ok(verification(ferry, 'shop.customers')?.complete, 'customers was verified while copying');
    // The operator holds the copy (and with it the verification in the background), stops the writers…
    assert.equal((await fetch(`${ferry.httpUrl}/pause`, { method: 'POST' })).status, 200);
    await stopLoad();
    // …one row changes on the source after its range was verified, reaches the target, and then
    // someone changes it on the target too.
    const [[{ id }]] = (await source.query('SELECT id FROM shop.customers ORDER BY id LIMIT 1 OFFSET 1000')) as unknown as [[{ id: string }]];
    await source.query("UPDATE shop.customers SET name = 'changed on the source' WHERE id = ?", [id]);
    await waitFor(async () => {
      const [rows] = (await target.query('SELECT name FROM shop.customers WHERE id = ?', [id])) as unknown as [{ name: string }[]];
      return rows[0]?.name === 'changed on the source';
    }, 10_000, 'the change on the target');
    await target.query('UPDATE shop.customers SET balance = balance + 1 WHERE id = ?', [id]);
    assert.equal(ferry.confirmCutover().confirmed, true);
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
      assert.match(error.message, new RegExp(`shop\\.customers: 0 missing on target, 0 only on target, 1 different \\(rows id=${id} \\(different\\)\\)`));
      assert.doesNotMatch(error.message, /shop\.(orders|products|files|all_types)/);
      return true;
    });
    // Every other row is equal: the tampered one is the only difference.
    await assertIdentical(SAMPLE_TABLES.filter((table) => table !== 'customers'));
    const expected = await dumpTable(source, 'shop', 'customers');
    const actual = await dumpTable(target, 'shop', 'customers');
    assert.equal(actual.length, expected.length);
    assert.equal(actual.filter((row) => !expected.includes(row)).length, 1);
  });

  it('with verify.atCutover all, names a row changed only on the target', { timeout: 120_000 }, async () => {
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { cutover: { mode: 'manual' }, verify: { atCutover: 'all' } }), logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'cutover', 90_000, 'the cutover');
    await target.query("UPDATE shop.products SET title = 'changed on the target' WHERE sku = 'A-000003'");
    assert.equal(ferry.confirmCutover().confirmed, true);
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
      assert.match(error.message, /shop\.products: 0 missing on target, 0 only on target, 1 different \(rows sku="A-000003" \(different\)\)/);
      return true;
    });
  });

  it('compares again a row changed during the copy and again after its range was verified', { timeout: 120_000 }, async () => {
    // A table the load does not write: what it remembers is this test's doing alone.
    await source.query('CREATE TABLE shop.notes (id INT NOT NULL PRIMARY KEY, body VARCHAR(100) NOT NULL) ENGINE=InnoDB');
    await source.query("INSERT INTO shop.notes SELECT seq, CONCAT('note ', seq) FROM seq_1_to_20000");
    await startLoad();
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { copy: { batchRows: 500, adaptive: false, concurrency: 2 }, binlog: { batchSize: 50 } }), logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    // During the copy of notes, before the range of row 20000 is copied or verified…
    await waitFor(() => (copied(ferry, 'shop.notes')?.rowsCopied ?? 0) > 0, 60_000, 'the copy of notes');
    assert.equal(copied(ferry, 'shop.notes')?.done, false, 'notes still copying');
    await source.query("UPDATE shop.notes SET body = 'changed during the copy' WHERE id = 20000");
    // …and again once the whole table is verified.
    await waitFor(() => verification(ferry, 'shop.notes')?.complete === true, 60_000, 'notes verified');
    assert.equal(verification(ferry, 'shop.notes')?.rowsVerified, 20_000, 'every row of notes verified once while copying');
    // The change during the copy was remembered (its row's range was not verified yet when it came,
    // or was), and compared again once the table was verified.
    await waitFor(() => verification(ferry, 'shop.notes')?.pendingRows === 0, 10_000, 'the first change compared again');
    const before = await rowsVerifiedMetric(ferry, 'shop.notes');
    await source.query("UPDATE shop.notes SET body = 'changed after its range was verified' WHERE id = 20000");
    await waitFor(() => (verification(ferry, 'shop.notes')?.pendingRows ?? 0) === 1, 10_000, 'the change remembered');
    const summary = await running;
    assert.equal(verification(ferry, 'shop.notes')?.pendingRows, 0, 'compared again, and equal');
    assert.equal(await rowsVerifiedMetric(ferry, 'shop.notes'), before + 1, 'the changed row alone was compared again');
    assert.ok(summary.rowsReverified !== undefined && summary.cutoverVerifySeconds !== undefined);
    await stopLoad();
    await assertIdentical([...SAMPLE_TABLES, 'notes']);
    const [[note]] = (await target.query('SELECT body FROM shop.notes WHERE id = 20000')) as unknown as [[{ body: string }]];
    assert.equal(note.body, 'changed after its range was verified');
  });

  it('past verify.maxPendingKeys remembers key ranges, says so once, and names a row tampered with inside them once', { timeout: 120_000 }, async () => {
    await source.query('CREATE TABLE shop.notes (id INT NOT NULL PRIMARY KEY, body VARCHAR(100) NOT NULL) ENGINE=InnoDB');
    await source.query("INSERT INTO shop.notes SELECT seq, CONCAT('note ', seq) FROM seq_1_to_20000");
    const messages: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void messages.push(String((JSON.parse(line) as { msg: string }).msg)) });
    const overflows = () => messages.filter((message) => /more changed rows to compare again than verify\.maxPendingKeys|changed keys turned into key ranges/.test(message)).length;
    // Copy batches of 3,000 rows: the verified units of notes end at 3000, 6000, 9000, …
    const config = sandboxConfig(sandbox, { http: { listen: '127.0.0.1:0' }, cutover: { mode: 'manual' }, copy: { batchRows: 3000, adaptive: false }, verify: { maxPendingKeys: 1000 } });
    const ferry = new Ferry({ config, logger });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'cutover', 90_000, 'the cutover');
    // Held: the background compares nothing more; each change of 2,000+ rows overflows the 1,000 keys.
    assert.equal((await fetch(`${ferry.httpUrl}/pause`, { method: 'POST' })).status, 200);
    const before = await rowsVerifiedMetric(ferry, 'shop.notes');
    const change = async (from: number, to: number) => {
      await source.query(`UPDATE shop.notes SET body = CONCAT('changed ', id) WHERE id BETWEEN ${from} AND ${to}`);
      await waitFor(async () => {
        const [rows] = (await target.query('SELECT body FROM shop.notes WHERE id = ?', [to])) as unknown as [{ body: string }[]];
        return rows[0]?.body === `changed ${to}`;
      }, 10_000, `the change of ${from}–${to} on the target`);
    };
    // Two collapses, whose ranges share the unit (6000, 9000].
    await change(5001, 7000);
    await waitFor(() => overflows() >= 1, 10_000, 'the first overflow');
    await change(7001, 10000);
    await waitFor(() => overflows() >= 2, 10_000, 'the second overflow');
    await waitFor(() => (verification(ferry, 'shop.notes')?.pendingRows ?? 0) >= 5000, 10_000, 'the ranges remembered');
    await target.query("UPDATE shop.notes SET body = 'changed on the target' WHERE id = 7001");
    assert.equal(ferry.confirmCutover().confirmed, true);
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
      assert.match(error.message, /shop\.notes: 0 missing on target, 0 only on target, 1 different \(rows id=7001 \(different\)\)/, `the verification error: ${error.message}`);
      return true;
    });
    assert.equal(messages.filter((message) => /more changed rows to compare again than verify\.maxPendingKeys/.test(message)).length, 1, 'said once');
    // Compared again as ranges of units: at least the 5,000 changed rows. (Ranges of successive
    // overflows can overlap, and their rows are then compared once per range: no upper bound.)
    const compared = (await rowsVerifiedMetric(ferry, 'shop.notes')) - before;
    assert.ok(compared >= 5000, `compared ${compared} rows of notes again`);
  });

  it('resumes with its verification progress: what was verified is not verified again, and nothing is skipped', { timeout: 120_000 }, async () => {
    const config = sandboxConfig(sandbox, { copy: { batchRows: 400, adaptive: false, concurrency: 1 } });
    const first = new Ferry({ config, logger: testLogger() });
    const running = first.run();
    running.catch(() => undefined);
    const verifiedSoFar = () => Object.values(first.status().tables as Record<string, { verification?: TableVerificationStatus } | undefined>).reduce((sum, table) => sum + (table?.verification?.rowsVerified ?? 0), 0);
    await waitFor(() => verifiedSoFar() > 20_000, 60_000, 'verification progress');
    first.cancel('test interrupts the run');
    await assert.rejects(running, /run stopped \(test interrupts the run\)/);
    const saved = JSON.parse(readFileSync(config.stateFile, 'utf8')) as MigrationState;
    assert.equal(saved.version, 3);
    const savedRows = Object.values(saved.verification ?? {}).reduce((sum, table) => sum + table.progress.rowsVerified, 0);
    assert.ok(savedRows > 20_000, `the state file holds the verification progress (${savedRows} rows)`);
    assert.ok(Object.values(saved.tables).some((table) => !table.done), 'stopped during the copy');

    const summary = await new Ferry({ config, logger: testLogger(), resume: true }).run();
    const [counts] = (await source.query(`SELECT ${SAMPLE_TABLES.map((table) => `(SELECT COUNT(*) FROM shop.${table})`).join('+')} AS n`)) as unknown as [[{ n: string }]];
    const rows = Number(counts[0].n);
    // No writes: the resumed run verifies exactly the rows the first did not, nothing again.
    assert.equal(summary.verifiedRows, rows - savedRows, `verified ${summary.verifiedRows} rows after ${savedRows} of ${rows}`);
    const done = JSON.parse(readFileSync(config.stateFile, 'utf8')) as MigrationState;
    assert.equal(Object.values(done.verification ?? {}).reduce((sum, table) => sum + table.progress.rowsVerified, 0), rows, 'every row verified once over both runs');
    assert.ok(Object.values(done.verification ?? {}).every((table) => table.progress.complete));
    await assertIdentical();
  });

  it('stops with the fingerprint error when a table is altered on the target, and resumes once it is undone', { timeout: 120_000 }, async () => {
    await startLoad();
    const config = sandboxConfig(sandbox, { copy: { batchRows: 300, adaptive: false, concurrency: 2 }, verify: { schemaIntervalSeconds: 0.2 } });
    const ferry = new Ferry({ config, logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => (copied(ferry, 'shop.files')?.rowsCopied ?? 0) > 0, 60_000, 'the copy');
    // Harmless to the applier (a wider column), and invisible in the source's binlog.
    await target.query('ALTER TABLE shop.files MODIFY name VARBINARY(80)');
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof SchemaChangedError, `expected SchemaChangedError, got ${String(error)}`);
      assert.match(error.message, /^table shop\.files changed on the target during the run: column name: type varbinary\(64\) → varbinary\(80\)\. The run stopped and saved its state/);
      return true;
    });
    const saved = JSON.parse(readFileSync(config.stateFile, 'utf8')) as MigrationState;
    assert.equal(saved.cutoverDone, false);
    assert.ok(Object.values(saved.tables).some((table) => table.rowsCopied > 0), 'the state was saved with the progress');
    const [[readOnly]] = (await source.query('SELECT @@global.read_only AS value')) as unknown as [[{ value: number }]];
    assert.equal(Number(readOnly.value), 0, 'the writers were never stopped');
    // Undone, the run resumes and finishes: every row equal.
    await target.query('ALTER TABLE shop.files MODIFY name VARBINARY(64)');
    await new Ferry({ config, logger: testLogger(), resume: true }).run();
    await stopLoad();
    await assertIdentical();
  });

  it('stops with the fingerprint error when a collation changes on the source where the binlog does not show it', { timeout: 120_000 }, async () => {
    const config = sandboxConfig(sandbox, { copy: { batchRows: 200, adaptive: false, concurrency: 1 }, verify: { schemaIntervalSeconds: 0.2 } });
    const ferry = new Ferry({ config, logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'copy', 30_000, 'the copy');
    const admin = await sandbox.source.connect();
    try {
      // Not in the binlog: the DDL guard cannot see it; only the fingerprint can.
      await admin.query('SET SESSION sql_log_bin = 0');
      await admin.query('ALTER TABLE shop.products MODIFY title VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL');
    } finally {
      await admin.end();
    }
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof SchemaChangedError, `expected SchemaChangedError, got ${String(error)}`);
      assert.match(error.message, /^table shop\.products changed on the source during the run: column title: collation utf8mb4_general_ci → utf8mb4_bin\./);
      return true;
    });
  });
});
