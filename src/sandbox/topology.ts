// The sandbox topology used by the demo, the tests and the benchmarks: a source, a target,
// and optionally a replica of the target attached by real replication (its lag is what the
// copy throttler watches).
import { SandboxServer, type SandboxServerOptions } from './server.js';

export interface SandboxOptions {
  readonly replica?: boolean;
  readonly sourceArgs?: readonly string[];
  readonly targetArgs?: readonly string[];
}

export interface Sandbox {
  readonly source: SandboxServer;
  readonly target: SandboxServer;
  readonly replica: SandboxServer | undefined;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const started: SandboxServer[] = [];
  const start = async (serverOptions: SandboxServerOptions) => {
    const server = await SandboxServer.start(serverOptions);
    started.push(server);
    return server;
  };
  const stop = async () => {
    await Promise.all(started.map((server) => server.stop()));
  };
  try {
    // allSettled, not all: when one server fails to start, the other must have finished
    // starting (and joined `started`) before the catch below stops everything.
    const [sourceResult, targetResult] = await Promise.allSettled([
      start({ name: 'source', serverId: 101, extraArgs: options.sourceArgs ?? [] }),
      start({ name: 'target', serverId: 201, extraArgs: options.targetArgs ?? [] }),
    ]);
    if (sourceResult.status === 'rejected') throw sourceResult.reason;
    if (targetResult.status === 'rejected') throw targetResult.reason;
    const source = sourceResult.value;
    const target = targetResult.value;
    let replica: SandboxServer | undefined;
    if (options.replica) {
      // report_host: the target lists it in SHOW SLAVE HOSTS, where the throttle's discovery finds
      // it; the target's credentials reach it (the throttle's discovery uses them).
      replica = await start({ name: 'replica', serverId: 301, extraArgs: ['--read-only=ON', '--report-host=127.0.0.1'], password: target.password });
      await attachReplica(replica, target);
    }
    return { source, target, replica, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Makes `replica` replicate `primary` from the primary's first binlog event. */
export async function attachReplica(replica: SandboxServer, primary: SandboxServer): Promise<void> {
  const connection = await replica.connect();
  try {
    const { host, port, user, password } = primary.endpoint;
    await connection.query(
      `CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1`,
      [host, port, user, password],
    );
    await connection.query('START SLAVE');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [rows] = await connection.query('SHOW SLAVE STATUS');
      const status = (rows as Record<string, unknown>[])[0];
      if (status?.Slave_IO_Running === 'Yes' && status?.Slave_SQL_Running === 'Yes') return;
      if (Date.now() > deadline) {
        throw new Error(`replica did not start replicating: ${String(status?.Last_IO_Error ?? status?.Last_SQL_Error ?? 'no status')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await connection.end();
  }
}
