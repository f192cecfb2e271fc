// Row filters mean in replay exactly what they mean in the copy's WHERE on the source, for every
// column type and collation. Each table below holds the same typed columns and is filtered on a
// different one; a write load inserts, moves rows into and out of the filter, moves keys and
// deletes while the copy runs. Afterwards the target must equal `SELECT … WHERE filter` on the
// source, row for row (every column, as raw bytes). Then the parts on their own: the judge on
// whatever connection the applier hands it, the verifier, and preflight's checks of filters.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { applyRowFilters } from '../../src/binlog/apply/row-filter.js';
import type { RowChange } from '../../src/binlog/events.js';
import { connect } from '../../src/db/connection.js';
import { readTableSchema } from '../../src/db/introspect.js';
import { preflight } from '../../src/db/preflight.js';
import { PreflightError } from '../../src/errors.js';
import { Ferry } from '../../src/ferry.js';
import { verifyTables } from '../../src/verify/checksum.js';
import { seededRandom } from '../../src/sandbox/random.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { SandboxServer } from '../../src/sandbox/server.js';
import { sandboxConfig, testLogger, waitFor } from './helpers.js';

const DATABASE = 'filters';
const ROWS = 2500;
/** At least this long under load, copy and replay-only catch-up included. */
const LOAD_SECONDS = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** Table → filter. Each one failed in replay when images were judged as untyped literals. */
const FILTERS: Readonly<Record<string, string>> = {
  by_enum: "e = 'c'",
  by_set: "FIND_IN_SET('y', s) > 0",
  by_bit: 'b >= 8',
  // latin1_german2_ci: 'Straße' = 'Strasse' and 'Müller' = 'Mueller'; not so in latin1's default collation.
  by_latin1: "l = 'Strasse' OR l = 'Mueller'",
  // utf8mb4_bin: case-sensitive, unlike the connection's default collation.
  by_binary_collation: "code LIKE 'ABC%'",
  // A DATETIME compared as a date, not as the text '2024-06-01 …' against '2024-6-1'.
  by_datetime: "dt >= '2024-6-1'",
  by_json: "JSON_VALUE(j, '$.tier') = 'gold'",
  // `d IS NULL` on a NOT NULL DATE column also matches the zero date.
  by_null: 'n IS NULL OR d IS NULL',
  // Several at once, a generated column among them.
  combined: "e IN ('b', 'c') AND g >= 5 AND b & 1 = 1 AND code LIKE 'A%'",
};

const COLUMNS = `
  id INT PRIMARY KEY,
  e ENUM('a', 'b', 'c', 'd') NOT NULL,
  s SET('x', 'y', 'z') NULL,
  b BIT(5) NOT NULL,
  l VARCHAR(40) CHARACTER SET latin1 COLLATE latin1_german2_ci NULL,
  code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  dt DATETIME(3) NULL,
  j JSON NULL,
  n INT NULL,
  d DATE NOT NULL,
  g INT AS (CHAR_LENGTH(code)) VIRTUAL`;

const POOLS: Readonly<Record<string, readonly string[]>> = {
  e: ["'a'", "'b'", "'c'", "'d'"],
  s: ["''", "'x'", "'y'", "'x,y'", "'y,z'", "'x,y,z'", 'NULL'],
  b: ['0', '1', '7', '8', '9', "b'11111'", "b'10000'"],
  l: ["'Straße'", "'Strasse'", "'strasse'", "'Müller'", "'Mueller'", "'Muller'", 'NULL'],
  code: ["'ABC-1'", "'abc-1'", "'AbC-22'", "'ABCDEF'", "'xABC'", "'A'"],
  dt: ["'2024-01-15 10:00:00.123'", "'2024-06-01 00:00:00'", "'2024-05-31 23:59:59.999'", "'2025-02-02 02:02:02.5'", 'NULL'],
  j: [`'{"tier":"gold"}'`, `'{"tier":"Gold"}'`, `'{"tier":"silver","x":[1,2]}'`, "'[]'", 'NULL'],
  n: ['NULL', '0', '5', '15', '-3'],
  d: ["'0000-00-00'", "'2024-01-01'", "'1999-12-31'"],
};
const WRITTEN = Object.keys(POOLS);

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const randomId = (random: Random) => Math.floor(random() * (ROWS + 600)) - 100;
const rowValues = (random: Random, id: number) => `(${id}, ${WRITTEN.map((column) => pick(random, POOLS[column]!)).join(', ')})`;
const insertInto = (table: string) => `INSERT IGNORE INTO ${table} (id, ${WRITTEN.join(', ')}) VALUES `;

