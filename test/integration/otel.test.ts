// OpenTelemetry from a real run: the CLI, as a child process with OTEL_EXPORTER_OTLP_ENDPOINT
// pointing at a local OTLP/HTTP receiver (JSON bodies, what the http exporters send), migrates
// the sample database under a write load. The receiver gets the spans (copy batches with their
// table and rows, apply batches with their events, the cutover and its drain and verify) and the
// bridged Prometheus figures as OTel metrics, under service.name tideferry; the CLI exits by
// itself with 0 and every row is equal on source and target.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mysql2/promise';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { createSampleDatabase, SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import { CliChild } from './cli-child.js';
import { dumpTable, waitFor } from './helpers.js';

interface AnyValue { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean }
interface KeyValue { key: string; value: AnyValue }
interface OtlpSpan { name: string; traceId: string; spanId: string; parentSpanId?: string; attributes?: KeyValue[] }
interface TracesBody { resourceSpans: { resource?: { attributes?: KeyValue[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] }
interface MetricsBody { resourceMetrics: { resource?: { attributes?: KeyValue[] }; scopeMetrics: { metrics: { name: string; sum?: unknown; gauge?: unknown }[] }[] }[] }

const valueOf = (value: AnyValue) => value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.doubleValue ?? value.boolValue);
const attributes = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));

/** A few lines of OTLP/HTTP receiver: keeps every JSON body posted to /v1/traces and /v1/metrics. */
class Receiver {
  readonly traces: TracesBody[] = [];
  readonly metrics: MetricsBody[] = [];
  readonly contentTypes = new Set<string>();
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.contentTypes.add(String(request.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (request.method === 'POST' && request.url === '/v1/traces') this.traces.push(body as TracesBody);
      else if (request.method === 'POST' && request.url === '/v1/metrics') this.metrics.push(body as MetricsBody);
      else return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  spans(): (OtlpSpan & { attrs: Record<string, unknown>; resource: Record<string, unknown> })[] {
    return this.traces.flatMap((body) =>
      body.resourceSpans.flatMap((resourceSpans) =>
        resourceSpans.scopeSpans.flatMap((scope) => scope.spans.map((span) => ({ ...span, attrs: attributes(span.attributes), resource: attributes(resourceSpans.resource?.attributes) }))),
      ),
    );
  }

  metricNames(): Set<string> {
    return new Set(this.metrics.flatMap((body) => body.resourceMetrics.flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => metric.name)))));
  }
}

const SIZES = { customers: 3000, orders: 3000, products: 1000, files: 500, allTypes: 500 };

