// Every metric the engine registers is documented in the README's metrics table, named by
// Prometheus' conventions, and valid for promtool; building the metrics (with Node's process
// metrics) leaves nothing that keeps a program alive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Metrics } from '../../../src/metrics/registry.js';
import { PROCESS_METRICS_PREFIX } from '../../../src/metrics/process.js';
import { idleSources } from './stub-sources.js';

const readme = readFileSync('README.md', 'utf8');
const metricsSection = readme.slice(readme.indexOf('\n## Metrics'), readme.indexOf('\n## ', readme.indexOf('\n## Metrics') + 1));

interface Described {
  readonly name: string;
  readonly type: string;
}
const runMetrics = (metrics: Metrics): Described[] =>
  metrics.runRegistry.getMetricsAsArray().map((metric) => {
    const { name, type } = metric as unknown as { name: string; type: string };
    return { name, type };
  });

describe('metric names', () => {
  const metrics = new Metrics(idleSources);

  it('documents every metric of a run in the README metrics table', () => {
    const names = runMetrics(metrics).map((metric) => metric.name);
    assert.ok(names.length > 40, `found ${names.length} metrics`);
    const documented = new Set([...metricsSection.matchAll(/`(tideferry_[a-z0-9_]+)/g)].map((match) => match[1]!));
    const undocumented = names.filter((name) => !documented.has(name));
    assert.deepEqual(undocumented, [], 'metrics missing from the README table');
  });

  it('documents no metric the engine does not register', () => {
    const names = new Set(runMetrics(metrics).map((metric) => metric.name));
    const documented = [...metricsSection.matchAll(/`(tideferry_[a-z0-9_]+)/g)].map((match) => match[1]!);
    const stale = documented.filter((name) => !names.has(name) && !name.startsWith(`${PROCESS_METRICS_PREFIX}process_`) && !name.startsWith(`${PROCESS_METRICS_PREFIX}nodejs_`));
    assert.deepEqual(stale, [], 'README names metrics the engine does not register');
  });

  it('follows the naming conventions: prefix, _total on counters alone, base units', () => {
    for (const { name, type } of runMetrics(metrics)) {
      assert.match(name, /^tideferry_[a-z0-9_]+$/, name);
      assert.equal(name.endsWith('_total'), type === 'counter', `${name} (${type}): _total is for counters, and every counter has it`);
      assert.doesNotMatch(name, /_(milliseconds|ms|microseconds|minutes|hours|kilobytes|megabytes|percent)(_|$)/, `${name}: base units`);
    }
  });

  it('serves the process metrics beside the run\'s, under the prefix', async () => {
    const text = await metrics.registry.metrics();
    assert.match(text, /^tideferry_process_cpu_seconds_total /m);
    assert.match(text, /^tideferry_nodejs_eventloop_lag_seconds /m);
    assert.match(text, /^tideferry_copy_rows_remaining\{table="shop.orders"\} 40$/m);
  });

  it('passes promtool check metrics', { skip: !hasPromtool() && 'promtool not installed (Debian package prometheus)' }, async () => {
    const result = spawnSync('promtool', ['check', 'metrics'], { input: await metrics.registry.metrics(), encoding: 'utf8' });
    assert.equal(result.status, 0, `promtool check metrics: ${result.stdout}${result.stderr}`);
  });

  it('keeps no program alive: a script that builds and reads the metrics exits by itself', () => {
    const script = [
      "import { Metrics } from './src/metrics/registry.ts';",
      "import { idleSources } from './test/unit/metrics/stub-sources.ts';",
      'const metrics = new Metrics(idleSources);',
      'await metrics.registry.metrics();',
      "console.log('read');",
    ].join('\n');
    // A generous bound: it only tells an exit from a hang.
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.signal, null, 'the script had to be killed: something kept it alive');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'read');
  });
});

function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}
