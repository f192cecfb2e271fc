// Preflight with the privileges a DBA really hands out: through roles (MariaDB: GRANT role TO
// user + SET DEFAULT ROLE; MySQL 8: the same, or activate_all_roles_on_login), and without the
// privilege to list the source's replicas, which must not pass silently.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { preflight } from '../../src/db/preflight.js';
import { PreflightError } from '../../src/errors.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

const SOURCE_PRIVILEGES = 'REPLICATION SLAVE, BINLOG MONITOR, READ_ONLY ADMIN, REPLICATION MASTER ADMIN';

describe('preflight with roles and replica listing', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  const selection = { databases: ['shop'], include: ['*'], exclude: [] };
  const as = (user: string, targetUser = 'tideferry') => ({
    source: { ...sandbox.source.endpoint, user, password: 'pw' },
    target: targetUser === 'tideferry' ? sandbox.target.endpoint : { ...sandbox.target.endpoint, user: targetUser, password: 'pw' },
    selection,
    binlogServerId: 4242,
    cutoverSetsReadOnly: true,
  });
  const rejectsWith = async (promise: Promise<unknown>, check: string, pattern: RegExp) => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof PreflightError, `expected a PreflightError, got ${String(error)}`);
      assert.equal(error.check, check, error.message);
      assert.match(error.message, pattern);
      return true;
    });
  };

  before(async () => {
    sandbox = await startSandbox({ replica: true });
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await source.query(`
      CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20));
      CREATE ROLE migrator_source; GRANT ${SOURCE_PRIVILEGES} ON *.* TO migrator_source; GRANT SELECT ON shop.* TO migrator_source;
      CREATE USER by_role@'%' IDENTIFIED BY 'pw'; GRANT migrator_source TO by_role@'%'; SET DEFAULT ROLE migrator_source FOR by_role@'%';
      CREATE ROLE nested_outer; GRANT SELECT ON shop.* TO nested_outer; CREATE ROLE nested_inner; GRANT ${SOURCE_PRIVILEGES} ON *.* TO nested_inner;
      GRANT nested_inner TO nested_outer;
      CREATE USER by_nested_role@'%' IDENTIFIED BY 'pw'; GRANT nested_outer TO by_nested_role@'%'; SET DEFAULT ROLE nested_outer FOR by_nested_role@'%';
      CREATE USER role_not_default@'%' IDENTIFIED BY 'pw'; GRANT migrator_source TO role_not_default@'%';
      CREATE ROLE no_replication; GRANT BINLOG MONITOR, READ_ONLY ADMIN, REPLICATION MASTER ADMIN ON *.* TO no_replication; GRANT SELECT ON shop.* TO no_replication;
      CREATE USER role_missing@'%' IDENTIFIED BY 'pw'; GRANT no_replication TO role_missing@'%'; SET DEFAULT ROLE no_replication FOR role_missing@'%';
      CREATE USER cannot_list@'%' IDENTIFIED BY 'pw'; GRANT REPLICATION SLAVE, BINLOG MONITOR, READ_ONLY ADMIN ON *.* TO cannot_list@'%'; GRANT SELECT ON shop.* TO cannot_list@'%';
    `);
    await target.query(`
      SET sql_log_bin = 0;
      CREATE ROLE migrator_target; GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON shop.* TO migrator_target;
      CREATE USER writer_by_role@'%' IDENTIFIED BY 'pw'; GRANT migrator_target TO writer_by_role@'%'; SET DEFAULT ROLE migrator_target FOR writer_by_role@'%';
      SET sql_log_bin = 1;
    `);
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  it('passes when every privilege comes through a default role, on source and target', async () => {
    const result = await preflight(as('by_role', 'writer_by_role'));
    assert.deepEqual(result.tables.map((table) => table.name), ['items']);
  });

  it('passes when the privileges come through a role granted to the default role', async () => {
    await preflight(as('by_nested_role'));
  });

  it('names the missing privilege when the role lacks one', async () => {
    await rejectsWith(preflight(as('role_missing')), 'privileges', /source user role_missing lacks privileges: REPLICATION SLAVE on \*\.\*/);
  });

  it('says how to enable a role that is granted but not enabled at login', async () => {
    await rejectsWith(preflight(as('role_not_default')), 'privileges', /lacks privileges: REPLICATION SLAVE on \*\.\*.*role `migrator_source` is granted to role_not_default but not enabled at login: SET DEFAULT ROLE/);
  });

  it('fails, naming the privilege, when the source replicas cannot be listed', async () => {
    await rejectsWith(preflight(as('cannot_list')), 'server-id', /cannot list the source's replicas.*REPLICATION MASTER ADMIN on MariaDB 10\.5\.2\+/);
  });

  it('refuses a binlog server id a replica already uses (listed with SHOW REPLICA HOSTS)', async () => {
    // The sandbox's replica (server_id 301) replicates the target: here the target plays the source.
    await target.query('CREATE DATABASE IF NOT EXISTS shop; CREATE TABLE IF NOT EXISTS shop.items (id INT PRIMARY KEY, name VARCHAR(20))');
    await rejectsWith(
      preflight({ source: sandbox.target.endpoint, target: sandbox.source.endpoint, selection, binlogServerId: 301, cutoverSetsReadOnly: true }),
      'server-id',
      /binlog\.serverId 301 is already used by a replica of the source/,
    );
  });
});
