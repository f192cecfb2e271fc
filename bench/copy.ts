// `npm run bench -- copy`: copies a 1,000,000-row sysbench-shaped table set between two sandbox
// servers with tideferry (both write paths) and with `mariadb-dump --single-transaction |
// mariadb`, alternating, in the same run on the same servers, and reports rows/s and ratios.
// Two variants in one run: the rows in 4 tables, and all of them in one table (the common case
// of one large table, copied by several workers over key ranges). The LOAD DATA path runs
// twice: without verification (the copy alone), and with the default verification while
// copying (the whole run, every row compared, what a user gets). Each run's CPU seconds are
// read per process from /proc: the source mariadbd, the target mariadbd, this process (the
// engine) and its children (mariadb-dump and mariadb), per million rows.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { parseConfig } from '../src/config/load.js';
import { Ferry } from '../src/ferry.js';
import { silentLogger } from '../src/log.js';
import { serverBinaries, startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { writeResults } from './report.js';
import { createSysbenchTables, SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';
import type { Connection } from 'mysql2/promise';

export interface CopyBenchOptions {
  readonly rows: number;
  readonly tables: number;
  readonly rounds: number;
  /** copy.concurrency of the tideferry runs (default 4). */
  readonly concurrency?: number;
}

const TICKS_PER_SECOND = 100;

/** utime + stime of a process, and (self only) of its waited-for children, in seconds. */
function processCpu(pid: number | 'self'): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    own: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
    children: (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND,
  };
}

async function serverPid(connection: Connection): Promise<number> {
  const [[row]] = (await connection.query('SELECT @@pid_file AS file')) as unknown as [[{ file: string }]];
  return Number(readFileSync(row.file, 'utf8').trim());
}

interface CpuReading {
  readonly source: number;
  readonly target: number;
  readonly engine: number;
  readonly clients: number;
}

function readCpu(pids: { source: number; target: number }): CpuReading {
  const self = processCpu('self');
  return { source: processCpu(pids.source).own, target: processCpu(pids.target).own, engine: self.own, clients: self.children };
}

function shell(command: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command.split(' ')[0]} failed (${code}): ${stderr.slice(-500)}`))));
  });
}

async function dumpAndLoad(sandbox: Sandbox): Promise<void> {
  const { dump, client } = serverBinaries();
  if (!dump || !client) throw new Error('mariadb-dump / mariadb client not found (apt-get install mariadb-client)');
  const source = sandbox.source.endpoint;
  const target = sandbox.target.endpoint;
  // The password goes through MYSQL_PWD for each side, never on a command line.
  const dumpCommand = `MYSQL_PWD='${source.password}' ${dump} --single-transaction --protocol=tcp -h ${source.host} -P ${source.port} -u ${source.user} --databases ${SYSBENCH_DATABASE}`;
  const loadCommand = `MYSQL_PWD='${target.password}' ${client} --protocol=tcp -h ${target.host} -P ${target.port} -u ${target.user}`;
  await shell(`${dumpCommand} | ${loadCommand}`, {});
}

async function tideferry(sandbox: Sandbox, writeMethod: 'insert' | 'load-data', verify: boolean, concurrency: number): Promise<void> {
  const config = parseConfig({
    source: sandbox.source.endpoint,
    target: sandbox.target.endpoint,
    databases: [SYSBENCH_DATABASE],
    copy: { writeMethod, concurrency },
    verify: { enabled: verify },
    stateFile: join(mkdtempSync(join(tmpdir(), 'tf-bench-')), 'state.json'),
    http: { enabled: false },
  });
  await new Ferry({ config, logger: silentLogger() }).run();
  const admin = await sandbox.source.connect();
  await admin.query('SET GLOBAL read_only = OFF');
  await admin.end();
}

const METHODS = ['mariadb-dump | mariadb', 'tideferry (LOAD DATA)', 'tideferry (INSERT)', 'tideferry (LOAD DATA), verified while copying'] as const;

export async function benchCopy(options: CopyBenchOptions): Promise<void> {
  const concurrency = options.concurrency ?? 4;
  const sandbox = await startSandbox();
  const records: Record<string, string | number>[] = [];
  try {
    const source = await sandbox.source.connect();
    const target = await sandbox.target.connect();
    const pids = { source: await serverPid(source), target: await serverPid(target) };
    const variants = [...new Set([options.tables, 1])];
    for (const tables of variants) {
      const perTable = Math.floor(options.rows / tables);
      const rows = perTable * tables;
      const variant = `${tables} table${tables === 1 ? '' : 's'}`;
      process.stdout.write(`creating ${tables} sysbench table(s) of ${perTable} rows on the source…\n`);
      await createSysbenchTables(source, tables, perTable);
      const run = {
        'mariadb-dump | mariadb': () => dumpAndLoad(sandbox),
        'tideferry (LOAD DATA)': () => tideferry(sandbox, 'load-data', false, concurrency),
        'tideferry (INSERT)': () => tideferry(sandbox, 'insert', false, concurrency),
        'tideferry (LOAD DATA), verified while copying': () => tideferry(sandbox, 'load-data', true, concurrency),
      } satisfies Record<(typeof METHODS)[number], () => Promise<void>>;
      const results = new Map<string, { seconds: number; cpu: CpuReading }[]>(METHODS.map((name) => [name, []]));
      for (let round = 1; round <= options.rounds; round++) {
        for (const name of METHODS) {
          await target.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}`);
          const before = readCpu(pids);
          const start = performance.now();
          await run[name]();
          const elapsed = (performance.now() - start) / 1000;
          const after = readCpu(pids);
          const [[count]] = (await target.query(`SELECT COUNT(*) AS n FROM ${SYSBENCH_DATABASE}.sbtest1`)) as unknown as [[{ n: number }]];
          if (Number(count.n) !== perTable) throw new Error(`${name} left ${count.n} rows in sbtest1, expected ${perTable}`);
          const cpu = { source: after.source - before.source, target: after.target - before.target, engine: after.engine - before.engine, clients: after.clients - before.clients };
          results.get(name)!.push({ seconds: elapsed, cpu });
          process.stdout.write(
            `${variant}, round ${round}: ${name}: ${elapsed.toFixed(2)} s (${Math.round(rows / elapsed)} rows/s); CPU s: source ${cpu.source.toFixed(1)}, target ${cpu.target.toFixed(1)}, engine ${cpu.engine.toFixed(1)}, dump+client ${cpu.clients.toFixed(1)}\n`,
          );
        }
      }
      const baseline = median(results.get('mariadb-dump | mariadb')!.map((result) => result.seconds));
      for (const [method, runs] of results) {
        const typical = median(runs.map((result) => result.seconds));
        const perMillion = (pick: (cpu: CpuReading) => number) => (median(runs.map((result) => pick(result.cpu))) * 1e6) / rows;
        records.push({
          variant,
          method,
          rows,
          'median seconds': typical,
          'rows/s': Math.round(rows / typical),
          'speed vs dump|load': baseline / typical,
          'CPU s/1M rows: source': perMillion((cpu) => cpu.source),
          target: perMillion((cpu) => cpu.target),
          'engine (node)': perMillion((cpu) => cpu.engine),
          'dump+client': perMillion((cpu) => cpu.clients),
          runs: runs.map((result) => result.seconds.toFixed(2)).join(' '),
        });
      }
    }
    await source.end();
    await target.end();
    writeResults(
      'copy',
      records,
      `Copy of ${options.rows} sysbench rows, in ${options.tables} tables and in one table, ${options.rounds} alternating rounds each, same sandbox servers, copy.concurrency ${concurrency}. ` +
        `speed vs dump|load compares within a variant. CPU: median seconds per process per 1M rows. Command: npm run bench -- copy`,
    );
  } finally {
    await sandbox.stop();
  }
}
