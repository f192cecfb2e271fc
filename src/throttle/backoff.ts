// lhm's throttle, as pure state: above the allowed lag the pause between copy batches doubles
// (from 0.1 s up to a maximum); at or under it, it halves, down to zero.

export const INITIAL_PAUSE_SECONDS = 0.1;

export class LagBackoff {
  private pause = 0;
  constructor(
    private readonly maxLagSeconds: number,
    private readonly maxPauseSeconds: number,
  ) {}

  /** Feeds the latest lag (Infinity when it cannot be read) and returns the pause to take now. */
  update(lagSeconds: number): number {
    if (!(lagSeconds <= this.maxLagSeconds)) {
      this.pause = Math.min(this.maxPauseSeconds, this.pause === 0 ? INITIAL_PAUSE_SECONDS : this.pause * 2);
    } else {
      this.pause = this.pause / 2 < INITIAL_PAUSE_SECONDS / 2 ? 0 : this.pause / 2;
    }
    return this.pause;
  }

  get pauseSeconds(): number {
    return this.pause;
  }
}
