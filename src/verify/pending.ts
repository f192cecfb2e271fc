// The rows that must be compared again: per table, the keys the binlog changed after their range
// was verified (and keys found differing while the writers ran), and whole key ranges once there
// were too many keys to remember one by one. Pure bookkeeping; inline.ts feeds and drains it.
//
// Every entry carries a stamp. A re-check takes a snapshot of entries and their stamps and moves
// the stamp on; once the comparison says the rows are equal it removes only the entries whose
// stamp is still the one it read. A change reported meanwhile (the binlog side reports a change
// once it is written to the target) got a later stamp, so its key stays: a row changed while it
// was being compared is compared again. (Ghostferry counts changes per key for the same reason.)
import type { Row } from '../db/sql.js';
import { decodeRow, encodeRow } from '../state/codec.js';
import type { SavedPendingRows } from '../state/tracker.js';

/** A key range to compare again: after `after` (exclusive) through `through` (inclusive); undefined is open. */
export interface PendingRange {
  readonly after: Row | undefined;
  readonly through: Row | undefined;
  /** Source rows the range held when it was last verified: an estimate of the work. */
  readonly rows: number;
  readonly stamp: number;
}

/** A key entry as a re-check read it: the text names the key (a SQL literal or tuple), the value holds its stamp. */
export type KeyEntry = readonly [text: string, value: number];

interface TablePending {
  /** Key text → stamp · 2 + 1 if the key was found differing (0 if it was changed). */
  readonly keys: Map<string, number>;
  mismatches: number;
  ranges: PendingRange[];
}

export class PendingRows {
  private stamp = 1;
  private keyCount = 0;
  private readonly tables = new Map<string, TablePending>();

  private of(table: string): TablePending {
    let pending = this.tables.get(table);
    if (!pending) this.tables.set(table, (pending = { keys: new Map(), mismatches: 0, ranges: [] }));
    return pending;
  }

  private set(table: string, text: string, mismatch: boolean): void {
    const pending = this.of(table);
    const old = pending.keys.get(text);
    if (old === undefined) this.keyCount++;
    else if (old % 2 === 1) pending.mismatches--;
    if (mismatch) pending.mismatches++;
    pending.keys.set(text, this.stamp * 2 + (mismatch ? 1 : 0));
  }

  /** The binlog changed the row of this key (after its range's verification began). */
  changed(table: string, text: string): void {
    this.set(table, text, false);
  }

  /** The row of this key differed when compared while the writers ran: compare it again. */
  mismatched(table: string, text: string): void {
    this.set(table, text, true);
  }

  addRange(table: string, range: Omit<PendingRange, 'stamp'>): void {
    this.of(table).ranges.push({ ...range, stamp: this.stamp });
  }

  /** Every key entry of the table as it is now; entries changed from here on get a later stamp. */
  takeKeys(table: string): KeyEntry[] {
    const pending = this.tables.get(table);
    if (!pending || pending.keys.size === 0) return [];
    this.stamp++;
    return [...pending.keys];
  }

  takeRanges(table: string): PendingRange[] {
    const pending = this.tables.get(table);
    if (!pending || pending.ranges.length === 0) return [];
    this.stamp++;
    return [...pending.ranges];
  }

  /** The entries were compared equal (or are represented by newer entries): removes those not changed since they were taken. */
  settleKeys(table: string, entries: readonly KeyEntry[]): void {
    const pending = this.tables.get(table);
    if (!pending) return;
    for (const [text, value] of entries) {
      if (pending.keys.get(text) !== value) continue;
      pending.keys.delete(text);
      this.keyCount--;
      if (value % 2 === 1) pending.mismatches--;
    }
  }

  settleRange(table: string, range: PendingRange): void {
    const pending = this.tables.get(table);
    if (pending) pending.ranges = pending.ranges.filter((candidate) => candidate !== range);
  }

  get totalKeys(): number {
    return this.keyCount;
  }

  keys(table: string): number {
    return this.tables.get(table)?.keys.size ?? 0;
  }

  mismatches(table: string): number {
    return this.tables.get(table)?.mismatches ?? 0;
  }

  ranges(table: string): number {
    return this.tables.get(table)?.ranges.length ?? 0;
  }

  /** Rows waiting to be compared again: the keys, plus the rows the ranges held. */
  rows(table: string): number {
    const pending = this.tables.get(table);
    if (!pending) return 0;
    let rows = pending.keys.size;
    for (const range of pending.ranges) rows += range.rows;
    return rows;
  }

  /** The table remembering the most keys (the one to turn into ranges when there are too many). */
  largestTable(): string | undefined {
    let largest: string | undefined;
    let size = 0;
    for (const [table, pending] of this.tables) {
      if (pending.keys.size > size) {
        largest = table;
        size = pending.keys.size;
      }
    }
    return largest;
  }

  save(table: string): SavedPendingRows {
    const pending = this.tables.get(table);
    const keys: string[] = [];
    const mismatchedKeys: string[] = [];
    for (const [text, value] of pending?.keys ?? []) (value % 2 === 1 ? mismatchedKeys : keys).push(text);
    const ranges = (pending?.ranges ?? []).map((range) => ({ after: range.after ? encodeRow(range.after) : null, through: range.through ? encodeRow(range.through) : null, rows: range.rows }));
    return { keys, mismatchedKeys, ranges };
  }

  load(table: string, saved: SavedPendingRows | undefined): void {
    if (!saved) return;
    for (const text of saved.keys) this.changed(table, text);
    for (const text of saved.mismatchedKeys) this.mismatched(table, text);
    for (const range of saved.ranges) this.addRange(table, { after: range.after ? decodeRow(range.after) : undefined, through: range.through ? decodeRow(range.through) : undefined, rows: range.rows });
  }
}
