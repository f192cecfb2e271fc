// Verification while the copy runs (docs/architecture.md, "Verification"; Ghostferry's inline
// verifier is the model). Each copied key range is compared soon after it is written, in key
// order per table, while the writers still run; the binlog's changes of a table whose copy has
// begun are remembered by key (pending.ts); remembered rows are compared again in the background
// every second, and at cutover — writers stopped, binlog drained — only what is still remembered
// is compared. At the end every row is known equal, or the run fails and names it.
//
// Why that is enough: a range compared at [start, end] shows source and target equal for every
// row of it, except where a change was in flight; every change reported after `start` is
// remembered, and a change is reported only once it is written to the target, so a change the
// comparison could have missed is reported after `start`. A row changed before its range's
// comparison began is compared by it. Differences seen while the writers run are remembered and
// compared again later; only those still there at cutover fail the run.
//
// Background work follows the copy's pacing: each chunk waits at the copy gate (see admit()).
import { keyTuple, tableWrites, type TableWrites } from '../binlog/apply/statements.js';
import type { RowItem } from '../binlog/events.js';
import type { CopyGate } from '../copy/copier.js';
import type { Endpoint } from '../db/connection.js';
import { classifyError, defaultRetryPolicy, ServerRefusedError, ServerUnreachableError, type RetryPolicy } from '../db/retry.js';
import type { TableSchema } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import type { Row } from '../db/sql.js';
import { VerifierError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { SavedVerification, StateTracker } from '../state/tracker.js';
import { tableDifference, type TableDifference, type VerifyReport } from './checksum.js';
import { compareKeys, compareRange, countDifferences, keyLiteral, openComparisonPair, type ChunkResult, type ComparisonPair as Pair, type RowDifference } from './compare.js';
import { PendingRows, type KeyEntry } from './pending.js';
import { TableProgress } from './progress.js';
import { rangesHoldingKeys, type UnitRange } from './units.js';

export interface InlineVerifierOptions {
  readonly source: Endpoint;
  readonly target: Endpoint;
  readonly tables: readonly TableSchema[];
  readonly rowFilters: ReadonlyMap<string, string>;
  /** The copy's progress (what is copied) and the verification the state file held. */
  readonly state: StateTracker;
  /** Verification workers, each with a connection to each server. */
  readonly concurrency: number;
  readonly chunkRows: number;
  /** Changed keys remembered one by one, in all; past it the largest table's become key ranges. */
  readonly maxPendingKeys: number;
  readonly logger: Logger;
  /** Rows compared (inline, again, at cutover), for the metrics. */
  readonly onRowsVerified?: (table: string, rows: number) => void;
  /** A comparison met a transient error (its code) and is retried. */
  readonly onRetry?: (code: string) => void;
  /** The run's retry policy (db/retry.ts); a default one otherwise. */
  readonly retry?: RetryPolicy;
}

export interface TableVerificationStatus {
  readonly rowsVerified: number;
  readonly complete: boolean;
  readonly pendingRows: number;
  readonly mismatches: number;
}

/** Remembered rows of a verified table are compared again at most this often: changes to hot rows gather meanwhile. */
const RECHECK_INTERVAL_MS = 1000;
/** Keys per re-check query: a primary-key range read of each server, well under any packet limit. */
const KEYS_PER_QUERY = 1000;
const KEY_BYTES_PER_QUERY = 512 * 1024;
const STATEMENT_BYTES = 1024 * 1024;
/**
 * Re-checks of a table after it was verified before cutover may begin even though none was short
 * (each took over RECHECK_INTERVAL_MS: the writes outpace the comparisons): waiting longer would
 * not shrink what cutover compares.
 */
const MAX_RECHECKS_BEFORE_READY = 5;
const IDLE_MS = 100;
const NO_TEMPORARY_TABLES = new Set(['ER_TABLEACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'ER_OPTION_PREVENTS_STATEMENT']);

/**
 * A background task stops at its next chunk when too many keys are remembered, so that a worker
 * held at the copy gate (a pause, the binlog lag) does not keep the table it works on, and with
 * it the turning of keys into ranges, waiting: the memory bound holds while the copy is held.
 */
class YieldToCollapse extends Error {}

interface Task {
  readonly table: string | undefined;
  run(pair: Pair, signal: AbortSignal): Promise<void>;
}

interface Recheck {
  dueAt: number;
  /** The last re-check of the table: when it began, and how long it took. */
  last?: { readonly startedAt: number; readonly seconds: number };
  /** Re-checks since the table was verified. */
  sinceComplete: number;
}

const keyBatches = (entries: readonly KeyEntry[]): KeyEntry[][] => {
  const batches: KeyEntry[][] = [];
  let batch: KeyEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (batch.length >= KEYS_PER_QUERY || (batch.length > 0 && bytes + entry[0].length > KEY_BYTES_PER_QUERY)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry[0].length + 1;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
};

export class InlineVerifier {
  private readonly pending = new PendingRows();
  private readonly progress = new Map<string, TableProgress>();
  private readonly schemas = new Map<string, TableSchema>();
  private readonly writes = new Map<string, TableWrites>();
  private readonly tracked = new Set<string>();
  private readonly busy = new Set<string>();
  private readonly rechecks = new Map<string, Recheck>();
  private readonly completedAt = new Map<string, number>();
  private readonly pairs: (Pair | undefined)[] = [];
  private background = new AbortController();
  private workers: Promise<void>[] = [];
  private gate: CopyGate | undefined;
  private readonly waiting = new Set<() => void>();
  private nextTable = 0;
  private collapsing = false;
  /** Aborted while more keys are remembered than verify.maxPendingKeys: background tasks yield. */
  private overflow = new AbortController();
  private overflowLogged = false;
  private fail: (error: unknown) => void = () => undefined;
  readonly failedWith: Promise<never>;

  constructor(private readonly options: InlineVerifierOptions) {
    const { state } = options;
    for (const table of options.tables) {
      const key = tableKey(table);
      this.schemas.set(key, table);
      const saved = state.savedVerification(key);
      const progress = TableProgress.load(saved?.progress);
      this.progress.set(key, progress);
      this.pending.load(key, saved?.pending);
      if (progress.complete) this.completedAt.set(key, 0);
      this.rechecks.set(key, { dueAt: 0, sinceComplete: 0 });
      this.isTracked(key);
    }
    this.failedWith = new Promise<never>((_, reject) => (this.fail = reject));
    this.failedWith.catch(() => undefined);
    state.attachVerification(() => this.save());
  }

  /**
   * A table's changes are remembered from the moment its copy began (the state records it before
   * the first batch, and the first range is compared after that batch): simple, and it covers a
   * change in flight during any range's comparison.
   */
  private isTracked(key: string): boolean {
    if (this.tracked.has(key)) return true;
    const table = this.options.state.table(key);
    if (table.upTo === null && !table.done) return false;
    this.tracked.add(key);
    return true;
  }

  /** The binlog side wrote these changes to the target (ferry.ts passes every applied batch). */
  noteChanges(changes: readonly RowItem[]): void {
    let noted = false;
    for (const change of changes) {
      const key = change.table;
      if (!this.tracked.has(key) && !(this.schemas.has(key) && this.isTracked(key))) continue;
      let writes = this.writes.get(key);
      if (!writes) this.writes.set(key, (writes = tableWrites(this.schemas.get(key)!)));
      // An update that moves a key changes two rows: the one that left and the one that came.
      const before = change.type === 'insert' ? undefined : keyTuple(writes, change.before);
      if (before !== undefined) this.pending.changed(key, before);
      if (change.type !== 'delete') {
        const after = keyTuple(writes, change.after);
        if (after !== before) this.pending.changed(key, after);
      }
      noted = true;
    }
    if (!noted) return;
    this.options.state.verificationChanged();
    if (this.pending.totalKeys > this.options.maxPendingKeys) {
      this.overflow.abort();
      this.wake();
    }
  }

  /** Work may be waiting (a batch was copied). */
  wake(): void {
    for (const waiter of [...this.waiting]) waiter();
  }

  /** Starts the background workers; `gate` paces them like copy batches. */
  start(gate: CopyGate | undefined, signal: AbortSignal): void {
    this.gate = gate;
    const stop = AbortSignal.any([signal, this.background.signal]);
    for (let index = 0; index < this.options.concurrency; index++) this.workers.push(this.work(index, stop));
  }

  private async work(index: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const task = this.nextTask();
      if (!task) {
        await this.idle(signal);
        continue;
      }
      if (task.table) this.busy.add(task.table);
      try {
        await this.withPair(index, (pair) => task.run(pair, signal));
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof YieldToCollapse) {
          await this.idle(signal);
          continue;
        }
        // A server gone past the bound, or refusing: the policy's sentence names it already.
        if (error instanceof ServerUnreachableError || error instanceof ServerRefusedError) {
          this.fail(error);
          return;
        }
        this.fail(error instanceof VerifierError ? error : new VerifierError(`verification${task.table ? ` of ${task.table}` : ''} failed: ${errorMessage(error)}`, { cause: error }));
        return;
      } finally {
        if (task.table) this.busy.delete(task.table);
      }
    }
  }

  private idle(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, IDLE_MS);
      this.waiting.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Runs `work` on this worker's connections; a lost connection (either server restarting) is
   * opened again and the work retried by the run's policy until retry.giveUpAfterSeconds (it only
   * reads: a range is compared again from the progress made).
   */
  private async withPair<T>(index: number, work: (pair: Pair) => Promise<T>): Promise<T> {
    this.retryPolicy ??= this.options.retry ?? defaultRetryPolicy(this.options.logger);
    return this.retryPolicy.run(
      {
        server: 'target',
        part: 'verify',
        onRetry: (code) => this.options.onRetry?.(code),
        beforeRetry: async (error) => {
          if (classifyError(error) === 'connection') await this.closePair(index);
        },
      },
      async () => {
        let pair = this.pairs[index];
        pair ??= this.pairs[index] = await openComparisonPair(this.options.source, this.options.target);
        return work(pair);
      },
    );
  }
  private retryPolicy: RetryPolicy | undefined;

  private async closePair(index: number): Promise<void> {
    const pair = this.pairs[index];
    this.pairs[index] = undefined;
    await pair?.source.end().catch(() => undefined);
    await pair?.target.end().catch(() => undefined);
  }

  private nextTask(): Task | undefined {
    if (this.pending.totalKeys > this.options.maxPendingKeys && !this.collapsing) {
      const table = this.pending.largestTable();
      if (table && !this.busy.has(table)) return { table, run: (pair) => this.collapse(pair, table) };
    }
    const keys = [...this.schemas.keys()];
    const now = performance.now();
    for (let offset = 0; offset < keys.length; offset++) {
      const key = keys[(this.nextTable + offset) % keys.length]!;
      if (this.busy.has(key)) continue;
      if (this.nextRange(key)) {
        this.nextTable = (this.nextTable + offset + 1) % keys.length;
        // The range is read again when the task runs: a retry goes on from the progress made.
        return {
          table: key,
          run: async (pair, signal) => {
            const range = this.nextRange(key);
            if (range) await this.verifyRange(pair, key, range, signal, true);
          },
        };
      }
    }
    // Remembered rows are compared again during the copy too (those not copied yet are let go,
    // see recheck()): what a long copy remembers stays what changed in the last interval.
    for (const key of keys) {
      if (this.busy.has(key) || this.pending.rows(key) === 0) continue;
      if (this.rechecks.get(key)!.dueAt > now) continue;
      return { table: key, run: (pair, signal) => this.recheck(pair, key, signal, true).then(() => undefined) };
    }
    return undefined;
  }

  private nextRange(key: string): { after: Row | undefined; through: Row | undefined } | undefined {
    const copy = this.options.state.table(key);
    return this.progress.get(key)!.nextRange(this.options.state.lastKey(key), copy.done);
  }

  /**
   * Background work waits wherever the copy gate holds a copy batch (an operator's pause, the
   * binlog lag over its target, a saturated binlog side, replica lag; in the lag's middle band,
   * until no copy batch is in flight). It passes the gate without keeping the batch's place
   * (batchDone at once): its reads weigh little beside a copy batch's writes, and a comparison
   * stuck on a locked target table must not hold the copy back. While more keys are remembered
   * than the limit, it does not wait but yields (YieldToCollapse), so that the keys can become
   * ranges whatever holds the copy.
   */
  private async admit(paced: boolean, signal: AbortSignal): Promise<void> {
    const gate = this.gate;
    if (!paced || !gate) return;
    for (;;) {
      if (this.overflow.signal.aborted) {
        if (this.pending.totalKeys > this.options.maxPendingKeys) throw new YieldToCollapse('too many changed keys: the keys go into ranges first');
        // Back under the limit (re-checks forgot keys meanwhile): wait at the gate as usual.
        this.overflow = new AbortController();
      }
      const overflow = this.overflow.signal;
      try {
        await gate.wait(AbortSignal.any([signal, overflow]));
      } finally {
        gate.batchDone?.();
      }
      if (!overflow.aborted || signal.aborted) return;
    }
  }

  private remember(key: string, table: TableSchema, differences: readonly RowDifference[]): void {
    for (const difference of differences) this.pending.mismatched(key, keyLiteral(table, difference.key));
  }

  /**
   * Compares a key range of the table chunk by chunk, each chunk passing the gate when paced;
   * what differs is remembered to compare again, every chunk counted, then handed to `chunkDone`.
   */
  private async compareChunks(pair: Pair, key: string, range: { after: Row | undefined; through: Row | undefined }, signal: AbortSignal, paced: boolean, chunkDone: (chunk: ChunkResult) => void): Promise<void> {
    const table = this.schemas.get(key)!;
    await compareRange({
      source: pair.source,
      target: pair.target,
      table,
      after: range.after,
      through: range.through,
      filter: this.options.rowFilters.get(key),
      chunkRows: this.options.chunkRows,
      signal,
      beforeChunk: () => this.admit(paced, signal),
      afterChunk: (chunk) => {
        this.remember(key, table, chunk.differences);
        this.options.onRowsVerified?.(key, chunk.rows);
        chunkDone(chunk);
      },
    });
  }

  private async verifyRange(pair: Pair, key: string, range: { after: Row | undefined; through: Row | undefined }, signal: AbortSignal, paced: boolean): Promise<number> {
    const progress = this.progress.get(key)!;
    const open = range.through === undefined;
    this.tracked.add(key);
    progress.rangeStarted(range.through);
    let rows = 0;
    await this.compareChunks(pair, key, range, signal, paced, (chunk) => {
      rows += chunk.rows;
      progress.chunkVerified(chunk.rows, chunk.end, chunk.final, open);
      this.options.state.verificationChanged();
    });
    if (progress.complete && !this.completedAt.has(key)) {
      this.completedAt.set(key, performance.now());
      this.options.logger.info({ table: key, rows: progress.rowsVerified, pending: this.pending.rows(key) }, 'table verified while copying; changed rows are compared again');
    }
    return rows;
  }

  /**
   * Compares every remembered row of the table once. Equal rows are forgotten (unless changed
   * meanwhile); differing ones stay, as keys. Returns what differed (final at cutover).
   */
  private async recheck(pair: Pair, key: string, signal: AbortSignal, paced: boolean): Promise<{ rows: number; differences: RowDifference[] }> {
    const table = this.schemas.get(key)!;
    const filter = this.options.rowFilters.get(key);
    const startedAt = performance.now();
    const differences: RowDifference[] = [];
    let rows = 0;
    // Rows past the copy's last key are not copied yet: their range is compared later, after the
    // change that made them remembered, so they need no entry (read before the keys are taken).
    const copiedThrough = this.options.state.table(key).done ? null : this.options.state.lastKey(key);
    const entries = this.pending.takeKeys(key);
    // One form of key text per query (keyIn): the binlog's (changed) apart from the verifier's (differing).
    for (const group of [entries.filter(([, value]) => value % 2 === 0), entries.filter(([, value]) => value % 2 === 1)]) {
      for (const batch of keyBatches(group)) {
        await this.admit(paced, signal);
        signal.throwIfAborted();
        const found = await compareKeys({ source: pair.source, target: pair.target, table, keys: batch.map(([text]) => text), filter, copiedThrough });
        // Forgotten first, remembered again by the verifier's text where they differ.
        this.pending.settleKeys(key, batch);
        for (const difference of found) {
          if (difference.beyondCopy && difference.kind !== 'only on target') continue;
          this.pending.mismatched(key, keyLiteral(table, difference.key));
          if (!difference.beyondCopy) differences.push(difference);
        }
        rows += batch.length;
        this.options.onRowsVerified?.(key, batch.length);
        this.options.state.verificationChanged();
      }
    }
    for (const range of this.pending.takeRanges(key)) {
      await this.compareChunks(pair, key, range, signal, paced, (chunk) => {
        differences.push(...chunk.differences);
        rows += chunk.rows;
      });
      this.pending.settleRange(key, range);
      this.options.state.verificationChanged();
    }
    const recheck = this.rechecks.get(key)!;
    const now = performance.now();
    this.rechecks.set(key, {
      dueAt: now + RECHECK_INTERVAL_MS,
      last: { startedAt, seconds: (now - startedAt) / 1000 },
      sinceComplete: startedAt >= (this.completedAt.get(key) ?? Infinity) ? recheck.sinceComplete + 1 : 0,
    });
    // A row can be in a key and a range, or in two ranges that share a unit (two collapses of
    // the same table): it differs once.
    const unique = new Map(differences.map((difference) => [keyLiteral(table, difference.key), difference]));
    return { rows, differences: [...unique.values()] };
  }

  /** Too many keys remembered: the largest table's keys become the ranges (units) that hold them. */
  private async collapse(pair: Pair, key: string): Promise<void> {
    this.collapsing = true;
    try {
      const table = this.schemas.get(key)!;
      const progress = this.progress.get(key)!;
      const entries = this.pending.takeKeys(key);
      // The units as they are now: a key past them was changed before any later range's comparison began.
      const units = progress.units.map((unit) => ({ ...unit }));
      const openRows = progress.openStarted ? progress.openRows : undefined;
      let ranges: UnitRange[];
      try {
        ranges = await rangesHoldingKeys({ target: pair.target, table, keys: entries.map(([text]) => text), units, openRows, migrated: new Set(this.schemas.keys()), maxStatementBytes: STATEMENT_BYTES });
      } catch (error) {
        if (!NO_TEMPORARY_TABLES.has((error as { code?: string }).code ?? '')) throw error;
        // Without a temporary table the keys cannot be placed: everything verified so far is compared again.
        this.options.logger.warn({ table: key, error: errorMessage(error) }, 'cannot create a temporary table on the target to place changed keys in key ranges (grant CREATE TEMPORARY TABLES): the whole verified part of the table will be compared again');
        const rows = units.reduce((sum, unit) => sum + unit.rows, openRows ?? 0);
        ranges = units.length > 0 || openRows !== undefined ? [{ after: undefined, through: openRows !== undefined ? undefined : units[units.length - 1]!.through, rows }] : [];
      }
      this.pending.settleKeys(key, entries);
      for (const range of ranges) this.pending.addRange(key, range);
      this.options.state.verificationChanged();
      const figures = { table: key, keys: entries.length, ranges: ranges.length, rows: ranges.reduce((sum, range) => sum + range.rows, 0), limit: this.options.maxPendingKeys };
      if (!this.overflowLogged) this.options.logger.warn(figures, 'more changed rows to compare again than verify.maxPendingKeys: the largest table remembers key ranges instead of keys (said once)');
      else this.options.logger.debug(figures, 'changed keys turned into key ranges');
      this.overflowLogged = true;
    } finally {
      this.collapsing = false;
    }
  }

  /**
   * Ready for cutover: every table verified, and every remembered row of it compared again once
   * since, by a re-check that took at most a re-check interval. What cutover then compares is
   * about what the binlog changes in an interval, and the drain: it follows the rate of changes,
   * which no waiting shrinks. (Ghostferry's VerifyBeforeCutover stops its re-check rounds the same
   * way: when the set is small, or stops shrinking.)
   */
  get ready(): boolean {
    if (this.collapsing) return false;
    for (const [key, progress] of this.progress) {
      if (!progress.complete) return false;
      if (this.pending.rows(key) === 0) continue;
      const recheck = this.rechecks.get(key)!;
      if (recheck.sinceComplete === 0) return false;
      if (recheck.last!.seconds * 1000 > RECHECK_INTERVAL_MS && recheck.sinceComplete < MAX_RECHECKS_BEFORE_READY) return false;
    }
    return true;
  }

  private async stopBackground(): Promise<void> {
    this.background.abort(new Error('verification in the background stopped'));
    await Promise.all(this.workers);
    this.workers = [];
  }

  /**
   * At cutover (writers stopped, binlog drained): compares whatever was not verified yet and every
   * remembered row, in parallel across tables. What differs now is a difference.
   */
  async atCutover(signal: AbortSignal): Promise<VerifyReport> {
    await this.stopBackground();
    const keys = [...this.schemas.keys()];
    const differences: TableDifference[] = [];
    let rowsChecked = 0;
    let next = 0;
    const worker = async (index: number) => {
      for (let key = keys[next++]; key !== undefined; key = keys[next++]) {
        const table = this.schemas.get(key)!;
        const found = await this.withPair(index, async (pair) => {
          for (let range = this.nextRange(key); range; range = this.nextRange(key)) rowsChecked += await this.verifyRange(pair, key, range, signal, false);
          const result = await this.recheck(pair, key, signal, false);
          rowsChecked += result.rows;
          return result.differences;
        });
        const difference = tableDifference(table, found, countDifferences(found));
        if (difference) differences.push(difference);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency, keys.length)) }, (_, index) => worker(index)));
    return { tablesChecked: keys.length, rowsChecked, differences };
  }

  /** Stops the workers and closes the connections. */
  async stop(): Promise<void> {
    await this.stopBackground();
    await Promise.all(this.pairs.map((_, index) => this.closePair(index)));
  }

  save(): SavedVerification {
    const saved: Record<string, { progress: ReturnType<TableProgress['save']>; pending: ReturnType<PendingRows['save']> }> = {};
    for (const [key, progress] of this.progress) saved[key] = { progress: progress.save(), pending: this.pending.save(key) };
    return saved;
  }

  status(key: string): TableVerificationStatus {
    const progress = this.progress.get(key);
    return { rowsVerified: progress?.rowsVerified ?? 0, complete: progress?.complete ?? false, pendingRows: this.pending.rows(key), mismatches: this.pending.mismatches(key) };
  }
}
