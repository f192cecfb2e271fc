// The real CLI, as a child process, receives real signals during a migration under a write load:
// during the copy, during catch-up, and while a cutover hook holds the writers. Each time it says
// it is stopping, lets the writers go, saves its state and exits non-zero; `tideferry resume`
// then finishes with every row equal. A second signal exits at once, and the resume lets go the
// writers that the forced exit left stopped. A process SIGKILLed with the source read-only
// leaves a state whose resume finishes the cutover.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { serverBinaries, startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { createSampleDatabase, SAMPLE_TABLES, type SampleSizes } from '../../src/sandbox/sample.js';
import type { MigrationState } from '../../src/state/tracker.js';
import { CliChild } from './cli-child.js';
import { dumpTable, isRunning } from './helpers.js';

// Tables are copied in name order: customers, small, ends early, and orders, large, after it,
// which the catch-up case needs (below).
const SIZES: SampleSizes = { customers: 3000, orders: 20_000, products: 4000, files: 2000, allTypes: 2000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const client = serverBinaries().client;

describe('the CLI under signals', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let load: WriteLoad | undefined;
  let dir: string;

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tf-signals-'));
    await source.query('SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS shop');
    await target.query('DROP DATABASE IF EXISTS shop');
    await createSampleDatabase(source, SIZES);
    load = new WriteLoad(sandbox.source, { ratePerSecond: 400, connections: 2, sizes: SIZES, seed: Date.now() % 100_000 });
    await load.start();
  });
  afterEach(async () => {
    await load?.stop().catch(() => undefined);
    load = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A config file for the CLI. The state is saved only at start and at stop (checkpointSeconds: 3600), so a state with progress in it was saved by the stop. */
  const writeConfig = (cutover: Record<string, unknown> = { mode: 'read-only', maxLagSeconds: 0.5 }, extra: Record<string, unknown> = {}) => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({
      source: sandbox.source.endpoint,
      target: sandbox.target.endpoint,
      databases: ['shop'],
      copy: { batchRows: 100, adaptive: false, concurrency: 1 },
      binlog: { batchSize: 50 },
      cutover,
      stateFile: join(dir, 'state.json'),
      checkpointSeconds: 3600,
      http: { listen: '127.0.0.1:0' },
      log: { format: 'json', level: 'info' },
      ...extra,
    }));
    return path;
  };
  const readState = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as MigrationState;
  const readOnly = async () => {
    const [[row]] = (await source.query('SELECT @@global.read_only AS value')) as unknown as [[{ value: number }]];
    return Number(row.value);
  };
  const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';

  /** Stops at a signal the way the brief says: a stopping line, one clear last line, exit 128 + signal. */
  const assertStopped = async (run: CliChild, signal: 'SIGTERM' | 'SIGINT', phase: string) => {
    const exit = await run.exit();
    assert.equal(exit.code, signal === 'SIGTERM' ? 143 : 130, `exit ${JSON.stringify(exit)}; stderr: ${run.stderr}`);
    assert.ok(run.has(new RegExp(`^stopping \\(${signal}\\)`)), 'logs that it is stopping');
    assert.equal(run.stderr.trim().split('\n').length, 1, `one line on stderr: ${run.stderr}`);
    assert.match(lastLine(run.stderr), new RegExp(`^tideferry: run stopped \\(received ${signal}\\) during ${phase}`));
  };

  /** `tideferry resume` to the end, the load stopped (by read_only), then every row compared. */
  const resumeToTheEnd = async (config: string): Promise<CliChild> => {
    const resumed = new CliChild(['resume', config]);
    const exit = await resumed.exit();
    assert.equal(exit.code, 0, `resume failed: ${resumed.stderr}`);
    assert.ok(resumed.has(/^migration complete$/));
    await load!.stop();
    load = undefined;
    for (const table of SAMPLE_TABLES) {
      const expected = await dumpTable(source, 'shop', table);
      assert.deepEqual(await dumpTable(target, 'shop', table), expected, `${table}: rows differ`);
    }
    return resumed;
  };

  it('stops on SIGTERM during the copy: saves its state, exits 143; resume finishes equal', { timeout: 120_000 }, async () => {
    const config = writeConfig();
    const run = new CliChild(['run', config]);
    await run.waitFor((line) => line.msg === 'copying table' && line['table'] === 'shop.orders', 'the copy of shop.orders');
    await sleep(300);
    run.signal('SIGUSR2'); // not waiting for a manual cutover: logged and ignored
    await sleep(100);
    assert.equal(run.has(/^row copy complete$/), false, 'still copying');
    run.signal('SIGTERM');
    await assertStopped(run, 'SIGTERM', 'copy');
    assert.ok(run.lines.some((line) => line.msg === 'SIGUSR2 ignored' && /not waiting for a manual cutover|cuts over by itself/.test(String(line['reason']))));
    const state = readState();
    const copied = Object.values(state.tables).reduce((sum, table) => sum + table.rowsCopied, 0);
    assert.ok(copied > 0, 'the state saved at stop holds the copy progress');
    assert.ok(Object.values(state.tables).some((table) => !table.done));
    assert.equal(state.writersStopped, null);
    await resumeToTheEnd(config);
  });

  it('stops on SIGINT during catch-up, saving its state before the stalled applier lets go', { timeout: 120_000 }, async () => {
    // The copy yields to a binlog side that falls behind, so the applier is stalled only once the
    // copy is done: a lock on the target's customers table, then a burst of changes to it. Catch-up
    // then waits for a lag of at most 50 ms, which the stalled applier cannot reach.
    const config = writeConfig({ mode: 'read-only', maxLagSeconds: 0.05 });
    const run = new CliChild(['run', config]);
    await run.waitFor((line) => line.msg === 'row copy complete', 'the end of the copy');
    const locker = await sandbox.target.connect();
    try {
      await locker.query('LOCK TABLES shop.customers WRITE');
      await source.query('UPDATE shop.customers SET balance = balance + 1 ORDER BY id LIMIT 100');
      await sleep(500);
      assert.equal(run.has(/^(phase cutover|writers stopped)/), false, 'still catching up');
      run.signal('SIGINT');
      await run.waitFor((line) => /^stopping/.test(line.msg ?? ''), 'the stopping line');
      await sleep(500);
      const state = readState();
      assert.ok(Object.values(state.tables).every((table) => table.done), 'saved at stop, while the applier still waits for the lock');
    } finally {
      await locker.query('UNLOCK TABLES');
      await locker.end();
    }
    await assertStopped(run, 'SIGINT', 'catch-up');
    assert.equal(await readOnly(), 0);
    await resumeToTheEnd(config);
  });

  it('undoes a cutover hook interrupted by SIGTERM; resume cuts over with the hook', { timeout: 120_000, skip: !client && 'needs the mariadb client' }, async () => {
    const { hook, undoHook } = hookScripts();
    writeFileSync(join(dir, 'slow-hook'), '');
    const config = writeConfig({ mode: 'hook', hook, undoHook, maxLagSeconds: 0.5 });
    const run = new CliChild(['run', config]);
    await waitForFile(join(dir, 'hook-sleep.pid'), run);
    const sleeper = Number(readFileSync(join(dir, 'hook-sleep.pid'), 'utf8'));
    assert.equal(await readOnly(), 1, 'the hook stopped the writers');
    assert.equal(readState().writersStopped?.mode, 'hook', 'the state file says so before the hook ran');
    run.signal('SIGTERM');
    await assertStopped(run, 'SIGTERM', 'cutover');
    assert.match(run.stderr, /cutover\.undoHook let the writers go again/);
    assert.equal(await readOnly(), 0, 'the undo hook let the writers go');
    assert.ok(existsSync(join(dir, 'undone')));
    assert.equal(isRunning(sleeper), false, 'the interrupted hook was ended, children included');
    assert.equal(readState().writersStopped, null);
    rmSync(join(dir, 'slow-hook'));
    await resumeToTheEnd(config);
  });

  it('exits at once on a second signal; resume lets go the writers it left stopped', { timeout: 120_000, skip: !client && 'needs the mariadb client' }, async () => {
    const { hook, undoHook } = hookScripts();
    writeFileSync(join(dir, 'slow-hook'), '');
    writeFileSync(join(dir, 'slow-undo'), '');
    const config = writeConfig({ mode: 'hook', hook, undoHook, maxLagSeconds: 0.5 });
    const run = new CliChild(['run', config]);
    await waitForFile(join(dir, 'hook-sleep.pid'), run);
    run.signal('SIGTERM');
    await waitForFile(join(dir, 'undo-sleep.pid'), run);
    const started = performance.now();
    run.signal('SIGTERM');
    const exit = await run.exit();
    const undoSleeper = Number(readFileSync(join(dir, 'undo-sleep.pid'), 'utf8'));
    process.kill(undoSleeper, 'SIGKILL'); // the undo hook, left running by the forced exit, gives up
    assert.equal(exit.code, 143);
    assert.ok(performance.now() - started < 5000, 'the second signal does not wait for the undo hook');
    assert.match(run.stderr, /second SIGTERM: exiting at once/);
    assert.equal(await readOnly(), 1, 'the writers are still stopped');
    assert.equal(readState().writersStopped?.mode, 'hook', 'and the state file says so');
    rmSync(join(dir, 'slow-hook'));
    rmSync(join(dir, 'slow-undo'));
    const resumed = await resumeToTheEnd(config);
    assert.ok(resumed.has(/interrupted cutover had stopped the writers with cutover\.hook: cutover\.undoHook ran/), 'the resume says it let the writers go');
  });

  it('finishes a cutover whose process was SIGKILLed with the source read-only', { timeout: 120_000 }, async () => {
    const config = writeConfig();
    const run = new CliChild(['run', config]);
    await run.waitFor((line) => line.msg === 'writers stopped; draining the binlog to the final position', 'the drain');
    run.signal('SIGKILL');
    await run.exit();
    const stopped = readState().writersStopped;
    assert.equal(stopped?.mode, 'read-only');
    assert.equal(stopped?.previous?.readOnly, 'OFF');
    assert.ok(stopped?.final, 'the final position is recorded');
    assert.equal(await readOnly(), 1);
    const resumed = await resumeToTheEnd(config);
    assert.ok(resumed.has(/left the source read-only: finishing the cutover/), 'the resume says it finishes the cutover');
    assert.equal(await readOnly(), 1, 'cutover done: the source stays read-only');
    assert.equal(readState().cutoverDone, true);
  });

  /**
   * A hook that makes the source read-only (as root, over the socket) and, while `slow-hook`
   * exists, then waits in a child process; an undo hook that, while `slow-undo` exists, waits
   * and gives up, else makes the source writable again.
   */
  function hookScripts(): { hook: string; undoHook: string } {
    const sql = (statement: string) => `${client} --no-defaults --socket=${sandbox.source.socket} -uroot -e '${statement}'`;
    const hookPath = join(dir, 'hook.sh');
    const undoPath = join(dir, 'undo.sh');
    writeFileSync(hookPath, `set -e\n${sql('SET GLOBAL read_only = ON')}\nif [ -e ${dir}/slow-hook ]; then sleep 60 & echo $! > ${dir}/hook-sleep.pid; wait; fi\n`);
    writeFileSync(undoPath, `if [ -e ${dir}/slow-undo ]; then sleep 60 & echo $! > ${dir}/undo-sleep.pid; wait; exit 1; fi\n${sql('SET GLOBAL read_only = OFF')} && touch ${dir}/undone\n`);
    return { hook: `sh ${hookPath}`, undoHook: `sh ${undoPath}` };
  }

  async function waitForFile(path: string, run: CliChild): Promise<void> {
    const deadline = Date.now() + 90_000;
    while (!existsSync(path) || readFileSync(path, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}; stderr: ${run.stderr}`);
      if (run.exitStatus) throw new Error(`the CLI exited (${run.exitStatus.code}) before ${path} appeared: ${run.stderr}`);
      await sleep(20);
    }
  }
});
