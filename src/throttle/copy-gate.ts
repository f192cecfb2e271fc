// The gate the row copy passes before each batch. It holds the copy back for four reasons,
// and says which: an operator paused it, the binlog applier is over its lag target or saturated
// (it must reach zero lag before cutover, so it goes first), or replicas lag.
import type { CopyGate } from '../copy/copier.js';
import { LagBackoff } from './backoff.js';
import { BinlogPacer, type CopyPace } from './binlog-pacer.js';
import type { LagSource } from './replica-lag.js';

export type ThrottleReason = 'paused' | 'binlog-lag' | 'target-saturated' | 'replica-lag';

export interface CopyGateOptions {
  readonly lagSource: LagSource | undefined;
  readonly maxLagSeconds: number;
  readonly maxPauseSeconds: number;
  /** True while the binlog applier needs the target to itself (m·R over the bound). */
  readonly targetSaturated: () => boolean;
  /** The binlog lag now, seconds, and the lag the copy may leave it at (see binlog-pacer.ts). */
  readonly binlogLagSeconds?: () => number;
  readonly binlogLagTargetSeconds?: number;
}

/**
 * Waits `seconds`, or less if the signal aborts. The abort listener goes when the timer fires:
 * one left behind per pause piled up on the run's signal for the whole copy.
 */
const sleep = (seconds: number, signal: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, seconds * 1000);
    signal.addEventListener('abort', onAbort, { once: true });
  });

const POLL_SECONDS = 0.05;
const SLOW_BATCH_SCALE = 0.25;

export class ThrottlingCopyGate implements CopyGate {
  private paused = false;
  private readonly backoff: LagBackoff;
  /** What held the copy back last (undefined when it runs freely), and the lag it saw. */
  reason: ThrottleReason | undefined;
  replicaLagSeconds = 0;
  throttledSeconds = 0;

  private readonly pacer: BinlogPacer | undefined;
  /** Copy batches admitted and not yet written. */
  private inFlight = 0;
  private pace: CopyPace = 'full';

  constructor(private readonly options: CopyGateOptions) {
    this.backoff = new LagBackoff(options.maxLagSeconds, options.maxPauseSeconds);
    if (options.binlogLagSeconds && options.binlogLagTargetSeconds !== undefined) this.pacer = new BinlogPacer({ targetSeconds: options.binlogLagTargetSeconds });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get pauseSeconds(): number {
    return this.backoff.pauseSeconds;
  }

  /**
   * While the binlog lag is between half its target and the target, copy batches are a quarter
   * of their size: the batch in flight when the lag crosses the target then adds a quarter as
   * much (`test/integration/copy-pacing.test.ts`: p99 lag 1.05–1.62 s over a 1 s target with
   * full-size batches in that band).
   */
  batchScale(): number {
    return this.pace === 'one' ? SLOW_BATCH_SCALE : 1;
  }

  batchDone(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  async wait(signal: AbortSignal): Promise<void> {
    const started = performance.now();
    try {
      while (!signal.aborted) {
        const pace = this.pacer?.update(this.options.binlogLagSeconds!()) ?? 'full';
        this.pace = pace;
        if (this.paused) this.reason = 'paused';
        else if (pace === 'hold' || (pace === 'one' && this.inFlight > 0)) this.reason = 'binlog-lag';
        else if (this.options.targetSaturated()) this.reason = 'target-saturated';
        else break;
        await sleep(POLL_SECONDS, signal);
      }
      if (this.options.lagSource && !signal.aborted) {
        const lag = await this.options.lagSource.read();
        this.replicaLagSeconds = lag.seconds;
        const pause = this.backoff.update(lag.seconds);
        if (pause > 0) {
          this.reason = 'replica-lag';
          await sleep(pause, signal);
          return;
        }
      }
      this.reason = undefined;
    } finally {
      // Every return admits a batch (the copier reports it done, written or not).
      this.inFlight++;
      this.throttledSeconds += (performance.now() - started) / 1000;
    }
  }
}
