// `npm run bench -- cutover`: does the downtime follow the rows changed, not the data? A whole
// migration — copy, binlog replay, verification while copying, cutover — of sysbench tables under
// a steady sysbench oltp_write_only load (as an application user), at each size. The cutover is
// manual and confirmed as soon as the run is ready: the load is stopped (the operator stops the
// writers) and the cutover confirmed. Per size: the downtime and its parts (drain, verification
// at cutover with the rows compared again, the rest), the time from the copy's end to ready, and
// the run's figures. Ends each size with a CHECKSUM TABLE comparison of source and target.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { parseConfig } from '../src/config/load.js';
import { Ferry } from '../src/ferry.js';
import { silentLogger } from '../src/log.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { createSysbenchTables, SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';
import { SysbenchLoad } from '../src/sandbox/sysbench-load.js';
import { writeResults, type Record as ResultRecord } from './report.js';

export interface CutoverBenchOptions {
  /** Rows in all, per run: each run migrates `tables` tables of size / tables rows. */
  readonly sizes: readonly number[];
  readonly tables: number;
  /** sysbench transactions per second (4 row events each). */
  readonly rate: number;
  readonly threads: number;
  /** verify.atCutover values to run at each size: `changed` (the default) beside `all` (every row again, as before inline verification). */
  readonly atCutover: readonly ('changed' | 'all')[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number | undefined, digits = 3) => (value === undefined || !Number.isFinite(value) ? '—' : Number(value.toFixed(digits)));

async function checksums(source: Connection, target: Connection, tables: number): Promise<boolean> {
  const names = Array.from({ length: tables }, (_, index) => `${SYSBENCH_DATABASE}.sbtest${index + 1}`).join(', ');
  const read = async (connection: Connection) => {
    const [rows] = (await connection.query(`CHECKSUM TABLE ${names}`)) as unknown as [{ Table: string; Checksum: string | number }[]];
    return rows.map((row) => `${row.Table}=${row.Checksum}`).join(',');
  };
  const [a, b] = await Promise.all([read(source), read(target)]);
  return a === b;
}

async function runSize(sandbox: Sandbox, size: number, atCutover: 'changed' | 'all', options: CutoverBenchOptions): Promise<ResultRecord> {
  const source = await sandbox.source.connect();
  const target = await sandbox.target.connect();
  try {
    await source.query('SET GLOBAL read_only = OFF');
    await target.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}`);
    const perTable = Math.floor(size / options.tables);
    const building = performance.now();
    process.stdout.write(`${size} rows: creating ${options.tables} sysbench tables of ${perTable} rows on the source… `);
    await createSysbenchTables(source, options.tables, perTable);
    process.stdout.write(`${((performance.now() - building) / 1000).toFixed(0)} s\n`);
    const config = parseConfig({
      source: sandbox.source.endpoint,
      target: sandbox.target.endpoint,
      databases: [SYSBENCH_DATABASE],
      cutover: { mode: 'manual', maxLagSeconds: 1 },
      verify: { atCutover },
      stateFile: join(mkdtempSync(join(tmpdir(), 'tf-bench-')), 'state.json'),
      http: { enabled: false },
    });
    const ferry = new Ferry({ config, logger: silentLogger() });
    const load = new SysbenchLoad({
      user: { host: '127.0.0.1', port: sandbox.source.port, user: sandbox.source.applicationUser, password: sandbox.source.applicationPassword },
      database: SYSBENCH_DATABASE, tables: options.tables, tableSize: perTable, threads: options.threads, seconds: 24 * 3600, rate: options.rate,
    });
    const started = performance.now();
    const running = ferry.run();
    running.catch(() => undefined);
    let copyEnded = 0;
    let pendingAtReady = 0;
    try {
      // The run is ready once it waits for the operator: the load stops (the writers are stopped) and the cutover is confirmed.
      for (;;) {
        if (ferry.phase === 'catch-up' && !copyEnded) copyEnded = performance.now();
        if (ferry.phase === 'cutover') break;
        if (ferry.phase === 'failed') break;
        await sleep(5);
      }
      const metrics = await ferry.metrics.registry.getSingleMetric('tideferry_verify_rows_pending')?.get();
      pendingAtReady = (metrics?.values ?? []).reduce((sum, value) => sum + value.value, 0);
      load.stop();
      await load.finished.catch(() => undefined);
      while (!ferry.confirmCutover().confirmed && ferry.phase === 'cutover') await sleep(1);
    } finally {
      load.stop();
    }
    const readyAt = performance.now();
    const summary = await running;
    const runSeconds = (performance.now() - started) / 1000;
    const identical = await checksums(source, target, options.tables);
    return {
      rows: size,
      'verify at cutover': atCutover,
      'copy s': round(summary.copySeconds, 1),
      'copy end → ready s': round((readyAt - (copyEnded || readyAt)) / 1000, 1),
      'run s': round(runSeconds, 1),
      'binlog events/s': round(summary.eventsApplied / runSeconds, 0),
      'rows verified': summary.verifiedRows ?? 0,
      'pending at ready': pendingAtReady,
      'downtime s': round(summary.downtimeSeconds),
      'drain s': round(summary.drainSeconds),
      'verify at cutover s': round(summary.cutoverVerifySeconds),
      'rows re-verified': summary.rowsReverified ?? 0,
      'rest s': round(summary.cutoverOtherSeconds),
      'CHECKSUM TABLE equal': identical ? 'yes' : 'NO',
    };
  } finally {
    await source.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}`).catch(() => undefined);
    await target.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}`).catch(() => undefined);
    await source.query('SET GLOBAL read_only = OFF').catch(() => undefined);
    await source.end();
    await target.end();
  }
}

export async function benchCutover(options: CutoverBenchOptions): Promise<void> {
  const sandbox = await startSandbox();
  const records: ResultRecord[] = [];
  try {
    for (const size of options.sizes) {
      for (const atCutover of options.atCutover) {
        const record = await runSize(sandbox, size, atCutover, options);
        records.push(record);
        process.stdout.write(`${JSON.stringify(record)}\n`);
      }
    }
  } finally {
    await sandbox.stop();
  }
  const notes = [
    `# npm run bench -- cutover`,
    '',
    `sysbench oltp_write_only at ${options.rate} transactions/s (${options.rate * 4} row events/s) on ${options.tables} tables, ${options.threads} threads, as an application user, for the whole run;`,
    'cutover manual, confirmed as soon as the run was ready (the load stopped first). Downtime = writers stopped (the run ready) → done;',
    'drain = to the final position; verify at cutover = the rows changed since they were verified, compared again (`changed`, the default), or every row (`all`, what cutover did before verification while copying); rest = the proofs that the writers stopped, the state file.',
  ].join('\n');
  writeResults('cutover', records, notes);
}
