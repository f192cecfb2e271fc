/**
 * Deliberate variation of the batch size, so that the cost fit always sees
 * several sizes: with a single size, m and o cannot be told apart (the
 * design's identifiability requirement).
 *
 * The cycle is: the base; below it; above it. Deterministic, so that
 * simulations and tests reproduce exactly.
 *
 * The size below is taken from what the applier would actually write —
 * the base, or the queued backlog when that is smaller — because the applier
 * takes what is queued rather than wait: when B* sits below the base (the
 * usual case, as the base carries headroom), a probe below the base alone
 * would ask for more than is there and vary nothing. The events it leaves
 * behind wait one more write; the size above the base, next in the cycle,
 * takes them back.
 */
export class ProbeCycle {
  private step = 0;

  constructor(private readonly spread: number) {}

  /**
   * The next size of the cycle around `base`, given `available` queued events
   * if known. Unclamped, an integer, and at least one event away from the
   * size it varies when spread > 0 (at small sizes, rounding would otherwise
   * swallow the variation: 1·1.25 rounds to 1).
   */
  next(base: number, available?: number): number {
    const phase = this.step % 3;
    this.step++;
    if (this.spread <= 0 || phase === 0) return base;
    if (phase === 1) {
      const wouldWrite = Math.min(base, available ?? base);
      return Math.min(Math.round(wouldWrite * (1 - this.spread)), wouldWrite - 1);
    }
    return Math.max(Math.round(base * (1 + this.spread)), base + 1);
  }
}
