// The figures of a run, gathered from the batch reports: what the status page shows while it
// runs and what the summary prints at the end.
import { quantileSorted } from 'simple-statistics';
import type { AppliedBatch } from './binlog/apply/applier.js';
import type { CopyBatchReport } from './copy/copier.js';
import type { TuningSnapshot } from './tuning/index.js';
import type { VerifyReport } from './verify/checksum.js';

export interface RunSummary {
  readonly rowsCopied: number;
  readonly copySeconds: number;
  readonly copyRowsPerSecond: number;
  readonly eventsApplied: number;
  readonly binlogBatches: number;
  readonly meanBatchSize: number;
  readonly maxBatchSize: number;
  readonly lagSeconds: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly cutoverMode: string | undefined;
  /** Writers stopped → migration done. */
  readonly downtimeSeconds: number | undefined;
  /** Of the downtime: writers stopped → binlog drained to the final position. */
  readonly drainSeconds: number | undefined;
  /** Of the downtime: the comparison at cutover (the rows changed since they were verified). */
  readonly cutoverVerifySeconds: number | undefined;
  /** Rows compared at cutover. */
  readonly rowsReverified: number | undefined;
  /** Of the downtime: the rest (the proofs that the writers stopped, the state file, the verifier stopping its background work). */
  readonly cutoverOtherSeconds: number | undefined;
  /** Rows compared in this run: while copying, again after changes, and at cutover (undefined: verification off). */
  readonly verifiedRows: number | undefined;
  readonly tuning: TuningSnapshot | undefined;
  readonly saturatedBatches: number;
}

// Lag percentiles from a bounded reservoir: memory stays fixed however long the run.
const RESERVOIR = 20_000;

export class RunStats {
  rowsCopied = 0;
  eventsApplied = 0;
  binlogBatches = 0;
  maxBatchSize = 0;
  private copyStart = 0;
  private copyEnd = 0;
  private lagSamples: number[] = [];
  private lagSeen = 0;
  private lagMax = 0;
  downtimeSeconds: number | undefined;
  drainSeconds: number | undefined;
  cutoverVerifySeconds: number | undefined;
  private verify: VerifyReport | undefined;
  private cutoverMode: string | undefined;
  /** Rows compared by the verifier in this run; undefined while verification is off. */
  rowsVerified: number | undefined;

  verificationOn(): void {
    this.rowsVerified ??= 0;
  }

  rowsCompared(rows: number): void {
    this.rowsVerified = (this.rowsVerified ?? 0) + rows;
  }

  copyStarted(): void {
    this.copyStart = performance.now();
  }

  copyFinished(): void {
    this.copyEnd = performance.now();
  }

  get copySeconds(): number {
    return ((this.copyEnd || performance.now()) - this.copyStart) / 1000;
  }

  copyBatch(batch: CopyBatchReport): void {
    this.rowsCopied += batch.rowsRead;
  }

  binlogBatch(batch: AppliedBatch): void {
    this.eventsApplied += batch.size;
    this.binlogBatches++;
    this.maxBatchSize = Math.max(this.maxBatchSize, batch.size);
    for (const lag of batch.lagSeconds) {
      this.lagMax = Math.max(this.lagMax, lag);
      this.lagSeen++;
      if (this.lagSamples.length < RESERVOIR) this.lagSamples.push(lag);
      else {
        const slot = Math.floor(Math.random() * this.lagSeen);
        if (slot < RESERVOIR) this.lagSamples[slot] = lag;
      }
    }
  }

  cutover(figures: { drainSeconds: number; verifySeconds: number; downtimeSeconds: number; verify: VerifyReport | undefined; mode: string }): void {
    this.drainSeconds = figures.drainSeconds;
    this.cutoverVerifySeconds = figures.verify ? figures.verifySeconds : undefined;
    this.downtimeSeconds = figures.downtimeSeconds;
    this.verify = figures.verify;
    this.cutoverMode = figures.mode;
  }

