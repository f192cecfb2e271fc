// `tideferry verify CONFIG`: the full comparison on its own, outside a run, in parallel across
// tables and key ranges (verify.concurrency workers).
import type { Connection } from 'mysql2/promise';
import { resolveEndpoint, type Config } from '../config/load.js';
import { connectTo } from '../db/preflight.js';
import { describeEndpoint } from '../db/connection.js';
import { OutageTracker, RetryPolicy } from '../db/retry.js';
import { readTableSchema } from '../db/introspect.js';
import type { TableSchema } from '../db/schema.js';
import { selectTables } from '../db/tables.js';
import type { Logger } from '../log.js';
import { describeDifferences } from './checksum.js';
import { verifyAll } from './full.js';

export async function verifyConfig(config: Config, logger: Logger): Promise<boolean> {
  const sourceEndpoint = resolveEndpoint(config.source, 'source');
  const targetEndpoint = resolveEndpoint(config.target, 'target');
  const source = await connectTo(sourceEndpoint, 'source');
  let target: Connection | undefined;
  const tables: TableSchema[] = [];
  try {
    // Inside the try: when the target cannot be reached, the source connection must still be
    // closed, or it keeps the process alive after the error is printed.
    target = await connectTo(targetEndpoint, 'target');
    const refs = await selectTables(source, { databases: config.databases, include: config.tables.include, exclude: config.tables.exclude });
    for (const ref of refs) {
      const schema = await readTableSchema(source, ref);
      if (schema) tables.push(schema);
    }
  } finally {
    await source.end().catch(() => undefined);
    await target?.end().catch(() => undefined);
  }
  const started = performance.now();
  const report = await verifyAll({ source: sourceEndpoint, target: targetEndpoint, tables, rowFilters: new Map(Object.entries(config.rowFilters)), concurrency: config.verify.concurrency,
    // The run's retry settings: a server restarting under the comparison is waited for (and said once).
    retry: new RetryPolicy(config.retry, new OutageTracker(logger, { source: describeEndpoint(sourceEndpoint), target: describeEndpoint(targetEndpoint) }), logger) });
  const seconds = Number(((performance.now() - started) / 1000).toFixed(3));
  if (report.differences.length === 0) {
    logger.info({ tables: report.tablesChecked, rows: report.rowsChecked, seconds }, 'source and target are identical');
    return true;
  }
  logger.error(`source and target differ:\n${describeDifferences(report)}`);
  return false;
}
