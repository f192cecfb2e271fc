/**
 * Deliberate variation of the batch size around its base, so that the cost
 * fit always sees several sizes: with a single size, m and o cannot be told
 * apart (the design's identifiability requirement).
 *
 * The cycle is base, base·(1 − spread), base·(1 + spread): deterministic, so
 * that simulations and tests reproduce exactly, and averaging to the base, so
 * that probing neither gains nor loses throughput over a cycle. The batch
 * below the base is followed by the one above it, which takes back what the
 * smaller one left in the queue.
 */
export class ProbeCycle {
  private step = 0;

  constructor(private readonly spread: number) {}

  /** The next size of the cycle around `base`; unclamped, an integer, at least 1 apart from base when spread > 0. */
  next(base: number): number {
    const phase = this.step % 3;
    this.step++;
    if (this.spread <= 0 || phase === 0) return base;
    // At small bases rounding would swallow the variation (1·1.25 rounds to 1), so move by at least one event.
    if (phase === 1) return Math.min(Math.round(base * (1 - this.spread)), base - 1);
    return Math.max(Math.round(base * (1 + this.spread)), base + 1);
  }
}
