// Reading a real replica's lag, and the connections that costs: one per replica however many
// copy workers ask at once, none left open after close(), none opened again after it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { ReplicaLagSource } from '../../src/throttle/replica-lag.js';

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
});
