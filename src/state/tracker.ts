// What a run has done so far, enough to resume it: per table the last key copied and whether
// the copy is complete; the binlog position whose events are all written to the target; which
// run it is (servers, tables, filters); and whether cutover has the source's writers stopped.
import type { BinlogPosition } from '../binlog/position.js';
import type { Row } from '../db/sql.js';
import { decodeRow, encodeRow, type EncodedValue } from './codec.js';
import type { RunIdentity } from './identity.js';

/** Version 2 added `identity` and `writersStopped`. */
export const STATE_VERSION = 2;

export interface TableState {
  readonly fingerprint: string;
  readonly lastKey: readonly EncodedValue[] | null;
  /** Last key when the copy began; rows past it arrive through the binlog. */
  readonly upTo: readonly EncodedValue[] | null;
  readonly done: boolean;
  readonly rowsCopied: number;
}

/**
 * Recorded (and written to the file at once) before cutover stops the writers, cleared once they
 * run again: a process that dies in between left them stopped, and its resume must know.
 */
export interface WritersStopped {
  readonly mode: 'read-only' | 'hook' | 'manual';
  /** When cutover began stopping them. */
  readonly since: string;
  /** read-only: the source's values before cutover, which a restore puts back. */
  readonly previous?: { readonly readOnly: string; readonly superReadOnly?: string | undefined } | undefined;
  /** The source position read once they were stopped: every event to drain is before it. */
  readonly final?: BinlogPosition | undefined;
}

export interface MigrationState {
  readonly version: typeof STATE_VERSION;
  readonly startedAt: string;
  /** Where the run connected, for people reading the file (the identity is what is checked). */
  readonly source: string;
  readonly target: string;
  readonly identity: RunIdentity;
  /** Where streaming began (P0). */
  readonly binlogStart: BinlogPosition;
  /** Every event before this position is written to the target. */
  readonly binlogApplied: BinlogPosition;
  readonly tables: Readonly<Record<string, TableState>>;
  readonly cutoverDone: boolean;
  readonly writersStopped: WritersStopped | null;
}

export class StateTracker {
  private state: MigrationState;
  private changed = true;

  constructor(initial: MigrationState) {
    this.state = initial;
  }

  static fresh(options: { source: string; target: string; identity: RunIdentity; start: BinlogPosition; fingerprints: ReadonlyMap<string, string> }): StateTracker {
    const tables: Record<string, TableState> = {};
    for (const [key, fingerprint] of options.fingerprints) tables[key] = { fingerprint, lastKey: null, upTo: null, done: false, rowsCopied: 0 };
    return new StateTracker({
      version: STATE_VERSION,
      startedAt: new Date().toISOString(),
      source: options.source,
      target: options.target,
      identity: options.identity,
      binlogStart: options.start,
      binlogApplied: options.start,
      tables,
      cutoverDone: false,
      writersStopped: null,
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

  get writersStopped(): WritersStopped | null {
    return this.state.writersStopped;
  }

  /** Cutover is about to stop the writers (or has, for `final`). */
  writersStopping(record: WritersStopped): void {
    this.state = { ...this.state, writersStopped: record };
    this.changed = true;
  }

  finalPosition(final: BinlogPosition): void {
    if (!this.state.writersStopped) throw new Error('final position recorded while the writers are not stopped');
    this.state = { ...this.state, writersStopped: { ...this.state.writersStopped, final } };
    this.changed = true;
  }

  /** The writers run again (restored, or found running on resume). */
  writersReleased(): void {
    this.state = { ...this.state, writersStopped: null };
    this.changed = true;
  }
}