/** Writes to every filtered table until stopped; rows cross their table's filter both ways. */
class FilterLoad {
  readonly byKind: Record<string, number> = {};
  private running = true;
  private readonly workers: Promise<void>[] = [];
  private readonly connections: Connection[] = [];

  async start(server: SandboxServer, connections: number, seed: number): Promise<void> {
    for (let index = 0; index < connections; index++) {
      const connection = await server.connectAsApplication({ database: DATABASE });
      this.connections.push(connection);
      this.workers.push(this.work(connection, seededRandom(seed * 100 + index)));
    }
  }

  private operation(random: Random): [string, string] {
    const table = pick(random, Object.keys(FILTERS));
    const id = randomId(random);
    const column = pick(random, WRITTEN);
    switch (Math.floor(random() * 6)) {
      case 0:
        return ['insert', `${insertInto(table)}${rowValues(random, id)}`];
      case 1:
        return ['update', `UPDATE ${table} SET ${column} = ${pick(random, POOLS[column]!)} WHERE id = ${id}`];
      case 2:
        return ['update', `UPDATE ${table} SET ${WRITTEN.map((name) => `${name} = ${pick(random, POOLS[name]!)}`).join(', ')} WHERE id BETWEEN ${id} AND ${id + 3}`];
      case 3:
        return ['key-move', `UPDATE IGNORE ${table} SET id = ${randomId(random)}, ${column} = ${pick(random, POOLS[column]!)} WHERE id = ${id}`];
      case 4:
        return ['delete', `DELETE FROM ${table} WHERE id = ${id}`];
      default:
        return ['reinsert', `START TRANSACTION; DELETE FROM ${table} WHERE id = ${id}; ${insertInto(table)}${rowValues(random, id)}; COMMIT`];
    }
  }

