// `tideferry verify CONFIG`: the verifier on its own, outside a run.
import type { Connection } from 'mysql2/promise';
import { resolveEndpoint, type Config } from '../config/load.js';
import { connectTo } from '../db/preflight.js';
import { readTableSchema } from '../db/introspect.js';
import type { TableSchema } from '../db/schema.js';
import { selectTables } from '../db/tables.js';
import type { Logger } from '../log.js';
import { describeDifferences, verifyTables } from './checksum.js';

export async function verifyConfig(config: Config, logger: Logger): Promise<boolean> {
  const source = await connectTo(resolveEndpoint(config.source, 'source'), 'source');
  let target: Connection | undefined;
  try {
    // Inside the try: when the target cannot be reached, the source connection must still be
    // closed, or it keeps the process alive after the error is printed.
    target = await connectTo(resolveEndpoint(config.target, 'target'), 'target');
    const refs = await selectTables(source, { databases: config.databases, include: config.tables.include, exclude: config.tables.exclude });
    const tables: TableSchema[] = [];
    for (const ref of refs) {
      const schema = await readTableSchema(source, ref);
      if (schema) tables.push(schema);
    }
    const report = await verifyTables({ source, target, tables, rowFilters: new Map(Object.entries(config.rowFilters)) });
    if (report.differences.length === 0) {
      logger.info({ tables: report.tablesChecked, rows: report.rowsChecked }, 'source and target are identical');
      return true;
    }
    logger.error(`source and target differ:\n${describeDifferences(report)}`);
    return false;
  } finally {
    await source.end().catch(() => undefined);
    await target?.end().catch(() => undefined);
  }
}
