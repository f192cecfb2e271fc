// The command line: one clear line and a non-zero exit code on bad input, no stack trace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-cli-'));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, TARGET_PW: 'x' } });

describe('cli', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox();
  });
  after(async () => sandbox?.stop());

  const config = (source: Record<string, unknown>, extra = '') => {
    const path = join(dir, `c${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(path, `source: ${JSON.stringify(source)}\ntarget: { host: 127.0.0.1, port: ${sandbox.target.port}, user: tideferry, passwordEnv: TARGET_PW }\ndatabases: [shop]\nhttp: { enabled: false }\n${extra}`);
    return path;
  };

  it('explains --help', () => {
    const result = cli('--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /run \[options\] <config>/);
    assert.match(result.stdout, /demo/);
  });

  it('exits 2 with one line naming a config typo and the file', () => {
    const path = config({ host: '127.0.0.1', port: sandbox.source.port, user: 'tideferry', password: 'x' }, 'cutover: { mdoe: manual }\n');
    const result = cli('run', path);
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /unknown key "cutover\.mdoe"/);
    assert.ok(result.stderr.includes(path));
  });

  it('exits 2 with one line naming http.tokenEnv when its variable is not set, before connecting to anything', () => {
    const path = join(dir, 'token.yaml');
    writeFileSync(path, `source: { host: 127.0.0.1, port: ${sandbox.source.port}, user: tideferry, password: x }\ntarget: { host: 127.0.0.1, port: ${sandbox.target.port}, user: tideferry, passwordEnv: TARGET_PW }\ndatabases: [shop]\nhttp: { listen: "127.0.0.1:0", tokenEnv: TIDEFERRY_UNSET_TOKEN }\n`);
    const result = cli('run', path, '--log-format', 'json');
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^tideferry: http\.tokenEnv names the environment variable TIDEFERRY_UNSET_TOKEN, which is not set/);
    const ctl = cli('ctl', 'pause', '--url', 'http://127.0.0.1:9', '--token-env', 'TIDEFERRY_UNSET_TOKEN');
    assert.equal(ctl.status, 2, ctl.stderr);
    assert.match(ctl.stderr, /--token-env names the environment variable TIDEFERRY_UNSET_TOKEN, which is not set/);
  });

  it('exits 1 with one line for a wrong password, without the password or a stack trace', () => {
    const path = config({ host: '127.0.0.1', port: sandbox.source.port, user: 'tideferry', password: 'not-the-password' });
    const result = cli('run', path, '--log-format', 'json');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /tideferry: the source at 127\.0\.0\.1:\d+ rejected user tideferry: wrong password/);
    assert.doesNotMatch(result.stderr + result.stdout, /not-the-password/);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});
