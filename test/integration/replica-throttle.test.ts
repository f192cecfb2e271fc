// The replica-lag throttle on real servers (issue 12): the target's replica made to lag (its SQL
// thread stopped) slows the copy within a few strides while the binlog applier keeps applying;
// once it has caught up the copy goes back to full speed; every row equal at the end. A heartbeat
// written by pt-heartbeat (Percona Toolkit) drives it too, and so does one tideferry writes. And
// discovery: replicas not named in the config (one chained below another) are found and watched;
// one that the configured credentials cannot reach counts as lag, said once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { Ferry } from '../../src/ferry.js';
import { attachReplica, SandboxServer, startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import { ReplicaLagSource } from '../../src/throttle/replica-lag.js';
import { ThreadsRunningSource } from '../../src/throttle/threads-running.js';
import type { Logger } from '../../src/log.js';
import { dumpTable, resetSampleDatabase, sandboxConfig, testLogger, waitFor } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A logger that keeps every line (and passes them on to the test logger). */
function recordingLogger(): { logger: Logger; lines: { level: string; object: Record<string, unknown>; message: string }[] } {
  const lines: { level: string; object: Record<string, unknown>; message: string }[] = [];
  const inner = testLogger();
  const make = (level: 'info' | 'warn' | 'error' | 'debug'): Logger => {
    const logger: Record<string, unknown> = {};
    for (const name of ['info', 'warn', 'error', 'debug', 'trace', 'fatal'] as const) {
      logger[name] = (object: unknown, message?: string) => {
        const [fields, text] = typeof object === 'string' ? [{}, object] : [(object ?? {}) as Record<string, unknown>, message ?? ''];
        lines.push({ level: name, object: fields, message: text });
        (inner[name] as (o: unknown, m?: string) => void).call(inner, fields, text);
      };
    }
    logger['child'] = () => make(level);
    logger['level'] = 'debug';
    logger['isLevelEnabled'] = () => true;
    return new Proxy(logger, { get: (object, name) => (name in object ? object[name as string] : () => undefined) }) as unknown as Logger;
  };
  return { logger: make('info'), lines };
}

const hasPtHeartbeat = spawnSync('pt-heartbeat', ['--version'], { encoding: 'utf8' }).status === 0;

/** pt-heartbeat --update against `server`, every 0.1 s, UTC stamps; its credentials in a defaults file, not on the command line. */
function startPtHeartbeat(server: SandboxServer, database: string): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'tf-pthb-'));
  const defaults = join(dir, 'my.cnf');
  writeFileSync(defaults, `[client]\nhost=127.0.0.1\nport=${server.port}\nuser=${server.user}\npassword=${server.password}\n`, { mode: 0o600 });
  const child = spawn('pt-heartbeat', [`--defaults-file=${defaults}`, '--update', '--create-table', '--database', database, '--table', 'heartbeat', '--interval', '0.1', '--utc'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => process.stderr.write(`pt-heartbeat: ${text}`));
  return child;
}

const stopProcess = async (child: ChildProcess | undefined) => {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
};

