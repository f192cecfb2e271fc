// docker-compose.yml (the local stack, README "Local stack"), checked without Docker: it is
// valid by the Compose Specification's schema (vendored: test/fixtures/README.md), every file
// or directory it mounts from the repository exists, and its services are configured as the
// README says (source and target with row binlog, full metadata and images, GTIDs, distinct
// server ids; Prometheus scraping tideferry on the host; the collector's OTLP/HTTP port).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

interface Service {
  readonly command?: string | readonly string[];
  readonly volumes?: readonly (string | { readonly type?: string; readonly source?: string })[];
  readonly ports?: readonly string[];
  readonly extra_hosts?: readonly string[];
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** Bind mounts from the repository (sources starting with ./). */
const mounts = Object.entries(services).flatMap(([name, service]) =>
  (service.volumes ?? []).map((volume) => ({ service: name, source: typeof volume === 'string' ? volume.split(':')[0]! : volume.source ?? '' })).filter(({ source }) => source.startsWith('./')),
);

describe('docker-compose.yml', () => {
  it('is valid by the compose-spec schema', () => {
    const schema = JSON.parse(readFileSync('test/fixtures/compose-spec.json', 'utf8')) as object;
    // The schema names its draft-07 meta-schema by https://, which Ajv knows by http://: the
    // schema itself is not validated, only the compose file by it.
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, validateSchema: false });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    assert.ok(valid, ajv.errorsText(validate.errors, { separator: '\n' }));
    // The schema has teeth: a misspelt key fails.
    assert.equal(validate({ services: { source: { image: 'mysql:8.0', volums: [] } } }), false);
  });

  it('mounts only files and directories that exist in the repository', () => {
    assert.ok(mounts.length >= 7, `${mounts.length} mounts`);
    const missing = mounts.filter(({ source }) => !existsSync(resolve(source))).map(({ service, source }) => `${service}: ${source}`);
    assert.deepEqual(missing, []);
  });

  it('runs source and target with row binlog, full row metadata and images, GTIDs and distinct server ids', () => {
    const flags = (name: string) => [services[name]?.command ?? []].flat().join(' ');
    for (const name of ['source', 'target']) {
      for (const flag of ['--binlog-format=ROW', '--binlog-row-image=FULL', '--binlog-row-metadata=FULL', '--gtid-mode=ON', '--enforce-gtid-consistency=ON']) {
        assert.ok(flags(name).includes(flag), `${name}: ${flag}`);
      }
    }
    const ids = ['source', 'target', 'target-replica'].map((name) => /--server-id=(\d+)/.exec(flags(name))?.[1]);
    assert.equal(new Set(ids).size, 3, `server ids ${ids.join(', ')}`);
    assert.ok(ids.every((id) => id !== undefined));
  });

  it('scrapes tideferry on the host at 9107 and takes OTLP/HTTP on 4318', () => {
    assert.ok(services.prometheus?.extra_hosts?.includes('host.docker.internal:host-gateway'));
    const prometheus = parse(readFileSync('compose/prometheus/prometheus.yml', 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const job = prometheus.scrape_configs.find((config) => config.job_name === 'tideferry');
    assert.deepEqual(job?.static_configs.flatMap((config) => config.targets), ['host.docker.internal:9107']);
    assert.ok(services['otel-collector']?.ports?.some((port) => port.startsWith('4318:4318')));
    const collector = parse(readFileSync('compose/otel-collector/config.yaml', 'utf8')) as { receivers: { otlp: { protocols: { http: { endpoint: string } } } }; service: { pipelines: Record<string, { receivers: string[] }> } };
    assert.equal(collector.receivers.otlp.protocols.http.endpoint, '0.0.0.0:4318');
    assert.deepEqual(Object.keys(collector.service.pipelines).sort(), ['metrics', 'traces']);
  });

  it('provisions the dashboard from ./dashboards where the provider looks for it', () => {
    const provider = parse(readFileSync('dashboards/provisioning/dashboards/tideferry.yml', 'utf8')) as { providers: { options: { path: string } }[] };
    const grafana = (services.grafana?.volumes ?? []).map(String);
    assert.ok(grafana.includes(`./dashboards:${provider.providers[0]!.options.path}:ro`), grafana.join(', '));
  });
});
