// sysbench's oltp_write_only as the source's write load (benchmarks and tests): the real tool users benchmark with,
// in its own process (so that the engine's process CPU is the engine's alone). Each
// transaction is an indexed UPDATE, a non-indexed UPDATE, a DELETE and an INSERT of one row
// each: four row events, four TABLE_MAPs and a commit, as real OLTP traffic logs them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface SysbenchOptions {
  /** Unix socket (root, for benchmarks) or TCP endpoint of a user (an application user that read_only stops). */
  readonly socket?: string;
  readonly user?: { readonly host: string; readonly port: number; readonly user: string; readonly password: string };
  readonly database: string;
  readonly tables: number;
  readonly tableSize: number;
  readonly threads: number;
  readonly seconds: number;
  /** Transactions per second over all threads; 0: as fast as the source goes. */
  readonly rate: number;
}

export interface SysbenchResult {
  readonly transactions: number;
  readonly transactionsPerSecond: number;
  readonly errors: number;
  /** Per-second transaction rates sysbench reported, in order. */
  readonly perSecond: readonly number[];
}

/** Finds sysbench, installing it with apt-get when root on Debian/Ubuntu; says what to install otherwise. */
export function sysbenchBinary(): string {
  const candidates = ['/usr/bin/sysbench', '/usr/local/bin/sysbench'];
  const found = candidates.find((path) => existsSync(path));
  if (found) return found;
  if (process.getuid?.() === 0 && existsSync('/etc/debian_version')) {
    process.stderr.write('bench: sysbench not found, installing it with apt-get…\n');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', 'sysbench'], { stdio: 'inherit', env });
    const installed = candidates.find((path) => existsSync(path));
    if (installed) return installed;
  }
  throw new Error('this benchmark runs sysbench as the write load: install it (`apt-get install sysbench` on Debian/Ubuntu, `brew install sysbench` on macOS)');
}

/** A running `sysbench oltp_write_only … run`; `finished` resolves with its figures. */
export class SysbenchLoad {
  readonly finished: Promise<SysbenchResult>;
  private readonly child: ChildProcess;

  constructor(options: SysbenchOptions) {
    const args = [
      'oltp_write_only',
      ...(options.user
        ? [`--mysql-host=${options.user.host}`, `--mysql-port=${options.user.port}`, `--mysql-user=${options.user.user}`, `--mysql-password=${options.user.password}`]
        : [`--mysql-socket=${options.socket}`, '--mysql-user=root']),
      `--mysql-db=${options.database}`,
      `--tables=${options.tables}`,
      `--table-size=${options.tableSize}`,
      `--threads=${options.threads}`,
      `--time=${options.seconds}`,
      `--rate=${options.rate}`,
      '--report-interval=1',
      // Deadlocks between the threads are retried by sysbench, as a real application would; so
      // is a source made read-only by a cutover (1290), until the load is stopped.
      '--mysql-ignore-errors=1213,1205,1062,1290',
      'run',
    ];
    this.child = spawn(sysbenchBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    this.child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    this.finished = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code) => {
        if (code !== 0) return reject(new Error(`sysbench exited with ${code}: ${(errors || output).slice(-1000)}`));
        const total = /transactions:\s+(\d+)\s+\(([\d.]+) per sec/.exec(output);
        const failed = /ignored errors:\s+(\d+)/.exec(output);
        const perSecond = [...output.matchAll(/\] thds: \d+ tps: ([\d.]+)/g)].map((match) => Number(match[1]));
        resolve({
          transactions: Number(total?.[1] ?? 0),
          transactionsPerSecond: Number(total?.[2] ?? 0),
          errors: Number(failed?.[1] ?? 0),
          perSecond,
        });
      });
    });
    this.finished.catch(() => undefined);
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}
