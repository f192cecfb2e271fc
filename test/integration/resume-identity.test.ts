// A state file belongs to one run: its servers, its tables, its row filters. Resuming it with a
// config that points elsewhere is refused with what differs; the run itself resumes. A state
// whose cutover left the writers stopped is not overwritten by `run`, and its resume lets them go
// when they are found running again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Connection } from 'mysql2/promise';
import { pino } from 'pino';
import type { Config } from '../../src/config/load.js';
import { ResumeError } from '../../src/errors.js';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createSampleDatabase, SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import type { MigrationState } from '../../src/state/tracker.js';
import { dumpTable, sandboxConfig, testLogger } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('resume identity', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let config: Config;

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await createSampleDatabase(source);
    // A run stopped half-way through its copy.
    config = sandboxConfig(sandbox, { copy: { batchRows: 200, adaptive: false, concurrency: 1 } });
    const ferry = new Ferry({ config, logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    while (ferry.stats.rowsCopied < 5000) await sleep(5);
    ferry.cancel('test');
    await assert.rejects(running);
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  const resumeWith = (overrides: Partial<Config>) => new Ferry({ config: { ...config, ...overrides }, logger: testLogger(), resume: true }).run();
  const refused = (pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof ResumeError, `expected ResumeError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
  const savedState = () => JSON.parse(readFileSync(config.stateFile, 'utf8')) as MigrationState;

  it('refuses other servers, naming both', { timeout: 60_000 }, async () => {
    await assert.rejects(
      resumeWith({ source: config.target, target: config.source }),
      refused(/the source is another server: the state file's run used server_id 101 on [^:]+:\d+ \(connected as 127\.0\.0\.1:\d+\), the config now points at server_id 201 .*; the target is another server/),
    );
  });

  it('refuses another row filter, naming the table', { timeout: 60_000 }, async () => {
    await assert.rejects(resumeWith({ rowFilters: { 'shop.customers': 'id > 0' } }), refused(/row filter of shop\.customers: none in the run, "id > 0" now/));
  });

  it('refuses another table selection, naming the tables', { timeout: 60_000 }, async () => {
    await assert.rejects(resumeWith({ tables: { include: ['*'], exclude: ['files'] } }), refused(/part of the run but not selected now: shop\.files/));
  });

  it('explains that a state file of the previous version cannot be resumed', { timeout: 60_000 }, async () => {
    const current = readFileSync(config.stateFile, 'utf8');
    try {
      const { identity: _identity, writersStopped: _writers, ...previous } = JSON.parse(current) as MigrationState;
      writeFileSync(config.stateFile, JSON.stringify({ ...previous, version: 1 }));
      await assert.rejects(resumeWith({}), refused(/written by an earlier tideferry \(state version 1\).*start a new run/));
    } finally {
      writeFileSync(config.stateFile, current);
    }
  });

  it('does not let `run` overwrite a state whose cutover left the writers stopped', { timeout: 60_000 }, async () => {
    const current = readFileSync(config.stateFile, 'utf8');
    try {
      const state = JSON.parse(current) as MigrationState;
      writeFileSync(config.stateFile, JSON.stringify({ ...state, writersStopped: { mode: 'read-only', since: new Date().toISOString(), previous: { readOnly: 'OFF' } } }));
      await assert.rejects(new Ferry({ config, logger: testLogger() }).run(), refused(/records a cutover that stopped the source's writers and did not finish: `tideferry resume`/));
    } finally {
      writeFileSync(config.stateFile, current);
    }
  });

  it('resumes the same run; writers found running again are let go, and it says so', { timeout: 120_000 }, async () => {
    // As if a cutover had been interrupted and someone had then set read_only back by hand.
    const state = savedState();
    writeFileSync(config.stateFile, JSON.stringify({ ...state, writersStopped: { mode: 'read-only', since: new Date().toISOString(), previous: { readOnly: 'OFF' } } }));
    const messages: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void messages.push(String((JSON.parse(line) as { msg: string }).msg)) });
    const summary = await new Ferry({ config, logger, resume: true }).run();
    assert.ok(messages.some((message) => /read_only is OFF again: the writers run, the run continues and cuts over again/.test(message)), messages.join('\n'));
    assert.ok(summary.rowsCopied < 100_000, 'it resumed the copy');
    for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  });
});
