// The control API against real runs on sandbox MariaDB servers, under a write load:
// - in-process: a pause sent before the copy starts holds it (no row copied once the copy phase
//   begins), a request without the token is refused and does nothing, PUT /config changes the live
//   settings (a bad body changes nothing), resume lets the copy go on, and every row ends equal;
// - through the real CLI, as child processes (`tideferry run`, then `tideferry ctl …`): ctl status
//   and config, a ctl without the token refused (401, the server's sentence, exit 1), ctl abort
//   during the copy (the run says so, saves its state, exits 3; `tideferry resume` ends with every
//   row equal), and ctl once nothing listens any more (connection refused);
// - ctl abort while a manual cutover waits for its confirmation: the state says the writers were
//   stopped by hand; the resume asks again and `ctl cutover` finishes it, every row equal;
// - ctl abort while a cutover hook holds the writers: the undo hook lets them go (read_only OFF).
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { Ferry } from '../../src/ferry.js';
import { freePort, serverBinaries, startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { createSampleDatabase, SAMPLE_TABLES, type SampleSizes } from '../../src/sandbox/sample.js';
import type { MigrationState } from '../../src/state/tracker.js';
import { CliChild } from './cli-child.js';
import { dumpTable, isRunning, sandboxConfig, testLogger, waitFor } from './helpers.js';

const SIZES: SampleSizes = { customers: 3000, orders: 20_000, products: 4000, files: 2000, allTypes: 2000 };
const TOKEN = 'ctl-test-7c1e5b0d9a';
const TOKEN_ENV = 'TIDEFERRY_TEST_CONTROL_TOKEN';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const client = serverBinaries().client;

interface CtlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `tideferry ctl ARGS` as a child process. */
function ctl(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CtlRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'ctl', ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('control API', () => {
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
    dir = mkdtempSync(join(tmpdir(), 'tf-control-'));
    await source.query('SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS shop');
    await target.query('DROP DATABASE IF EXISTS shop');
    await createSampleDatabase(source, SIZES);
    load = new WriteLoad(sandbox.source, { ratePerSecond: 300, connections: 2, sizes: SIZES, seed: Date.now() % 100_000 });
    await load.start();
  });
  afterEach(async () => {
    await load?.stop().catch(() => undefined);
    load = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const stopLoad = async () => {
    await load?.stop();
    load = undefined;
  };
  const assertEveryRowEqual = async () => {
    for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  };
  const readState = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as MigrationState;
  const readOnly = async () => {
    const [[row]] = (await source.query('SELECT @@global.read_only AS value')) as unknown as [[{ value: number }]];
    return Number(row.value);
  };
  const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';

  /** A config file for the CLI on a fixed port (so that `ctl --config` finds the run), the token in TOKEN_ENV. */
  const writeConfig = async (cutover: Record<string, unknown> = { mode: 'read-only', maxLagSeconds: 0.5 }, copy: Record<string, unknown> = { batchRows: 100, adaptive: false, concurrency: 1 }) => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({
      source: sandbox.source.endpoint,
      target: sandbox.target.endpoint,
      databases: ['shop'],
      copy,
      binlog: { batchSize: 50 },
      cutover,
      stateFile: join(dir, 'state.json'),
      checkpointSeconds: 3600,
      http: { listen: `127.0.0.1:${await freePort()}`, tokenEnv: TOKEN_ENV },
      log: { format: 'json', level: 'info' },
    }));
    return path;
  };
  const withToken = { [TOKEN_ENV]: TOKEN };

  /** A run the control API stopped: exit 3, one clear last line. */
  const assertAborted = async (run: CliChild, phase: string) => {
    const exit = await run.exit();
    assert.equal(exit.code, 3, `exit ${JSON.stringify(exit)}; stderr: ${run.stderr}`);
    assert.equal(run.stderr.trim().split('\n').length, 1, `one line on stderr: ${run.stderr}`);
    assert.match(lastLine(run.stderr), new RegExp(`^tideferry: run stopped \\(aborted by the control API\\) during ${phase}\\b.*state saved, resume with \`tideferry resume\``));
    assert.ok(run.has(/^run aborted by the control API/), 'logs who stopped it');
  };

  it('holds a pause sent before the copy starts; refuses a change without the token; PUT /config; resume ends equal', { timeout: 120_000 }, async () => {
    const config = sandboxConfig(sandbox, { http: { listen: '127.0.0.1:0', tokenEnv: TOKEN_ENV }, copy: { batchRows: 500, adaptive: false, concurrency: 1 } });
    assert.throws(() => new Ferry({ config, logger: testLogger(), env: {} }), /http\.tokenEnv names the environment variable TIDEFERRY_TEST_CONTROL_TOKEN, which is not set/);
    const ferry = new Ferry({ config, logger: testLogger(), env: { ...process.env, ...withToken } });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.httpUrl !== undefined, 30_000, 'the HTTP listener');
    const url = ferry.httpUrl!;
    const auth = { authorization: `Bearer ${TOKEN}` };
    try {
      assert.equal(ferry.phase, 'preflight', 'the pause is sent before the copy starts');
      const unauthorised = await fetch(`${url}/pause`, { method: 'POST' });
      assert.equal(unauthorised.status, 401);
      assert.equal(ferry.status().copyPaused, false, 'a pause without the token does nothing');
      assert.equal((await fetch(`${url}/pause`, { method: 'POST', headers: auth })).status, 200);
      assert.equal(ferry.status().copyPaused, true);

      // The copy phase begins, and the copy stays held: no row copied.
      await waitFor(() => ferry.phase === 'copy', 60_000, 'the copy phase');
      await sleep(2000);
      const rowsCopied = () => Object.values(ferry.status().tables as Record<string, { rowsCopied?: number } | undefined>).reduce((sum, table) => sum + (table?.rowsCopied ?? 0), 0);
      assert.equal(rowsCopied(), 0, 'rows were copied while paused');
      const status = (await (await fetch(`${url}/status`)).json()) as Record<string, unknown>;
      assert.equal(status.copyPaused, true);
      assert.equal(status.copyThrottledBecause, 'paused');
      assert.deepEqual(status.control, { tokenRequired: true, tokenEnv: TOKEN_ENV });
      assert.ok(!JSON.stringify(status).includes(TOKEN), 'the token is not in /status');

      // A bad PUT changes nothing; a good one changes the live settings, and /status shows them.
      const bad = await fetch(`${url}/config`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"copy":{"concurrency":2,"writeMethod":"insert"}}' });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: string }).error, /"copy\.writeMethod" cannot change while the run runs/);
      assert.equal(ferry.settings.copy.concurrency, 1, 'the refused PUT changed nothing');
      const good = await fetch(`${url}/config`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"copy":{"concurrency":2},"throttle.binlogLagTargetSeconds":1.5}' });
      assert.equal(good.status, 200);
      assert.deepEqual(((await good.json()) as { changed: unknown }).changed, { 'copy.concurrency': { from: 1, to: 2 }, 'throttle.binlogLagTargetSeconds': { from: 1, to: 1.5 } });
      const live = (await (await fetch(`${url}/config`)).json()) as { settings: { copy: { concurrency: number }; throttle: { binlogLagTargetSeconds: number } } };
      assert.equal(live.settings.copy.concurrency, 2);
      assert.equal((ferry.status().settings as typeof live.settings).throttle.binlogLagTargetSeconds, 1.5);

      // Not waiting for a manual cutover: refused with the reason.
      const cutover = await fetch(`${url}/cutover`, { method: 'POST', headers: auth });
      assert.equal(cutover.status, 409);
      assert.match(((await cutover.json()) as { error: string }).error, /cutover\.mode is read-only/);

      assert.equal(rowsCopied(), 0, 'still held');
      assert.equal((await fetch(`${url}/resume`, { method: 'POST', headers: auth })).status, 200);
      await waitFor(() => rowsCopied() > 0, 30_000, 'the copy to go on after resume');
      const summary = await running;
      assert.ok(summary.rowsCopied > 0);
    } finally {
      ferry.cancel('test over');
      await running.catch(() => undefined);
    }
    await stopLoad();
    await assertEveryRowEqual();
  });

  it('tideferry ctl: status, config, a refusal without the token, abort during the copy; resume ends equal', { timeout: 180_000 }, async () => {
    // Batches of 20 rows: the copy of orders lasts while the ctl commands start (about a second each).
    const config = await writeConfig(undefined, { batchRows: 20, adaptive: false, concurrency: 1 });
    const run = new CliChild(['run', config], withToken);
    await run.waitFor((line) => line.msg === 'copying table' && line['table'] === 'shop.orders', 'the copy of shop.orders');

    // Without the token (no --config, so no tokenEnv): refused with the server's sentence, exit 1, the run untouched.
    const url = JSON.parse(readFileSync(config, 'utf8')).http.listen as string;
    const refused = await ctl(['pause', '--url', `http://${url}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^tideferry ctl pause: POST \/pause refused \(401\): this request changes the run and needs the control token.*TIDEFERRY_TEST_CONTROL_TOKEN/);
    assert.equal(refused.stdout, '');
    // With it (http.tokenEnv of --config): the copy holds while the test goes on.
    const paused = await ctl(['pause', '--config', config], withToken);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout, '{"paused":true}\n');

    const status = await ctl(['status', '--config', config], withToken);
    assert.equal(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as { phase: string; copyPaused: boolean; control: { tokenRequired: boolean } };
    assert.equal(shown.phase, 'copy');
    assert.equal(shown.copyPaused, true);
    assert.equal(shown.control.tokenRequired, true);
    assert.ok(status.stdout.includes('\n  "phase"'), 'status is printed pretty');

    const bad = await ctl(['config', 'copy.concurrency=0', '--config', config], withToken);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /PUT \/config refused \(400\): "copy\.concurrency": Too small/);
    const changed = await ctl(['config', 'copy.concurrency=3', 'throttle.maxLagSeconds=2', '--url', `http://${url}`, '--token-env', TOKEN_ENV], withToken);
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(changed.stdout.trim().split('\n').length, 1, 'one line');
    assert.deepEqual((JSON.parse(changed.stdout) as { changed: unknown }).changed, { 'copy.concurrency': { from: 1, to: 3 }, 'throttle.maxLagSeconds': { from: 1, to: 2 } });
    await run.waitFor((line) => line.msg === 'live setting copy.concurrency changed by the control API: 1 → 3', 'the change in the run\'s log');
    const live = await ctl(['config', '--config', config], withToken);
    assert.equal(live.code, 0, live.stderr);
    assert.deepEqual((JSON.parse(live.stdout) as { settings: { copy: unknown } }).settings.copy, { batchRows: 20, concurrency: 3 });

    assert.equal(run.has(/^row copy complete$/), false, 'still copying');
    const aborted = await ctl(['abort', '--config', config], withToken);
    assert.equal(aborted.code, 0, aborted.stderr);
    assert.equal((JSON.parse(aborted.stdout) as { abort: string }).abort, 'accepted');
    await assertAborted(run, 'copy');
    assert.ok(!run.stderr.includes(TOKEN) && !run.lines.some((line) => JSON.stringify(line).includes(TOKEN)), 'the token is never logged');
    const state = readState();
    assert.ok(Object.values(state.tables).reduce((sum, table) => sum + table.rowsCopied, 0) > 0, 'the state saved at the stop holds the copy progress');
    assert.ok(Object.values(state.tables).some((table) => !table.done), 'aborted during the copy');
    assert.equal(state.writersStopped, null);

    const gone = await ctl(['status', '--config', config], withToken);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr.trim(), `tideferry ctl status: no tideferry run answers at http://${url} (connection refused)`);

    const resumed = new CliChild(['resume', config], withToken);
    const exit = await resumed.exit();
    assert.equal(exit.code, 0, `resume failed: ${resumed.stderr}`);
    await stopLoad();
    await assertEveryRowEqual();
  });

  it('ctl abort while a manual cutover waits: the writers stay recorded as stopped by hand; the resume asks again and ctl cutover finishes equal', { timeout: 180_000 }, async () => {
    const config = await writeConfig({ mode: 'manual', maxLagSeconds: 0.5 });
    const run = new CliChild(['run', config], withToken);
    await run.waitFor((line) => /^status page, \/metrics and control API listening/.test(line.msg ?? ''), 'the control API');
    const resume = await ctl(['resume', '--config', config], withToken);
    assert.equal(resume.code, 0, resume.stderr);
    assert.equal(resume.stdout, '{"paused":false}\n');
    const early = await ctl(['cutover', '--config', config], withToken);
    assert.equal(early.code, 1, 'a confirmation before the run waits for it is refused');
    assert.match(early.stderr, /POST \/cutover refused \(409\): not waiting for a manual cutover yet/);
    await run.waitFor((line) => /^ready for cutover: stop the writers/.test(line.msg ?? ''), 'the manual cutover', 120_000);
    assert.equal(readState().writersStopped?.mode, 'manual', 'waiting: the state says the writers are stopped by hand');
    const aborted = await ctl(['abort', '--config', config], withToken);
    assert.equal(aborted.code, 0, aborted.stderr);
    await assertAborted(run, 'cutover');
    assert.match(run.stderr, /let the writers go again by hand/);
    assert.equal(readState().writersStopped?.mode, 'manual', 'the state still says so: letting them go is left to the operator');
    assert.equal(readState().cutoverDone, false);

    const resumed = new CliChild(['resume', config], withToken);
    await resumed.waitFor((line) => /^ready for cutover: stop the writers/.test(line.msg ?? ''), 'the manual cutover of the resume', 120_000);
    assert.ok(resumed.has(/the interrupted cutover waited for writers stopped by hand/), 'the resume says what it found');
    await stopLoad(); // the operator stops the writers…
    const confirmed = await ctl(['cutover', '--config', config], withToken);
    assert.equal(confirmed.code, 0, confirmed.stderr);
    assert.deepEqual(JSON.parse(confirmed.stdout), { cutover: 'confirmed' });
    const exit = await resumed.exit();
    assert.equal(exit.code, 0, `resume failed: ${resumed.stderr}`);
    assert.equal(readState().cutoverDone, true);
    await assertEveryRowEqual();
  });

  it('ctl abort while a cutover hook holds the writers: the undo hook lets them go, the state says so', { timeout: 180_000, skip: !client && 'needs the mariadb client' }, async () => {
    const hook = join(dir, 'hook.sh');
    const undo = join(dir, 'undo.sh');
    const sql = (statement: string) => `${client} --no-defaults --socket=${sandbox.source.socket} -uroot -e '${statement}'`;
    writeFileSync(hook, `set -e\n${sql('SET GLOBAL read_only = ON')}\nsleep 60 & echo $! > ${dir}/hook-sleep.pid; wait\n`);
    writeFileSync(undo, `${sql('SET GLOBAL read_only = OFF')} && touch ${dir}/undone\n`);
    const config = await writeConfig({ mode: 'hook', hook: `sh ${hook}`, undoHook: `sh ${undo}`, maxLagSeconds: 0.5 });
    const run = new CliChild(['run', config], withToken);
    const pidFile = join(dir, 'hook-sleep.pid');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 120_000, `the hook (stderr: ${run.stderr})`, 50);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    assert.equal(await readOnly(), 1, 'the hook stopped the writers');
    const aborted = await ctl(['abort', '--config', config], withToken);
    assert.equal(aborted.code, 0, aborted.stderr);
    await assertAborted(run, 'cutover');
    assert.match(run.stderr, /cutover\.undoHook let the writers go again/);
    assert.equal(await readOnly(), 0, 'the writers run again');
    assert.ok(existsSync(join(dir, 'undone')));
    assert.equal(isRunning(sleeper), false, 'the interrupted hook was ended');
    assert.equal(readState().writersStopped, null);
  });
});
