// What a run has done so far, enough to resume it: per table the last key copied and whether
// the copy is complete; the binlog position whose events are all written to the target; which
// run it is (servers, tables, filters); whether cutover has the source's writers stopped; and
// what is verified and what must be compared again (verify/inline.ts).
import type { BinlogPosition } from '../binlog/position.js';
import type { TableShape } from '../db/shape.js';
import type { Row } from '../db/sql.js';
import { decodeRow, encodeRow, type EncodedValue } from './codec.js';
import type { RunIdentity } from './identity.js';

/** Version 2 added `identity` and `writersStopped`; version 3 `verification` and the tables' `shapes`. */
export const STATE_VERSION = 3;

/** How far a table's inline verification has come (verify/progress.ts). */
export interface SavedVerificationProgress {
  readonly verifiedThrough: readonly EncodedValue[] | null;
  readonly complete: boolean;
  readonly openStarted: boolean;
  readonly rowsVerified: number;
  readonly openRows: number;
  readonly units: readonly { readonly through: readonly EncodedValue[]; readonly rows: number }[];
}

/** A table's rows to compare again (verify/pending.ts): key texts and key ranges. */
export interface SavedPendingRows {
  readonly keys: readonly string[];
  readonly mismatchedKeys: readonly string[];
  readonly ranges: readonly { readonly after: readonly EncodedValue[] | null; readonly through: readonly EncodedValue[] | null; readonly rows: number }[];
}

export interface SavedTableVerification {
  readonly progress: SavedVerificationProgress;
  readonly pending: SavedPendingRows;
}

export type SavedVerification = Readonly<Record<string, SavedTableVerification>>;

export interface TableState {
  /** Fingerprint of the source table's shape (db/shape.ts); a resume refuses another. */
  readonly fingerprint: string;
  /** The shapes the run started with, to say what changed (the fingerprint says whether). */
  readonly shapes?: { readonly source: TableShape; readonly target?: TableShape | undefined } | undefined;
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
  /** Per table; null until a verifier attaches (verification off). */
  readonly verification: SavedVerification | null;
}

export class StateTracker {
  private state: MigrationState;
  private changed = true;
  private verificationSource: (() => SavedVerification) | undefined;

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
      verification: null,
    });
  }

  /**
   * The state as it is now. The verifier's part is read from the verifier at this moment (it
   * changes with every binlog batch; copying it into the state each time would cost more than
   * writing the file), in the same tick as the binlog position, so the two agree.
   */
  snapshot(): MigrationState {
    return this.verificationSource ? { ...this.state, verification: this.verificationSource() } : this.state;
  }

  /** The verification the state file held when the run began (undefined for a fresh run or table). */
  savedVerification(key: string): SavedTableVerification | undefined {
    return this.state.verification?.[key];
  }

  /** From now on the verifier's figures are part of every snapshot. */
  attachVerification(source: () => SavedVerification): void {
    this.verificationSource = source;
    this.changed = true;
  }

  /** The verifier's part changed: the next checkpoint writes the file. */
  verificationChanged(): void {
    this.changed = true;
  }

  recordShapes(key: string, shapes: { source: TableShape; target?: TableShape | undefined }): void {
    this.updateTable(key, { shapes });
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

  /** A copy batch of `rows` rows; `lastKey` is the new frontier (every row up to it copied), undefined if it did not move. */
  batchCopied(key: string, lastKey: Row | undefined, rows: number): void {
    this.updateTable(key, { ...(lastKey ? { lastKey: encodeRow(lastKey) } : {}), rowsCopied: this.table(key).rowsCopied + rows });
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
