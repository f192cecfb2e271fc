// How far the row copy is, per table and in all: rows copied of the estimated total, the rate
// over the last few seconds, and the time left at that rate. The one place these figures are
// computed: /status carries them, and the status page and the terminal line only show them.

/** Seconds of copy batches the rate is taken over: long enough to smooth batches, short enough to show a pause. */
export const RATE_WINDOW_SECONDS = 5;

const ALL = Symbol('all tables');

/** Rows copied per second, per table and in all, over the last RATE_WINDOW_SECONDS. */
export class CopyRate {
  private readonly batches = new Map<string | typeof ALL, { at: number; rows: number }[]>();
  private readonly firstAt = new Map<string | typeof ALL, number>();

  constructor(private readonly now: () => number = () => performance.now() / 1000) {}

  add(table: string, rows: number): void {
    const at = this.now();
    this.record(table, rows, at);
    this.record(ALL, rows, at);
  }

  private record(table: string | typeof ALL, rows: number, at: number): void {
    if (!this.firstAt.has(table)) {
      // The first batch marks the start: its rows were copied before any time we could measure.
      this.firstAt.set(table, at);
      return;
    }
    const batches = this.batches.get(table) ?? [];
    batches.push({ at, rows });
    while (batches.length > 0 && batches[0]!.at <= at - RATE_WINDOW_SECONDS) batches.shift();
    this.batches.set(table, batches);
  }

  /** Of one table, or of all (no table). Undefined until that copy has run half a second: a rate over less is noise. */
  rowsPerSecond(table: string | typeof ALL = ALL): number | undefined {
    const firstAt = this.firstAt.get(table);
    if (firstAt === undefined) return undefined;
    const now = this.now();
    const span = Math.min(RATE_WINDOW_SECONDS, now - firstAt);
    if (span < 0.5) return undefined;
    const rows = (this.batches.get(table) ?? []).filter((batch) => batch.at > now - span).reduce((sum, batch) => sum + batch.rows, 0);
    return rows / span;
  }
}

export interface TableCopyFigures {
  readonly rowsCopied: number;
  /** The source's estimate of the table's rows (InnoDB's statistics), undefined if unknown. */
  readonly estimatedRows: number | undefined;
  readonly done: boolean;
  readonly rowsPerSecond: number | undefined;
}

export interface CopyProgress {
  readonly rowsCopied: number;
  /** Never below the rows copied: the server's estimate is a sample, and a done table's total is what was copied. */
  readonly estimatedRows: number | undefined;
  /** rowsCopied ÷ estimatedRows, 0…1; 1 once done. */
  readonly fraction: number | undefined;
  readonly rowsPerSecond: number | undefined;
  /** Time left at the current rate; 0 once done, undefined while the rate is unknown or zero. */
  readonly etaSeconds: number | undefined;
}

export function tableProgress(table: TableCopyFigures): CopyProgress {
  const total = table.done ? table.rowsCopied : table.estimatedRows === undefined ? undefined : Math.max(table.estimatedRows, table.rowsCopied);
  return {
    rowsCopied: table.rowsCopied,
    estimatedRows: total,
    fraction: table.done ? 1 : total ? table.rowsCopied / total : undefined,
    rowsPerSecond: table.done ? 0 : table.rowsPerSecond,
    etaSeconds: table.done ? 0 : timeLeft(total, table.rowsCopied, table.rowsPerSecond),
  };
}

/** The copy in all, at the rate of all tables together (CopyRate.rowsPerSecond()). */
export function totalProgress(tables: readonly CopyProgress[], rowsPerSecond: number | undefined): CopyProgress {
  const rowsCopied = tables.reduce((sum, table) => sum + table.rowsCopied, 0);
  const known = tables.every((table) => table.estimatedRows !== undefined);
  const total = known ? tables.reduce((sum, table) => sum + (table.estimatedRows ?? 0), 0) : undefined;
  const done = tables.length > 0 && tables.every((table) => table.fraction === 1);
  return {
    rowsCopied,
    estimatedRows: total,
    fraction: done ? 1 : total ? rowsCopied / total : undefined,
    rowsPerSecond: done ? 0 : rowsPerSecond,
    etaSeconds: done ? 0 : timeLeft(total, rowsCopied, rowsPerSecond),
  };
}

const timeLeft = (total: number | undefined, copied: number, rate: number | undefined): number | undefined =>
  total === undefined || !rate ? undefined : Math.max(0, total - copied) / rate;
