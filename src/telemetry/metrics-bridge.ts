// The Prometheus figures over OpenTelemetry, read from the same registry /metrics serves: one
// place records each figure (metrics/registry.ts); this only reads it when the OTel SDK collects.
// Counters become observable counters (named without _total: an OTLP → Prometheus exporter adds
// it back), gauges observable gauges; a histogram becomes its _sum and _count (an observable
// instrument cannot carry buckets). Through @opentelemetry/api: with no SDK registered the meter
// is a no-op and no callback ever runs.
import { metrics, type Attributes, type Meter, type ObservableResult } from '@opentelemetry/api';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const METER_NAME = 'tideferry';

interface PromMetric {
  get(): Promise<{ values: { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[] }>;
}

const attributesOf = (labels: Record<string, string | number | undefined>): Attributes => {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(labels)) if (value !== undefined) attributes[key] = value;
  return attributes;
};

/** Observes `metric`'s values (those named `metricName`, when given) into `result`. */
const observe = (metric: PromMetric, metricName?: string) => async (result: ObservableResult) => {
  const { values } = await metric.get();
  for (const value of values) {
    if (metricName !== undefined && value.metricName !== metricName) continue;
    if (Number.isFinite(value.value)) result.observe(value.value, attributesOf(value.labels));
  }
};

/** Registers an observable instrument for every counter, gauge and histogram of `registry`. Returns their names. */
export function bridgeRegistry(registry: Registry, meter: Meter = metrics.getMeter(METER_NAME)): string[] {
  const names: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    const { name, help } = metric as unknown as { name: string; help: string };
    const source = metric as unknown as PromMetric;
    if (metric instanceof Counter) {
      const otelName = name.replace(/_total$/, '');
      meter.createObservableCounter(otelName, { description: help }).addCallback(observe(source));
      names.push(otelName);
    } else if (metric instanceof Gauge) {
      meter.createObservableGauge(name, { description: help }).addCallback(observe(source));
      names.push(name);
    } else if (metric instanceof Histogram) {
      for (const part of ['sum', 'count'] as const) {
        meter.createObservableCounter(`${name}_${part}`, { description: `${help} (${part})` }).addCallback(observe(source, `${name}_${part}`));
        names.push(`${name}_${part}`);
      }
    }
  }
  return names;
}
