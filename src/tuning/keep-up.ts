// Whether the binlog side keeps up, read from what happens rather than from the model alone.
// m·R prices the target's writes as the cost fit sees them; it misses an engine starved of CPU
// (its m and o stay small while events wait to be read and built) and writes slowed by the row
// copy that the robust fit trims as outliers. So the applier's busy fraction (time building and
// writing ÷ wall time) and the lag's trend are watched too, and when either says the binlog side
// cannot keep up, it is saturated whatever m·R says — with the cause: the engine itself (its
// CPU, or the CPU it waits for) or the target's writes. Pure: samples carry their own times.

export interface KeepUpSample {
  /** Seconds (any clock, the same for every sample). */
  readonly at: number;
  readonly lagSeconds: number;
  /** Cumulative: the applier's busy seconds (building and writing batches). */
  readonly busySeconds: number;
  /** Cumulative: of busySeconds, building (judging filters, planning, statements). */
  readonly buildSeconds: number;
  /** Cumulative: the engine process's CPU seconds. */
  readonly cpuSeconds: number;
  /** Cumulative: seconds the engine's main thread waited for a CPU while runnable (Linux), or undefined. */
  readonly cpuWaitSeconds: number | undefined;
  /** Cumulative: the sum of every applied event's lag (source commit → target commit), and how many events. */
  readonly eventLagSumSeconds: number;
  readonly eventCount: number;
}

export type SaturationCause = 'target' | 'engine';

export interface KeepUpState {
  /** The window the figures cover, seconds (0 before two samples). */
  readonly windowSeconds: number;
  /** Applier busy time ÷ wall time over the window. */
  readonly busyFraction: number;
  /** Of the busy time, the share spent building (the engine's part; the rest is the target's writes). */
  readonly buildShare: number;
  /** Engine process CPU ÷ wall time (1 = one core). */
  readonly engineCpu: number;
  /** Share of the window the engine's main thread waited for a CPU (NaN where it cannot be read). */
  readonly engineCpuWait: number;
  /** Least-squares slope of the lag over the window, seconds per second. */
  readonly lagTrend: number;
  readonly lagSeconds: number;
  /** Mean lag of the events applied over the window (source commit → target commit); the lag now where none were. */
  readonly meanLagSeconds: number;
  /** Saturated by what happens (busy or a growing lag), or by the model (m·R over the bound). */
  readonly saturated: boolean;
  readonly cause: SaturationCause | undefined;
  /** One sentence for the log and the status page: what limits the binlog side, and by how much. */
  readonly explanation: string | undefined;
}

export interface KeepUpOptions {
  /** Seconds of samples judged. Default 10. */
  readonly windowSeconds?: number;
  /** Busy fraction at which the applier counts as saturated (the model's bound). Default 0.9. */
  readonly busyBound?: number;
  /** A lag growing by more than this (s/s) over the window, and over lagFloorSeconds, is saturation. Default 0.05. */
  readonly lagTrendBound?: number;
  readonly lagFloorSeconds?: number;
  /** Engine CPU (cores) at which the engine itself is the limit: its work is single-threaded. Default 0.85. */
  readonly engineCpuBound?: number;
  /** Share of the time waiting for a CPU at which the engine counts as starved by other processes. Default 0.3. */
  readonly cpuWaitBound?: number;
}

const percent = (value: number): string => `${Math.round(value * 100)}%`;

export class KeepUpMonitor {
  private readonly samples: KeepUpSample[] = [];
  /** Saturation by busy fraction holds until the busy fraction falls 0.1 under the bound (no flapping at the bound). */
  private busyLatched = false;
  private readonly windowSeconds: number;
  private readonly busyBound: number;
  private readonly lagTrendBound: number;
  private readonly lagFloorSeconds: number;
  private readonly engineCpuBound: number;
  private readonly cpuWaitBound: number;

  constructor(options: KeepUpOptions = {}) {
    this.windowSeconds = options.windowSeconds ?? 10;
    this.busyBound = options.busyBound ?? 0.9;
    this.lagTrendBound = options.lagTrendBound ?? 0.05;
    this.lagFloorSeconds = options.lagFloorSeconds ?? 1;
    this.engineCpuBound = options.engineCpuBound ?? 0.85;
    this.cpuWaitBound = options.cpuWaitBound ?? 0.3;
  }

  record(sample: KeepUpSample): void {
    this.samples.push(sample);
    while (this.samples.length > 2 && sample.at - this.samples[1]!.at >= this.windowSeconds) this.samples.shift();
  }

