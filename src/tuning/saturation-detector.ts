export interface SaturationDetectorOptions {
  /** Saturation is declared as soon as m·R reaches this. Default 0.9. */
  readonly bound?: number;
  /**
   * Once declared, saturation is cleared only when m·R falls below
   * bound − exitMargin. Default 0.05: the estimates of m and R each move by a
   * few percent from batch to batch, and without the margin a load sitting at
   * the bound would flip the batch size between max and B* on every batch.
   */
  readonly exitMargin?: number;
}

/**
 * Whether the target is saturated: whether m·R, the share of the target's
 * time that the arriving events cost even in infinitely large batches, is
 * too close to 1 for any batch size to keep up reliably.
 */
export class SaturationDetector {
  readonly bound: number;
  readonly exitMargin: number;
  private isSaturated = false;

  constructor(options: SaturationDetectorOptions = {}) {
    this.bound = options.bound ?? 0.9;
    this.exitMargin = options.exitMargin ?? 0.05;
  }

  /** Feeds the current utilisation m·R and answers whether the target is saturated. NaN (no estimate) changes nothing. */
  update(utilisation: number): boolean {
    if (utilisation >= this.bound) this.isSaturated = true;
    else if (utilisation < this.bound - this.exitMargin) this.isSaturated = false;
    return this.isSaturated;
  }

  get saturated(): boolean {
    return this.isSaturated;
  }
}
