// Figures for a Metrics instance built without a run: the names and the exposition format are
// what the tests look at, not the values.
import type { MetricSources } from '../../../src/metrics/registry.js';

export const idleSources: MetricSources = {
  phase: () => 'copy',
  tuning: () => undefined,
  binlogLagSeconds: () => 0,
  binlogQueuedEvents: () => 0,
  binlogReconnects: () => 0,
  copyPauseSeconds: () => 0,
  throttleReason: () => undefined,
  replicaLagSeconds: () => 0,
  tablesTotal: () => 1,
  tablesCopied: () => 0,
  keepUp: () => undefined,
  stageCpuSeconds: () => undefined,
  copyProgress: () => [{ table: 'shop.orders', estimatedRows: 100, remainingRows: 40, etaSeconds: 2 }],
  replicaLags: () => new Map([['127.0.0.1:3307', 0.5]]),
};
