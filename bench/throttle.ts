// `npm run bench -- throttle`: the replica-lag throttle's effect. A copy of a sysbench-shaped
// table set to a target whose replica is made slow (it reads the target's binlog through a link
// capped at a few MB/s, and commits durably), once with the throttle off and once on (throttle.maxLagSeconds, the replica
// named, the lag read from a heartbeat), side by side: the copy's rows/s, and the replica's lag
// from the copy's start until it has caught up after the run, max and p99, measured the same way in both runs from a heartbeat table written
// on the target every 100 ms (tideferry's own writer, run by the bench, not by the ferry).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Connection } from 'mysql2/promise';
import { quantileSorted } from 'simple-statistics';
import { parseConfig } from '../src/config/load.js';
import { Ferry } from '../src/ferry.js';
import { silentLogger } from '../src/log.js';
import { SandboxServer, startSandbox } from '../src/sandbox/index.js';
import { createSysbenchTables, SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';
import { HeartbeatWriter, nowMicros, parseHeartbeat } from '../src/throttle/heartbeat.js';
import { writeResults } from './report.js';

export interface ThrottleBenchOptions {
  readonly rows: number;
  readonly tables: number;
  readonly maxLagSeconds: number;
  /** Rows per copy batch, fixed. */
  readonly batchRows: number;
  /** The replica's link to the target, bytes per second. */
  readonly linkBytesPerSecond: number;
}

/**
 * A TCP relay whose target → replica direction carries at most `bytesPerSecond` (the binlog
 * stream): chunks are released on a schedule, and the upstream socket paused while over 1 MB waits.
 */
async function startSlowLink(upstreamPort: number, bytesPerSecond: number): Promise<{ port: number; stop: () => void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    let nextFree = performance.now();
    let waiting = 0;
    upstream.on('data', (chunk: Buffer) => {
      const now = performance.now();
      nextFree = Math.max(now, nextFree) + (chunk.length / bytesPerSecond) * 1000;
      waiting += chunk.length;
      if (waiting > 1 << 20) upstream.pause();
      setTimeout(() => {
        waiting -= chunk.length;
        if (!client.destroyed) client.write(chunk);
        if (waiting <= 1 << 19) upstream.resume();
      }, nextFree - now);
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    stop: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

const HEARTBEAT = { database: 'tfbench', table: 'heartbeat', utc: true } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The replica's lag from the heartbeat row (the target's server_id), seconds. */
async function heartbeatLag(replica: Connection, serverId: number): Promise<number> {
  const [rows] = (await replica.query('SELECT ts FROM tfbench.heartbeat WHERE server_id = ?', [serverId])) as unknown as [{ ts: string }[]];
  const stamp = rows[0] ? parseHeartbeat(rows[0].ts, true) : NaN;
  return Number.isFinite(stamp) ? Math.max(0, (nowMicros() - stamp) / 1e6) : Infinity;
}

export async function benchThrottle(options: ThrottleBenchOptions): Promise<void> {
  const sandbox = await startSandbox();
  // The slow replica: the binlog through a capped link, every commit durable, one applier thread.
  const replicaServer = await SandboxServer.start({
    name: 'replica', serverId: 301, password: sandbox.target.password,
    extraArgs: ['--read-only=ON', '--report-host=127.0.0.1', '--innodb-flush-log-at-trx-commit=1', '--sync-binlog=1', '--slave-parallel-threads=0'],
  });
  const link = await startSlowLink(sandbox.target.port, options.linkBytesPerSecond);
  let writer: HeartbeatWriter | undefined;
  try {
    const admin = await replicaServer.connect();
    const { user, password } = sandbox.target.endpoint;
    await admin.query('CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1', ['127.0.0.1', link.port, user, password]);
    await admin.query('START SLAVE');
    await admin.end();
    const source = await sandbox.source.connect();
    const target = await sandbox.target.connect();
    const replica = await replicaServer.connect();
    await target.query('CREATE DATABASE IF NOT EXISTS tfbench');
    writer = new HeartbeatWriter({ target: sandbox.target.endpoint, heartbeat: HEARTBEAT, intervalMs: 100, logger: silentLogger() });
    await writer.start();
    const serverId = writer.serverId;
    const perTable = Math.floor(options.rows / options.tables);
    process.stdout.write(`creating ${options.tables} sysbench tables of ${perTable} rows on the source…\n`);
    await createSysbenchTables(source, options.tables, perTable);

    const caughtUp = async () => {
      const deadline = Date.now() + 120_000;
      while ((await heartbeatLag(replica, serverId).catch(() => Infinity)) > 0.3) {
        if (Date.now() > deadline) throw new Error('the replica did not catch up within 120 s');
        await sleep(100);
      }
    };

    const records = [];
    for (const throttled of [false, true]) {
      await target.query(`DROP DATABASE IF EXISTS ${SYSBENCH_DATABASE}`);
      await caughtUp();
      const config = parseConfig({
        source: sandbox.source.endpoint,
        target: sandbox.target.endpoint,
        databases: [SYSBENCH_DATABASE],
        // Fixed batches of 1,000 rows (lhm's stride is 2,000): an adaptive batch grows to half a
        // second of writing, several MB of binlog, which alone is seconds of the slow replica's link.
        copy: { concurrency: 4, adaptive: false, batchRows: options.batchRows },
        verify: { enabled: false },
        throttle: throttled
          ? { replicas: [replicaServer.endpoint], discoverReplicas: false, maxLagSeconds: options.maxLagSeconds, heartbeat: { table: 'tfbench.heartbeat', utc: true } }
          : { replicas: [], discoverReplicas: false },
        stateFile: join(mkdtempSync(join(tmpdir(), 'tf-bench-')), 'state.json'),
        http: { enabled: false },
      });
      const ferry = new Ferry({ config, logger: silentLogger() });
      const lags: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          if (ferry.phase !== 'preflight') lags.push(await heartbeatLag(replica, serverId).catch(() => Infinity));
          await sleep(100);
        }
      })();
      const summary = await ferry.run();
      const copyEnded = performance.now();
      await caughtUp();
      const catchUpSeconds = (performance.now() - copyEnded) / 1000;
      sampling = false;
      await sampler;
      await source.query('SET GLOBAL read_only = OFF');
      const sorted = lags.filter(Number.isFinite).sort((a, b) => a - b);
      const record = {
        throttle: throttled ? `on (maxLagSeconds ${options.maxLagSeconds})` : 'off',
        rows: summary.rowsCopied,
        'copy seconds': summary.copySeconds,
        'rows/s': Math.round(summary.copyRowsPerSecond),
        'replica max lag s': sorted.length ? sorted[sorted.length - 1]! : NaN,
        'replica p99 lag s': sorted.length ? quantileSorted(sorted, 0.99) : NaN,
        'replica caught up after copy s': catchUpSeconds,
        'throttle steps': ferry.copyGate?.steps ?? 0,
        'lag samples': lags.length,
      };
      process.stdout.write(`${JSON.stringify(record)}\n`);
      records.push(record);
    }
    await source.end();
    await target.end();
    await replica.end();
    writeResults('throttle', records, `Copy of ${options.rows} sysbench rows in ${options.tables} tables (4 copy workers, fixed batches of ${options.batchRows} rows, verification off, no write load) to a target whose replica is slow (it reads the binlog through a link capped at ${(options.linkBytesPerSecond / 1e6).toFixed(1)} MB/s; durable commits, one applier thread); the replica's lag sampled every 100 ms from a heartbeat written on the target every 100 ms, from the copy's start until the replica has caught up after the run. Throttle off, then on, same servers, one run. Command: npm run bench -- throttle`);
  } finally {
    await writer?.stop();
    await replicaServer.stop();
    link.stop();
    await sandbox.stop();
  }
}
