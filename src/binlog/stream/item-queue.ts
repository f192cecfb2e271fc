// The queue between the binlog socket and the applier. The streamer pushes, the applier takes
// batches; a terminal error is delivered after the items that arrived before it.
import type { CommitItem, RowImage, StreamItem } from '../events.js';

// Rough bytes an item holds: value payloads plus a fixed allowance for the objects around them.
// Only used to bound memory when rows are large (BLOBs), so an estimate is enough.
const ITEM_OVERHEAD_BYTES = 64;
const VALUE_OVERHEAD_BYTES = 16;

function rowBytes(image: RowImage): number {
  let bytes = 0;
  // Literals are ASCII: V8 stores them one byte per character.
  for (const value of image) bytes += VALUE_OVERHEAD_BYTES + value.length;
  return bytes;
}

export function estimateItemBytes(item: StreamItem): number {
  if (item.kind === 'commit') return ITEM_OVERHEAD_BYTES;
  return ITEM_OVERHEAD_BYTES + (item.type !== 'insert' ? rowBytes(item.before) : 0) + (item.type !== 'delete' ? rowBytes(item.after) : 0);
}

interface Waiter {
  readonly maxItems: number;
  readonly resolve: (items: StreamItem[]) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

export class StreamItemQueue {
  private items: StreamItem[] = [];
  private start = 0;
  private queuedBytes = 0;
  private waiters: Waiter[] = [];
  private failure: { readonly error: unknown } | undefined;
  private closed = false;
  private serveScheduled = false;

  /** Called after take() removed items. */
  onTaken: () => void = () => undefined;

  get length(): number {
    return this.items.length - this.start;
  }

  /** Estimated memory held by the queued items (estimateItemBytes). */
  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Appends an item. A commit right after another commit replaces it: the transaction in
   * between had no rows of the selected tables, and only the later resume point matters.
   */
  push(item: StreamItem): void {
    if (this.closed || this.failure) return;
    const last = this.length > 0 ? this.items[this.items.length - 1] : undefined;
    if (item.kind === 'commit' && last?.kind === 'commit') {
      this.items[this.items.length - 1] = item;
    } else {
      this.items.push(item);
      this.queuedBytes += estimateItemBytes(item);
    }
    // Served once the current event is handled, not per item: a waiting take() then gets all
    // rows of a multi-row event (and its commit) in one batch, not the first row alone.
    if (!this.serveScheduled) {
      this.serveScheduled = true;
      queueMicrotask(() => {
        this.serveScheduled = false;
        this.serveWaiters();
      });
    }
  }

  /** The oldest queued item (the next one take() returns), if any. */
  get head(): StreamItem | undefined {
    return this.length > 0 ? this.items[this.start] : undefined;
  }

  /** The last queued item, if it is a commit (used to coalesce position-only updates). */
  get lastCommit(): CommitItem | undefined {
    const last = this.length > 0 ? this.items[this.items.length - 1] : undefined;
    return last?.kind === 'commit' ? last : undefined;
  }

  /** Ends the queue with an error: take() rejects with it once the queued items are taken. */
  fail(error: unknown): void {
    if (this.failure || this.closed) return;
    this.failure = { error };
    this.serveWaiters();
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Ends the queue quietly (the streamer was stopped): waiting takes resolve empty. */
  close(): void {
    this.closed = true;
    this.serveWaiters();
  }

  take(maxItems: number, waitMs: number): Promise<StreamItem[]> {
    if (!(maxItems >= 1)) return Promise.reject(new RangeError(`take(${maxItems}): maxItems must be at least 1`));
    if (this.length > 0 && this.waiters.length === 0) return Promise.resolve(this.removeUpTo(maxItems));
    if (this.failure && this.length === 0) return Promise.reject(this.failure.error);
    if (this.closed || waitMs <= 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        maxItems,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
          resolve([]);
        }, waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  private serveWaiters(): void {
    while (this.waiters.length > 0) {
      const waiter = this.waiters[0]!;
      if (this.length > 0) {
        this.waiters.shift();
        clearTimeout(waiter.timer);
        waiter.resolve(this.removeUpTo(waiter.maxItems));
      } else if (this.failure) {
        this.waiters.shift();
        clearTimeout(waiter.timer);
        waiter.reject(this.failure.error);
      } else if (this.closed) {
        this.waiters.shift();
        clearTimeout(waiter.timer);
        waiter.resolve([]);
      } else {
        return;
      }
    }
  }

  private removeUpTo(maxItems: number): StreamItem[] {
    const end = Math.min(this.items.length, this.start + maxItems);
    const taken = this.items.slice(this.start, end);
    this.start = end;
    for (const item of taken) this.queuedBytes -= estimateItemBytes(item);
    // Compact once the taken prefix dominates, so memory follows the live items.
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    this.onTaken();
    return taken;
  }
}
