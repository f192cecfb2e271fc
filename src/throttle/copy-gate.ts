// The gate the row copy passes before each batch. It holds the copy back for four reasons,
// and says which: an operator paused it, the binlog applier is over its lag target or saturated
// (it must reach zero lag before cutover, so it goes first), or replicas lag.
//
// The replica-lag throttle is lhm's (backoff.ts), taken once per *stride* (docs/architecture.md,
// "Replica lag"). A stride is one step of the whole copy: as many copy batches as there are copy
// workers active when the stride began (each copying a batch or waiting at this gate); with one
// worker, one batch, as in lhm. The first copy batch to arrive once the stride is complete takes
// the next step: it reads the largest replica lag and doubles or halves the pause; batches that
// arrive while that read is in flight wait for it and share its result. Every copy batch then
// waits the current pause before it goes. So with four workers the pause ramps once per round of
// the four, not four times (one shared back-off fed by every batch ramped once per batch per worker).
//
// Background work (the inline verifier, through background()) passes the same holds for a pause,
// the binlog lag and a saturated binlog side, but not the replica-lag pause, and takes no step:
// its reads are not replicated, and once the copy is done nothing would ever step the pause down.
// The binlog applier never passes this gate: nothing here throttles it.
import type { CopyGate } from '../copy/copier.js';
import type { LiveValues } from '../config/live.js';
import type { Logger } from '../log.js';
import { LagBackoff, type PauseFloor } from './backoff.js';
import { BinlogPacer, type CopyPace } from './binlog-pacer.js';
import type { LagSource, ReplicaLag } from './replica-lag.js';
import type { LoadSource } from './threads-running.js';

export type ThrottleReason = 'paused' | 'binlog-lag' | 'target-saturated' | 'replica-lag' | 'target-threads';

type ThrottleValues = LiveValues['throttle'];

export interface CopyGateOptions {
  readonly lagSource: LagSource | undefined;
  /**
   * Where the throttle's bounds are read at each stride: the run's LiveSettings (config/live.ts),
   * which PUT /config may change mid-run. Without it, the fixed values below.
   */
  readonly settings?: { readonly throttle: ThrottleValues };
  readonly maxLagSeconds?: number;
  readonly maxPauseSeconds?: number;
  /** throttle.floor: the least pause between strides ('lhm': 0.1 s). Default 0. */
  readonly floor?: PauseFloor;
  /** True while the binlog applier needs the target to itself (m·R over the bound). */
  readonly targetSaturated: () => boolean;
  /** The binlog lag now, seconds, and the lag the copy may leave it at (see binlog-pacer.ts). */
  readonly binlogLagSeconds?: () => number;
  readonly binlogLagTargetSeconds?: number;
  /** Where the throttle's start and end are said (once each). */
  readonly logger?: Logger;
  /**
   * lhm's other throttler (optional): the target's Threads_running, read at the same steps, over
   * `maxThreadsRunning` doubling a pause of its own; the copy waits the larger pause.
   */
  readonly threadsRunning?: { readonly source: LoadSource; readonly maxThreadsRunning: number };
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

/** Waits for `work`, or less if the signal aborts (a step's lag read can take seconds: a replica not answering). */
const untilDoneOrAborted = (work: Promise<void>, signal: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    work.then(done, done);
  });

const POLL_SECONDS = 0.05;
const SLOW_BATCH_SCALE = 0.25;

const round = (seconds: number) => (Number.isFinite(seconds) ? Math.round(seconds * 1000) / 1000 : null);

export class ThrottlingCopyGate implements CopyGate {
  private paused = false;
  private readonly backoff: LagBackoff;
  private readonly threadsBackoff: LagBackoff | undefined;
  /** Threads_running on the target at the last step (when that throttle is on). */
  threadsRunning: number | undefined;
  private readonly settings: () => ThrottleValues;
  /** What held the copy back last (undefined when it runs freely), and the lag it saw. */
  reason: ThrottleReason | undefined;
  replicaLagSeconds = 0;
  throttledSeconds = 0;
  /** Steps the replica-lag throttle has taken (one per stride). */
  steps = 0;
  /** The pause after each step, in order (tests and the bench read it; bounded). */
  readonly stepPauses: number[] = [];

  private readonly pacer: BinlogPacer | undefined;
  /** Copy batches admitted and not yet written, and background admissions not yet done. */
  private copyInFlight = 0;
  private backgroundInFlight = 0;
  /** Copy batches inside wait(): held, reading the lag or pausing. */
  private copyWaiting = 0;
  /** The stride: copy batches it spans (workers active when it began) and admitted so far. */
  private strideSize = 0;
  private strideAdmitted = 0;
  /** The step in flight (its lag read): batches arriving meanwhile share it. */
  private stepping: Promise<void> | undefined;
  private pace: CopyPace = 'full';

