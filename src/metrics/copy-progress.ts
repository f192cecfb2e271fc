// Rows remaining and the time to copy them, per table: the source's row estimate read at the
// start (INFORMATION_SCHEMA.TABLES.TABLE_ROWS, which InnoDB samples: it can be tens of percent
// off) against the rows copied so far, at this run's copy rate for the table. Pure numbers.

export interface TableCopyFigures {
  readonly table: string;
  /** The source's estimate of the table's rows when the run started. */
  readonly estimatedRows: number;
  readonly remainingRows: number;
  /** Seconds to copy the remaining rows at this run's rate; undefined before a rate is known. */
  readonly etaSeconds: number | undefined;
}

interface TableRate {
  /** When this run's first batch of the table began (seconds, monotonic). */
  readonly startedAt: number;
  rows: number;
  lastAt: number;
}

export class CopyProgress {
  private readonly rates = new Map<string, TableRate>();

  constructor(private readonly estimates: ReadonlyMap<string, number>) {}

  /** A batch of `rows` that took `seconds` ended at `now` (seconds, monotonic). */
  batchCopied(table: string, rows: number, seconds: number, now: number): void {
    const rate = this.rates.get(table);
    if (rate) {
      rate.rows += rows;
      rate.lastAt = now;
    } else {
      this.rates.set(table, { startedAt: now - seconds, rows, lastAt: now });
    }
  }

  /** Figures of one table, given the rows copied (this run and any before it) and whether it is done. */
  figures(table: string, rowsCopied: number, done: boolean): TableCopyFigures {
    const estimatedRows = this.estimates.get(table) ?? 0;
    // A done table has nothing left, whatever the estimate said; an estimate below the rows
    // copied says only that the estimate was low.
    const remainingRows = done ? 0 : Math.max(0, estimatedRows - rowsCopied);
    const rate = this.rates.get(table);
    const perSecond = rate && rate.lastAt > rate.startedAt ? rate.rows / (rate.lastAt - rate.startedAt) : 0;
    const etaSeconds = done ? 0 : perSecond > 0 ? remainingRows / perSecond : undefined;
    return { table, estimatedRows, remainingRows, etaSeconds };
  }
}