  private async work(connection: Connection, random: Random): Promise<void> {
    while (this.running) {
      const [kind, sql] = this.operation(random);
      try {
        await connection.query(sql);
        this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        await connection.query('ROLLBACK').catch(() => undefined);
        // Cutover made the source read-only; conflicts between the load's own connections are expected.
        if (code === 'ER_OPTION_PREVENTS_STATEMENT') await new Promise((resolve) => setTimeout(resolve, 50));
        else if (!['ER_DUP_ENTRY', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'].includes(code) && this.running) throw error;
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    try {
      await Promise.all(this.workers);
    } finally {
      await Promise.all(this.connections.map((connection) => connection.end().catch(() => undefined)));
    }
  }
}

/** Every column of the rows `where` selects, as raw bytes in hex, in key order. */
async function dumpRows(connection: Connection, table: string, where = 'TRUE'): Promise<string[]> {
  await connection.query('SET character_set_results = binary');
  try {
    const [rows] = await connection.query({
      sql: `SELECT * FROM ${DATABASE}.${table} WHERE (${where}) ORDER BY id`,
      rowsAsArray: true,
      typeCast: ((field: { buffer(): Buffer | null }) => field.buffer()) as never,
    });
    return (rows as (Buffer | null)[][]).map((row) => row.map((value) => (value === null ? 'NULL' : value.toString('hex'))).join('|'));
  } finally {
    await connection.query('SET character_set_results = utf8mb4');
  }
}

describe('row filters over typed columns', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;

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

  it('replays into the target exactly the rows the filter selects on the source', { timeout: 240_000 }, async () => {
    await source.query(`DROP DATABASE IF EXISTS ${DATABASE}; CREATE DATABASE ${DATABASE}`);
    const random = seededRandom(20_240_601);
    for (const table of Object.keys(FILTERS)) {
      await source.query(`CREATE TABLE ${DATABASE}.${table} (${COLUMNS})`);
      const values = Array.from({ length: ROWS }, (_, index) => rowValues(random, index * 2));
      await source.query(`${insertInto(`${DATABASE}.${table}`)}${values.join(', ')}`);
    }
    const load = new FilterLoad();
    await load.start(sandbox.source, 4, Date.now() % 100_000);
    const loadStarted = Date.now();
    try {
      const rowFilters = Object.fromEntries(Object.entries(FILTERS).map(([table, filter]) => [`${DATABASE}.${table}`, filter]));
      const config = sandboxConfig(sandbox, {
        databases: [DATABASE],
        rowFilters,
        copy: { batchRows: 200, adaptive: false, concurrency: 2 },
        binlog: { batchSize: 50 },
        cutover: { mode: 'manual' },
      });
      const ferry = new Ferry({ config, logger: testLogger() });
      const running = ferry.run();
      running.catch(() => undefined);
      // The load goes on past the copy, so that replay alone carries rows in and out for a while.
      await Promise.race([running, waitFor(() => ferry.phase === 'cutover', 120_000, 'cutover')]);
      await sleep(Math.max(0, LOAD_SECONDS * 1000 - (Date.now() - loadStarted)));
      await load.stop(); // the operator stops the writers, then confirms
      ferry.confirmCutover();
      await running;
    } finally {
      await load.stop();
    }
    const byKind = load.byKind;
    for (const kind of ['insert', 'update', 'key-move', 'delete', 'reinsert']) {
      assert.ok((byKind[kind] ?? 0) > 50, `the load ran too few ${kind} operations: ${JSON.stringify(byKind)}`);
    }
    const differences: string[] = [];
    for (const [table, filter] of Object.entries(FILTERS)) {
      const expected = await dumpRows(source, table, filter);
      const actual = await dumpRows(target, table);
      const [[{ total }]] = (await source.query(`SELECT COUNT(*) AS total FROM ${DATABASE}.${table}`)) as unknown as [[{ total: number }]];
      assert.ok(expected.length > 100 && expected.length < Number(total) - 100, `${table}: the filter selects ${expected.length} of ${total} rows`);
      if (actual.join('\n') === expected.join('\n')) continue;
      const expectedRows = new Set(expected);
      const actualRows = new Set(actual);
      const missing = expected.filter((row) => !actualRows.has(row));
      const extra = actual.filter((row) => !expectedRows.has(row));
      differences.push(`${table} (${filter}): ${missing.length} of ${expected.length} rows missing on the target, ${extra.length} there that should not be (first: ${missing[0] ?? extra[0]})`);
    }
    assert.deepEqual(differences, [], 'the target holds exactly the rows the filters select on the source');
  });

  it('judges on any connection it is handed: a new one, one whose table is gone, one with a small packet', async () => {
    await target.query(`DROP DATABASE IF EXISTS judged; CREATE DATABASE judged;
      CREATE TABLE judged.t (id INT PRIMARY KEY, e ENUM('a', 'b', 'c') NOT NULL, code VARCHAR(2000) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL)`);
    const table = (await readTableSchema(target, { database: 'judged', name: 't' }))!;
    const tables = new Map([['judged.t', table]]);
    const filters = new Map([['judged.t', "e = 'c' AND code LIKE 'ABC%'"]]);
    const hex = (text: string) => `_utf8mb4 X'${Buffer.from(text).toString('hex')}'`;
    // Images as the decoder writes them: an ENUM as its index, text as a hex literal.
    const leaving = { type: 'update', table: 'judged.t', before: ['3', '3', hex('ABC-3')], after: ['3', '2', hex('ABC-3')] } as const;
    const changes: RowChange[] = [
      { type: 'insert', table: 'judged.t', after: ['1', '3', hex('ABC-1')] },
      { type: 'insert', table: 'judged.t', after: ['2', '3', hex('abc-2')] },
      leaving,
      { type: 'delete', table: 'judged.t', before: ['4', '1', hex('x')] },
    ];
    // The matching insert; the update out of the filter as deletes by both keys; the delete.
    const expected = [changes[0], { type: 'delete', table: 'judged.t', before: leaving.before }, { type: 'delete', table: 'judged.t', before: leaving.after }, changes[3]];
    const first = await connect(sandbox.target.endpoint, { multipleStatements: true });
    const second = await connect(sandbox.target.endpoint, { multipleStatements: true });
    try {
      assert.deepEqual(await applyRowFilters(first, changes, tables, filters), expected);
      await first.end();
      // The applier replaced its connection: the temporary table is made again in the new session.
      assert.deepEqual(await applyRowFilters(second, changes, tables, filters), expected);
      await second.query('DROP TEMPORARY TABLE judged.tideferry_filter_0');
      assert.deepEqual(await applyRowFilters(second, changes, tables, filters), expected, 'a session that lost its table sets it up again');
    } finally {
      await second.end();
    }
    // Images beyond one packet go in several round trips.
    await target.query('SET GLOBAL max_allowed_packet = 65536');
    const small = await connect(sandbox.target.endpoint, { multipleStatements: true });
    try {
      const many: RowChange[] = Array.from({ length: 400 }, (_, index) => ({ type: 'insert', table: 'judged.t', after: [String(index), String(1 + (index % 3)), hex(`${index % 2 ? 'ABC' : 'abc'}-${'x'.repeat(500)}`)] }));
      const kept = (await applyRowFilters(small, many, tables, filters)).map((change) => change.type === 'insert' && change.after[0]);
      assert.deepEqual(kept, many.filter((_, index) => index % 3 === 2 && index % 2 === 1).map((change) => change.type === 'insert' && change.after[0]));
    } finally {
      await small.end();
      await target.query('SET GLOBAL max_allowed_packet = DEFAULT');
    }
  });

  it('verifies that the target holds no row the filter does not select on the source', async () => {
    await source.query(`DROP DATABASE IF EXISTS checked; CREATE DATABASE checked; CREATE TABLE checked.t (id INT PRIMARY KEY, code VARCHAR(10) COLLATE utf8mb4_bin);
      INSERT INTO checked.t VALUES (1, 'ABC'), (2, 'abc'), (3, 'ABD')`);
    await target.query(`DROP DATABASE IF EXISTS checked; CREATE DATABASE checked; CREATE TABLE checked.t (id INT PRIMARY KEY, code VARCHAR(10) COLLATE utf8mb4_bin);
      INSERT INTO checked.t VALUES (1, 'ABC'), (2, 'abc')`);
    const table = (await readTableSchema(source, { database: 'checked', name: 't' }))!;
    const rowFilters = new Map([['checked.t', "code LIKE 'AB%'"]]);
    const report = await verifyTables({ source, target, tables: [table], rowFilters });
    await source.query('SET character_set_results = utf8mb4');
    await target.query('SET character_set_results = utf8mb4');
    // Row 2 left the filter on the source; its copy on the target must have gone too. Row 3 is missing.
    assert.deepEqual(report.differences.map(({ missingOnTarget, extraOnTarget, different }) => ({ missingOnTarget, extraOnTarget, different })), [{ missingOnTarget: 1, extraOnTarget: 1, different: 0 }]);
  });

  describe('preflight', () => {
    const check = (rowFilters: Record<string, string>, target = sandbox.target.endpoint) =>
      preflight({
        source: sandbox.source.endpoint,
        target,
        selection: { databases: ['pf'], include: ['*'], exclude: [] },
        binlogServerId: 4242,
        cutoverSetsReadOnly: false,
        rowFilters: new Map(Object.entries(rowFilters)),
      });
    const rejectsWith = (promise: Promise<unknown>, pattern: RegExp) =>
      assert.rejects(promise, (error: unknown) => {
        assert.ok(error instanceof PreflightError, `expected a PreflightError, got ${String(error)}`);
        assert.equal(error.check, 'row-filters');
        assert.match(error.message, pattern);
        return true;
      });

    before(async () => {
      await source.query(`DROP DATABASE IF EXISTS pf; CREATE DATABASE pf;
        CREATE TABLE pf.t (id INT PRIMARY KEY, name VARCHAR(20) COLLATE utf8mb4_bin, created DATETIME)`);
      await target.query('DROP DATABASE IF EXISTS pf');
    });

    it('accepts a filter both servers can evaluate, with or without the target table', async () => {
      await check({ 'pf.t': "name LIKE 'A%' AND created >= '2024-01-01'" });
      await target.query('CREATE DATABASE pf; CREATE TABLE pf.t (id INT PRIMARY KEY, name VARCHAR(20) COLLATE utf8mb4_bin, created DATETIME)');
      try {
        await check({ 'pf.t': "name LIKE 'A%' AND t.created >= '2024-01-01'" });
      } finally {
        await target.query('DROP DATABASE pf');
      }
    });

    it('names a key that is no migrated table', async () => {
      await rejectsWith(check({ 'pf.tt': 'id > 0' }), /^rowFilters\.pf\.tt: names no migrated table: .*\(migrated: pf\.t\)/);
    });

    it('passes on the source\'s message for a filter it refuses', async () => {
      await rejectsWith(check({ 'pf.t': 'nmae = 1' }), /^rowFilters\.pf\.t: the source refuses the filter "nmae = 1" on pf\.t: Unknown column 'nmae'/);
      await rejectsWith(check({ 'pf.t': 'is_vip(id)' }), /FUNCTION is_vip does not exist \(no built-in function has that name; a stored function cannot be used/);
    });

    it('says when the target cannot judge changes: no temporary tables for its user', async () => {
      await target.query(`CREATE USER IF NOT EXISTS 'notemp'@'%' IDENTIFIED BY 'pw';
        GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON pf.* TO 'notemp'@'%'`);
      const limited = { ...sandbox.target.endpoint, user: 'notemp', password: 'pw' };
      await rejectsWith(check({ 'pf.t': 'id > 0' }, limited), /grant the target user CREATE TEMPORARY TABLES on pf\.\*/);
      await target.query('CREATE DATABASE pf; CREATE TABLE pf.t (id INT PRIMARY KEY, name VARCHAR(20) COLLATE utf8mb4_bin, created DATETIME)');
      try {
        await rejectsWith(check({ 'pf.t': 'id > 0' }, limited), /in a temporary table on the target, and the target refuses: .*denied.*CREATE TEMPORARY TABLES/);
      } finally {
        await target.query('DROP DATABASE pf');
      }
    });

    it('refuses a target table whose collations differ from the source\'s', async () => {
      await target.query('CREATE DATABASE pf; CREATE TABLE pf.t (id INT PRIMARY KEY, name VARCHAR(20) COLLATE utf8mb4_general_ci, created DATETIME)');
      try {
        await rejectsWith(check({ 'pf.t': "name = 'A'" }), /column name is utf8mb4_bin on the source, utf8mb4_general_ci on the target/);
      } finally {
        await target.query('DROP DATABASE pf');
      }
    });

    it('refuses a filter whose functions read session settings that differ between the servers', async () => {
      await target.query("SET GLOBAL lc_time_names = 'de_DE'");
      try {
        await check({ 'pf.t': 'id > 0' });
        await rejectsWith(check({ 'pf.t': "MONTHNAME(created) = 'May'" }), /lc_time_names is en_US on the source, de_DE on the target/);
      } finally {
        await target.query("SET GLOBAL lc_time_names = 'en_US'");
      }
    });
  });
});
