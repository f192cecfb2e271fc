// Shared by the integration tests: sandbox configs, the sample database reset, waiting, and
// full-row comparison.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunIdentity } from '../../src/state/identity.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import type { Connection } from 'mysql2/promise';
import type { Sandbox } from '../../src/sandbox/index.js';
import type { Ferry } from '../../src/ferry.js';
import { createSampleDatabase } from '../../src/sandbox/sample.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';

/** Silent, unless TIDEFERRY_TEST_LOG=debug|info is set to watch a test's run. */
export const testLogger = (): Logger =>
  process.env.TIDEFERRY_TEST_LOG ? createLogger({ format: 'pretty', level: process.env.TIDEFERRY_TEST_LOG }) : silentLogger();

export function sandboxConfig(sandbox: Sandbox, overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    source: sandbox.source.endpoint,
    target: sandbox.target.endpoint,
    databases: ['shop'],
    stateFile: join(mkdtempSync(join(tmpdir(), 'tf-test-')), 'state.json'),
    http: { enabled: false },
    log: { level: 'warn' },
    ...overrides,
  });
}

export { dumpTable } from '../../src/sandbox/compare.js';

/** A fresh sample database (`shop`) on the source, none on the target, the source writable. */
export async function resetSampleDatabase(source: Connection, target: Connection): Promise<void> {
  await source.query('SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS shop');
  await target.query('DROP DATABASE IF EXISTS shop');
  await createSampleDatabase(source);
}

/** The sum of a run's metric over the series whose labels include `labels` (0 when none). */
export async function metricSum(ferry: Ferry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await ferry.metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
}

/** Polls `condition` every `pollMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string, pollMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** A run identity for tests that build a state by hand (no resume checks it). */
export const TEST_IDENTITY: RunIdentity = {
  source: { address: 'source', serverId: 0, hostname: 'test', port: 0 },
  target: { address: 'target', serverId: 0, hostname: 'test', port: 0 },
  tables: [],
  rowFilters: {},
};

/** Whether a process runs (a zombie does not: on machines whose init does not reap, the killed stay zombies). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true; // no /proc: the signal test above has to do
  }
}
