// The binlog lag as replication reports it (issue 8, item 7): measured from the source commit of
// the oldest event not yet applied, so it is sane before the first batch (it once read "now − 0",
// 1,796,159,254 s); and not zero while the stream is down, so that catch-up cannot start a
// cutover during an outage of the stream.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { readSourcePosition } from '../../../src/binlog/position.js';
import { Replication } from '../../../src/binlog/replication.js';
import { readTableSchema } from '../../../src/db/introspect.js';
import type { TableSchema } from '../../../src/db/schema.js';
import { silentLogger } from '../../../src/log.js';
import { startSandbox, type Sandbox } from '../../../src/sandbox/index.js';
import { LatencyProxy } from '../../../src/sandbox/proxy.js';
import { sleep } from './helpers.js';

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('replication lag', () => {
  let sandbox: Sandbox;
  let source: Connection;
  const tables = new Map<string, TableSchema>();

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    const target = await sandbox.target.connect();
    for (const connection of [source, target]) await connection.query('CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))');
    await target.end();
    tables.set('app.t', (await readTableSchema(source, { database: 'app', name: 't' }))!);
  });
  after(async () => {
    await source?.end();
    await sandbox?.stop();
  });

  it('is measured from the oldest pending event before the first batch, and is not zero while the stream is down', { timeout: 60_000 }, async () => {
    const proxy = await new LatencyProxy({ upstreamHost: '127.0.0.1', upstreamPort: sandbox.source.port }).start();
    const replication = new Replication(
      { source: { ...sandbox.source.endpoint, port: proxy.port }, target: sandbox.target.endpoint, tables, batchSize: 100, logger: silentLogger(), deferApplying: true },
      await readSourcePosition(source),
    );
    try {
      await until(() => replication.streamer.connected, 10_000, 'the stream to connect');
      await source.query("INSERT INTO app.t VALUES (1, 'a'), (2, 'b')");
      await until(() => replication.streamer.queuedItems > 0, 10_000, 'the rows to be queued');
      // Queued and not applied: the lag is the oldest event's age, well under a few seconds.
      const queuedLag = replication.lagSeconds();
      assert.ok(queuedLag >= 0 && queuedLag < 5, `lag before the first batch: ${queuedLag} s`);
      replication.startApplying();
      await replication.drainTo(await readSourcePosition(source));
      assert.ok(replication.lagSeconds() < 1, `lag once drained: ${replication.lagSeconds()} s`);
      assert.equal(replication.caughtUp(1), true);

      // The stream goes down: nothing pending is known, but the source may be writing.
      proxy.cut();
      await sleep(2500);
      const outageLag = replication.lagSeconds();
      assert.equal(replication.streamer.connected, false);
      assert.ok(outageLag >= 2, `lag 2.5 s into an outage of the stream: ${outageLag} s`);
      assert.equal(replication.caughtUp(1), false, 'caught up during an outage of the stream');
    } finally {
      await replication.stop();
      await proxy.stop();
    }
    replication.check();
  });
});
