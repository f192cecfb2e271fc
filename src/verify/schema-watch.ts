// Watches the selected tables' shapes (db/shape.ts) on both servers for the whole run. The binlog's
// DDL guard sees the source's DDL at once; this also sees what no binlog of the source shows: a
// change on the target (an ALTER by someone else, a collation changed by hand), and a change on
// the source made without the binlog (sql_log_bin = 0). Any change stops the run with an error
// that names the table, the side and what changed; the run saves its state on the way out.
// A check is two INFORMATION_SCHEMA queries per server, whatever the number of tables (see README,
// "Verification", for its measured cost).
import type { Connection } from 'mysql2/promise';
import { connect, type Endpoint } from '../db/connection.js';
import type { RetryPolicy } from '../db/retry.js';
import { tableKey, type TableRef } from '../db/schema.js';
import { describeShapeChange, readTableShapes, type TableShape } from '../db/shape.js';
import { SchemaChangedError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

export type Side = 'source' | 'target';

export interface SchemaWatchOptions {
  readonly source: Endpoint;
  readonly target: Endpoint;
  readonly tables: readonly TableRef[];
  /** The shapes the run started with. */
  readonly baseline: Readonly<Record<Side, ReadonlyMap<string, TableShape>>>;
  /** Seconds between checks; 0 checks only when asked (cutover). */
  readonly intervalSeconds: number;
  readonly logger: Logger;
  /** The run's retry policy: a server restarting under a check is waited for (db/retry.ts). */
  readonly retry?: RetryPolicy;
}

/** The first change of a shape, as the error the run stops with; undefined when none changed. */
export function shapeChangeError(side: Side, tables: readonly TableRef[], before: ReadonlyMap<string, TableShape>, now: ReadonlyMap<string, TableShape>): SchemaChangedError | undefined {
  for (const table of tables) {
    const key = tableKey(table);
    const was = before.get(key);
    if (!was) continue;
    const changes = describeShapeChange(was, now.get(key));
    if (changes.length === 0) continue;
    return new SchemaChangedError(
      `table ${key} changed on the ${side} during the run: ${changes.join('; ')}. ` +
        'The run stopped and saved its state: undo the change and `tideferry resume`, or start a new run',
    );
  }
  return undefined;
}

export class SchemaWatch {
  private readonly connections: Partial<Record<Side, Connection>> = {};
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = false;
  private fail: (error: unknown) => void = () => undefined;
  readonly failedWith: Promise<never>;
  /** Seconds the last check took (both servers). */
  lastCheckSeconds = 0;

  constructor(private readonly options: SchemaWatchOptions) {
    this.failedWith = new Promise<never>((_, reject) => (this.fail = reject));
    this.failedWith.catch(() => undefined);
  }

  start(): void {
    if (this.options.intervalSeconds > 0) this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.checking = this.check()
        .catch((error: unknown) => {
          if (error instanceof SchemaChangedError) this.fail(error);
          // An unreadable schema is not a changed one: the next check tries again (a lost server
          // stops the run through the copy or the binlog side anyway).
          else this.options.logger.warn({ error: errorMessage(error) }, 'cannot read the table schemas for the schema check; trying again at the next one');
        })
        .finally(() => this.schedule());
    }, this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  private async connection(side: Side): Promise<Connection> {
    let connection = this.connections[side];
    if (!connection) this.connections[side] = connection = await connect(this.options[side]);
    return connection;
  }

  /** Reads both sides now; throws the SchemaChangedError of the first change. */
  async check(): Promise<void> {
    const started = performance.now();
    try {
      const [source, target] = await Promise.all(
        (['source', 'target'] as const).map(async (side) => {
          const read = async () => {
            try {
              return await readTableShapes(await this.connection(side), this.options.tables);
            } catch (error) {
              // A broken connection is opened again at the next check (or retry).
              this.connections[side]?.destroy();
              this.connections[side] = undefined;
              throw error;
            }
          };
          return this.options.retry ? this.options.retry.run({ server: side, part: 'admin' }, read) : read();
        }),
      );
      this.options.logger.debug({ seconds: (performance.now() - started) / 1000, tables: this.options.tables.length }, 'schema check');
      const error = shapeChangeError('source', this.options.tables, this.options.baseline.source, source!) ?? shapeChangeError('target', this.options.tables, this.options.baseline.target, target!);
      if (error) throw error;
    } finally {
      this.lastCheckSeconds = (performance.now() - started) / 1000;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking?.catch(() => undefined);
    for (const side of ['source', 'target'] as const) await this.connections[side]?.end().catch(() => undefined);
  }
}