  lag(): { p50: number; p99: number; max: number } {
    if (this.lagSamples.length === 0) return { p50: 0, p99: 0, max: 0 };
    const sorted = [...this.lagSamples].sort((a, b) => a - b);
    return { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), max: this.lagMax };
  }

  live(): Record<string, unknown> {
    return { rowsCopied: this.rowsCopied, eventsApplied: this.eventsApplied, binlogBatches: this.binlogBatches, lag: this.lag() };
  }

  summary(tuning: TuningSnapshot | undefined, saturatedBatches: number): RunSummary {
    return {
      rowsCopied: this.rowsCopied,
      copySeconds: this.copySeconds,
      copyRowsPerSecond: this.copySeconds > 0 ? this.rowsCopied / this.copySeconds : 0,
      eventsApplied: this.eventsApplied,
      binlogBatches: this.binlogBatches,
      meanBatchSize: this.binlogBatches ? this.eventsApplied / this.binlogBatches : 0,
      maxBatchSize: this.maxBatchSize,
      lagSeconds: this.lag(),
      cutoverMode: this.cutoverMode,
      downtimeSeconds: this.downtimeSeconds,
      drainSeconds: this.drainSeconds,
      cutoverVerifySeconds: this.cutoverVerifySeconds,
      rowsReverified: this.verify?.rowsChecked,
      cutoverOtherSeconds: this.downtimeSeconds === undefined ? undefined : Math.max(0, this.downtimeSeconds - (this.drainSeconds ?? 0) - (this.cutoverVerifySeconds ?? 0)),
      verifiedRows: this.rowsVerified,
      tuning,
      saturatedBatches,
    };
  }
}

const fixed = (value: number | undefined, digits = 2) => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits));

/** The summary as a few lines for a terminal. */
export function formatSummary(summary: RunSummary): string {
  const lines = [
    `rows copied        ${summary.rowsCopied} in ${fixed(summary.copySeconds)} s (${Math.round(summary.copyRowsPerSecond)} rows/s)`,
    `binlog events      ${summary.eventsApplied} applied in ${summary.binlogBatches} batches (mean ${fixed(summary.meanBatchSize, 1)}, max ${summary.maxBatchSize})`,
    `binlog lag         p50 ${fixed(summary.lagSeconds.p50, 3)} s, p99 ${fixed(summary.lagSeconds.p99, 3)} s, max ${fixed(summary.lagSeconds.max, 3)} s`,
  ];
  const tuning = summary.tuning;
  if (tuning?.hasEstimate) {
    lines.push(
      `tuning             m ${fixed(tuning.perEventSeconds * 1e6, 1)} µs/event, o ${fixed(tuning.perBatchSeconds * 1e3, 2)} ms/batch, R ${fixed(tuning.arrivalRate, 0)} events/s, m·R ${fixed(tuning.utilisation, 2)}, B* ${fixed(tuning.optimalBatchSize, 0)}, predicted lag ${fixed(tuning.predictedLagSeconds, 3)} s${tuning.saturated ? ' — TARGET SATURATED' : ''}`,
    );
  }
  if (summary.saturatedBatches > 0) {
    lines.push(`saturation         the target was saturated (m·R over the bound) for ${summary.saturatedBatches} binlog batches; the copy yielded meanwhile`);
  }
  if (summary.downtimeSeconds !== undefined) {
    const verify = summary.cutoverVerifySeconds === undefined ? 'no verification' : `verify ${fixed(summary.cutoverVerifySeconds, 3)} s (${summary.rowsReverified ?? 0} rows compared again)`;
    lines.push(`cutover (${summary.cutoverMode})  downtime ${fixed(summary.downtimeSeconds, 3)} s: drain ${fixed(summary.drainSeconds, 3)} s, ${verify}, the rest ${fixed(summary.cutoverOtherSeconds, 3)} s`);
  }
  if (summary.verifiedRows !== undefined) lines.push(`verified           every row identical on source and target (${summary.verifiedRows} row comparisons: while copying, again after changes, and at cutover)`);
  return lines.join('\n');
}
