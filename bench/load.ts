// A paced row-event load on the source for the apply benchmarks, in a worker thread (see
// load-worker.ts). `events` is the count of row events the source actually produced
// (changed rows), readable at any moment; `stop()` waits for the in-flight transactions.
import { Worker } from 'node:worker_threads';
import type { LoadWorkerData } from './load-worker.js';

export interface UpdateLoadOptions {
  readonly socketPath: string;
  readonly database: string;
  readonly tables: number;
  readonly rowsPerTable: number;
  /** Row events per second over all connections; 0: as fast as the connections go. */
  readonly eventsPerSecond: number;
  readonly rowsPerStatement?: number;
  /** Statements per source transaction; default grows with the rate (fewer, larger commits at high rates). */
  readonly statementsPerTransaction?: number;
  readonly connections?: number;
  readonly seed?: number;
}

/** Statements per source transaction: about 400 source commits a second at most, 1 to 10 statements. */
export const defaultStatementsPerTransaction = (eventsPerSecond: number, rowsPerStatement = 10): number =>
  eventsPerSecond <= 0 ? 5 : Math.max(1, Math.min(10, Math.round(eventsPerSecond / rowsPerStatement / 400)));

export class UpdateLoad {
  private readonly shared = new SharedArrayBuffer(8 + 3 * 8);
  private readonly control = new Int32Array(this.shared, 0, 2);
  private readonly counters = new Float64Array(this.shared, 8, 3);
  private readonly worker: Worker;
  private readonly finished: Promise<void>;
  readonly startedAt = Date.now() / 1000;
  readonly statementsPerTransaction: number;

  constructor(options: UpdateLoadOptions) {
    const rowsPerStatement = options.rowsPerStatement ?? 10;
    this.statementsPerTransaction = options.statementsPerTransaction ?? defaultStatementsPerTransaction(options.eventsPerSecond, rowsPerStatement);
    const data: LoadWorkerData = {
      socketPath: options.socketPath,
      database: options.database,
      tables: options.tables,
      rowsPerTable: options.rowsPerTable,
      rowsPerStatement,
      statementsPerTransaction: this.statementsPerTransaction,
      connections: options.connections ?? 4,
      eventsPerSecond: options.eventsPerSecond,
      seed: options.seed ?? 1,
      shared: this.shared,
    };
    // The worker runs TypeScript: register tsx's loader inside it first (tsx does not carry into workers).
    const entry = new URL('./load-worker.ts', import.meta.url).href;
    const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
    this.worker = new Worker(code, { eval: true, workerData: data });
    this.finished = new Promise((resolve, reject) => {
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load worker exited with ${code}`))));
    });
    this.finished.catch(() => undefined);
  }

  /** Row events produced so far. */
  get events(): number {
    return this.counters[0]!;
  }

  get transactions(): number {
    return this.counters[1]!;
  }

  get errors(): number {
    return this.counters[2]!;
  }

  /** Asks every connection to stop after its current transaction, and waits for them. */
  async stop(): Promise<void> {
    Atomics.store(this.control, 0, 1);
    await this.finished;
  }
}
