// Every command exits by itself when its work is done. Here the CLI runs as a child process
// with a replica configured (throttle.replicas: the copy reads its lag before each batch), and
// must exit on its own: with 0 after a successful run, non-zero after a failure. A run that
// stays alive after "migration complete" never ends under a script or a Kubernetes Job.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { startSandbox, type Sandbox, type SandboxServer } from '../../src/sandbox/index.js';
import { LatencyProxy } from '../../src/sandbox/proxy.js';
import { createSampleDatabase } from '../../src/sandbox/sample.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-cli-exit-'));
// Generous: a run here takes a few seconds; a process kept alive by a handle never exits.
const EXIT_DEADLINE_MS = 60_000;

interface Outcome {
  readonly code: number | null;
  readonly output: string;
}

/** script(1) runs a command on a pseudo-terminal (util-linux; on every Debian). */
const scriptCommand = ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path));

/**
 * Runs the CLI; resolves when it exits by itself, rejects (after killing it) if it does not.
 * With `terminal`, on a pseudo-terminal (stderr a TTY: the live progress line and its timer).
 */
function runCli(args: readonly string[], onOutput?: (text: string) => void, options: { terminal?: boolean } = {}): Promise<Outcome> {
  const command = [process.execPath, '--import', 'tsx', 'src/cli.ts', ...args];
  const quoted = command.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = options.terminal
    ? spawn(scriptCommand!, ['-qefc', quoted, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    onOutput?.(output);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the CLI was still running ${EXIT_DEADLINE_MS / 1000} s after it started; its output:\n${output.slice(-3000)}`));
    }, EXIT_DEADLINE_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const endpointOf = (server: SandboxServer) => JSON.stringify(server.endpoint);

async function connectionsServed(server: SandboxServer): Promise<number> {
  const connection = await server.connect();
  try {
    const [rows] = await connection.query("SHOW GLOBAL STATUS LIKE 'Connections'");
    return Number((rows as { Value: string }[])[0]?.Value);
  } finally {
    await connection.end();
  }
}

describe('cli exits by itself with a replica configured', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;

  const writeConfig = (options: { target?: string; copy?: string; retry?: string } = {}) => {
    const path = join(dir, `c${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(
      path,
      [
        `source: ${endpointOf(sandbox.source)}`,
        `target: ${options.target ?? endpointOf(sandbox.target)}`,
        'databases: [shop]',
        `stateFile: ${JSON.stringify(join(dir, `state-${Math.random().toString(16).slice(2)}.json`))}`,
        'http: { enabled: false }',
        `throttle: { replicas: [${endpointOf(sandbox.replica!)}] }`,
        `copy: ${options.copy ?? '{ batchRows: 500, adaptive: false }'}`,
        ...(options.retry ? [`retry: ${options.retry}`] : []),
        '',
      ].join('\n'),
    );
    return path;
  };

  before(async () => {
    sandbox = await startSandbox({ replica: true });
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    await source.query('SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS shop');
    await target.query('DROP DATABASE IF EXISTS shop');
    await createSampleDatabase(source, { customers: 6000, orders: 6000, products: 2000, files: 1000, allTypes: 1000 });
  });

  it('exits with 0 after a successful run', { timeout: 120_000 }, async () => {
    const before = await connectionsServed(sandbox.replica!);
    const config = writeConfig();
    const { code, output } = await runCli(['run', config]);
    assert.equal(code, 0, output.slice(-3000));
    assert.match(output, /migration complete/);
    assert.match(output, /verified\s+every row identical on source and target \(\d+ row comparisons/);
    assert.ok((await connectionsServed(sandbox.replica!)) > before + 1, 'the run read the replica');
    const verify = await runCli(['verify', config]);
    assert.equal(verify.code, 0, verify.output.slice(-3000));
    assert.match(verify.output, /source and target are identical/);
  });

  it('on a terminal, shows the live progress line and still exits by itself with 0', { timeout: 120_000, skip: scriptCommand ? false : 'no script(1) to run the CLI on a pseudo-terminal' }, async () => {
    const { code, output } = await runCli(['run', writeConfig()], undefined, { terminal: true });
    assert.equal(code, 0, output.slice(-3000));
    // Redrawn in place (a carriage return and erase-line before each drawing), and under each log line.
    assert.match(output, /\r\x1b\[2K/);
    assert.match(output, /[\r\n]copy · \d+% [\d,]+ of ~[\d,]+ rows · /);
    assert.match(output, /[\r\n](catch-up|cutover|verify|done) · 100% [\d,]+ of ~[\d,]+ rows · lag /);
    assert.match(output, /migration complete/);
    assert.match(output, /verified\s+every row identical on source and target/);
    assert.doesNotMatch(output, /"tuning"|perEventSeconds/, 'the summary is not dumped as JSON');
  });

  it('exits non-zero after a failure in preflight (a table without a primary key)', { timeout: 120_000 }, async () => {
    await source.query('CREATE TABLE shop.no_key (name VARCHAR(20))');
    const { code, output } = await runCli(['run', writeConfig()]);
    assert.equal(code, 1, output.slice(-3000));
    assert.match(output, /table without a primary key: shop\.no_key/);
  });

  it('verify exits non-zero when the target cannot be reached', { timeout: 120_000 }, async () => {
    const { code, output } = await runCli(['verify', writeConfig({ target: JSON.stringify({ ...sandbox.target.endpoint, port: 1 }) })]);
    assert.equal(code, 1, output.slice(-3000));
    assert.match(output, /cannot reach the target at 127\.0\.0\.1:1/);
  });

  it('exits non-zero after the target goes away during the copy', { timeout: 120_000 }, async () => {
    // Each chunk held 3 ms: the copy lasts long enough to be cut in the middle.
    const proxy = await new LatencyProxy({ upstreamHost: '127.0.0.1', upstreamPort: sandbox.target.port, delayMs: 3 }).start();
    try {
      // Gone for good: the run waits retry.giveUpAfterSeconds (3 s here) for it, then stops saying so.
      const config = writeConfig({ target: JSON.stringify({ ...sandbox.target.endpoint, port: proxy.port }), copy: '{ batchRows: 100, adaptive: false }', retry: '{ giveUpAfterSeconds: 3 }' });
      let cut = false;
      const { code, output } = await runCli(['run', config, '--log-format', 'json'], (text) => {
        if (!cut && text.includes('copying table')) {
          cut = true;
          setTimeout(() => proxy.cut(), 300);
        }
      });
      assert.ok(cut, 'the copy started');
      assert.equal(code, 1, output.slice(-3000));
      assert.doesNotMatch(output, /migration complete/);
      assert.match(output, /the target server \(tideferry@127\.0\.0\.1:\d+\) was unreachable for \d+ s/);
    } finally {
      await proxy.stop();
    }
  });
});
