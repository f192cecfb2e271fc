// What a run has done so far, enough to resume it: per table the last key copied and whether
// the copy is complete; the binlog position whose events are all written to the target.
import type { BinlogPosition } from '../binlog/position.js';
import type { Row } from '../db/sql.js';
import { decodeRow, encodeRow, type EncodedValue } from './codec.js';

export interface TableState {
  readonly fingerprint: string;
  readonly lastKey: readonly EncodedValue[] | null;
  /** Last key when the copy began; rows past it arrive through the binlog. */
  readonly upTo: readonly EncodedValue[] | null;
  readonly done: boolean;
  readonly rowsCopied: number;
}

export interface MigrationState {
  readonly version: 1;
  readonly startedAt: string;
  readonly source: string;
  readonly target: string;
  /** Where streaming began (P0). */
  readonly binlogStart: BinlogPosition;
  /** Every event before this position is written to the target. */
  readonly binlogApplied: BinlogPosition;
  readonly tables: Readonly<Record<string, TableState>>;
  readonly cutoverDone: boolean;
}

export class StateTracker {
  private state: MigrationState;
  private changed = true;

  constructor(initial: MigrationState) {
    this.state = initial;
  }

  static fresh(options: { source: string; target: string; start: BinlogPosition; fingerprints: ReadonlyMap<string, string> }): StateTracker {
    const tables: Record<string, TableState> = {};
    for (const [key, fingerprint] of options.fingerprints) tables[key] = { fingerprint, lastKey: null, upTo: null, done: false, rowsCopied: 0 };
    return new StateTracker({
      version: 1,
      startedAt: new Date().toISOString(),
      source: options.source,
      target: options.target,
      binlogStart: options.start,
      binlogApplied: options.start,
      tables,
      cutoverDone: false,
    });
  }

  snapshot(): MigrationState {
    return this.state;
  }

  /** The checkpointer wrote the current state: nothing to save until the next change. */
  markSaved(): void {
    this.changed = false;
  }

  get isChanged(): boolean {
    return this.changed;
  }

  table(key: string): TableState {
    const table = this.state.tables[key];
    if (!table) throw new Error(`no state for table ${key}`);
    return table;
  }

  lastKey(key: string): Row | undefined {
    const lastKey = this.table(key).lastKey;
    return lastKey ? decodeRow(lastKey) : undefined;
  }

  upTo(key: string): Row | undefined {
    const upTo = this.table(key).upTo;
    return upTo ? decodeRow(upTo) : undefined;
  }

  private updateTable(key: string, change: Partial<TableState>): void {
    this.state = { ...this.state, tables: { ...this.state.tables, [key]: { ...this.table(key), ...change } } };
    this.changed = true;
  }

  copyStarted(key: string, upTo: Row | undefined): void {
    if (this.table(key).upTo === null) this.updateTable(key, { upTo: upTo ? encodeRow(upTo) : null });
  }

  batchCopied(key: string, lastKey: Row, rows: number): void {
    this.updateTable(key, { lastKey: encodeRow(lastKey), rowsCopied: this.table(key).rowsCopied + rows });
  }

  tableCopied(key: string): void {
    this.updateTable(key, { done: true });
  }

  get allCopied(): boolean {
    return Object.values(this.state.tables).every((table) => table.done);
  }

  binlogApplied(position: BinlogPosition): void {
    this.state = { ...this.state, binlogApplied: position };
    this.changed = true;
  }

  cutoverCompleted(): void {
    this.state = { ...this.state, cutoverDone: true };
    this.changed = true;
  }
}
