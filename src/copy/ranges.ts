// The key ranges of one table's copy, and its frontier (docs/architecture.md, "The copy").
// Pure bookkeeping, no database.
//
// A table with a single-column integer primary key is split by key value into ranges that
// several workers copy at once (spirit's optimistic chunker): each range spans the keys that,
// at the density seen so far, hold about one batch of rows, bounded by the table's end mark
// (upTo). Any other key is one range, (lastKey, upTo], walked by one worker at a time.
//
// A range is walked in key order, one batch after another, from its start (exclusive) to its
// end (inclusive); it is done when a batch returns fewer rows than asked (the range holds no
// more: a sparse range returns few rows, an empty one none) or its last row is the range's end.
// Ranges complete in any order. The frontier, which the state records as the table's lastKey,
// is the key through which every row is copied: the end of the last range of the done prefix,
// or the last key copied within the first range not done. Ranges done beyond the frontier are
// not recorded: after a resume they are copied again, which is harmless (every write is an
// insert-ignore of the source's current row, read under its lock).
// The table is done when every range through upTo is done.
import type { Row, SqlValue } from '../db/sql.js';

/** A key range handed to a worker: rows after `after` (exclusive) through `through` (inclusive). */
export interface CopyRange {
  /** The last key copied in this range (its start, exclusive, until a batch is copied). */
  readonly after: Row | undefined;
  /** Inclusive end. */
  readonly through: Row;
}

interface RangeEntry {
  /** The range's fixed start (exclusive), for density. */
  readonly start: bigint | undefined;
  readonly through: Row;
  readonly end: bigint | undefined;
  cursor: Row | undefined;
  assigned: boolean;
  done: boolean;
  rows: number;
}

/** A key value as an integer: a raw value (decimal text bytes), a bigint or a number. */
export function integerKey(value: SqlValue): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  if (value === null) throw new TypeError('a NULL primary-key value');
  return BigInt(Buffer.isBuffer(value) ? value.toString('latin1') : value);
}

export interface TableRangesOptions {
  /** Split by key value (a single-column integer primary key). */
  readonly splittable: boolean;
  /** The state's lastKey: every row up to it is copied (undefined: none yet). */
  readonly lastKey: Row | undefined;
  /** The table's end mark. */
  readonly upTo: Row;
  /** The table's first key (splittable only, fresh tables): where the first range's span starts. */
  readonly firstKey?: Row | undefined;
}

/** Ranges done that the density is taken over. */
const DENSITY_WINDOW = 8;

export class TableRanges {
  private readonly splittable: boolean;
  private readonly upTo: Row;
  private readonly upToKey: bigint | undefined;
  /** Ranges not yet folded into the frontier, in key order. */
  private ranges: RangeEntry[] = [];
  /** Where the next new range starts (exclusive); undefined with `started` false: before the first key. */
  private nextStart: bigint | undefined;
  private handedOutAll = false;
  private frontierKey: Row | undefined;
  /** Key span and rows of the last ranges done: the density (recent, so that a gap or a dense stretch is followed quickly). */
  private recent: { span: number; rows: number }[] = [];
  /** Workers in this table now. */
  workers = 0;

  constructor(options: TableRangesOptions) {
    this.splittable = options.splittable;
    this.upTo = options.upTo;
    this.frontierKey = options.lastKey;
    if (!options.splittable) {
      this.ranges.push({ start: undefined, through: options.upTo, end: undefined, cursor: options.lastKey, assigned: false, done: false, rows: 0 });
      this.handedOutAll = true;
      return;
    }
    this.upToKey = integerKey(options.upTo[0]!);
    if (options.lastKey) this.nextStart = integerKey(options.lastKey[0]!);
    else if (options.firstKey) this.nextStart = integerKey(options.firstKey[0]!) - 1n;
    // Nothing left past the frontier (a resume of a table whose last range was done).
    if (this.nextStart !== undefined && this.nextStart >= this.upToKey) this.handedOutAll = true;
  }

  /** Every row up to this key is copied (the state's lastKey). */
  get frontier(): Row | undefined {
    return this.frontierKey;
  }

  get done(): boolean {
    return this.handedOutAll && this.ranges.length === 0;
  }

