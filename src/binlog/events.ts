// What the stream hands the applier: row changes of the selected tables in binlog order, and
// after each source transaction a commit item saying where a resume may start. Plain data only
// (strings and numbers), so that items can cross a thread boundary unchanged.

/**
 * A row image: for every column of the table, in `TableSchema.columns` order (generated ones
 * included; writers skip them), the SQL literal that writes exactly the source's value into
 * that column ('NULL' for NULL). Decoding goes straight from the binlog's bytes to this text
 * (decode/), so the applier only joins strings; see docs/architecture.md, "Row images".
 */
export type RowImage = readonly string[];

/** One row changed on the source. `table` is the table's key, `database.table` (tableKey). */
export type RowChange =
  | { readonly type: 'insert'; readonly table: string; readonly after: RowImage }
  | { readonly type: 'update'; readonly table: string; readonly before: RowImage; readonly after: RowImage }
  | { readonly type: 'delete'; readonly table: string; readonly before: RowImage };

export type RowItem = RowChange & {
  readonly kind: 'row';
  /** Source event time, seconds since the epoch (whole seconds: the binlog has no finer time). */
  readonly timestamp: number;
  /** When the streamer read the event, seconds since the epoch (sub-second; see commitTimeEstimate). */
  readonly receivedAt: number;
};

export interface CommitItem {
  readonly kind: 'commit';
  /**
   * Where to resume after this transaction: the position of the event that follows it. Every
   * row item before this one (since the previous commit item) belongs to transactions that end
   * at or before it.
   */
  readonly position: import('./position.js').BinlogPosition;
  /** Source event time of the commit, seconds since the epoch. */
  readonly timestamp: number;
  readonly receivedAt: number;
}

export type StreamItem = RowItem | CommitItem;

/**
 * Best estimate of an event's source commit time. The binlog stamps whole seconds, so the
 * commit lies in [timestamp, timestamp + 1); it also lies before the moment we read it. A
 * stream that keeps up reads events within milliseconds of their commit, so the read time is the
 * sharper estimate whenever it falls inside that second; a stream that is behind (paused by
 * backpressure, reconnecting) reads late, and the middle of the stamped second is closer.
 */
export const commitTimeEstimate = (item: { readonly timestamp: number; readonly receivedAt: number }): number =>
  item.receivedAt < item.timestamp + CURRENT_WINDOW_SECONDS ? Math.max(item.timestamp, item.receivedAt) : item.timestamp + 0.5;

/**
 * The stamp is the statement's start, floored: a statement that began just before a second
 * boundary and was read just after it is still current. Without this margin such events showed
 * a spurious 0.5 s lag (`npm run bench -- apply`: lag max ≈ 500 ms in runs whose end-to-end
 * max was 9–54 ms). The price: a lag between 1 and 1.1 s reads as almost none.
 */
const CURRENT_WINDOW_SECONDS = 1.1;