describe('OpenTelemetry export from a CLI run', () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let load: WriteLoad | undefined;
  const receiver = new Receiver();
  let endpoint: string;

  before(async () => {
    endpoint = await receiver.start();
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await source.query('SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS shop');
    await target.query('DROP DATABASE IF EXISTS shop');
    await createSampleDatabase(source, SIZES);
  });
  after(async () => {
    await load?.stop().catch(() => undefined);
    await receiver.stop();
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  it('exports the spans and metrics of a migration under a write load, and exits by itself with 0', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-otel-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, [
      `source: ${JSON.stringify(sandbox.source.endpoint)}`,
      `target: ${JSON.stringify(sandbox.target.endpoint)}`,
      'databases: [shop]',
      `stateFile: ${JSON.stringify(join(dir, 'state.json'))}`,
      'http: { enabled: false }',
      'cutover: { mode: manual }',
      'copy: { batchRows: 500, adaptive: false }',
      '',
    ].join('\n'));
    load = new WriteLoad(sandbox.source, { ratePerSecond: 200, connections: 2, sizes: SIZES, seed: 11 });
    await load.start();

    const cli = new CliChild(['run', config], {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    });
    await cli.waitFor((line) => line.msg === 'phase cutover', 'the cutover phase', 150_000);
    // Metrics arrive while the run goes on (every 500 ms), not only at the exit.
    await waitFor(() => receiver.metricNames().has('tideferry_binlog_events_applied'), 20_000, 'a metrics export during the run', 100);
    await load.stop();
    load = undefined;
    cli.signal('SIGUSR2'); // the manual cutover's confirmation
    const exit = await cli.exit(60_000);
    assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr);
    assert.ok(cli.has(/^migration complete$/), 'the run completed');

    const spans = receiver.spans();
    const named = (name: string) => spans.filter((span) => span.name === name);
    const [run] = named('tideferry.run');
    assert.ok(run, `a run span among ${[...new Set(spans.map((span) => span.name))].join(', ')}`);
    assert.equal(run.resource['service.name'], 'tideferry');
    assert.equal(run.resource['deployment.environment.name'], 'test');
    assert.equal(run.attrs['tideferry.databases'], 'shop');

    const copyBatches = named('tideferry.copy.batch');
    assert.deepEqual(new Set(copyBatches.map((span) => span.attrs['tideferry.table'])), new Set(SAMPLE_TABLES.map((table) => `shop.${table}`)));
    // Every batch has its span: their rows add up to what the run says it copied.
    const copied = copyBatches.reduce((sum, span) => sum + Number(span.attrs['tideferry.rows']), 0);
    const reported = cli.lines.find((line) => line.msg === 'row copy complete')?.['rows'];
    assert.equal(copied, reported, 'rows in the copy batch spans');
    assert.ok(copied > 7000, `${copied} rows copied`);
    const batchRows = copyBatches.map((span) => Number(span.attrs['tideferry.rows']));
    assert.ok(batchRows.every((rows) => rows >= 0 && rows <= 500) && batchRows.includes(500), `copy batch rows: ${batchRows.join(' ')}`);

    const applyBatches = named('tideferry.apply.batch');
    assert.ok(applyBatches.length > 0, 'apply batch spans');
    const applied = applyBatches.map((span) => `${span.attrs['tideferry.events']}/${span.attrs['tideferry.statements']}`);
    // Events add up to what the run says it applied (a batch of a commit alone has none).
    const summary = cli.lines.find((line) => line.msg === 'migration complete')?.['summary'] as { eventsApplied?: number } | undefined;
    const events = applyBatches.reduce((sum, span) => sum + Number(span.attrs['tideferry.events']), 0);
    assert.equal(events, summary?.eventsApplied, `events/statements: ${applied.join(' ')}`);
    assert.ok(events > 0 && applyBatches.some((span) => Number(span.attrs['tideferry.statements']) > 0), `events/statements: ${applied.join(' ')}`);

    // run → phase → batch; cutover → drain, verify.
    const [copy] = named('tideferry.copy');
    const [cutover] = named('tideferry.cutover');
    assert.ok(copy && cutover, `copy and cutover phase spans among ${[...new Set(spans.map((span) => span.name))].join(', ')}`);
    assert.equal(copy.parentSpanId, run.spanId);
    assert.ok(copyBatches.every((span) => span.parentSpanId === copy.spanId && span.traceId === run.traceId));
    for (const part of ['tideferry.cutover.drain', 'tideferry.cutover.verify']) {
      assert.equal(named(part).length, 1, part);
      assert.equal(named(part)[0]!.parentSpanId, cutover.spanId, `${part} under the cutover`);
    }
    assert.ok(Number(named('tideferry.cutover.verify')[0]!.attrs['tideferry.rows']) > 0);
    assert.ok(named('tideferry.verify.rows').length > 0, 'verification spans');

    // No password or server address in any attribute.
    const everything = JSON.stringify(receiver.traces) + JSON.stringify(receiver.metrics);
    for (const secret of [sandbox.source.endpoint.password, sandbox.target.endpoint.password, `:${sandbox.source.endpoint.port}`, `:${sandbox.target.endpoint.port}`]) {
      assert.ok(!everything.includes(secret), `${secret} exported`);
    }

    const metrics = receiver.metricNames();
    for (const name of ['tideferry_rows_copied', 'tideferry_binlog_events_applied', 'tideferry_binlog_lag_seconds', 'tideferry_binlog_batch_seconds_count', 'tideferry_cutover_downtime_seconds']) {
      assert.ok(metrics.has(name), `metric ${name} among ${[...metrics].join(', ')}`);
    }

    for (const table of SAMPLE_TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  });
});
