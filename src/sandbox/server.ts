// One throwaway MariaDB server: its own datadir, socket and free port under a temp folder,
// row-based binlog with full row images and metadata, stopped and removed afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { serverBinaries } from './binaries.js';

export interface SandboxServerOptions {
  readonly name: string;
  readonly serverId: number;
  /** Extra `--option=value` flags for mariadbd (e.g. `--innodb-flush-log-at-trx-commit=1`). */
  readonly extraArgs?: readonly string[];
  /** The tideferry user's password (default: a random one); a replica takes its primary's, as a replicated user would. */
  readonly password?: string;
}

/** Connection settings of the user the sandbox creates: everything a config's `source`/`target` needs. */
export interface SandboxEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

// Servers must not outlive the process that started them, even when it is SIGKILLed or a test
// crashes, and without process-wide handlers (only the CLI installs those). So mariadbd runs
// under a tiny shell watchdog whose stdin is a pipe from this process: when the pipe closes
// (this process is gone, or stop() gave up on a clean shutdown), the watchdog kills the server
// and removes its folder. SIGTERM to the watchdog is a clean shutdown of the server.
// $1 is the sandbox folder, the rest the server's command line.
const WATCHDOG = `
dir=$1; shift
exec 3<&0 </dev/null
"$@" 3<&- &
server=$!
trap 'kill -TERM $server 2>/dev/null' TERM
(
  while read -r _ <&3; do :; done
  : > "$dir/.abandoned"
  kill -KILL $server 2>/dev/null
) &
watcher=$!
exec 3<&-
while :; do
  wait $server
  status=$?
  kill -0 $server 2>/dev/null || break
done
kill $watcher 2>/dev/null
if [ -e "$dir/.abandoned" ]; then rm -rf "$dir"; fi
exit $status
`;

