// Node's process metrics (prom-client's defaults: CPU, memory, heap, event-loop delay, handles,
// GC), once per process under the tideferry_ prefix. They describe the process, not a run, so
// every run's registry shares the one set. prom-client 15 reads them when scraped; the only
// thing left running is the event-loop delay monitor (perf_hooks.monitorEventLoopDelay) and
// the GC observer, neither of which keeps the process alive (every command still exits by
// itself: test/unit/metrics/metric-names.test.ts checks it).
import { collectDefaultMetrics, Registry } from 'prom-client';

export const PROCESS_METRICS_PREFIX = 'tideferry_';

// Gauges that prom-client names _total, against the convention (promtool check metrics says
// so); the same counts by type (…_active_handles{type}) stay.
const MISNAMED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

let shared: Registry | undefined;

export function processMetrics(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared, prefix: PROCESS_METRICS_PREFIX });
    for (const name of MISNAMED) shared.removeSingleMetric(PROCESS_METRICS_PREFIX + name);
  }
  return shared;
}
