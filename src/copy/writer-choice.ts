// Picks the copy's write path. LOAD DATA LOCAL INFILE measured faster than multi-row INSERT in
// `npm run bench -- copy` (see README, "Benchmarks"), so `auto` uses it wherever the target
// allows local infile, and falls back to INSERT where it does not.
import type { Connection, Pool } from 'mysql2/promise';
import type { Logger } from '../log.js';
import { InsertRowWriter, LoadDataRowWriter, type RowWriter } from './writer.js';

export async function createRowWriter(method: 'auto' | 'insert' | 'load-data', pool: Pool, target: Connection, logger: Logger): Promise<RowWriter> {
  if (method === 'insert') return new InsertRowWriter(pool);
  const [rows] = await target.query("SHOW GLOBAL VARIABLES LIKE 'local_infile'");
  const allowed = String((rows as { Value?: string }[])[0]?.Value ?? 'OFF').toUpperCase() === 'ON';
  if (allowed) return new LoadDataRowWriter(pool);
  if (method === 'load-data') {
    throw new Error('copy.writeMethod is load-data but the target has local_infile=OFF: SET GLOBAL local_infile = ON on the target, or use writeMethod insert');
  }
  logger.info('target has local_infile=OFF: copying with multi-row INSERT');
  return new InsertRowWriter(pool);
}
