// The Grafana dashboard against a real Prometheus scraping a real migration under a write load:
// every query of every panel, with the dashboard's variables as Grafana would fill them,
// returns data; the migration variable lists the run; promtool accepts /metrics. The run then
// cuts over and every row of source and target is compared.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Connection } from 'mysql2/promise';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import { dumpTable, resetSampleDatabase, sandboxConfig, testLogger, waitFor } from './helpers.js';
import { prometheusInstalled, TestPrometheus } from './prometheus.js';

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
  readonly panels?: readonly Panel[];
}
const dashboard = JSON.parse(readFileSync('dashboards/tideferry.json', 'utf8')) as { panels: readonly Panel[]; templating: { list: readonly { name: string; definition?: string }[] } };
const queries = dashboard.panels
  .flatMap((panel) => [panel, ...(panel.panels ?? [])])
  .flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));

/** The variables as Grafana fills them: one migration picked; $__rate_interval at a 1 s scrape is 4 s, taken wider. */
const substitute = (expr: string, instance: string) => expr.replaceAll('$migration', instance.replace(/[.]/g, '\\\\.')).replaceAll('$__rate_interval', '15s');

const skip = prometheusInstalled() ? false : 'prometheus is not installed (Debian package prometheus; .ci/run installs it)';

describe('Grafana dashboard on a live migration', { skip }, () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let prometheus: TestPrometheus | undefined;
  let load: WriteLoad | undefined;

  before(async () => {
    sandbox = await startSandbox({ replica: true });
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await resetSampleDatabase(source, target);
  });
  after(async () => {
    await load?.stop().catch(() => undefined);
    await prometheus?.stop();
    await source?.query('SET GLOBAL read_only = OFF').catch(() => undefined);
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  it('answers every panel query from Prometheus while the migration runs, then cuts over with every row equal', { timeout: 240_000 }, async () => {
    assert.ok(queries.length >= 40, `${queries.length} queries in the dashboard`);
    load = new WriteLoad(sandbox.source, { ratePerSecond: 300, connections: 2, seed: Date.now() % 100_000 });
    await load.start();
    const config = sandboxConfig(sandbox, {
      http: { listen: '127.0.0.1:0' },
      cutover: { mode: 'manual' },
      throttle: { replicas: [sandbox.replica!.endpoint], maxLagSeconds: 5 },
    });
    const ferry = new Ferry({ config, logger: testLogger() });
    const running = ferry.run();
    running.catch(() => undefined);
    await waitFor(() => ferry.httpUrl !== undefined || ferry.phase === 'failed', 30_000, 'the HTTP listener');
    const instance = new URL(ferry.httpUrl!).host;
    prometheus = await TestPrometheus.start('tideferry', [instance]);

    // Ready for the manual cutover: copied, verified, caught up; Prometheus has seen it.
    await waitFor(() => ferry.phase === 'cutover' || ferry.phase === 'failed', 150_000, 'the cutover');
    assert.equal(ferry.phase, 'cutover');
    await waitFor(async () => (await prometheus!.query(`tideferry_phase{phase="cutover"} == 1`)).length === 1, 20_000, 'a scrape in the cutover phase');
    // A few more scrapes, so that every rate() has two samples since the last change.
    const scrapes = async () => Number((await prometheus!.query(`count_over_time(up{instance="${instance}"}[1m])`))[0]?.value[1] ?? 0);
    const seen = await scrapes();
    await waitFor(async () => (await scrapes()) >= seen + 3, 20_000, 'three more scrapes');

    // What the migration variable offers (label_values(tideferry_phase, instance)).
    const variable = dashboard.templating.list.find((entry) => entry.name === 'migration');
    assert.equal(variable?.definition, 'label_values(tideferry_phase, instance)');
    assert.deepEqual(await prometheus.labelValues('instance', 'tideferry_phase'), [instance]);

    const empty: string[] = [];
    for (const { panel, expr } of queries) {
      const result = await prometheus.query(substitute(expr, instance));
      if (result.length === 0) empty.push(`${panel}: ${expr}`);
    }
    assert.deepEqual(empty, [], `panel queries without data (prometheus log: ${prometheus.log})`);
    // The replica is labelled by host:port alone, never the user.
    const replicas = await prometheus.query(`tideferry_replica_lag_by_replica_seconds{instance="${instance}"}`);
    assert.deepEqual(replicas.map((series) => series.metric['replica']), [`${sandbox.replica!.endpoint.host}:${sandbox.replica!.endpoint.port}`]);
    // Rows remaining is 0 for every copied table, and the ETA with it.
    for (const series of await prometheus.query(`tideferry_copy_rows_remaining{instance="${instance}"} + tideferry_copy_eta_seconds{instance="${instance}"}`)) {
      assert.equal(series.value[1], '0', `${series.metric['table']}: remaining + ETA`);
    }

    // promtool accepts the live exposition.
    const text = await (await fetch(`${ferry.httpUrl}/metrics`)).text();
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(checked.status, 0, `promtool check metrics: ${checked.stdout}${checked.stderr}`);

    // Manual cutover: the operator stops the writers, then confirms.
    await load.stop();
    load = undefined;
    assert.equal(ferry.confirmCutover().confirmed, true);
    const summary = await running;
    assert.ok(summary.downtimeSeconds !== undefined);
    for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  });
});
