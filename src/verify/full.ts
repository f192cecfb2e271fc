// The full comparison in parallel: `tideferry verify CONFIG`, and cutover with
// verify.atCutover = all. Tables are cut into key ranges of about SPLIT_ROWS rows each by walking
// their primary key on the source (the server finds each boundary: `LIMIT 1 OFFSET n` after the
// previous one, so keys are never compared in JS); workers, each with a connection to each
// server, compare ranges as the walk finds them.
import { classifyError, defaultRetryPolicy, type RetryPolicy } from '../db/retry.js';
import { keyRange, selectList } from '../copy/cursor.js';
import type { Endpoint } from '../db/connection.js';
import type { TableSchema } from '../db/schema.js';
import { primaryKeyColumns, tableKey } from '../db/schema.js';
import { quoteTable, type Row } from '../db/sql.js';
import { NAMED_ROWS, tableDifference, type TableDifference, type VerifyReport } from './checksum.js';
import { compareRange, countDifferences, openComparisonPair, type ComparisonPair as Pair, type DifferenceKind, type RowDifference } from './compare.js';

/**
 * Rows per range: large enough that the walk costs little beside the comparison (one index
 * query per range), small enough that a 1M-row table spreads over the workers.
 */
const SPLIT_ROWS = 50_000;
const CHUNK_ROWS = 10_000;

export interface FullVerifyOptions {
  readonly source: Endpoint;
  readonly target: Endpoint;
  readonly tables: readonly TableSchema[];
  readonly rowFilters: ReadonlyMap<string, string>;
  readonly concurrency: number;
  readonly signal?: AbortSignal;
  /** Rows per range (tests use small ones to get several). */
  readonly splitRows?: number;
  /** The run's retry policy: a lost connection (a server restarting) is opened again and the task retried. */
  readonly retry?: RetryPolicy;
}

type Task = { readonly kind: 'split'; readonly table: TableSchema } | { readonly kind: 'compare'; readonly table: TableSchema; readonly after: Row | undefined; readonly through: Row | undefined };

interface TableTotals {
  rows: number;
  counts: Record<DifferenceKind, number>;
  named: RowDifference[];
}

/** Compares every row of the tables, in parallel across tables and key ranges. */
export async function verifyAll(options: FullVerifyOptions): Promise<VerifyReport> {
  const splitRows = options.splitRows ?? SPLIT_ROWS;
  const queue: Task[] = options.tables.map((table) => ({ kind: 'split', table }));
  const totals = new Map<string, TableTotals>(options.tables.map((table) => [tableKey(table), { rows: 0, counts: countDifferences([]), named: [] }]));
  let running = 0;
  let waiting: (() => void)[] = [];
  const notify = () => {
    const waiters = waiting;
    waiting = [];
    for (const waiter of waiters) waiter();
  };
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;

  // Where each table's split got to: a split retried after a lost connection goes on from there.
  const splitAfter = new Map<string, Row | undefined>();
  const split = async (pair: Pair, table: TableSchema) => {
    const keys = primaryKeyColumns(table);
    let after = splitAfter.get(tableKey(table));
    for (;;) {
      signal.throwIfAborted();
      const [rows] = await pair.source.query({
        sql: `SELECT ${selectList(keys)} FROM ${quoteTable(table)}${keyRange(table, after, undefined, undefined)} LIMIT 1 OFFSET ${splitRows - 1}`,
        rowsAsArray: true,
        typeCast: ((field: { buffer(): Buffer | null }) => field.buffer()) as never,
      });
      const boundary = (rows as unknown as Row[])[0];
      // The last range is open: rows only the target has, past the source's last key, are in it.
      queue.push({ kind: 'compare', table, after, through: boundary });
      notify();
      if (!boundary) return;
      after = boundary;
      splitAfter.set(tableKey(table), after);
    }
  };

  const compare = async (pair: Pair, task: Extract<Task, { kind: 'compare' }>) => {
    const key = tableKey(task.table);
    const result = await compareRange({ source: pair.source, target: pair.target, table: task.table, after: task.after, through: task.through, filter: options.rowFilters.get(key), chunkRows: CHUNK_ROWS, signal });
    const total = totals.get(key)!;
    total.rows += result.rows;
    for (const kind of Object.keys(result.counts) as DifferenceKind[]) total.counts[kind] += result.counts[kind];
    for (const difference of result.differences) if (total.named.length < NAMED_ROWS) total.named.push(difference);
  };

  const retry = options.retry ?? defaultRetryPolicy();
  const worker = async () => {
    let pair: Pair | undefined;
    const close = async () => {
      const open = pair;
      pair = undefined;
      await open?.source.end().catch(() => undefined);
      await open?.target.end().catch(() => undefined);
    };
    try {
      for (;;) {
        const task = queue.shift();
        if (!task) {
          if (running === 0) return notify();
          await new Promise<void>((resolve) => waiting.push(resolve));
          continue;
        }
        running++;
        try {
          // A compare task adds to the totals only once done: retried whole, it counts once.
          await retry.run({ server: 'target', part: 'verify', signal, beforeRetry: async (error) => { if (classifyError(error) === 'connection') await close(); } }, async () => {
            pair ??= await openComparisonPair(options.source, options.target);
            if (task.kind === 'split') await split(pair, task.table);
            else await compare(pair, task);
          });
        } finally {
          running--;
          notify();
        }
      }
    } finally {
      await close();
    }
  };

  const workers = Array.from({ length: Math.max(1, options.concurrency) }, () =>
    worker().catch((error: unknown) => {
      failed.abort(error);
      notify();
      throw error;
    }),
  );
  const results = await Promise.allSettled(workers);
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  // The first error is the cause; the others stopped because of it.
  if (failure) throw failed.signal.reason ?? failure.reason;
  options.signal?.throwIfAborted();
  const differences: TableDifference[] = [];
  let rowsChecked = 0;
  for (const table of options.tables) {
    const total = totals.get(tableKey(table))!;
    rowsChecked += total.rows;
    const difference = tableDifference(table, total.named, total.counts);
    if (difference) differences.push(difference);
  }
  return { tablesChecked: options.tables.length, rowsChecked, differences };
}
