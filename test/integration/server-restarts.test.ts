// Servers that go away during a run (issue 13): the target restarted mid-copy, the source
// restarted mid-copy, the target restarted during catch-up under a write load, the applier's
// connection killed mid-transaction — each run goes on by itself, once the server is back, and
// ends with every row of source and target equal. A server down longer than
// retry.giveUpAfterSeconds stops the run with a sentence naming it and how long it was gone;
// `resume` then converges.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config/load.js';
import { CutoverError } from '../../src/errors.js';
import { Ferry } from '../../src/ferry.js';
import { ServerUnreachableError } from '../../src/db/retry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import type { RunSummary } from '../../src/summary.js';
import { dumpTable, metricSum, resetSampleDatabase, sandboxConfig, testLogger, waitFor } from './helpers.js';

// A copy slow enough for a restart to land in it: fixed small batches, two workers.
const SLOW_COPY = { batchRows: 200, adaptive: false, concurrency: 2 };

describe('server restarts', () => {
  let sandbox: Sandbox;
  let load: WriteLoad | undefined;

  before(async () => {
    sandbox = await startSandbox();
  });
  let current: Ferry | undefined;
  afterEach(async () => {
    current?.cancel('test over');
    current = undefined;
    await load?.stop().catch(() => undefined);
    load = undefined;
    await sandbox.source.startAgain();
    await sandbox.target.startAgain();
  });
  after(async () => {
    await sandbox?.stop();
  });

  const fresh = async (): Promise<void> => {
    const source = await sandbox.source.connect();
    const target = await sandbox.target.connect();
    try {
      await resetSampleDatabase(source, target);
    } finally {
      await source.end();
      await target.end();
    }
  };

  const startLoad = async (): Promise<void> => {
    load = new WriteLoad(sandbox.source, { ratePerSecond: 40, connections: 2, seed: 13, survivesRestarts: true });
    await load.start();
  };

  const assertIdentical = async (): Promise<void> => {
    const source: Connection = await sandbox.source.connect();
    const target: Connection = await sandbox.target.connect();
    try {
      for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
    } finally {
      await source.end();
      await target.end();
    }
  };

  /** Starts a run of `config`; after() stops it if the test fails before it ends. */
  const startRun = (config: Config): { ferry: Ferry; running: Promise<RunSummary> } => {
    const ferry = new Ferry({ config, logger: testLogger() });
    current = ferry;
    const running = ferry.run();
    running.catch(() => undefined);
    return { ferry, running };
  };

  /** Lets the run reach cutover, stops the write load, waits for the run to end: every row equal. */
  const finishUnderLoad = async (ferry: Ferry, running: Promise<RunSummary>): Promise<void> => {
    await waitFor(() => ferry.phase === 'cutover' || ferry.phase === 'verify' || ferry.phase === 'done' || ferry.phase === 'failed', 120_000, 'cutover');
    await load!.stop();
    load = undefined;
    await running;
    await assertIdentical();
  };

  /** Restarts `server` once the copy is under way; resolves with what /status said while it was down. */
  const restartMidCopy = async (ferry: Ferry, server: 'source' | 'target', downMs: number): Promise<string | undefined> => {
    await waitFor(() => ferry.phase === 'copy' && ferry.stats.rowsCopied >= 5_000, 60_000, 'the copy under way');
    assert.equal(ferry.phase, 'copy');
    await sandbox[server].shutdown();
    await waitFor(() => ferry.outages.isDown(server), 10_000, `the run to notice the ${server} is down`);
    const waiting = ferry.status()['waiting'] as string | undefined;
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await sandbox[server].startAgain();
    return waiting;
  };

  it('goes on by itself after the target restarts mid-copy (down ~10 s), every row equal', { timeout: 180_000 }, async () => {
    await fresh();
    await startLoad();
    const { ferry, running } = startRun(sandboxConfig(sandbox, { copy: SLOW_COPY }));
    const waiting = await restartMidCopy(ferry, 'target', 10_000);
    assert.match(waiting ?? '', /^waiting for the target since \d\d:\d\d:\d\d/);
    await finishUnderLoad(ferry, running);
    assert.ok((await metricSum(ferry, 'tideferry_retries_total', { server: 'target' })) > 0, 'retries against the target counted');
    assert.ok((await metricSum(ferry, 'tideferry_outage_seconds_total', { server: 'target', component: 'copy' })) >= 5, 'the copy waited for the target');
    assert.equal(ferry.outages.isDown('target'), false);
  });

  it('goes on by itself after the source restarts mid-copy, every row equal', { timeout: 180_000 }, async () => {
    await fresh();
    await startLoad();
    const { ferry, running } = startRun(sandboxConfig(sandbox, { copy: SLOW_COPY }));
    const waiting = await restartMidCopy(ferry, 'source', 8_000);
    assert.match(waiting ?? '', /waiting for the source since/);
    await finishUnderLoad(ferry, running);
    assert.ok((await metricSum(ferry, 'tideferry_outage_seconds_total', { server: 'source', component: 'stream' })) >= 4, 'the stream waited for the source');
    assert.ok(ferry.replicationReconnects() >= 1, 'the stream reconnected');
  });

  it('goes on by itself after the target restarts during catch-up under a write load, every row equal', { timeout: 180_000 }, async () => {
    await fresh();
    await startLoad();
    // Manual cutover: the run replays the load's changes until told to cut over.
    const { ferry, running } = startRun(sandboxConfig(sandbox, { cutover: { mode: 'manual' } }));
    await waitFor(() => ferry.phase === 'cutover', 90_000, 'catch-up done, waiting for the cutover confirmation');
    const applied = ferry.stats.eventsApplied;
    await sandbox.target.shutdown();
    await waitFor(() => ferry.outages.isDown('target'), 10_000, 'the applier to notice the target is down');
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    await sandbox.target.startAgain();
    await waitFor(() => !ferry.outages.isDown('target'), 60_000, 'the target reachable again');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await load!.stop();
    load = undefined;
    assert.equal(ferry.confirmCutover().confirmed, true);
    await running;
    await assertIdentical();
    assert.ok((await metricSum(ferry, 'tideferry_outage_seconds_total', { server: 'target', component: 'binlog' })) >= 4, 'the applier waited for the target');
    assert.ok(ferry.stats.eventsApplied > applied, 'the changes made during and after the outage were applied');
  });

  it("goes on after the applier's connection is killed mid-transaction, every row equal", { timeout: 120_000 }, async () => {
    await fresh();
    const { ferry, running } = startRun(sandboxConfig(sandbox, { cutover: { mode: 'manual' } }));
    await waitFor(() => ferry.phase === 'cutover', 90_000, 'the cutover confirmation');
    const source = await sandbox.source.connect();
    const locker = await sandbox.target.connect();
    const admin = await sandbox.target.connect();
    try {
      // The applier's transaction writes one row, then waits on the row the locker holds.
      await locker.query('BEGIN');
      await locker.query("SELECT * FROM shop.products WHERE sku = 'A-000009' FOR UPDATE");
      await source.query("START TRANSACTION; UPDATE shop.products SET title = 'first of two' WHERE sku = 'A-000006'; UPDATE shop.products SET title = 'second of two' WHERE sku = 'A-000009'; COMMIT");
      await waitFor(async () => {
        const thread = ferry.applierThreadId;
        if (!thread) return false;
        const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ${thread} AND trx_state = 'LOCK WAIT'`);
        return Number((rows as { n: number }[])[0]?.n) > 0;
      }, 30_000, 'the applier waiting on the locked row');
      const thread = ferry.applierThreadId;
      assert.ok(thread, 'the applier has a connection');
      await admin.query(`KILL ${thread}`);
      await waitFor(async () => (await metricSum(ferry, 'tideferry_retries_total', { component: 'binlog', server: 'target' })) >= 1, 30_000, 'the retry counted');
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
      await admin.end();
      await source.end();
    }
    await waitFor(() => ferry.status()['binlogQueued'] === 0 && !ferry.outages.isDown('target'), 30_000, 'the applier caught up');
    assert.equal(ferry.confirmCutover().confirmed, true);
    await running;
    await assertIdentical();
  });

  it('stops past retry.giveUpAfterSeconds naming the server and how long, and resume converges', { timeout: 180_000 }, async () => {
    await fresh();
    const config = sandboxConfig(sandbox, { copy: SLOW_COPY, retry: { giveUpAfterSeconds: 3 } });
    const { ferry, running } = startRun(config);
    await waitFor(() => ferry.phase === 'copy' && ferry.stats.rowsCopied >= 5_000, 60_000, 'the copy under way');
    await sandbox.target.shutdown();
    const error = await running.then(() => undefined, (reason: unknown) => reason);
    assert.ok(error instanceof ServerUnreachableError, `a ServerUnreachableError, not ${String(error)}`);
    assert.match((error as Error).message, /^the target server \(tideferry@127\.0\.0\.1:\d+\) was unreachable for [3-9] s \(.*\).*tideferry resume/);
    await sandbox.target.startAgain();
    const resumed = new Ferry({ config, logger: testLogger(), resume: true });
    await resumed.run();
    await assertIdentical();
  });

  it('lets the writers go again when the target stays down past the bound during cutover, and resume converges', { timeout: 180_000 }, async () => {
    await fresh();
    // The hook "stops the writers" and, to land the outage inside the cutover, shuts the target
    // down (and waits until it is gone); the undo hook leaves a mark.
    const pidFile = join(sandbox.target.dir, 'pid');
    const undone = join(sandbox.source.dir, 'writers-released');
    const hook = `pid=$(cat ${pidFile}); kill -TERM $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done`;
    const config = sandboxConfig(sandbox, { cutover: { mode: 'hook', hook, undoHook: `touch ${undone}` }, retry: { giveUpAfterSeconds: 3 } });
    const ferry = new Ferry({ config, logger: testLogger() });
    current = ferry;
    const error = await ferry.run().then(() => undefined, (reason: unknown) => reason);
    assert.ok(error instanceof CutoverError, `a CutoverError, not ${String(error)}`);
    assert.match((error as Error).message, /^cutover failed, cutover\.undoHook let the writers go again: the target server \(tideferry@127\.0\.0\.1:\d+\) was unreachable for \d+ s/);
    assert.ok(existsSync(undone), 'the undo hook ran');
    await sandbox.target.startAgain();
    const resumed = new Ferry({ config: sandboxConfig(sandbox, { stateFile: config.stateFile }), logger: testLogger(), resume: true });
    await resumed.run();
    await assertIdentical();
  });
});