  /** A range is waiting for a worker (handed back, or key space not yet split). */
  get hasWork(): boolean {
    return !this.handedOutAll || this.ranges.some((range) => !range.assigned && !range.done);
  }

  /**
   * Keys per row over the last ranges done (at least 1: an integer key holds at most one row per
   * value). Empty ranges count as one row, so that across a gap in the keys the span grows
   * geometrically (each range about as wide as the recent ones together) instead of crawling.
   */
  private keysPerRow(): number {
    if (this.recent.length === 0) return 1;
    let span = 0;
    let rows = 0;
    for (const range of this.recent) {
      span += range.span;
      rows += range.rows;
    }
    return Math.max(1, span / Math.max(1, rows));
  }

  /**
   * The next range for a worker, sized to hold about `rows` rows: a handed-back one first (in
   * key order), else a new one past the last. Undefined when every range is taken or done.
   */
  take(rows: number): CopyRange | undefined {
    const waiting = this.ranges.find((range) => !range.assigned && !range.done);
    if (waiting) {
      waiting.assigned = true;
      return { after: waiting.cursor, through: waiting.through };
    }
    if (this.handedOutAll) return undefined;
    const span = BigInt(Math.max(1, Math.round(Math.max(1, rows) * this.keysPerRow())));
    const start = this.nextStart;
    // Before the first key (no first key known): the first range ends `span` keys past nothing,
    // so it is open below; its end is upTo when the span cannot be placed.
    let end = start === undefined ? this.upToKey! : start + span;
    if (end >= this.upToKey!) end = this.upToKey!;
    const through: Row = end === this.upToKey ? this.upTo : [end];
    this.ranges.push({ start, through, end, cursor: start === undefined ? undefined : [start], assigned: true, done: false, rows: 0 });
    this.nextStart = end;
    if (end === this.upToKey) this.handedOutAll = true;
    return { after: start === undefined ? undefined : [start], through };
  }

  private entry(range: CopyRange): RangeEntry {
    const entry = this.ranges.find((candidate) => candidate.through === range.through);
    if (!entry) throw new Error('copy range not found (already done?)');
    return entry;
  }

  /**
   * A batch of `rows` rows was copied in `range`, ending at `lastKey` (undefined: none read);
   * `exhausted`: the batch returned fewer rows than asked. Returns the range to continue with
   * (undefined when it is done) and whether the frontier moved.
   */
  batchCopied(range: CopyRange, rows: number, lastKey: Row | undefined, exhausted: boolean): { next: CopyRange | undefined; frontierMoved: boolean } {
    const entry = this.entry(range);
    entry.rows += rows;
    if (lastKey) entry.cursor = lastKey;
    const reachedEnd = lastKey !== undefined && entry.end !== undefined && integerKey(lastKey[0]!) >= entry.end;
    if (exhausted || reachedEnd) {
      entry.done = true;
      entry.assigned = false;
      if (entry.end !== undefined && entry.start !== undefined) {
        this.recent.push({ span: Number(entry.end - entry.start), rows: entry.rows });
        if (this.recent.length > DENSITY_WINDOW) this.recent.shift();
      }
    }
    const frontierMoved = this.advanceFrontier();
    return { next: entry.done ? undefined : { after: entry.cursor, through: entry.through }, frontierMoved };
  }

  /** A worker stops before its range is done (it retires, or the copy stops): another continues it from its cursor. */
  handBack(range: CopyRange): void {
    const entry = this.ranges.find((candidate) => candidate.through === range.through);
    if (entry && !entry.done) entry.assigned = false;
  }

  private advanceFrontier(): boolean {
    const before = this.frontierKey;
    while (this.ranges[0]?.done) this.frontierKey = this.ranges.shift()!.through;
    const first = this.ranges[0];
    if (first?.cursor && (first.start === undefined || integerKey(first.cursor[0]!) > first.start || !this.splittable)) this.frontierKey = first.cursor;
    return this.frontierKey !== before;
  }

  /** Ranges done but not yet in the frontier (copied again after a resume). */
  get doneBeyondFrontier(): number {
    return this.ranges.filter((range) => range.done).length;
  }
}
