// What a run verifies, as one part for ferry.ts: the inline verifier (while copying, then the
// rows changed since, inline.ts) and the schema watch (schema-watch.ts), and what cutover
// compares (the remembered rows, or with verify.atCutover = all every row, full.ts).
import type { RetryPolicy } from '../db/retry.js';
import type { Connection } from 'mysql2/promise';
import type { RowItem } from '../binlog/events.js';
import type { Config } from '../config/load.js';
import type { CopyGate } from '../copy/copier.js';
import type { Endpoint } from '../db/connection.js';
import type { TableSchema } from '../db/schema.js';
import { tableKey } from '../db/schema.js';
import { readTableShapes, type TableShape } from '../db/shape.js';
import { ResumeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { VerificationFigures } from '../metrics/registry.js';
import { recordShapes } from '../state/resume.js';
import type { StateTracker } from '../state/tracker.js';
import type { VerifyReport } from './checksum.js';
import { verifyAll } from './full.js';
import { InlineVerifier, type TableVerificationStatus } from './inline.js';
import { SchemaWatch } from './schema-watch.js';

export interface RunVerificationOptions {
  readonly settings: Config['verify'];
  readonly source: Endpoint;
  readonly target: Endpoint;
  readonly tables: readonly TableSchema[];
  readonly rowFilters: ReadonlyMap<string, string>;
  readonly state: StateTracker;
  /** The shapes the run starts with, on each server. */
  readonly shapes: { readonly source: ReadonlyMap<string, TableShape>; readonly target: ReadonlyMap<string, TableShape> };
  readonly logger: Logger;
  readonly onRowsVerified: (table: string, rows: number) => void;
  readonly onRetry?: (code: string) => void;
  /** The run's retry policy (db/retry.ts). */
  readonly retry?: RetryPolicy;
}

/**
 * The run's verification, once the target tables exist: the target's shapes are read (and, on a
 * resume, checked against the state file's), and a resume over a target table that is gone is
 * refused, since the rows it had copied and verified went with it.
 */
export async function openVerification(
  options: Omit<RunVerificationOptions, 'shapes'> & {
    readonly targetAdmin: Connection;
    readonly sourceShapes: ReadonlyMap<string, TableShape>;
    readonly resume: { readonly resuming: boolean; readonly stateFile: string; readonly createdTables: readonly string[] };
  },
): Promise<RunVerification> {
  const { state, resume } = options;
  const lost = resume.resuming ? resume.createdTables.filter((key) => state.table(key).upTo !== null || state.table(key).done) : [];
  if (lost.length) throw new ResumeError(`target tables ${lost.join(', ')} no longer existed, though the run had copied rows into them: start a new run`);
  const targetShapes = await readTableShapes(options.targetAdmin, options.tables);
  recordShapes(state, { resume: resume.resuming, path: resume.stateFile, source: options.sourceShapes, target: targetShapes });
  return new RunVerification({ ...options, shapes: { source: options.sourceShapes, target: targetShapes } });
}

/** Rows per chunk of a range comparison: about as long to read as a copy batch takes to write. */
const CHUNK_ROWS = 10_000;

export class RunVerification {
  private readonly inline: InlineVerifier | undefined;
  private readonly watch: SchemaWatch;
  readonly failedWith: Promise<never>;

  constructor(private readonly options: RunVerificationOptions) {
    const { settings } = options;
    if (settings.enabled) {
      this.inline = new InlineVerifier({
        source: options.source,
        target: options.target,
        tables: options.tables,
        rowFilters: options.rowFilters,
        state: options.state,
        concurrency: settings.concurrency,
        chunkRows: CHUNK_ROWS,
        maxPendingKeys: settings.maxPendingKeys,
        logger: options.logger,
        onRowsVerified: options.onRowsVerified,
        ...(options.onRetry ? { onRetry: options.onRetry } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
      });
    }
    this.watch = new SchemaWatch({ source: options.source, target: options.target, tables: options.tables, baseline: options.shapes, intervalSeconds: settings.schemaIntervalSeconds, logger: options.logger, ...(options.retry ? { retry: options.retry } : {}) });
    this.failedWith = Promise.race([this.watch.failedWith, ...(this.inline ? [this.inline.failedWith] : [])]);
    this.failedWith.catch(() => undefined);
  }

  get enabled(): boolean {
    return this.inline !== undefined;
  }

  /** Every batch the binlog side applied, before its position is recorded. */
  noteChanges(changes: readonly RowItem[]): void {
    this.inline?.noteChanges(changes);
  }

  /** A copy batch was written. */
  wake(): void {
    this.inline?.wake();
  }

  start(gate: CopyGate, signal: AbortSignal): void {
    this.inline?.start(gate, signal);
    this.watch.start();
  }

  /** Whether verification lets cutover begin (always, without it). */
  get ready(): boolean {
    return this.inline?.ready ?? true;
  }

  /** The comparison at cutover: the schemas once more, then the remembered rows (or every row). */
  get atCutover(): ((signal: AbortSignal) => Promise<VerifyReport>) | undefined {
    const inline = this.inline;
    if (!inline) return undefined;
    return async (signal) => {
      await this.watch.check();
      if (this.options.settings.atCutover === 'changed') return inline.atCutover(signal);
      await inline.stop();
      return verifyAll({ source: this.options.source, target: this.options.target, tables: this.options.tables, rowFilters: this.options.rowFilters, concurrency: this.options.settings.concurrency, signal, ...(this.options.retry ? { retry: this.options.retry } : {}) });
    };
  }

  get schemaCheckSeconds(): number {
    return this.watch.lastCheckSeconds;
  }

  figures(): VerificationFigures | undefined {
    const inline = this.inline;
    if (!inline) return undefined;
    return {
      tables: this.options.tables.map(tableKey),
      pendingRows: (table) => inline.status(table).pendingRows,
      mismatches: (table) => inline.status(table).mismatches,
    };
  }

  status(table: string): TableVerificationStatus | undefined {
    return this.inline?.status(table);
  }

  async stop(): Promise<void> {
    await this.inline?.stop();
    await this.watch.stop();
  }
}
