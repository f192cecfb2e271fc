// Each preflight error a user can cause, checked by its message.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { preflight } from '../../src/db/preflight.js';
import { PreflightError } from '../../src/errors.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

describe('preflight', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  const selection = { databases: ['shop'], include: ['*'], exclude: [] };
  const run = (overrides: Partial<Parameters<typeof preflight>[0]> = {}) =>
    preflight({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, selection, binlogServerId: 4242, cutoverSetsReadOnly: true, ...overrides });
  const rejectsWith = async (promise: Promise<unknown>, check: string, pattern: RegExp) => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof PreflightError, `expected a PreflightError, got ${String(error)}`);
      assert.equal(error.check, check);
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, new RegExp(sandbox.source.password));
      return true;
    });
  };

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await source.query('CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20))');
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  it('passes on a well-configured pair', async () => {
    const result = await run();
    assert.deepEqual(result.tables.map((table) => table.name), ['items']);
  });

  it('names an unreachable server', async () => {
    await rejectsWith(run({ source: { ...sandbox.source.endpoint, port: 1 } }), 'connect', /cannot reach the source at 127\.0\.0\.1:1: connection refused/);
  });

  it('names a wrong password without printing it', async () => {
    await rejectsWith(run({ target: { ...sandbox.target.endpoint, password: 'wrong' } }), 'connect', /the target at 127\.0\.0\.1:\d+ rejected user tideferry: wrong password/);
  });

  it('lists missing privileges', async () => {
    await source.query("CREATE USER 'reader'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON shop.* TO 'reader'@'%'");
    await rejectsWith(run({ source: { ...sandbox.source.endpoint, user: 'reader', password: 'pw' } }), 'privileges', /source user reader lacks privileges: REPLICATION SLAVE on \*\.\*, REPLICATION CLIENT or BINLOG MONITOR/);
  });

  for (const [variable, wrong, expected] of [
    ['binlog_format', 'STATEMENT', /binlog_format is STATEMENT \(needs ROW\)/],
    ['binlog_row_image', 'MINIMAL', /binlog_row_image is MINIMAL \(needs FULL\)/],
    ['binlog_row_metadata', 'MINIMAL', /binlog_row_metadata is MINIMAL \(needs FULL\)/],
  ] as const) {
    it(`refuses ${variable} = ${wrong}`, async () => {
      await source.query(`SET GLOBAL ${variable} = '${wrong}'`);
      try {
        await rejectsWith(run(), 'binlog-settings', expected);
      } finally {
        await source.query(`SET GLOBAL ${variable} = '${variable === 'binlog_format' ? 'ROW' : 'FULL'}'`);
      }
    });
  }

  it('refuses source and target with the same server_id', async () => {
    await target.query('SET GLOBAL server_id = 101');
    try {
      await rejectsWith(run(), 'server-id', /source and target have the same server_id \(101\)/);
    } finally {
      await target.query('SET GLOBAL server_id = 201');
    }
  });

  it("refuses a binlog server id equal to the source's", async () => {
    await rejectsWith(run({ binlogServerId: 101 }), 'server-id', /binlog\.serverId 101 is the source's own server_id/);
  });

  it('names tables without a primary key', async () => {
    await source.query('CREATE TABLE shop.log (line TEXT)');
    try {
      await rejectsWith(run(), 'primary-key', /table without a primary key: shop\.log/);
    } finally {
      await source.query('DROP TABLE shop.log');
    }
  });

  it('names a target table with a different schema', async () => {
    await target.query('CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(50))');
    try {
      await rejectsWith(run(), 'target-schema', /target table shop\.items exists with a different schema: column name is varchar\(20\) on the source, varchar\(50\) on the target/);
    } finally {
      await target.query('DROP DATABASE shop');
    }
  });

  it('says when nothing is selected', async () => {
    await rejectsWith(run({ selection: { databases: ['nosuchdb'], include: ['*'], exclude: [] } }), 'tables-selected', /no table selected/);
  });
});
