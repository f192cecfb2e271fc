// Cutover proves the writers stopped: a writer that read_only does not stop (root here has READ
// ONLY ADMIN, like a SUPER user, the event scheduler or a replication thread) fails the cutover,
// verification or not, and the source is writable again. Writes to tables outside the migration
// do not. A manual cutover is confirmed only while the run waits for it.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mysql2/promise';
import { RunCancelledError, WritesContinuedError } from '../../src/errors.js';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createSampleDatabase, SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import type { MigrationState } from '../../src/state/tracker.js';
import { dumpTable, sandboxConfig, testLogger, waitFor } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes as fast as it can, as root over the socket: read_only does not stop it. */
class PrivilegedWriter {
  private running = true;
  private readonly done: Promise<number>;
  constructor(connection: Connection, sql: string) {
    this.done = (async () => {
      let writes = 0;
      while (this.running) {
        await connection.query(sql);
        writes++;
      }
      return writes;
    })();
  }
  stop(): Promise<number> {
    this.running = false;
    return this.done;
  }
}


describe('cutover proves the writers stopped', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let writerConnection: Connection;
  let writer: PrivilegedWriter | undefined;

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    writerConnection = await sandbox.source.connect();
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await writerConnection?.end();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    await source.query('SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS monitoring');
    await target.query('DROP DATABASE IF EXISTS shop');
    await createSampleDatabase(source);
  });
  afterEach(async () => {
    await writer?.stop();
    writer = undefined;
  });

  const readOnly = async () => {
    const [[row]] = (await source.query('SELECT @@global.read_only AS value')) as unknown as [[{ value: number }]];
    return Number(row.value);
  };

  const assertFailsWithWritesContinued = async (running: Promise<unknown>, stateFile: string) => {
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof WritesContinuedError, `expected WritesContinuedError, got ${String(error)}`);
      assert.match(error.message, /^cutover failed, the source is writable again: writes continued after the writers were stopped/);
      assert.match(error.message, /from binlog\.\d+:\d+ \(the final position\) to binlog\.\d+:\d+, with a row event on shop\.customers at binlog\.\d+:\d+/);
      return true;
    });
    assert.ok((await writer!.stop()) > 0);
    writer = undefined;
    assert.equal(await readOnly(), 0, 'the source is writable again');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as MigrationState;
    assert.equal(state.writersStopped, null, 'the state file says the writers run');
    assert.equal(state.cutoverDone, false);
  };

  it('fails when a SUPER writer keeps writing after read_only, with verification off', { timeout: 120_000 }, async () => {
    const config = sandboxConfig(sandbox, { verify: { enabled: false } });
    writer = new PrivilegedWriter(writerConnection, 'UPDATE shop.customers SET balance = balance + 1 WHERE id = 7');
    await assertFailsWithWritesContinued(new Ferry({ config, logger: testLogger() }).run(), config.stateFile);
  });

  it('fails when writes start during verification', { timeout: 120_000 }, async () => {
    // Every row compared at cutover: long enough a verification to start writing during it (the
    // rows changed since they were verified, the default, take milliseconds here).
    const config = sandboxConfig(sandbox, { verify: { atCutover: 'all' } });
    const ferry = new Ferry({ config, logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'verify' || ferry.phase === 'failed' || ferry.phase === 'done', 120_000, 'verification', 1);
    assert.equal(ferry.phase, 'verify');
    writer = new PrivilegedWriter(writerConnection, 'UPDATE shop.customers SET balance = balance + 1 WHERE id = 7');
    await assertFailsWithWritesContinued(running, config.stateFile);
  });

  it('cuts over while a privileged writer writes only tables outside the migration', { timeout: 120_000 }, async () => {
    await source.query('CREATE DATABASE monitoring; CREATE TABLE monitoring.heartbeat (id INT PRIMARY KEY, ts DATETIME(6)); INSERT INTO monitoring.heartbeat VALUES (1, NOW(6))');
    writer = new PrivilegedWriter(writerConnection, 'UPDATE monitoring.heartbeat SET ts = NOW(6) WHERE id = 1');
    const summary = await new Ferry({ config: sandboxConfig(sandbox), logger: testLogger() }).run();
    assert.ok((await writer.stop()) > 0);
    writer = undefined;
    assert.ok(summary.verifiedRows !== undefined);
    for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  });

  it('accepts a manual cutover only while it waits for one', { timeout: 120_000 }, async () => {
    const config = sandboxConfig(sandbox, { http: { listen: '127.0.0.1:0' }, cutover: { mode: 'manual' }, copy: { batchRows: 300, adaptive: false, concurrency: 1 } });
    const ferry = new Ferry({ config, logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'copy' && ferry.httpUrl !== undefined, 120_000, 'the copy', 1);
    const early = await fetch(`${ferry.httpUrl}/cutover`, { method: 'POST' });
    assert.equal(early.status, 409);
    assert.match(((await early.json()) as { error: string }).error, /not waiting for a manual cutover yet \(phase copy\)/);
    await waitFor(() => ferry.phase === 'cutover', 120_000, 'cutover', 1);
    await sleep(300);
    assert.equal(ferry.phase, 'cutover', 'the early confirmation did not count: it waits');
    const confirmed = await fetch(`${ferry.httpUrl}/cutover`, { method: 'POST' });
    assert.equal(confirmed.status, 202);
    await running;
    for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  });

  it('keeps writers stopped by hand recorded when the run stops at a manual cutover; resume asks again', { timeout: 120_000 }, async () => {
    const config = sandboxConfig(sandbox, { http: { listen: '127.0.0.1:0' }, cutover: { mode: 'manual' } });
    const ferry = new Ferry({ config, logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.phase === 'cutover', 120_000, 'cutover', 1);
    await sleep(100);
    ferry.cancel('test stops the run');
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof RunCancelledError, String(error));
      assert.match(error.message, /run stopped \(test stops the run\) during cutover, let the writers go again by hand/);
      return true;
    });
    const state = JSON.parse(readFileSync(config.stateFile, 'utf8')) as MigrationState;
    assert.equal(state.writersStopped?.mode, 'manual', 'nobody let the writers go: the state file still says they are stopped');
    const resumed = new Ferry({ config, logger: testLogger(), resume: true });
    const finishing = resumed.run();
    finishing.catch(() => undefined);
    await waitFor(() => resumed.phase === 'cutover', 120_000, 'the resumed cutover', 1);
    await sleep(100);
    assert.equal((await fetch(`${resumed.httpUrl}/cutover`, { method: 'POST' })).status, 202);
    await finishing;
    for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  });
});