  /** The judgement over the window; `modelSaturated` is the tuning loop's m·R verdict (and `utilisation` its m·R). */
  state(modelSaturated: boolean, utilisation: number): KeepUpState {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at <= first.at) {
      return { windowSeconds: 0, busyFraction: NaN, buildShare: NaN, engineCpu: NaN, engineCpuWait: NaN, lagTrend: NaN, lagSeconds: last?.lagSeconds ?? 0, meanLagSeconds: last?.lagSeconds ?? 0, saturated: modelSaturated, cause: modelSaturated ? 'target' : undefined, explanation: modelSaturated ? this.explain('target', NaN, NaN, NaN, NaN, utilisation) : undefined };
    }
    const span = last.at - first.at;
    const busy = last.busySeconds - first.busySeconds;
    const busyFraction = busy / span;
    const buildShare = busy > 0 ? (last.buildSeconds - first.buildSeconds) / busy : 0;
    const engineCpu = (last.cpuSeconds - first.cpuSeconds) / span;
    const engineCpuWait = last.cpuWaitSeconds !== undefined && first.cpuWaitSeconds !== undefined ? (last.cpuWaitSeconds - first.cpuWaitSeconds) / span : NaN;
    const lagTrend = this.samples.length >= 3 ? slope(this.samples) : 0;
    const judged = span >= this.windowSeconds / 2;
    // A busy applier alone is not saturation: a greedy applier is busy all the time at high
    // rates by design (its batches grow instead), and keeps up (`npm run bench -- keepup`: busy
    // 0.93 with a lag p99 of 0.58 s at 6 ms RTT and full speed). Busy and a lag over a second is.
    if (judged && busyFraction >= this.busyBound && last.lagSeconds > this.lagFloorSeconds) this.busyLatched = true;
    else if (busyFraction < this.busyBound - 0.1 || last.lagSeconds <= this.lagFloorSeconds / 2) this.busyLatched = false;
    const busySaturated = this.busyLatched;
    const lagGrowing = judged && lagTrend > this.lagTrendBound && last.lagSeconds > this.lagFloorSeconds;
    const saturated = modelSaturated || busySaturated || lagGrowing;
    let cause: SaturationCause | undefined;
    if (saturated) {
      // The engine is the limit when it has no more CPU to give (its work runs on one thread), when
      // it waits for a CPU that other processes hold, or when building, not writing, fills the applier's time.
      const engineBound = engineCpu >= this.engineCpuBound || engineCpuWait >= this.cpuWaitBound || buildShare > 0.5;
      cause = engineBound ? 'engine' : 'target';
    }
    return {
      windowSeconds: span,
      busyFraction,
      buildShare,
      engineCpu,
      engineCpuWait,
      lagTrend,
      lagSeconds: last.lagSeconds,
      meanLagSeconds: last.eventCount > first.eventCount ? (last.eventLagSumSeconds - first.eventLagSumSeconds) / (last.eventCount - first.eventCount) : last.lagSeconds,
      saturated,
      cause,
      explanation: cause ? this.explain(cause, busyFraction, engineCpu, engineCpuWait, lagTrend, utilisation) : undefined,
    };
  }

  private explain(cause: SaturationCause, busy: number, cpu: number, wait: number, trend: number, utilisation: number): string {
    const growing = Number.isFinite(trend) && trend > this.lagTrendBound ? `; the lag grows by ${trend.toFixed(2)} s every second` : '';
    if (cause === 'engine') {
      const waiting = Number.isFinite(wait) ? ` and waits for a CPU ${percent(wait)} of the time` : '';
      return `the engine itself is the limit: it uses ${percent(cpu)} of a core${waiting} (other processes on this machine take the rest)${growing}; ` +
        `give it a CPU of its own, or reduce the write rate`;
    }
    const load = Number.isFinite(utilisation) ? ` (m·R ${utilisation.toFixed(2)})` : '';
    return `the target is the limit: writing the binlog takes ${Number.isFinite(busy) ? percent(busy) : 'all'} of the applier's time${load}${growing}; ` +
      `the row copy yields to it, and no batch size does better`;
  }
}

/** Least-squares slope of lag on time. */
function slope(samples: readonly KeepUpSample[]): number {
  const n = samples.length;
  let sumT = 0;
  let sumL = 0;
  for (const sample of samples) {
    sumT += sample.at;
    sumL += sample.lagSeconds;
  }
  const meanT = sumT / n;
  const meanL = sumL / n;
  let numerator = 0;
  let denominator = 0;
  for (const sample of samples) {
    numerator += (sample.at - meanT) * (sample.lagSeconds - meanL);
    denominator += (sample.at - meanT) ** 2;
  }
  return denominator > 0 ? numerator / denominator : 0;
}

/** The model's figures a lag note compares with (a TuningSnapshot has them). */
export interface ModelFigures {
  readonly predictedLagSeconds: number;
  readonly utilisation: number;
  readonly perBatchSeconds: number;
  readonly cycleSeconds: number;
}

/**
 * Why the measured lag is well above the model's prediction (over twice it, and over 5 ms), from
 * what was measured; undefined when it is not. The model prices the target's typical write; it
 * does not see an engine waiting for a CPU, nor writes slower than the fit's (slowed by the row
 * copy, or trimmed by the robust fit as outliers).
 */
export function lagNote(state: KeepUpState, model: ModelFigures | undefined): string | undefined {
  if (!model || !Number.isFinite(model.predictedLagSeconds) || state.windowSeconds === 0) return undefined;
  const measured = state.meanLagSeconds;
  if (!(measured > 2 * model.predictedLagSeconds) || measured < 0.005) return undefined;
  const reasons: string[] = [];
  if (state.engineCpuWait >= 0.1) reasons.push(`the engine waited for a CPU ${percent(state.engineCpuWait)} of the time`);
  const expectedBusy = Math.min(1, model.utilisation + model.perBatchSeconds / model.cycleSeconds);
  if (state.busyFraction > expectedBusy + 0.1) reasons.push(`the applier was busy ${percent(state.busyFraction)} of the time where the model expects ${percent(expectedBusy)}: writes were slower than the fit's typical write`);
  if (state.engineCpu >= 0.85) reasons.push(`the engine used ${percent(state.engineCpu)} of a core`);
  if (reasons.length === 0) reasons.push('nothing the engine measures explains it (the source may be slow to send its binlog)');
  return `the measured lag (mean ${(measured * 1000).toFixed(0)} ms) is ${(measured / model.predictedLagSeconds).toFixed(1)}× the model's ${(model.predictedLagSeconds * 1000).toFixed(1)} ms: ${reasons.join('; ')}`;
}
