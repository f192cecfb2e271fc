// `npm run bench -- verify`: the full comparison of `tideferry verify` (verify/full.ts) beside
// CHECKSUM TABLE, on identical sysbench tables on source and target (the same deterministic SQL
// builds both). CHECKSUM TABLE says only whether a table differs; tideferry verify compares each
// row by a hash of its bytes and names the rows that differ. Both are timed on each server alone
// and on both at once (as `tideferry verify` reads them), and tideferry verify with 1, 2 and 4
// workers.
import type { Connection } from 'mysql2/promise';
import { readTableSchema } from '../src/db/introspect.js';
import type { TableSchema } from '../src/db/schema.js';
import { startSandbox } from '../src/sandbox/index.js';
import { createSysbenchTables, SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';
import { verifyAll } from '../src/verify/full.js';
import { writeResults, type Record as ResultRecord } from './report.js';

export interface VerifyBenchOptions {
  readonly rows: number;
  readonly tables: number;
  readonly concurrency: readonly number[];
  readonly rounds: number;
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
    await source.end();
    await target.end();
    const records: ResultRecord[] = [...timings].map(([method, values]) => ({ method, 'best s': best(values), 'rows/s': Math.round((perTable * options.tables) / Math.min(...values)) }));
    writeResults('verify', records, `# npm run bench -- verify\n\n${perTable * options.tables} rows in ${options.tables} sysbench tables, identical on both servers, best of ${options.rounds} rounds.`);
  } finally {
    await sandbox.stop();
  }
}
