// The write load of the apply benchmarks, run in a worker thread (bench/load.ts starts it) so
// that issuing statements does not compete with the streamer and the applier for the main
// event loop. Each connection updates ranges of `rowsPerStatement` consecutive rows of a random
// sysbench table inside its own slice of the key space (no two connections touch the same row,
// so there are no lock waits), `statementsPerTransaction` statements per source transaction,
// paced so that all connections together produce `eventsPerSecond` row events (0: unpaced).
// The row events actually produced (changedRows) are counted in shared memory.
import { parentPort, workerData } from 'node:worker_threads';
import mysql from 'mysql2/promise';
import { seededRandom } from '../src/sandbox/random.js';
import { SEQUENCE_DIGITS, SEQUENCES_PER_CONNECTION } from './load.js';

export interface LoadWorkerData {
  readonly socketPath: string;
  readonly database: string;
  readonly tables: number;
  readonly rowsPerTable: number;
  readonly rowsPerStatement: number;
  readonly statementsPerTransaction: number;
  readonly connections: number;
  readonly eventsPerSecond: number;
  readonly seed: number;
  /** Int32 slots: [0] stop request; Float64 view over the same buffer from byte 8: [0] events, [1] transactions, [2] errors. */
  readonly shared: SharedArrayBuffer;
  /**
   * Float64 per (connection, statement sequence % commitRing): when the statement's transaction
   * committed (its OK arrived), seconds since the epoch. The statement's sequence number is
   * written into the rows it changes (column c), so a row event leads back to its commit time.
   */
  readonly commitTimes: SharedArrayBuffer;
  readonly commitRing: number;
}


const data = workerData as LoadWorkerData;
const control = new Int32Array(data.shared, 0, 2);
const counters = new Float64Array(data.shared, 8, 3);
const commitTimes = new Float64Array(data.commitTimes);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker(index: number): Promise<void> {
  const connection = await mysql.createConnection({ socketPath: data.socketPath, user: 'root', multipleStatements: true });
  try {
    const random = seededRandom(data.seed * 7919 + index);
    const slice = Math.floor(data.rowsPerTable / data.connections);
    const low = 1 + index * slice;
    const n = data.rowsPerStatement;
    const eventsPerTransaction = n * data.statementsPerTransaction;
    const interval = data.eventsPerSecond > 0 ? (1000 * eventsPerTransaction * data.connections) / data.eventsPerSecond : 0;
    // Connections start a fraction of an interval apart, so that their transactions do not arrive in bunches.
    let due = performance.now() + (index * interval) / data.connections;
    let sequence = 0;
    while (Atomics.load(control, 0) === 0) {
      if (interval > 0) {
        due += interval;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        // Far behind (a stall): start the schedule again rather than send a burst to catch up.
        else if (wait < -1000) due = performance.now();
      }
      const statements: string[] = [];
      const firstSequence = sequence + 1;
      for (let s = 0; s < data.statementsPerTransaction; s++) {
        const table = 1 + Math.floor(random() * data.tables);
        const first = low + Math.floor(random() * (slice - n + 1));
        sequence++;
        statements.push(
          `UPDATE ${data.database}.sbtest${table} SET k = k + 1, c = CONCAT(LEFT(c, 100), '-', LPAD(${index * SEQUENCES_PER_CONNECTION + sequence}, ${SEQUENCE_DIGITS}, '0')) WHERE id BETWEEN ${first} AND ${first + n - 1}`,
        );
      }
      const sql = statements.length === 1 ? statements[0]! : `START TRANSACTION; ${statements.join('; ')}; COMMIT`;
      try {
        const [result] = await connection.query(sql);
        const committedAt = Date.now() / 1000;
        for (let done = firstSequence; done <= sequence; done++) commitTimes[index * data.commitRing + (done % data.commitRing)] = committedAt;
        const parts = (Array.isArray(result) ? result : [result]) as { changedRows?: number }[];
        let changed = 0;
        for (const part of parts) changed += Number(part?.changedRows ?? 0);
        counters[0] = counters[0]! + changed;
        counters[1] = counters[1]! + 1;
      } catch {
        counters[2] = counters[2]! + 1;
        await connection.query('ROLLBACK').catch(() => undefined);
      }
    }
  } finally {
    await connection.end().catch(() => undefined);
  }
}

// Float64 slots are written by this thread only (single-threaded JS), read by the parent.
await Promise.all(Array.from({ length: data.connections }, (_, index) => worker(index)));
parentPort?.postMessage('done');
