// How far the inline verification of one table has come: the copied key ranges are verified in
// key order, so one key says what is verified (every row up to it), and a flag says the last,
// open range — past the last key copied, where the binlog's inserts land — is verified too.
// The ranges verified are also kept as units (their end keys, in the server's key order since the
// copy walks that order), coarsened to at most MAX_UNITS: when too many changed keys must be
// remembered, they are mapped to these units (units.ts) and whole units are compared again.
// Pure bookkeeping.
import type { Row } from '../db/sql.js';
import { decodeRow, encodeRow } from '../state/codec.js';
import type { SavedVerificationProgress } from '../state/tracker.js';

/**
 * Units kept per table. 1024 end keys are a few tens of KB in the state file for most keys;
 * a unit then holds a 1024th of the table at worst (about 1,000 rows for a 1M-row table), which
 * is what a table re-compares per unit once its changed keys overflowed.
 */
export const MAX_UNITS = 1024;

export interface Unit {
  /** Inclusive end key; the unit starts after the previous unit's end. */
  readonly through: Row;
  rows: number;
}

const same = (a: Row | undefined, b: Row | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && JSON.stringify(encodeRow(a)) === JSON.stringify(encodeRow(b)));

export class TableProgress {
  /** Every row up to this key is verified; undefined: none yet (unless complete). */
  verifiedThrough: Row | undefined;
  /** The open range past the copy's last key was verified: the whole table has been verified once. */
  complete = false;
  /** The open range's verification began (changed keys past the last unit then belong to it). */
  openStarted = false;
  /** Rows verified inline, over every run of this migration. */
  rowsVerified = 0;
  openRows = 0;
  units: Unit[] = [];

  static load(saved: SavedVerificationProgress | undefined): TableProgress {
    const progress = new TableProgress();
    if (!saved) return progress;
    progress.verifiedThrough = saved.verifiedThrough ? decodeRow(saved.verifiedThrough) : undefined;
    progress.complete = saved.complete;
    progress.openStarted = saved.openStarted;
    progress.rowsVerified = saved.rowsVerified;
    progress.openRows = saved.openRows;
    progress.units = saved.units.map((unit) => ({ through: decodeRow(unit.through), rows: unit.rows }));
    return progress;
  }

  save(): SavedVerificationProgress {
    return {
      verifiedThrough: this.verifiedThrough ? encodeRow(this.verifiedThrough) : null,
      complete: this.complete,
      openStarted: this.openStarted,
      rowsVerified: this.rowsVerified,
      openRows: this.openRows,
      units: this.units.map((unit) => ({ through: encodeRow(unit.through), rows: unit.rows })),
    };
  }

  /**
   * The next range to verify, given the copy's progress: the rows copied since the verified part
   * (`through` is the copy's last key), or, once the copy is done, the open range past it
   * (`through` undefined). Undefined when there is nothing to do now.
   */
  nextRange(copiedThrough: Row | undefined, copyDone: boolean): { after: Row | undefined; through: Row | undefined } | undefined {
    if (this.complete) return undefined;
    if (copiedThrough && !same(copiedThrough, this.verifiedThrough)) return { after: this.verifiedThrough, through: copiedThrough };
    if (copyDone) return { after: this.verifiedThrough, through: undefined };
    return undefined;
  }

  /** A range's verification begins: from now on its rows count as verified territory for changed keys. */
  rangeStarted(through: Row | undefined): void {
    if (through === undefined) {
      this.openStarted = true;
      return;
    }
    this.units.push({ through, rows: 0 });
    if (this.units.length > MAX_UNITS) this.coarsen();
  }

  /** A chunk of a range was compared (its differences are the caller's business). */
  chunkVerified(rows: number, end: Row | undefined, final: boolean, open: boolean): void {
    this.rowsVerified += rows;
    if (open) {
      this.openRows += rows;
      if (final) this.complete = true;
      return;
    }
    const unit = this.units[this.units.length - 1];
    if (unit) unit.rows += rows;
    if (end) this.verifiedThrough = end;
  }

  /** Merges neighbouring units pairwise; the last unit (the range being verified) keeps its end. */
  private coarsen(): void {
    const merged: Unit[] = [];
    for (let index = 0; index < this.units.length; index += 2) {
      const first = this.units[index]!;
      const second = this.units[index + 1];
      merged.push(second ? { through: second.through, rows: first.rows + second.rows } : first);
    }
    this.units = merged;
  }
}
