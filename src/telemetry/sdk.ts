// The OpenTelemetry SDK: started by the CLI alone (a process-wide effect: it registers the
// global tracer and meter providers), only when an OTLP endpoint is set. Standard env vars:
// OTEL_EXPORTER_OTLP_ENDPOINT (both signals) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT /
// _METRICS_ENDPOINT (one each), OTEL_EXPORTER_OTLP_HEADERS and the rest the exporters read,
// OTEL_SERVICE_NAME (default tideferry), OTEL_RESOURCE_ATTRIBUTES, OTEL_METRIC_EXPORT_INTERVAL,
// OTEL_SDK_DISABLED. OTLP over HTTP with JSON bodies (what the http exporters send; a collector's
// port 4318 takes it). Its timers are unref'd: it never keeps the process alive; shutdown()
// flushes what is left.
import { metrics, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { otlpSignals } from './signals.js';

export { otlpSignals };

export interface Telemetry {
  readonly traces: boolean;
  readonly metrics: boolean;
  /** Flushes spans and a last metrics export, then stops; gives up after `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Starts the SDK for the signals the environment names; undefined (nothing started) when it names none. */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): Telemetry | undefined {
  const signals = otlpSignals(env);
  if (!signals.traces && !signals.metrics) return undefined;
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) override the default name.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'tideferry' }))
    .merge(detectResources({ detectors: [envDetector] }));

  let tracerProvider: BasicTracerProvider | undefined;
  if (signals.traces) {
    tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
    trace.setGlobalTracerProvider(tracerProvider);
  }
  let meterProvider: MeterProvider | undefined;
  if (signals.metrics) {
    const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
    const exportIntervalMillis = Number.isFinite(interval) && interval > 0 ? interval : 60_000;
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter(),
      exportIntervalMillis,
      exportTimeoutMillis: Math.min(exportIntervalMillis, 30_000),
    });
    meterProvider = new MeterProvider({ resource, readers: [reader] });
    metrics.setGlobalMeterProvider(meterProvider);
  }

  return {
    traces: signals.traces,
    metrics: signals.metrics,
    async shutdown(timeoutMs = 5_000) {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      const done = Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
      await Promise.race([done, giveUp]);
      clearTimeout(timer);
      trace.disable();
      metrics.disable();
    },
  };
}