describe('replica-lag throttle', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let replica: Connection;
  /** A replica of the replica, reporting itself too, with a tideferry user of its own (another password than the target's). */
  let chained: SandboxServer;
  let chainedConnection: Connection;

  before(async () => {
    sandbox = await startSandbox({ replica: true });
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    replica = await sandbox.replica!.connect();
    chained = await SandboxServer.start({ name: 'chained', serverId: 302, extraArgs: ['--read-only=ON', '--report-host=127.0.0.1'] });
    await attachReplica(chained, sandbox.replica!);
    chainedConnection = await chained.connect();
  });
  after(async () => {
    await replica?.query('START SLAVE').catch(() => undefined);
    await replica?.end();
    await chainedConnection?.end();
    await chained?.stop();
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  /** A run with a write load; `during` acts on the running ferry; every row compared at the end. */
  async function migrate(overrides: Record<string, unknown>, during: (ferry: Ferry) => Promise<void>, logger: Logger = testLogger()): Promise<void> {
    await resetSampleDatabase(source, target);
    const load = new WriteLoad(sandbox.source, { ratePerSecond: 200, connections: 2, seed: Date.now() % 100_000 });
    await load.start();
    try {
      const ferry = new Ferry({
        config: sandboxConfig(sandbox, { copy: { adaptive: false, batchRows: 300, concurrency: 2 }, ...overrides }),
        logger,
      });
      const running = ferry.run();
      running.catch(() => undefined);
      await during(ferry);
      await running;
      await load.stop();
      for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
    } finally {
      await load.stop().catch(() => undefined);
      await source.query('SET GLOBAL read_only = OFF').catch(() => undefined);
    }
  }

  const gateOf = (ferry: Ferry) => ferry.copyGate!;
  const copyStarted = (ferry: Ferry) => waitFor(() => (ferry.copyGate?.steps ?? 0) >= 2 || ferry.phase !== 'copy' && ferry.phase !== 'preflight', 60_000, 'the copy to start');
  const eventsApplied = (ferry: Ferry) => ferry.stats.eventsApplied;

  it('backs the copy off within a few strides while the replica\'s SQL thread is stopped, the applier going on; back to full speed once it caught up; every row equal', { timeout: 240_000 }, async () => {
    const { logger, lines } = recordingLogger();
    await migrate({ throttle: { replicas: [sandbox.replica!.endpoint], maxLagSeconds: 1, maxPauseSeconds: 0.8, discoverReplicas: false } }, async (ferry) => {
      await copyStarted(ferry);
      assert.equal(ferry.phase, 'copy', 'the copy outlasts its first strides');
      const gate = gateOf(ferry);
      assert.equal(gate.pauseSeconds, 0, 'a healthy replica does not slow the copy (floor 0)');
      await replica.query('STOP SLAVE SQL_THREAD');
      const stepsAtStop = gate.steps;
      await waitFor(() => gate.pauseSeconds >= 0.4, 20_000, 'the copy to back off');
      assert.ok(gate.steps - stepsAtStop <= 5, `backed off to 0.4 s in ${gate.steps - stepsAtStop} strides`);
      assert.equal(gate.reason, 'replica-lag');
      // Held at the maximum for a while: the copy crawls, the binlog applier does not.
      const rowsBefore = ferry.stats.rowsCopied;
      const appliedBefore = eventsApplied(ferry);
      await sleep(3_000);
      const rowsWhileLagging = ferry.stats.rowsCopied - rowsBefore;
      assert.ok(eventsApplied(ferry) - appliedBefore > 100, `the applier applied ${eventsApplied(ferry) - appliedBefore} events in 3 s while the copy was throttled`);
      assert.ok((gate.pauseSeconds as number) === 0.8, `the pause reached its maximum (${gate.pauseSeconds})`);
      await replica.query('START SLAVE SQL_THREAD');
      await waitFor(() => gate.pauseSeconds === 0, 60_000, 'the copy to go back to full speed');
      const rowsAfter = ferry.stats.rowsCopied;
      await sleep(1_000);
      if (ferry.phase === 'copy') {
        assert.ok(ferry.stats.rowsCopied - rowsAfter > rowsWhileLagging / 3, `back at full speed: ${ferry.stats.rowsCopied - rowsAfter} rows in 1 s, ${rowsWhileLagging} in 3 s while lagging`);
      }
    }, logger);
    const said = lines.filter((line) => /replica lag unknown/.test(line.message));
    assert.equal(said.length, 1, `the stopped replica was said once: ${JSON.stringify(said)}`);
    assert.match(String(said[0]!.object['reason']), /replication stopped: SQL thread No/);
    assert.equal(lines.filter((line) => /replica lag readable again/.test(line.message)).length, 1);
    assert.equal(lines.filter((line) => /the copy backs off/.test(line.message)).length, 1, 'backing off said once');
    assert.equal(lines.filter((line) => /full speed again/.test(line.message)).length, 1, 'full speed said once');
  });

  it('reads a heartbeat written by pt-heartbeat (sub-second); a stalled writer slows the copy, a running one lets it go; every row equal', { timeout: 240_000 }, async () => {
    assert.ok(hasPtHeartbeat, 'pt-heartbeat is needed (Debian package percona-toolkit; .ci/run installs it)');
    await target.query('CREATE DATABASE IF NOT EXISTS percona');
    let writer: ChildProcess | undefined = startPtHeartbeat(sandbox.target, 'percona');
    try {
      await waitFor(async () => {
        const [rows] = await replica.query('SELECT ts FROM percona.heartbeat').catch(() => [[]]);
        return (rows as unknown[]).length > 0;
      }, 30_000, 'pt-heartbeat\'s first row on the replica', 100);
      await migrate({ throttle: { replicas: [sandbox.replica!.endpoint], discoverReplicas: false, maxLagSeconds: 0.5, maxPauseSeconds: 0.4, heartbeat: { table: 'percona.heartbeat', utc: true } } }, async (ferry) => {
        await copyStarted(ferry);
        const gate = gateOf(ferry);
        const lags: number[] = [];
        for (let sample = 0; sample < 20 && ferry.phase === 'copy'; sample++) {
          lags.push(gate.replicaLagSeconds);
          await sleep(50);
        }
        assert.ok(lags.some((lag) => lag > 0 && lag < 1 && !Number.isInteger(lag)), `sub-second lag from the heartbeat: ${lags.join(', ')}`);
        // Replication runs, but the heartbeat ages: the stamps are the lag.
        await stopProcess(writer);
        await waitFor(() => gate.pauseSeconds > 0, 20_000, 'the copy to back off on an aging heartbeat');
        assert.equal(gate.reason, 'replica-lag');
        writer = startPtHeartbeat(sandbox.target, 'percona');
        await waitFor(() => gate.pauseSeconds === 0, 30_000, 'the copy to go back to full speed');
      });
    } finally {
      await stopProcess(writer);
    }
  });

  it('writes its own heartbeat when asked (microsecond stamps, the timer and connection gone after the run)', { timeout: 240_000 }, async () => {
    await target.query('CREATE DATABASE IF NOT EXISTS tfbeat');
    let lags: number[] = [];
    await migrate({ throttle: { replicas: [sandbox.replica!.endpoint], discoverReplicas: false, maxLagSeconds: 0.5, maxPauseSeconds: 0.4, heartbeat: { table: 'tfbeat.heartbeat', write: true, intervalMs: 100, utc: true } } }, async (ferry) => {
      await copyStarted(ferry);
      for (let sample = 0; sample < 20 && ferry.phase === 'copy'; sample++) {
        lags.push(gateOf(ferry).replicaLagSeconds);
        await sleep(50);
      }
    });
    lags = lags.filter((lag) => Number.isFinite(lag));
    assert.ok(lags.length > 0 && lags.every((lag) => lag < 1), `lags ${lags.join(', ')}`);
    const [[first]] = (await target.query('SELECT ts FROM tfbeat.heartbeat')) as unknown as [[{ ts: string }]];
    assert.match(first.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    await sleep(400);
    const [[second]] = (await target.query('SELECT ts FROM tfbeat.heartbeat')) as unknown as [[{ ts: string }]];
    assert.equal(second.ts, first.ts, 'no stamp after the run: the writer stopped');
    // The replica's own replication session (Binlog Dump) aside.
    const sessions = async () => Number(((await target.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'tideferry' AND COMMAND NOT LIKE 'Binlog Dump%'"))[0] as { n: number }[])[0]!.n);
    await waitFor(async () => (await sessions()) === 0, 5_000, 'no tideferry session left on the target', 50).catch(() => undefined);
    assert.equal(await sessions(), 0, 'no tideferry session left on the target');
  });

  it('reads the target\'s Threads_running (lhm\'s other throttler), and nothing after close', async () => {
    const threads = new ThreadsRunningSource(sandbox.target.endpoint);
    const running = await threads.read();
    assert.ok(Number.isInteger(running) && running >= 1, `Threads_running ${running}`);
    await threads.close();
    assert.equal(await threads.read(), Infinity);
  });

  it('refuses a heartbeat table that does not exist on the target, saying which and how to make it', { timeout: 120_000 }, async () => {
    await resetSampleDatabase(source, target);
    const ferry = new Ferry({ config: sandboxConfig(sandbox, { throttle: { heartbeat: { table: 'nowhere.heartbeat' } } }), logger: testLogger() });
    await assert.rejects(ferry.run(), (error: Error) => {
      assert.match(error.message, /throttle\.heartbeat\.table nowhere\.heartbeat does not exist on the target/);
      assert.match(error.message, /pt-heartbeat --create-table --update/);
      assert.doesNotMatch(error.message, new RegExp(sandbox.target.password));
      return true;
    });
  });

  it('counts a discovered replica that the configured credentials cannot reach as lag, said once with the reason (no password)', { timeout: 60_000 }, async () => {
    // The target's credentials reach its replica (same user and password), not the chained one (a password of its own).
    const { logger, lines } = recordingLogger();
    const { user, password } = sandbox.target.endpoint;
    const lagSource = new ReplicaLagSource([], { discovery: { target: sandbox.target.endpoint, credentials: { user, password } }, logger });
    try {
      assert.deepEqual(await lagSource.discover(), [`127.0.0.1:${sandbox.replica!.port}`, `127.0.0.1:${chained.port}`]);
      for (let read = 0; read < 3; read++) {
        const lag = await lagSource.read();
        assert.deepEqual(lag, { seconds: Infinity, replica: `127.0.0.1:${chained.port}` });
      }
      assert.ok(Number.isFinite(lagSource.lastLagSeconds.get(`127.0.0.1:${sandbox.replica!.port}`)), 'the reachable replica\'s lag was read');
    } finally {
      await lagSource.close();
    }
    const said = lines.filter((line) => line.level === 'warn');
    assert.equal(said.length, 1, JSON.stringify(said));
    assert.equal(said[0]!.object['replica'], `127.0.0.1:${chained.port}`);
    assert.match(String(said[0]!.object['reason']), /unreachable with the configured credentials: Access denied for user 'tideferry'/);
    assert.doesNotMatch(JSON.stringify(lines), new RegExp(password));
    assert.doesNotMatch(JSON.stringify(lines), new RegExp(chained.password));
  });

  it('finds and watches replicas the config does not name, a chained one too: its lag slows the copy; every row equal', { timeout: 240_000 }, async () => {
    // A user made on the target reaches its replicas (CREATE USER is replicated): the configured credentials.
    const password = `tf-${Date.now()}`;
    await target.query(`CREATE USER IF NOT EXISTS 'tfall'@'%' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'tfall'@'%' WITH GRANT OPTION`);
    {
      const tfall = { host: '127.0.0.1', port: sandbox.target.port, user: 'tfall', password };
      try {
        await waitFor(async () => {
          const [rows] = await chainedConnection.query("SELECT COUNT(*) AS n FROM mysql.user WHERE user = 'tfall'");
          return Number((rows as { n: number }[])[0]!.n) === 1;
        }, 30_000, 'the user on the chained replica', 200);
        await migrate({ target: tfall, throttle: { maxLagSeconds: 1, maxPauseSeconds: 0.4 } }, async (ferry) => {
          await copyStarted(ferry);
          const gate = gateOf(ferry);
          assert.equal(gate.pauseSeconds, 0);
          const watched = (await ferry.metrics.registry.getSingleMetric('tideferry_replica_lag_by_replica_seconds')!.get()).values.map((value) => String(value.labels['replica'])).sort();
          assert.deepEqual(watched, [`127.0.0.1:${sandbox.replica!.port}`, `127.0.0.1:${chained.port}`].sort(), 'both replicas found and watched');
          await chainedConnection.query('STOP SLAVE SQL_THREAD');
          await waitFor(() => gate.pauseSeconds >= 0.2, 20_000, 'the copy to back off for the chained replica');
          await chainedConnection.query('START SLAVE SQL_THREAD');
          await waitFor(() => gate.pauseSeconds === 0, 60_000, 'the copy to go back to full speed');
        });
      } finally {
        await chainedConnection.query('START SLAVE').catch(() => undefined);
      }
    }
  });
});
