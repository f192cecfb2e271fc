// A paced row-event load on the source for the apply benchmarks, in a worker thread (see
// load-worker.ts). `events` is the count of row events the source actually produced
// (changed rows), readable at any moment; `stop()` waits for the in-flight transactions.
import { Worker } from 'node:worker_threads';
import type { LoadWorkerData } from './load-worker.js';

/** The statement sequence a row's c column carries: connection × 1e9 + sequence, in its last 19 characters. */
export const SEQUENCE_DIGITS = 19;
export const SEQUENCES_PER_CONNECTION = 1e9;

const COMMIT_RING = 1 << 18;

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
  private readonly commitTimes: Float64Array;
  private readonly connections: number;
  private readonly worker: Worker;
  private readonly finished: Promise<void>;
  readonly startedAt = Date.now() / 1000;
  readonly statementsPerTransaction: number;

  constructor(options: UpdateLoadOptions) {
    const rowsPerStatement = options.rowsPerStatement ?? 10;
    this.statementsPerTransaction = options.statementsPerTransaction ?? defaultStatementsPerTransaction(options.eventsPerSecond, rowsPerStatement);
    this.connections = options.connections ?? 4;
    const commitBuffer = new SharedArrayBuffer(this.connections * COMMIT_RING * 8);
    this.commitTimes = new Float64Array(commitBuffer);
    const data: LoadWorkerData = {
      socketPath: options.socketPath,
      database: options.database,
      tables: options.tables,
      rowsPerTable: options.rowsPerTable,
      rowsPerStatement,
      statementsPerTransaction: this.statementsPerTransaction,
      connections: this.connections,
      eventsPerSecond: options.eventsPerSecond,
      seed: options.seed ?? 1,
      shared: this.shared,
      commitTimes: commitBuffer,
      commitRing: COMMIT_RING,
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

  /**
   * When the source transaction that last wrote a row committed (seconds since the epoch), from
   * the row's c column; undefined if the row was not written by this load or its time is unknown.
   */
  commitTimeOfRow(c: unknown): number | undefined {
    // Row images carry text as a literal, `_utf8mb4 X'…'`: the bytes in hex.
    const hex = typeof c === 'string' ? /X'([0-9a-f]*)'/i.exec(c)?.[1] : undefined;
    const text = hex !== undefined ? Buffer.from(hex, 'hex').toString('latin1') : Buffer.isBuffer(c) ? c.toString('latin1') : c;
    if (typeof text !== 'string' || text.length < SEQUENCE_DIGITS) return undefined;
    const tag = Number(text.trimEnd().slice(-SEQUENCE_DIGITS));
    if (!Number.isSafeInteger(tag)) return undefined;
    const connection = Math.floor(tag / SEQUENCES_PER_CONNECTION);
    if (connection >= this.connections) return undefined;
    const time = this.commitTimes[connection * COMMIT_RING + ((tag % SEQUENCES_PER_CONNECTION) % COMMIT_RING)];
    return time && time >= this.startedAt - 1 ? time : undefined;
  }

  /** Asks every connection to stop after its current transaction, and waits for them. */
  async stop(): Promise<void> {
    Atomics.store(this.control, 0, 1);
    await this.finished;
  }
}
