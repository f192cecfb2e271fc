// The queue between the binlog socket and the applier. The streamer pushes, the applier takes
// batches; a terminal error is delivered after the items that arrived before it.
import type { CommitItem, StreamItem } from './events.js';

interface Waiter {
  readonly maxItems: number;
  readonly resolve: (items: StreamItem[]) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

export class StreamItemQueue {
  private items: StreamItem[] = [];
  private head = 0;
  private waiters: Waiter[] = [];
  private failure: { readonly error: unknown } | undefined;
  private closed = false;

  /** Called after take() removed items, with the number left. */
  onTaken: (queued: number) => void = () => undefined;

  get length(): number {
    return this.items.length - this.head;
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
    }
    this.serveWaiters();
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
    const end = Math.min(this.items.length, this.head + maxItems);
    const taken = this.items.slice(this.head, end);
    this.head = end;
    // Compact once the taken prefix dominates, so memory follows the live items.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.onTaken(this.length);
    return taken;
  }
}
