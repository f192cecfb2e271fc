// lhm's throttle, as pure state (lhm's Lhm::Throttler::SlaveLag, exactly): at each step, above
// the allowed lag the pause between copy strides doubles (0.1 s → 0.2 → 0.4 …, up to a maximum;
// lhm's is 102.4 s); at or under it, it halves, down to its floor. lhm's floor is its first pause,
// 0.1 s (`throttle.floor: lhm`): it always waits at least that long between strides. tideferry's
// default floor is 0, so that a healthy run is not slowed: from 0 the first doubling is to 0.1 s,
// and a halving that would go under 0.1 s goes to the floor.
//
// An unknown lag (NaN, Infinity: replication stopped, a NULL lag, a replica that cannot be read)
// is too much lag: a reason to wait, never to go faster.

export const INITIAL_PAUSE_SECONDS = 0.1;
/** lhm's maximum pause: 0.1 s × 1024. */
export const LHM_MAX_PAUSE_SECONDS = 102.4;

/** `throttle.floor`: 'lhm' (0.1 s) or a number of seconds. */
export type PauseFloor = 'lhm' | number;

export const floorSeconds = (floor: PauseFloor): number => (floor === 'lhm' ? INITIAL_PAUSE_SECONDS : floor);

/** The bounds a step reads: the live values at that step (config/live.ts), not copies taken at the start. */
export interface BackoffBounds {
  readonly maxLagSeconds: number;
  readonly maxPauseSeconds: number;
}

export type BackoffDirection = 'up' | 'down' | 'same';

export class LagBackoff {
  private pause: number;
  private readonly floor: number;

  constructor(
    private readonly bounds: () => BackoffBounds,
    floor: PauseFloor = 0,
  ) {
    this.floor = floorSeconds(floor);
    this.pause = this.floor;
  }

  /** Feeds the latest lag (NaN or Infinity when it cannot be read) and returns the pause to take now. */
  update(lagSeconds: number): number {
    const { maxLagSeconds, maxPauseSeconds } = this.bounds();
    const floor = Math.min(this.floor, maxPauseSeconds);
    if (!(lagSeconds <= maxLagSeconds)) {
      this.pause = this.pause < INITIAL_PAUSE_SECONDS ? INITIAL_PAUSE_SECONDS : this.pause * 2;
    } else {
      const half = this.pause / 2;
      this.pause = half < INITIAL_PAUSE_SECONDS ? floor : half;
    }
    this.pause = Math.min(maxPauseSeconds, Math.max(floor, this.pause));
    return this.pause;
  }

  /** The pause now, within the live maximum (lowered mid-run, it takes effect at once). */
  get pauseSeconds(): number {
    return Math.min(this.pause, this.bounds().maxPauseSeconds);
  }

  /** True while the pause is above its floor: the copy is being slowed by replica lag. */
  get backingOff(): boolean {
    return this.pause > Math.min(this.floor, this.bounds().maxPauseSeconds);
  }
}
