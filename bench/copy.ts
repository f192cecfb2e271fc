// `npm run bench -- copy`: copies a 1,000,000-row sysbench-shaped table set between two sandbox
// servers with tideferry (both write paths) and with `mariadb-dump --single-transaction |
// mariadb`, alternating, in the same run on the same servers, and reports rows/s and ratios.
// The LOAD DATA path runs twice: without verification (the copy alone), and with the default
// verification while copying (the whole run, every row compared, what a user gets).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { parseConfig } from '../src/config/load.js';
import { Ferry } from '../src/ferry.js';
import { silentLogger } from '../src/log.js';
import { serverBinaries, startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { writeResults } from './report.js';
import { createSysbenchTables, SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';

export interface CopyBenchOptions {
  readonly rows: number;
  readonly tables: number;
  readonly rounds: number;
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

async function tideferry(sandbox: Sandbox, writeMethod: 'insert' | 'load-data', verify = false): Promise<void> {
  const config = parseConfig({
    source: sandbox.source.endpoint,
    target: sandbox.target.endpoint,
    databases: [SYSBENCH_DATABASE],
    copy: { writeMethod, concurrency: 4 },
    verify: { enabled: verify },
    stateFile: join(mkdtempSync(join(tmpdir(), 'tf-bench-')), 'state.json'),
    http: { enabled: false },
  });
  await new Ferry({ config, logger: silentLogger() }).run();
  const admin = await sandbox.source.connect();
  await admin.query('SET GLOBAL read_only = OFF');
  await admin.end();
}

export async function benchCopy(options: CopyBenchOptions): Promise<void> {
  const sandbox = await startSandbox();
  try {
    const source = await sandbox.source.connect();
    const target = await sandbox.target.connect();
    const perTable = Math.floor(options.rows / options.tables);
    const rows = perTable * options.tables;
    process.stdout.write(`creating ${options.tables} sysbench tables of ${perTable} rows on the source…\n`);
    await createSysbenchTables(source, options.tables, perTable);
    const methods = {
      'mariadb-dump | mariadb': () => dumpAndLoad(sandbox),
      'tideferry (LOAD DATA)': () => tideferry(sandbox, 'load-data'),
      'tideferry (INSERT)': () => tideferry(sandbox, 'insert'),
      'tideferry (LOAD DATA), verified while copying': () => tideferry(sandbox, 'load-data', true),
    };
    const seconds = new Map<string, number[]>(Object.keys(methods).map((name) => [name, []]));
    for (let round = 1; round <= options.rounds; round++) {
      for (const [name, run] of Object.entries(methods)) {
        await target.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}`);
        const start = performance.now();
        await run();
        const elapsed = (performance.now() - start) / 1000;
        const [[count]] = (await target.query(`SELECT COUNT(*) AS n FROM ${SYSBENCH_DATABASE}.sbtest1`)) as unknown as [[{ n: number }]];
        if (Number(count.n) !== perTable) throw new Error(`${name} left ${count.n} rows in sbtest1, expected ${perTable}`);
        seconds.get(name)!.push(elapsed);
        process.stdout.write(`round ${round}: ${name}: ${elapsed.toFixed(2)} s (${Math.round(rows / elapsed)} rows/s)\n`);
      }
    }
    await source.end();
    await target.end();
    const baseline = median(seconds.get('mariadb-dump | mariadb')!);
    const records = [...seconds].map(([method, runs]) => {
      const typical = median(runs);
      return {
        method,
        rows,
        'median seconds': typical,
        'rows/s': Math.round(rows / typical),
        'speed vs dump|load': baseline / typical,
        runs: runs.map((run) => run.toFixed(2)).join(' '),
      };
    });
    writeResults('copy', records, `Copy of ${rows} sysbench rows in ${options.tables} tables, ${options.rounds} alternating rounds, same sandbox servers. Command: npm run bench -- copy`);
  } finally {
    await sandbox.stop();
  }
}
