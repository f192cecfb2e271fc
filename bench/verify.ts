// `npm run bench -- verify`: the full comparison of `tideferry verify` (verify/full.ts) beside
// CHECKSUM TABLE, on identical sysbench tables on source and target (the same deterministic SQL
// builds both). CHECKSUM TABLE says only whether a table differs; tideferry verify compares each
// row by a hash of its bytes and names the rows that differ. Both are timed on each server alone
// and on both at once (as `tideferry verify` reads them), and tideferry verify with 1, 2 and 4
// workers. Then the cost of one schema check of the run's schema watch (verify/schema-watch.ts:
// every selected table's shape, both servers) over `schemaTables` tables of 12 columns.
import type { Connection } from 'mysql2/promise';
import { readTableSchema } from '../src/db/introspect.js';
import type { TableSchema } from '../src/db/schema.js';
import { startSandbox } from '../src/sandbox/index.js';
import { createSysbenchTables, SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';
import { verifyAll } from '../src/verify/full.js';
import { SchemaWatch } from '../src/verify/schema-watch.js';
import { silentLogger } from '../src/log.js';
import type { TableRef } from '../src/db/schema.js';
import { writeResults, type Record as ResultRecord } from './report.js';

export interface VerifyBenchOptions {
  readonly rows: number;
  readonly tables: number;
  readonly concurrency: readonly number[];
  readonly rounds: number;
  /** Tables for the schema-check timing. */
  readonly schemaTables: number;
}

const SCHEMA_DATABASE = 'tf_schema_bench';

/** `count` tables of 12 columns (several types, a collation, a generated column, a unique key) on the connection's server. */
async function createSchemaTables(connection: Connection, count: number): Promise<TableRef[]> {
  await connection.query(`DROP DATABASE IF EXISTS ${SCHEMA_DATABASE}`);
  await connection.query(`CREATE DATABASE ${SCHEMA_DATABASE}`);
  const tables: TableRef[] = [];
  for (let index = 1; index <= count; index++) {
    const name = `t${index}`;
    await connection.query(
      `CREATE TABLE ${SCHEMA_DATABASE}.${name} (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, tenant INT NOT NULL, code VARCHAR(32) COLLATE utf8mb4_bin NOT NULL, ` +
        `name VARCHAR(200) NOT NULL, note TEXT, amount DECIMAL(12,2) NOT NULL DEFAULT 0, kind ENUM('a','b','c') NOT NULL, flags SET('x','y') NOT NULL, ` +
        `created DATETIME(6) NOT NULL, payload BLOB, doc JSON, code_upper VARCHAR(32) AS (UPPER(code)) STORED, UNIQUE KEY (tenant, code)) ENGINE=InnoDB`,
    );
    tables.push({ database: SCHEMA_DATABASE, name });
  }
  return tables;
}

const seconds = async (work: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
};

const best = (values: readonly number[]) => Number(Math.min(...values).toFixed(2));

export async function benchVerify(options: VerifyBenchOptions): Promise<void> {
  const sandbox = await startSandbox();
  try {
    const source = await sandbox.source.connect();
    const target = await sandbox.target.connect();
    const perTable = Math.floor(options.rows / options.tables);
    process.stdout.write(`creating ${options.tables} sysbench tables of ${perTable} rows on source and target…\n`);
    await Promise.all([createSysbenchTables(source, options.tables, perTable), createSysbenchTables(target, options.tables, perTable)]);
    const tables: TableSchema[] = [];
    for (let index = 1; index <= options.tables; index++) tables.push((await readTableSchema(source, { database: SYSBENCH_DATABASE, name: `sbtest${index}` }))!);
    const names = tables.map((table) => `${SYSBENCH_DATABASE}.${table.name}`).join(', ');
    const checksum = (connection: Connection) => connection.query(`CHECKSUM TABLE ${names}`);
    // Warm both buffer pools first: every method then reads from memory.
    await Promise.all([checksum(source), checksum(target)]);
    const timings = new Map<string, number[]>();
    const note = (name: string, value: number) => timings.set(name, [...(timings.get(name) ?? []), value]);
    for (let round = 0; round < options.rounds; round++) {
      note('CHECKSUM TABLE, source alone', await seconds(() => checksum(source)));
      note('CHECKSUM TABLE, source and target at once', await seconds(() => Promise.all([checksum(source), checksum(target)])));
      for (const concurrency of options.concurrency) {
        note(`tideferry verify, ${concurrency} worker${concurrency > 1 ? 's' : ''}`, await seconds(async () => {
          const report = await verifyAll({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, tables, rowFilters: new Map(), concurrency });
          if (report.differences.length > 0 || report.rowsChecked !== perTable * options.tables) throw new Error(`verify found differences or missed rows: ${JSON.stringify(report)}`);
        }));
      }
    }
    const records: ResultRecord[] = [...timings].map(([method, values]) => ({ method, 'best s': best(values), 'rows/s': Math.round((perTable * options.tables) / Math.min(...values)) }));

    process.stdout.write(`creating ${options.schemaTables} tables for the schema check on source and target…\n`);
    const schemaTables = (await Promise.all([createSchemaTables(source, options.schemaTables), createSchemaTables(target, options.schemaTables)]))[0];
    await source.end();
    await target.end();
    const empty = new Map();
    const watch = new SchemaWatch({ source: sandbox.source.endpoint, target: sandbox.target.endpoint, tables: schemaTables, baseline: { source: empty, target: empty }, intervalSeconds: 0, logger: silentLogger() });
    const checks: number[] = [];
    try {
      for (let round = 0; round < Math.max(5, options.rounds); round++) checks.push(await seconds(() => watch.check()));
    } finally {
      await watch.stop();
    }
    const sorted = [...checks].sort((a, b) => a - b);
    records.push({ method: `schema check, ${options.schemaTables} tables, both servers (median of ${checks.length}; the watch runs one every verify.schemaIntervalSeconds)`, 'best s': Number(sorted[Math.floor(sorted.length / 2)]!.toFixed(4)), 'rows/s': '—' });
    writeResults('verify', records, `# npm run bench -- verify\n\n${perTable * options.tables} rows in ${options.tables} sysbench tables, identical on both servers, best of ${options.rounds} rounds.`);
  } finally {
    await sandbox.stop();
  }
}
