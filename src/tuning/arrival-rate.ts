export interface ArrivalRateEstimatorOptions {
  /** The long window, which gives the steady rate. Default 10 s. */
  readonly windowSeconds?: number;
  /** The short window, which catches a burst. Default 1 s. */
  readonly burstWindowSeconds?: number;
}

// Counts are kept in time buckets rather than one entry per record: the
// streamer may record every event, tens of thousands a second. The bucket at
// a window's edge is interpolated (see eventsSince), so the resolution only
// matters when arrivals within one bucket are very uneven; a twentieth of the
// short window keeps that small and the long window at 200 buckets.
const BUCKETS_PER_BURST_WINDOW = 20;

// The shortest span a rate is measured over. A target commit takes about a
// millisecond at best, so the applier cannot act on anything finer, and the
// floor keeps a lone first event from reading as an infinite rate.
const MINIMUM_WATCHED_SECONDS = 0.001;

/**
 * The arrival rate R of binlog events, in events per second: the larger of
 * the rate over a long window and the rate over a short one.
 *
 * Why the maximum of two windows and not an EWMA: an EWMA has one time
 * constant, so it is either smooth or quick, and it is as quick to fall as to
 * rise. Here the two directions are not worth the same. Underestimating R makes
 * batches smaller than B*, and the applier falls behind; overestimating it
 * only raises the cap on a batch, which costs nothing while the queue holds
 * fewer events than the cap. So R rises within a second of a burst (short
 * window) and falls only as the burst leaves the long window, while a steady
 * stream is read over the long window, where its noise is small.
 */
export class ArrivalRateEstimator {
  private readonly windowSeconds: number;
  private readonly burstWindowSeconds: number;
  private readonly bucketSeconds: number;
  // Parallel arrays, oldest first: bucket number (floor(time / bucketSeconds)),
  // events in it, and the span its events arrived over: from the record
  // before its first (a record of n events at t means n arrived since the
  // previous record) to its last record.
  private readonly bucketNumbers: number[] = [];
  private readonly bucketEvents: number[] = [];
  private readonly bucketStartAt: number[] = [];
  private readonly bucketLastAt: number[] = [];
  private firstRecordAt: number | undefined;
  private lastRecordAt: number | undefined;

  constructor(options: ArrivalRateEstimatorOptions = {}) {
    this.windowSeconds = options.windowSeconds ?? 10;
    this.burstWindowSeconds = Math.min(options.burstWindowSeconds ?? 1, this.windowSeconds);
    this.bucketSeconds = this.burstWindowSeconds / BUCKETS_PER_BURST_WINDOW;
  }

  /**
   * Records that `events` arrived at `now`. Recording 0 events is allowed and
   * marks the start of observation, so that a rate read soon after is
   * averaged over the time actually watched.
   */
  record(events: number, now: number): void {
    if (!(events >= 0) || !Number.isFinite(events) || !Number.isFinite(now)) return;
    this.firstRecordAt ??= now;
    const bucket = Math.floor(now / this.bucketSeconds);
    const last = this.bucketNumbers.length - 1;
    // A record earlier than the newest bucket (clocks are the caller's) joins that bucket rather than reordering history.
    if (last >= 0 && bucket <= (this.bucketNumbers[last] ?? bucket)) {
      this.bucketEvents[last] = (this.bucketEvents[last] ?? 0) + events;
      this.bucketLastAt[last] = Math.max(this.bucketLastAt[last] ?? now, now);
    } else {
      this.bucketNumbers.push(bucket);
      this.bucketEvents.push(events);
      this.bucketStartAt.push(this.lastRecordAt ?? now);
      this.bucketLastAt.push(now);
    }
    this.lastRecordAt = Math.max(this.lastRecordAt ?? now, now);
    this.forgetBefore(now - this.windowSeconds);
  }

  /** Events per second at `now`; 0 when nothing arrived within the long window. */
  rate(now: number): number {
    if (this.firstRecordAt === undefined) return 0;
    const longEvents = this.eventsSince(now - this.windowSeconds);
    if (longEvents === 0) return 0;
    const burstEvents = this.eventsSince(now - this.burstWindowSeconds);
    // Until a window has been watched whole, divide by the time watched:
    // dividing a few milliseconds' events by a whole window would read a busy
    // stream as a trickle, and shrink the first batches to min.
    const watchedSeconds = Math.max(now - this.firstRecordAt, MINIMUM_WATCHED_SECONDS);
    const longRate = longEvents / Math.min(this.windowSeconds, watchedSeconds);
    const burstRate = burstEvents / Math.min(this.burstWindowSeconds, watchedSeconds);
    return Math.max(longRate, burstRate);
  }

  /**
   * Events after `since`. The bucket that straddles `since` counts in
   * proportion to the part of its span inside the window, as if its events
   * had arrived evenly over the span; counting it whole or not at all would
   * make the short-window rate jump by a twentieth each time a bucket
   * boundary passes.
   */
  private eventsSince(since: number): number {
    const straddlingBucket = Math.floor(since / this.bucketSeconds);
    let events = 0;
    for (let index = this.bucketNumbers.length - 1; index >= 0; index--) {
      const bucket = this.bucketNumbers[index] ?? 0;
      const bucketEvents = this.bucketEvents[index] ?? 0;
      if (bucket > straddlingBucket) {
        events += bucketEvents;
        continue;
      }
      if (bucket === straddlingBucket) {
        const startAt = this.bucketStartAt[index] ?? since;
        const lastAt = this.bucketLastAt[index] ?? since;
        const insideFraction = lastAt > startAt ? (lastAt - since) / (lastAt - startAt) : lastAt > since ? 1 : 0;
        events += bucketEvents * Math.min(1, Math.max(0, insideFraction));
      }
      break;
    }
    return events;
  }

  private forgetBefore(since: number): void {
    // The bucket that straddles `since` still counts in part, so only buckets wholly before it go.
    const straddlingBucket = Math.floor(since / this.bucketSeconds);
    let stale = 0;
    while (stale < this.bucketNumbers.length && (this.bucketNumbers[stale] ?? 0) < straddlingBucket) stale++;
    if (stale > 0) {
      this.bucketNumbers.splice(0, stale);
      this.bucketEvents.splice(0, stale);
      this.bucketStartAt.splice(0, stale);
      this.bucketLastAt.splice(0, stale);
    }
  }
}
