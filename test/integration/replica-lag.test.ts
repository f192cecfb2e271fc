// Reading a real replica's lag, and the connections that costs: one per replica however many
// copy workers ask at once, none left open after close(), none opened again after it. And a run
// with a replica keeps reading its lag as long as anything passes the copy gate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import { ReplicaLagSource } from '../../src/throttle/replica-lag.js';
import { dumpTable, resetSampleDatabase, sandboxConfig, testLogger, waitFor } from './helpers.js';

describe('replica lag source', () => {
  let sandbox: Sandbox;
  let replica: Connection;

  /** tideferry-user sessions open on the replica (the test's own root session aside). */
  const openSessions = async (): Promise<number> => {
    const [rows] = await replica.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'tideferry'");
    return Number((rows as { n: number }[])[0]?.n);
  };

  const waitForSessions = async (expected: number): Promise<number> => {
    const deadline = Date.now() + 5_000;
    let sessions = await openSessions();
    while (sessions !== expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      sessions = await openSessions();
    }
    return sessions;
  };

  before(async () => {
    sandbox = await startSandbox({ replica: true });
    replica = await sandbox.replica!.connect();
  });
  after(async () => {
    await replica?.end();
    await sandbox?.stop();
  });

  it('reads the lag of a running replica', async () => {
    const source = new ReplicaLagSource([sandbox.replica!.endpoint]);
    try {
      const lag = await source.read();
      assert.ok(Number.isFinite(lag.seconds) && lag.seconds >= 0, `lag ${lag.seconds}`);
    } finally {
      await source.close();
    }
  });

  it('opens one connection per replica however many workers read at once, and none after close', async () => {
    const source = new ReplicaLagSource([sandbox.replica!.endpoint]);
    await Promise.all(Array.from({ length: 4 }, () => source.read()));
    await Promise.all(Array.from({ length: 4 }, () => source.read()));
    assert.equal(await openSessions(), 1);
    await source.close();
    assert.equal(await waitForSessions(0), 0, 'close() ended the connection');
    const lag = await source.read();
    assert.equal(lag.seconds, Infinity, 'after close the lag is unknown');
    assert.equal(await openSessions(), 0, 'a read after close() opened no connection');
  });

  it('ends a connection that was still opening when close() came', async () => {
    const source = new ReplicaLagSource([sandbox.replica!.endpoint]);
    const reading = source.read();
    await source.close();
    await reading;
    assert.equal(await waitForSessions(0), 0);
  });

  it('reports a stopped replica as infinitely behind', async () => {
    await replica.query('STOP SLAVE SQL_THREAD');
    const source = new ReplicaLagSource([sandbox.replica!.endpoint]);
    try {
      assert.equal((await source.read()).seconds, Infinity);
    } finally {
      await source.close();
      await replica.query('START SLAVE SQL_THREAD');
    }
  });

  it('reads a healthy replica\'s lag through catch-up, where verification still passes the copy gate; every row equal', { timeout: 180_000 }, async () => {
    const source = await sandbox.source.connect();
    const target = await sandbox.target.connect();
    const load = new WriteLoad(sandbox.source, { ratePerSecond: 200, connections: 2, seed: Date.now() % 100_000 });
    try {
      await resetSampleDatabase(source, target);
      await load.start();
      const ferry = new Ferry({ config: sandboxConfig(sandbox, { throttle: { replicas: [sandbox.replica!.endpoint], maxLagSeconds: 5 } }), logger: testLogger() });
      const running = ferry.run();
      running.catch(() => undefined);
      // Sampled from the copy's end to the cutover: the lag the gate read (-1: unknown, as after close()).
      const lags: number[] = [];
      await waitFor(() => ferry.phase === 'catch-up' || ferry.phase === 'failed' || ferry.phase === 'done', 120_000, 'the catch-up');
      const metric = () => ferry.metrics.registry.getSingleMetric('tideferry_replica_lag_seconds')!.get();
      while (ferry.phase === 'catch-up') {
        lags.push((await metric()).values[0]!.value);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await running;
      await load.stop();
      assert.ok(lags.length > 0, 'the run went through catch-up');
      assert.deepEqual(lags.filter((lag) => lag < 0), [], `the replica's lag was unknown during catch-up in ${lags.filter((lag) => lag < 0).length} of ${lags.length} samples`);
      for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
    } finally {
      await load.stop().catch(() => undefined);
      await source.query('SET GLOBAL read_only = OFF').catch(() => undefined);
      await source.end();
      await target.end();
    }
  });
});