/** A loopback port nobody listens on now (taken and given back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SandboxServer {
  readonly name: string;
  readonly serverId: number;
  readonly dir: string;
  readonly socket: string;
  port = 0;
  readonly user = 'tideferry';
  readonly password: string;
  /** An application user without SUPER, so that read_only stops it like it stops real writers. */
  readonly applicationUser = 'app';
  readonly applicationPassword = `app-${randomBytes(6).toString('hex')}`;
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private extraArgs: readonly string[] = [];

  private constructor(options: SandboxServerOptions) {
    this.name = options.name;
    this.serverId = options.serverId;
    this.password = options.password ?? `sandbox-${randomBytes(6).toString('hex')}`;
    // Short paths: a unix socket path must stay under ~107 bytes.
    this.dir = mkdtempSync(join(tmpdir(), `tf-${options.name.slice(0, 3)}-`));
    this.socket = join(this.dir, 's');
  }

  static async start(options: SandboxServerOptions): Promise<SandboxServer> {
    const server = new SandboxServer(options);
    try {
      server.installDataDirectory();
      server.extraArgs = options.extraArgs ?? [];
      await server.launch(server.extraArgs);
      await server.createUser();
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  get endpoint(): SandboxEndpoint {
    return { host: '127.0.0.1', port: this.port, user: this.user, password: this.password };
  }

  get logFile(): string {
    return join(this.dir, 'error.log');
  }

  /** An administrative connection (root over the socket), for tests and the load generator. */
  async connect(options: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
    return mysql.createConnection({ socketPath: this.socket, user: 'root', multipleStatements: true, ...options });
  }

  /** A connection as the application user (over TCP), which read_only blocks. */
  async connectAsApplication(options: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
    return mysql.createConnection({
      host: '127.0.0.1', port: this.port, user: this.applicationUser, password: this.applicationPassword, multipleStatements: true, ...options,
    });
  }

  private installDataDirectory(): void {
    const binaries = serverBinaries();
    const args = [
      '--no-defaults',
      `--datadir=${join(this.dir, 'data')}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      `--tmpdir=${this.dir}`,
      ...(isRoot() ? ['--user=root'] : []),
    ];
    // Its bootstrap server must use our own folder for temp files: with the default /tmp, two
    // sandboxes bootstrapping at once (parallel test runs) delete each other's temp tables.
    const result = spawnSync(binaries.installDb, args, { encoding: 'utf8', env: { ...process.env, TMPDIR: this.dir } });
    if (result.status !== 0) {
      throw new Error(`mariadb-install-db failed for sandbox ${this.name}: ${(result.stderr || result.stdout).slice(-2000)}`);
    }
  }

  /** Whether the server process runs now (false between shutdown() and startAgain()). */
  get running(): boolean {
    const child = this.process;
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  /**
   * Shuts the server down cleanly (as a restart or a failover does: every connection is closed),
   * keeping its datadir and port; startAgain() brings it back. `kill: true` kills it instead
   * (SIGKILL: a crash; InnoDB recovers at the next start).
   */
  async shutdown(options: { kill?: boolean } = {}): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    if (options.kill) {
      const pid = Number(readFileSync(join(this.dir, 'pid'), 'utf8').trim());
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } else {
      child.kill('SIGTERM');
    }
    await this.exited;
  }

  /** Starts the server again on the same datadir and port, after shutdown(). */
  async startAgain(): Promise<void> {
    if (this.running) return;
    await this.launch(this.extraArgs, this.port);
  }

  /** shutdown(), `downMs` of being down, startAgain(): a restart as a client sees one. */
  async restart(downMs: number, options: { kill?: boolean } = {}): Promise<void> {
    await this.shutdown(options);
    await sleep(downMs);
    await this.startAgain();
  }

  private async launch(extraArgs: readonly string[], fixedPort?: number): Promise<void> {
    const binaries = serverBinaries();
    for (let attempt = 1; ; attempt++) {
      this.port = fixedPort ?? (await freePort());
      const args = [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--socket=${this.socket}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${join(this.dir, 'pid')}`,
        `--log-error=${this.logFile}`,
        `--tmpdir=${this.dir}`,
        `--server-id=${this.serverId}`,
        `--log-bin=${join(this.dir, 'data', 'binlog')}`,
        '--binlog-format=ROW',
        '--binlog-row-image=FULL',
        '--binlog-row-metadata=FULL',
        '--log-slave-updates',
        '--skip-name-resolve',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_general_ci',
        '--local-infile=1',
        '--max-connections=300',
        '--max-allowed-packet=256M',
        '--innodb-buffer-pool-size=256M',
        '--innodb-log-file-size=256M',
        // Throwaway servers: durability costs fsyncs that tell us nothing. The benchmarks
        // that measure commit cost pass their own settings through extraArgs.
        '--innodb-flush-log-at-trx-commit=2',
        '--sync-binlog=0',
        ...(isRoot() ? ['--user=root'] : []),
        ...extraArgs,
      ];
      // Its own process group: a Ctrl-C in the terminal reaches the CLI, which stops the servers
      // in order, not the servers themselves. Unreferenced: a server left running by mistake
      // does not hold this process open (the watchdog kills it when this process exits).
      const child = spawn('/bin/sh', ['-c', WATCHDOG, 'tideferry-sandbox', this.dir, binaries.server, ...args], {
        stdio: ['pipe', 'ignore', 'ignore'],
        detached: true,
      });
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      this.process = child;
      this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
      let exitedEarly = false;
      child.once('exit', () => { exitedEarly = true; });
      const deadline = Date.now() + 60_000;
      while (!exitedEarly && Date.now() < deadline) {
        if (existsSync(this.socket)) {
          try {
            const connection = await this.connect();
            await connection.end();
            return;
          } catch {
            // still starting
          }
        }
        await sleep(50);
      }
      const log = this.readLog();
      // The same port after a restart: a socket of the previous run may linger a moment.
      if (exitedEarly && /already in use|Can't start server: Bind/i.test(log) && attempt < (fixedPort ? 40 : 5)) {
        if (fixedPort) await sleep(250);
        continue;
      }
      await this.abandon();
      throw new Error(`sandbox server ${this.name} did not start (log ${this.logFile}):\n${log.slice(-2000)}`);
    }
  }

  private async createUser(): Promise<void> {
    const connection = await this.connect();
    try {
      // Not binlogged: a replica attached later replays this server's binlog from the start.
      await connection.query(
        `SET sql_log_bin = 0;
         CREATE USER '${this.user}'@'%' IDENTIFIED BY '${this.password}';
         GRANT ALL PRIVILEGES ON *.* TO '${this.user}'@'%' WITH GRANT OPTION;
         CREATE USER '${this.applicationUser}'@'%' IDENTIFIED BY '${this.applicationPassword}';
         GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON *.* TO '${this.applicationUser}'@'%';
         SET sql_log_bin = 1;`,
      );
    } finally {
      await connection.end();
    }
  }

  readLog(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops the server cleanly (SIGTERM, then SIGKILL after 30 s) and removes its folder. */
  async stop(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // The timer is cleared once the server exits: left pending, it kept every test process
      // alive for 30 s after its last test.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), 30_000); });
      const outcome = await Promise.race([this.exited, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') await this.abandon();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kills the server at once (the watchdog does, when its stdin closes) and waits for it. */
  private async abandon(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.stdin?.destroy();
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
