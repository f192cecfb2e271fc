// OpenTelemetry, without a collector: nothing starts unless an OTLP endpoint is set; the spans
// RunTrace records (names, attributes, parents) on an in-memory tracer; the Prometheus figures
// the bridge reads into OTel metrics; and only the CLI touches the SDK.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { otlpSignals, startTelemetry } from '../../../src/telemetry/sdk.js';
import { bridgeRegistry } from '../../../src/telemetry/metrics-bridge.js';
import { RunTrace, SPANS } from '../../../src/telemetry/trace.js';
import type { AppliedBatch } from '../../../src/binlog/apply/applier.js';
import type { CutoverOutcome } from '../../../src/cutover/cutover.js';

describe('telemetry setup', () => {
  it('starts nothing without an OTLP endpoint: the api stays a no-op', () => {
    assert.equal(startTelemetry({ OTEL_SERVICE_NAME: 'x', OTEL_METRIC_EXPORT_INTERVAL: '100' }), undefined);
    const span = trace.getTracer('tideferry').startSpan('probe');
    assert.equal(span.isRecording(), false);
    span.end();
    assert.equal(metrics.getMeterProvider().constructor.name, 'NoopMeterProvider');
  });

  it('reads which signals to export from the standard variables', () => {
    assert.deepEqual(otlpSignals({}), { traces: false, metrics: false });
    assert.deepEqual(otlpSignals({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }), { traces: false, metrics: false });
    assert.deepEqual(otlpSignals({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }), { traces: true, metrics: true });
    assert.deepEqual(otlpSignals({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://localhost:4318/v1/traces' }), { traces: true, metrics: false });
    assert.deepEqual(otlpSignals({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://localhost:4318/v1/metrics' }), { traces: false, metrics: true });
    assert.deepEqual(otlpSignals({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_METRICS_EXPORTER: 'none' }), { traces: true, metrics: false });
    assert.deepEqual(otlpSignals({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'true' }), { traces: false, metrics: false });
  });

  it('only src/cli.ts starts the SDK; the library uses @opentelemetry/api alone', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : name.endsWith('.ts') ? [join(dir, name)] : []));
    const sdkUsers = files('src').filter((path) => /from '\.\.?\/(telemetry\/)?sdk\.js'|from '\.\/telemetry\/sdk\.js'/.test(readFileSync(path, 'utf8')));
    assert.deepEqual(sdkUsers, [join('src', 'cli.ts')]);
    const sdkImports = files('src').filter((path) => path !== join('src', 'telemetry', 'sdk.ts') && /from '@opentelemetry\/(?!api')/.test(readFileSync(path, 'utf8')));
    assert.deepEqual(sdkImports, []);
  });
});

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const points = (collected: ResourceMetrics, name: string) =>
  collected.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === name)?.dataPoints.map((point) => ({ value: point.value, attributes: point.attributes }));

describe('metrics bridge', () => {
  it('reads the registry at collection: counters without _total, gauges, histogram sums and counts', async () => {
    const registry = new Registry();
    const rows = new Counter({ name: 'tf_rows_total', help: 'rows', labelNames: ['table'], registers: [registry] });
    let lag = 2.5;
    new Gauge({ name: 'tf_lag_seconds', help: 'lag', registers: [registry], collect() { this.set(lag); } });
    new Gauge({ name: 'tf_unknown', help: 'NaN is left out', registers: [registry], collect() { this.set(NaN); } });
    const seconds = new Histogram({ name: 'tf_batch_seconds', help: 'batch', buckets: [1], registers: [registry] });
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const names = bridgeRegistry(registry, provider.getMeter('test'));
    assert.deepEqual(names, ['tf_rows', 'tf_lag_seconds', 'tf_unknown', 'tf_batch_seconds_sum', 'tf_batch_seconds_count']);

    rows.inc({ table: 'shop.orders' }, 3);
    seconds.observe(0.5);
    seconds.observe(2);
    let { resourceMetrics } = await reader.collect();
    assert.deepEqual(points(resourceMetrics, 'tf_rows'), [{ value: 3, attributes: { table: 'shop.orders' } }]);
    assert.deepEqual(points(resourceMetrics, 'tf_lag_seconds'), [{ value: 2.5, attributes: {} }]);
    assert.deepEqual(points(resourceMetrics, 'tf_unknown') ?? [], []);
    assert.deepEqual(points(resourceMetrics, 'tf_batch_seconds_sum'), [{ value: 2.5, attributes: {} }]);
    assert.deepEqual(points(resourceMetrics, 'tf_batch_seconds_count'), [{ value: 2, attributes: {} }]);

    // Read again at the next collection: the registry is the one place the figures live.
    rows.inc({ table: 'shop.orders' }, 4);
    lag = 0;
    ({ resourceMetrics } = await reader.collect());
    assert.deepEqual(points(resourceMetrics, 'tf_rows'), [{ value: 7, attributes: { table: 'shop.orders' } }]);
    assert.deepEqual(points(resourceMetrics, 'tf_lag_seconds'), [{ value: 0, attributes: {} }]);
    await provider.shutdown();
  });
});

describe('run spans', () => {
  it('records run → phase → batch, and the cutover with its drain and verify', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const spans = new RunTrace(provider.getTracer('test'));
    spans.started({ 'tideferry.databases': 'shop' });
    spans.enterPhase('copy');
    spans.copyBatch({ table: 'shop.orders', rowsRead: 500, rowsWritten: 500, bytesRead: 9000, readSeconds: 0.01, writeSeconds: 0.02 });
    spans.applyBatch({ size: 40, statements: 3, seconds: 0.004 } as AppliedBatch);
    spans.enterPhase('cutover');
    spans.enterPhase('verify');
    spans.cutoverDone({ drainSeconds: 0.2, verifySeconds: 0.1, downtimeSeconds: 0.4, verify: { rowsChecked: 12 } } as CutoverOutcome);
    spans.enterPhase('done');
    spans.finished();

    const finished = exporter.getFinishedSpans();
    const byName = (name: string) => finished.filter((span) => span.name === name);
    assert.deepEqual(finished.map((span) => span.name).sort(), [SPANS.applyBatch, SPANS.copyBatch, SPANS.phase('copy'), SPANS.phase('cutover'), SPANS.drain, SPANS.run, SPANS.verify].sort());
    const parentOf = (name: string) => byName(name)[0]!.parentSpanContext?.spanId;
    const idOf = (name: string) => byName(name)[0]!.spanContext().spanId;
    assert.equal(parentOf(SPANS.phase('copy')), idOf(SPANS.run));
    assert.equal(parentOf(SPANS.copyBatch), idOf(SPANS.phase('copy')));
    assert.equal(parentOf(SPANS.applyBatch), idOf(SPANS.phase('copy')));
    assert.equal(parentOf(SPANS.drain), idOf(SPANS.phase('cutover')));
    assert.equal(parentOf(SPANS.verify), idOf(SPANS.phase('cutover')));
    assert.deepEqual(byName(SPANS.copyBatch)[0]!.attributes, { 'tideferry.table': 'shop.orders', 'tideferry.rows': 500, 'tideferry.rows_written': 500, 'tideferry.bytes': 9000 });
    assert.deepEqual(byName(SPANS.applyBatch)[0]!.attributes, { 'tideferry.events': 40, 'tideferry.statements': 3 });
    assert.equal(byName(SPANS.verify)[0]!.attributes['tideferry.rows'], 12);
    // A batch span lasts what the batch took.
    const [seconds, nanos] = byName(SPANS.copyBatch)[0]!.duration;
    assert.ok(Math.abs(seconds + nanos / 1e9 - 0.03) < 0.002, `copy batch span of ${seconds}s ${nanos}ns`);
    await provider.shutdown();
  });

  it('marks the run span failed, with the phase it failed in and no message', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const spans = new RunTrace(provider.getTracer('test'));
    spans.started({});
    spans.enterPhase('copy');
    spans.finished(new Error('cannot reach mysql://user:secret@host'));
    const run = exporter.getFinishedSpans().find((span) => span.name === SPANS.run)!;
    assert.equal(run.status.code, 2);
    assert.equal(run.status.message, 'Error');
    assert.equal(run.attributes['tideferry.failed_phase'], 'copy');
    assert.doesNotMatch(JSON.stringify({ attributes: run.attributes, status: run.status, events: run.events }), /secret/);
    await provider.shutdown();
  });
});
