// The gate the row copy passes before each batch. It holds the copy back for three reasons,
// and says which: an operator paused it, the target is saturated by the binlog applier (which
// must reach zero lag before cutover, so it goes first), or replicas lag.
import type { CopyGate } from '../copy/copier.js';
import { LagBackoff } from './backoff.js';
import type { LagSource } from './replica-lag.js';

export type ThrottleReason = 'paused' | 'target-saturated' | 'replica-lag';

export interface CopyGateOptions {
  readonly lagSource: LagSource | undefined;
  readonly maxLagSeconds: number;
  readonly maxPauseSeconds: number;
  /** True while the binlog applier needs the target to itself (m·R over the bound). */
  readonly targetSaturated: () => boolean;
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

const POLL_SECONDS = 0.1;

export class ThrottlingCopyGate implements CopyGate {
  private paused = false;
  private readonly backoff: LagBackoff;
  /** What held the copy back last (undefined when it runs freely), and the lag it saw. */
  reason: ThrottleReason | undefined;
  replicaLagSeconds = 0;
  throttledSeconds = 0;

  constructor(private readonly options: CopyGateOptions) {
    this.backoff = new LagBackoff(options.maxLagSeconds, options.maxPauseSeconds);
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

  async wait(signal: AbortSignal): Promise<void> {
    const started = performance.now();
    try {
      while (!signal.aborted) {
        if (this.paused) this.reason = 'paused';
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
      this.throttledSeconds += (performance.now() - started) / 1000;
    }
  }
}
