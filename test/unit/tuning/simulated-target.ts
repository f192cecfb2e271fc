import type { BatchSizeController } from '../../../src/tuning/index.js';

export interface SimulatedTargetOptions {
  /** m, seconds. */
  readonly perEventSeconds: number;
  /** o, seconds. */
  readonly perBatchSeconds: number;
  /** Multiplicative noise: each write takes T·(1 ± noise), uniformly. Default 0.05. */
  readonly noise?: number;
  /** Share of writes that are slow commits. Default 0. */
  readonly outlierProbability?: number;
  /** How much longer a slow commit takes. Default 20. */
  readonly outlierFactor?: number;
  readonly random: () => number;
}

/** A target database as the applier sees it: a batch of b events takes m·b + o, plus noise and the odd slow commit. */
export class SimulatedTarget {
  /** Mutable, so a test can change the target's cost mid-run. */
  perEventSeconds: number;
  perBatchSeconds: number;
  private readonly noise: number;
  private readonly outlierProbability: number;
  private readonly outlierFactor: number;
  private readonly random: () => number;

  constructor(options: SimulatedTargetOptions) {
    this.perEventSeconds = options.perEventSeconds;
    this.perBatchSeconds = options.perBatchSeconds;
    this.noise = options.noise ?? 0.05;
    this.outlierProbability = options.outlierProbability ?? 0;
    this.outlierFactor = options.outlierFactor ?? 20;
    this.random = options.random;
  }

  writeSeconds(batchSize: number): number {
    const clean = this.perEventSeconds * batchSize + this.perBatchSeconds;
    const noisy = clean * (1 + this.noise * (2 * this.random() - 1));
    return this.random() < this.outlierProbability ? noisy * this.outlierFactor : noisy;
  }
}

export interface BatchRecord {
  readonly index: number;
  /** What the controller asked for. */
  readonly asked: number;
  /** What the applier took: fewer than asked when fewer were queued. */
  readonly size: number;
  readonly seconds: number;
  /** When the write finished. */
  readonly now: number;
  /** Events still queued when the write finished, arrivals during it included. */
  readonly backlog: number;
}

export interface ApplierSimulationOptions {
  readonly controller: BatchSizeController;
  readonly target: SimulatedTarget;
  /** Events per second, arriving as a Poisson process. */
  readonly arrivalRate: number;
  readonly random: () => number;
  /** Pass the queue length to nextBatchSize. Default true. */
  readonly passBacklog?: boolean;
}

/**
 * A binlog applier on a simulated clock: events arrive as a Poisson process
 * and are reported to the controller with their arrival times; the applier
 * takes nextBatchSize(now, backlog) events, or all that are queued if fewer
 * (it never waits to fill a batch), writes them to the target, reports the
 * batch, and repeats. When the queue is empty it waits for the next event.
 * Per-event lag is the time from arrival to the commit of its batch.
 */
export class ApplierSimulation {
  now = 0;
  readonly target: SimulatedTarget;
  private readonly controller: BatchSizeController;
  private readonly random: () => number;
  private readonly passBacklog: boolean;
  private rate: number;
  private readonly queue: number[] = [];
  private queueHead = 0;
  private nextArrivalAt: number;
  private batchIndex = 0;
  private lagSum = 0;
  private lagCount = 0;

  constructor(options: ApplierSimulationOptions) {
    this.controller = options.controller;
    this.target = options.target;
    this.rate = options.arrivalRate;
    this.random = options.random;
    this.passBacklog = options.passBacklog ?? true;
    this.controller.recordArrivals(0, this.now);
    this.nextArrivalAt = this.now + this.arrivalGap();
  }

  /** Events per second. */
  get arrivalRate(): number {
    return this.rate;
  }

  /** Changes the load from now on (arrivals are memoryless, so the next one is drawn afresh). */
  set arrivalRate(eventsPerSecond: number) {
    this.rate = eventsPerSecond;
    this.nextArrivalAt = this.now + this.arrivalGap();
  }

  get backlog(): number {
    return this.queue.length - this.queueHead;
  }

  /** Mean arrival-to-commit lag of the events written since the last resetLag(). */
  get meanLagSeconds(): number {
    return this.lagCount === 0 ? NaN : this.lagSum / this.lagCount;
  }

  resetLag(): void {
    this.lagSum = 0;
    this.lagCount = 0;
  }

  /** Writes `count` batches, calling onBatch after each. */
  run(count: number, onBatch?: (batch: BatchRecord) => void): void {
    for (let written = 0; written < count; written++) {
      this.admitArrivals();
      if (this.backlog === 0) {
        if (!Number.isFinite(this.nextArrivalAt)) return;
        this.now = this.nextArrivalAt;
        this.admitArrivals();
      }
      const asked = this.controller.nextBatchSize(this.now, this.passBacklog ? this.backlog : undefined);
      const size = Math.min(asked, this.backlog);
      const seconds = this.target.writeSeconds(size);
      this.now += seconds;
      for (let taken = 0; taken < size; taken++) {
        this.lagSum += this.now - (this.queue[this.queueHead + taken] ?? this.now);
      }
      this.lagCount += size;
      this.queueHead += size;
      this.compactQueue();
      // Arrivals during the write reach the controller before the batch report, as they would on a live event loop.
      this.admitArrivals();
      this.controller.recordBatch(size, seconds, this.now);
      const index = this.batchIndex++;
      onBatch?.({ index, asked, size, seconds, now: this.now, backlog: this.backlog });
    }
  }

  /** Lets time pass with arrivals queued and reported but nothing written (the applier busy elsewhere, or idle). */
  advance(seconds: number): void {
    this.now += seconds;
    this.admitArrivals();
  }

  private admitArrivals(): void {
    while (this.nextArrivalAt <= this.now) {
      this.queue.push(this.nextArrivalAt);
      this.controller.recordArrivals(1, this.nextArrivalAt);
      this.nextArrivalAt += this.arrivalGap();
    }
  }

  private arrivalGap(): number {
    if (this.rate <= 0) return Infinity;
    return -Math.log(1 - this.random()) / this.rate;
  }

  private compactQueue(): void {
    if (this.queueHead > 65_536) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }
}
