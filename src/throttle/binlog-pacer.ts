// The row copy's pace follows the binlog lag (docs/architecture.md, "The copy yields to the
// binlog"): the applier has the right of way, because the lag must reach zero at cutover and
// the copy's writes slow the applier's (they share the target, and the engine's CPU). Pure state:
// the gate feeds it the lag before each copy batch and holds the batch while it says so.
//
// Three paces. Under half the target, every copy worker writes. From half the target up to it,
// one copy batch writes at a time: the copy goes on, but what is in flight when the lag crosses
// the target is one batch, not one per worker (with four workers at full pace, the overshoot
// reached p99 1.6 s over a 1 s target in the copy-pacing test). Over the target the copy holds,
// and goes on once the lag is back under half of it (hysteresis: resuming at the target itself
// would put it straight back over).

export interface BinlogPacerOptions {
  /** The binlog lag the copy may leave the applier behind by, seconds (throttle.binlogLagTargetSeconds). */
  readonly targetSeconds: number;
  /** The copy goes on again once the lag is under this fraction of the target. Default 0.5. */
  readonly resumeFraction?: number;
}

/** How many copy batches may write at once: every one, one, or none. */
export type CopyPace = 'full' | 'one' | 'hold';

export class BinlogPacer {
  private holding = false;

  constructor(private readonly options: BinlogPacerOptions) {}

  /**
   * Feeds the current lag; answers the pace the copy may go at now. `targetSeconds`, when given,
   * is the target at this step (the live `throttle.binlogLagTargetSeconds`, config/live.ts).
   */
  update(lagSeconds: number, targetSeconds = this.options.targetSeconds): CopyPace {
    const slowAboveSeconds = targetSeconds * (this.options.resumeFraction ?? 0.5);
    if (!(lagSeconds <= targetSeconds)) this.holding = true;
    else if (lagSeconds <= slowAboveSeconds) this.holding = false;
    if (this.holding) return 'hold';
    return lagSeconds > slowAboveSeconds ? 'one' : 'full';
  }

  get isHolding(): boolean {
    return this.holding;
  }
}
