// The Grafana dashboard (dashboards/tideferry.json) works under file provisioning and says what
// it shows: every panel queries the `datasource` variable (a `${DS_…}` import input is left
// unresolved by provisioning), has a unit and a description, and filters on the migration.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

interface Target { readonly expr?: string; readonly datasource?: { readonly uid?: string; readonly type?: string } }
interface Panel {
  readonly type: string;
  readonly title?: string;
  readonly description?: string;
  readonly datasource?: { readonly uid?: string; readonly type?: string };
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}
interface Dashboard {
  readonly uid: string;
  readonly __inputs?: unknown;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string; readonly query: unknown; readonly datasource?: { readonly uid?: string } }[] };
}

const text = readFileSync('dashboards/tideferry.json', 'utf8');
const dashboard = JSON.parse(text) as Dashboard;
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== 'row');
const CURRENT_TYPES = new Set(['timeseries', 'stat', 'bargauge', 'table', 'gauge', 'text']);

describe('dashboard lint', () => {
  it('keeps its uid, and has no import inputs', () => {
    assert.equal(dashboard.uid, 'tideferry-migration');
    assert.equal(dashboard.__inputs, undefined);
    assert.doesNotMatch(text, /\$\{DS_/);
  });

  it('has a datasource variable over Prometheus and a migration variable over it', () => {
    const datasource = dashboard.templating.list.find((variable) => variable.name === 'datasource');
    assert.deepEqual([datasource?.type, datasource?.query], ['datasource', 'prometheus']);
    const migration = dashboard.templating.list.find((variable) => variable.name === 'migration');
    assert.equal(migration?.datasource?.uid, '${datasource}');
  });

  it('gives every panel the datasource variable, a unit, a description and a current type', () => {
    assert.ok(panels.length >= 20, `${panels.length} panels`);
    for (const panel of panels) {
      const name = panel.title ?? '(untitled)';
      assert.ok(CURRENT_TYPES.has(panel.type), `${name}: panel type ${panel.type}`);
      assert.equal(panel.datasource?.uid, '${datasource}', `${name}: datasource`);
      assert.ok(panel.fieldConfig?.defaults?.unit, `${name}: unit`);
      assert.ok((panel.description ?? '').length > 20, `${name}: description`);
      assert.ok(panel.targets?.length, `${name}: queries`);
      for (const target of panel.targets ?? []) {
        assert.equal(target.datasource?.uid, '${datasource}', `${name}: query datasource`);
        assert.ok(target.expr, `${name}: query expression`);
      }
    }
  });

  it('filters every tideferry series on the migration variable', () => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const selectors = target.expr!.match(/tideferry_[a-z0-9_]+(\{[^}]*\})?/g) ?? [];
        assert.ok(selectors.length > 0, `${panel.title}: no tideferry metric in ${target.expr}`);
        for (const selector of selectors) assert.match(selector, /\{instance=~"\$migration"/, `${panel.title}: ${selector}`);
      }
    }
  });

  it('has the rows overview, binlog, copy throttling, verification, cutover, outages', () => {
    assert.deepEqual(dashboard.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title), ['Overview', 'Binlog', 'Copy throttling', 'Verification', 'Cutover', 'Outages']);
  });
});
