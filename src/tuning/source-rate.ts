// The source's write rate R, read from the events' own source timestamps rather than from when
// they are received. Counting on receipt measures throughput, not R: once the target falls
// behind, backpressure pauses the binlog socket and the received rate drops to the applied rate,
// so m·R never reaches the saturation bound (`npm run bench -- batch-sweep`: past capacity the
// engine saw R ≈ 27k events/s where the source wrote 50–75k). Stamps are whole seconds, so only
// complete seconds count. Pure: callers pass the times.

export interface SourceRateOptions {
  /** Complete source seconds averaged over. Default 10. */
  readonly windowSeconds?: number;
}

export class SourceRate {
  private readonly counts = new Map<number, number>();
  private readonly window: number;
  /** Latest source second seen, and the caller's clock when it was seen. */
  private latestSecond: number | undefined;
  private latestSeenAt = 0;
  private firstSecond: number | undefined;

  constructor(options: SourceRateOptions = {}) {
    this.window = options.windowSeconds ?? 10;
  }

  /** Events stamped `sourceSecond` (whole seconds), seen at `now` (the caller's clock, seconds). */
  record(sourceSecond: number, events: number, now: number): void {
    const second = Math.floor(sourceSecond);
    this.counts.set(second, (this.counts.get(second) ?? 0) + events);
    this.firstSecond = Math.min(this.firstSecond ?? second, second);
    if (this.latestSecond === undefined || second >= this.latestSecond) {
      this.latestSecond = second;
      this.latestSeenAt = now;
    }
  }

  /**
   * Events per second over the last complete source seconds. With nothing queued (`caughtUp`),
   * the source clock is taken to move on with the caller's, so an idle source decays to 0;
   * while behind, it stands at the newest stamp seen, whatever the wall clock says.
   */
  rate(now: number, caughtUp: boolean): number {
    if (this.latestSecond === undefined || this.firstSecond === undefined) return 0;
    const current = caughtUp ? Math.max(this.latestSecond, Math.floor(this.latestSecond + (now - this.latestSeenAt))) : this.latestSecond;
    // Seconds before `current` are complete, except the first one seen, which the stream
    // joined part-way through; the span is shorter than the window at the start.
    const from = Math.max(this.firstSecond + 1, current - this.window);
    const span = current - from;
    if (span <= 0) return 0;
    let events = 0;
    for (const [second, count] of this.counts) {
      if (second >= from && second < current) events += count;
      else if (second < this.latestSecond - 2 * this.window) this.counts.delete(second);
    }
    return events / span;
  }
}