  constructor(private readonly options: CopyGateOptions) {
    const fixed: ThrottleValues = {
      maxLagSeconds: options.maxLagSeconds ?? 1,
      maxPauseSeconds: options.maxPauseSeconds ?? 5,
      binlogLagTargetSeconds: options.binlogLagTargetSeconds ?? 1,
    };
    const settings = options.settings;
    this.settings = settings ? () => settings.throttle : () => fixed;
    this.backoff = new LagBackoff(this.settings, options.floor ?? 0);
    const threads = options.threadsRunning;
    if (threads) this.threadsBackoff = new LagBackoff(() => ({ maxLagSeconds: threads.maxThreadsRunning, maxPauseSeconds: this.settings().maxPauseSeconds }), options.floor ?? 0);
    if (options.binlogLagSeconds && (settings || options.binlogLagTargetSeconds !== undefined)) {
      this.pacer = new BinlogPacer({ targetSeconds: this.settings().binlogLagTargetSeconds });
    }
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
    return Math.max(this.backoff.pauseSeconds, this.threadsBackoff?.pauseSeconds ?? 0);
  }

  private get backingOff(): boolean {
    return this.backoff.backingOff || (this.threadsBackoff?.backingOff ?? false);
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
    this.copyInFlight = Math.max(0, this.copyInFlight - 1);
  }

  /**
   * The gate as background work passes it (the inline verifier): held by a pause, the binlog lag
   * and a saturated binlog side like a copy batch, not by the replica-lag pause, and no part of
   * a stride.
   */
  background(): CopyGate {
    return {
      wait: async (signal) => {
        try {
          await this.hold(signal);
        } finally {
          this.backgroundInFlight++;
        }
      },
      batchDone: () => {
        this.backgroundInFlight = Math.max(0, this.backgroundInFlight - 1);
      },
    };
  }

  /** Waits while the copy is paused, the binlog side needs the target, or (one-at-a-time band) another batch is in flight. */
  private async hold(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const pace = this.pacer?.update(this.options.binlogLagSeconds!(), this.settings().binlogLagTargetSeconds) ?? 'full';
      this.pace = pace;
      if (this.paused) this.reason = 'paused';
      else if (pace === 'hold' || (pace === 'one' && this.copyInFlight + this.backgroundInFlight > 0)) this.reason = 'binlog-lag';
      else if (this.options.targetSaturated()) this.reason = 'target-saturated';
      else return;
      await sleep(POLL_SECONDS, signal);
    }
  }

  async wait(signal: AbortSignal): Promise<void> {
    const started = performance.now();
    this.copyWaiting++;
    try {
      await this.hold(signal);
      if ((this.options.lagSource || this.threadsBackoff) && !signal.aborted) {
        if (!this.stepping && this.strideAdmitted >= this.strideSize) this.stepping = this.step().finally(() => (this.stepping = undefined));
        if (this.stepping) await untilDoneOrAborted(this.stepping, signal);
        this.strideAdmitted++;
        const pause = this.pauseSeconds;
        if (pause > 0 && !signal.aborted) {
          // At its floor (floor: lhm) the pause is the copy's pace, not a hold for lag.
          this.reason = this.backoff.backingOff ? 'replica-lag' : this.threadsBackoff?.backingOff ? 'target-threads' : undefined;
          await sleep(pause, signal);
          return;
        }
      }
      this.reason = undefined;
    } finally {
      // Every return admits a batch (the copier reports it done, written or not).
      this.copyWaiting--;
      this.copyInFlight++;
      this.throttledSeconds += (performance.now() - started) / 1000;
    }
  }

  /** One step of lhm's throttle: the largest lag now, the pause doubled or halved. */
  private async step(): Promise<void> {
    this.strideSize = Math.max(1, this.copyInFlight + this.copyWaiting);
    this.strideAdmitted = 0;
    const threads = this.options.threadsRunning;
    const [lag, running] = await Promise.all([
      this.options.lagSource ? this.options.lagSource.read().catch((): ReplicaLag => ({ seconds: Infinity, replica: undefined })) : Promise.resolve<ReplicaLag>({ seconds: 0, replica: undefined }),
      threads ? threads.source.read().catch(() => Infinity) : Promise.resolve(undefined),
    ]);
    this.replicaLagSeconds = lag.seconds;
    const wasBackingOff = this.backingOff;
    const wasLagging = this.backoff.backingOff;
    this.backoff.update(lag.seconds);
    if (running !== undefined) {
      const wereThreadsOver = this.threadsBackoff!.backingOff;
      this.threadsRunning = running;
      this.threadsBackoff!.update(running);
      if (!wereThreadsOver && this.threadsBackoff!.backingOff) this.options.logger?.warn({ threadsRunning: Number.isFinite(running) ? running : null, maxThreadsRunning: threads!.maxThreadsRunning }, "the target's Threads_running over throttle.maxThreadsRunning: the copy backs off");
    }
    const pause = this.pauseSeconds;
    this.steps++;
    this.stepPauses.push(pause);
    if (this.stepPauses.length > 10_000) this.stepPauses.splice(0, 5_000);
    const { maxLagSeconds } = this.settings();
    if (!wasLagging && this.backoff.backingOff) {
      this.options.logger?.warn({ replica: lag.replica, lagSeconds: round(lag.seconds), maxLagSeconds, pauseSeconds: pause }, 'replica lag over throttle.maxLagSeconds: the copy backs off (the pause between strides doubles while it lasts)');
    } else if (wasBackingOff && !this.backingOff) {
      this.options.logger?.info({ lagSeconds: round(lag.seconds), maxLagSeconds, pauseSeconds: pause }, 'replica lag back under throttle.maxLagSeconds: the copy is at full speed again (the pause is back at its floor)');
    }
  }
}
