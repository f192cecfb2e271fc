// Sandbox servers never outlive the process that started them: not when it is SIGKILLed, not
// when it exits without stopping them. No process-wide handler is involved (see
// test/unit/process-effects.test.ts): the watchdog in sandbox/server.ts does it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { isRunning } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startChild(mode: 'wait' | 'forget') {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/fixtures/sandbox-server-child.ts', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before starting its server`)));
  });
  return { child, exited, server: JSON.parse(first) as { dir: string; pid: number } };
}

async function assertGone(server: { dir: string; pid: number }): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((isRunning(server.pid) || existsSync(server.dir)) && Date.now() < deadline) await sleep(50);
  const alive = isRunning(server.pid);
  // A failing run must not leave the server behind for the next tests.
  if (alive) process.kill(server.pid, 'SIGKILL');
  assert.equal(alive, false, 'the sandbox server outlived its parent');
  assert.equal(existsSync(server.dir), false, `the sandbox folder ${server.dir} was left behind`);
}

describe('sandbox server lifetime', () => {
  it('dies with its parent when the parent is SIGKILLed', { timeout: 60_000 }, async () => {
    const { child, exited, server } = await startChild('wait');
    assert.ok(isRunning(server.pid));
    child.kill('SIGKILL');
    await exited;
    await assertGone(server);
  });

  it('does not keep its parent alive, and dies when the parent exits without stopping it', { timeout: 60_000 }, async () => {
    const { child, exited, server } = await startChild('forget');
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => { timer = setTimeout(() => resolve('stuck'), 20_000); });
    const outcome = await Promise.race([exited, stuck]);
    clearTimeout(timer);
    if (outcome === 'stuck') {
      child.kill('SIGKILL');
      if (isRunning(server.pid)) process.kill(server.pid, 'SIGKILL');
      assert.fail('the parent did not exit by itself: its sandbox server held it open');
    }
    await assertGone(server);
  });
});
