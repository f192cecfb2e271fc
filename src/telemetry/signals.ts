// Which OpenTelemetry signals the environment asks to export (the standard OTEL_* variables).
// Apart from sdk.ts so that the CLI can ask without loading the SDK (about 100 ms of imports).

const set = (value: string | undefined) => value !== undefined && value.trim() !== '';

/** Which signals the environment asks to export. */
export function otlpSignals(env: NodeJS.ProcessEnv): { traces: boolean; metrics: boolean } {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { traces: false, metrics: false };
  const both = set(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  return {
    traces: (both || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)) && env.OTEL_TRACES_EXPORTER?.trim() !== 'none',
    metrics: (both || set(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)) && env.OTEL_METRICS_EXPORTER?.trim() !== 'none',
  };
}

