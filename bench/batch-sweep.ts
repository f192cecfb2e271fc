// `npm run bench -- batch-sweep [--quick] [--seconds n]`: the tuning loop (docs/architecture.md) against
// real servers. The target sits behind a LatencyProxy (0, 1, 3 ms per direction); per latency,
// a cost probe and a capacity probe choose steady source rates R from well below to past what
// the machine sustains; at each R the streamer + applier run with fixed batch sizes 1, 10, 100,
// 1000 and with the adaptive BatchSizeController; then a burst (one 50,000-row transaction) is
// applied with each sizer. Writes bench/out/batch-sweep.{csv,md,svg} (+ .png when a converter
// is installed) and checks the claims of the design against the measurements.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checksums, costPoints, fitCosts, KEPT_UP_DRAIN_SECONDS, KEPT_UP_LAG_GROWTH_SECONDS, probeCosts, runBurst, runSteady, sizerName,
  startBenchServers, stopBenchServers, targetVia, ADAPTIVE, type BenchServers, type BurstRunResult, type CostProbe,
  type SizerSpec, type SteadyRunResult,
} from './apply-harness.js';
import { median } from 'simple-statistics';
import { DEFAULT_COST_FIT } from '../src/tuning/cost-estimator.js';
import { fitLineRobustly } from '../src/tuning/robust-line-fit.js';
import { renderPanelGrid, svgToPng, type Panel } from './plot.js';
import { markdownTable, OUT_DIR, writeResults, type Record as ResultRecord } from './report.js';

export interface BatchSweepOptions {
  readonly quick: boolean;
  readonly seconds?: number;
  /** Latencies (ms per direction) to run instead of the default set: for a look at one case. */
  readonly latencies?: readonly number[];
  /** Sizers to run instead of adaptive + every fixed size. */
  readonly sizers?: readonly SizerSpec[];
  /** Skip the burst scenario. */
  readonly noBurst?: boolean;
}

const SIZERS: readonly SizerSpec[] = ['adaptive', 1, 10, 100, 1000];
const FIXED_SIZES = [1, 10, 100, 1000] as const;
const TABLES = 4;
const ROWS_PER_TABLE = 25_000;
const BURST_ROWS = 50_000;
const DRAIN_CAP_SECONDS = 2.5;

/** B* = o·R / (1 − m·R); Infinity at or past m·R = 1. */
const optimal = (m: number, o: number, rate: number) => (m * rate >= 1 ? Infinity : (o * rate) / (1 - m * rate));
const predictedLag = (m: number, o: number, rate: number) => (m * rate >= 1 ? Infinity : o / (1 - m * rate));
/** The rate a fixed batch size B sustains in the model: B / (m·B + o). */
const modelCapacity = (m: number, o: number, size: number) => size / (m * size + o);

const ms = (seconds: number | undefined) => (seconds === undefined || !Number.isFinite(seconds) ? '—' : Number((seconds * 1000).toPrecision(3)));
const us = (seconds: number) => (Number.isFinite(seconds) ? Number((seconds * 1e6).toPrecision(3)) : '—');
const round = (value: number) => (Number.isFinite(value) ? Math.round(value) : value === Infinity ? '∞' : '—');
const ratio = (value: number) => (Number.isFinite(value) ? Number(value.toPrecision(3)) : '—');

interface Scenario {
  readonly latencyMs: number;
  readonly rate: number;
  readonly runs: Map<string, SteadyRunResult>;
}

interface LatencyResult {
  readonly latencyMs: number;
  readonly probe: CostProbe;
  readonly capacity: number;
  readonly rates: number[];
  readonly rateNotes: string[];
  readonly scenarios: Scenario[];
  readonly bursts: BurstRunResult[];
  /** Least squares over every batch of every fixed-size steady run at this latency. */
  readonly fit: { m: number; o: number; n: number };
  /**
   * The engine's own estimator (the robust fit of src/tuning) over the same fixed-size runs'
   * batches, warm-up and window: what the engine would conclude from all that data. Against
   * `fit` it shows how much of the time the trimmed slow writes carry.
   */
  readonly robustFit: { m: number; o: number; kept: number; n: number; meanOverRobust: number };
}

/**
 * The sweep's rates for one latency, from the probes. The rungs are rates at which a fixed size
 * stops keeping up in the model (2·C(1), 2·C(10), 1.25·C(100), with C(B) = B/(m·B + o) from the
 * cost probe), kept only up to 0.95× the measured capacity of the whole machine (the streamer,
 * the applier and both servers share 2 cores, so that is reached long before 1/m); fractions of
 * the capacity fill in when fewer rungs fit; the top rate is 1.15/m, past the target's capacity
 * (capped at 0.8× what the generator reached unpaced).
 */
function chooseRates(probe: CostProbe, capacity: number, count: number): { rates: number[]; notes: string[] } {
  const ceiling = Math.min(0.95 * capacity, 0.8 * probe.generatorRate);
  const notes: string[] = [];
  const rungs: [number, string][] = [
    [2 * modelCapacity(probe.m, probe.o, 1), '2·C(1)'],
    [2 * modelCapacity(probe.m, probe.o, 10), '2·C(10)'],
    [1.25 * modelCapacity(probe.m, probe.o, 100), '1.25·C(100)'],
  ];
  const chosen: [number, string][] = [];
  for (const [rate, label] of rungs) {
    if (rate <= ceiling) chosen.push([rate, label]);
    else notes.push(`${label} = ${Math.round(rate)}/s left out (above 0.95× capacity)`);
  }
  const top: [number, string] = 1.15 / probe.m <= 0.8 * probe.generatorRate ? [1.15 / probe.m, '1.15/m'] : [0.8 * probe.generatorRate, '0.8·generator max (< 1.15/m)'];
  // Keep the highest rungs: they separate the sizers; fill from below with fractions of the capacity.
  let below = chosen.slice(-(count - 1));
  for (const fraction of [0.8, 0.5, 0.25]) {
    if (below.length >= count - 1) break;
    const rate = fraction * capacity;
    if (below.every(([other]) => Math.abs(other - rate) / other > 0.25)) below.push([rate, `${fraction}·capacity`]);
  }
  below = below.sort((a, b) => a[0] - b[0]);
  const all = [...below, top];
  notes.unshift(`rates: ${all.map(([rate, label]) => `${label} = ${Math.round(rate)}/s`).join(', ')}`);
  return { rates: all.map(([rate]) => Math.round(rate / 10) * 10), notes };
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function describeRun(result: SteadyRunResult): string {
  return `${result.sizer.padEnd(9)} produced ${Math.round(result.producedRate)}/s applied ${Math.round(result.appliedRate)}/s lag p50 ${ms(result.lag.p50)} p99 ${ms(result.lag.p99)} max ${ms(result.lag.max)} ms, mean txn ${result.meanBatch.toFixed(1)}, drain ${result.drainSeconds === undefined ? '>cap' : result.drainSeconds.toFixed(2) + ' s'}, ${result.keptUp ? 'kept up' : 'FELL BEHIND'}` +
    ` e2e p50 ${ms(result.endToEnd.p50)} p99 ${ms(result.endToEnd.p99)} ms` + (result.snapshot ? ` | m ${us(result.snapshot.perEventSeconds)} µs o ${ms(result.snapshot.perBatchSeconds)} ms R ${Math.round(result.snapshot.arrivalRate)} B* ${round(result.snapshot.optimalBatchSize)} base ${result.snapshot.batchSize}${result.snapshot.saturated ? ' SATURATED' : ''}${result.snapshot.identifiable ? '' : ' (not identifiable)'}` : '');
}

export async function benchBatchSweep(options: BatchSweepOptions): Promise<void> {
  const quick = options.quick;
  const latencies = options.latencies ?? (quick ? [1, 3] : [0, 1, 3]);
  const sizers = options.sizers ?? SIZERS;
  const seconds = options.seconds ?? (quick ? 5 : 12);
  const warmupSeconds = quick ? 1.5 : 2;
  const ratesPerLatency = quick ? 3 : 4;
  const burstLatencies = options.noBurst ? [] : quick ? latencies.slice(-1) : latencies;
  const burstCapSeconds = quick ? 8 : 10;
  const drainCapSeconds = DRAIN_CAP_SECONDS;
  const began = Date.now();
  let servers: BenchServers | undefined;
  const results: LatencyResult[] = [];
  let check = { identical: false, text: 'not checked' };
  try {
    log(`batch-sweep${quick ? ' --quick' : ''}: ${seconds} s measured per run after ${warmupSeconds} s warm-up; latencies ${latencies.join(', ')} ms per direction`);
    servers = await startBenchServers({ tables: TABLES, rowsPerTable: ROWS_PER_TABLE });
    for (const latencyMs of latencies) {
      const via = await targetVia(servers, latencyMs);
      try {
        const probe = await probeCosts(servers, via.endpoint, 1);
        log(`\n== ${latencyMs} ms per direction: cost probe m ${us(probe.m)} µs, o ${ms(probe.o)} ms over ${probe.batches} batches; generator reaches ${Math.round(probe.generatorRate)} events/s unpaced`);
        // Capacity: what the whole pipeline applies with the largest batches while the source is
        // offered 0.55/m (more than this machine sustains, not so much more that the load itself
        // takes most of the CPU): the applied rate is the ceiling.
        const offered = Math.min(0.55 / probe.m, 0.8 * probe.generatorRate);
        const capacityRun = await runSteady(servers, { target: via.endpoint, sizer: ADAPTIVE.max, rate: offered, warmupSeconds: 1, seconds: 3, drainCapSeconds: 0 });
        const capacity = capacityRun.appliedRate;
        const { rates, notes } = chooseRates(probe, capacity, ratesPerLatency);
        log(`capacity probe: fixed ${ADAPTIVE.max} applied ${Math.round(capacity)} events/s with ${Math.round(capacityRun.producedRate)}/s offered; ${notes.join('; ')}`);
        const scenarios: Scenario[] = [];
        for (const rate of rates) {
          log(`-- ${latencyMs} ms, R = ${rate}/s`);
          const runs = new Map<string, SteadyRunResult>();
          for (const sizer of sizers) {
            const result = await runSteady(servers, { target: via.endpoint, sizer, rate, warmupSeconds, seconds, drainCapSeconds });
            runs.set(sizerName(sizer), result);
            log(`   ${describeRun(result)}`);
          }
          scenarios.push({ latencyMs, rate, runs });
        }
        const bursts: BurstRunResult[] = [];
        if (burstLatencies.includes(latencyMs)) {
          log(`-- ${latencyMs} ms, burst: one transaction of ${BURST_ROWS} rows`);
          for (const sizer of sizers) {
            const burst = await runBurst(servers, { target: via.endpoint, sizer, rows: BURST_ROWS, capSeconds: burstCapSeconds });
            bursts.push(burst);
            log(`   ${burst.sizer.padEnd(9)} drained in ${burst.drainSeconds === undefined ? `>${burstCapSeconds} s (${burst.appliedWithinCap} applied)` : burst.drainSeconds.toFixed(2) + ' s'}, ${Math.round(burst.appliedRate)}/s, lag p99 ${ms(burst.lag.p99)} ms, mean txn ${burst.meanBatch.toFixed(0)}`);
          }
        }
        const fixedPoints = scenarios.flatMap((scenario) => [...scenario.runs.values()].filter((run) => run.sizer !== 'adaptive').flatMap((run) => costPoints(run, { withDrain: true })));
        const fit = fitCosts(fixedPoints);
        log(`least squares over the fixed-size runs at ${latencyMs} ms: m ${us(fit.m)} µs, o ${ms(fit.o)} ms (${fit.n} batches)`);
        const robustFit = robustCosts(scenarios.flatMap((scenario) => [...scenario.runs.values()].filter((run) => run.sizer !== 'adaptive')
          .flatMap((run) => costPoints(run, { withDrain: false }))));
        log(`the engine's robust fit over the same runs (drain left out): m ${us(robustFit.m)} µs, o ${ms(robustFit.o)} ms, ${robustFit.kept} of ${robustFit.n} batches kept; mean T ÷ its prediction ${ratio(robustFit.meanOverRobust)}`);
        results.push({ latencyMs, probe, capacity, rates, rateNotes: notes, scenarios, bursts, fit, robustFit });
      } finally {
        await via.stop();
      }
    }
    check = await checksums(servers);
    log(`\nCHECKSUM TABLE after the sweep: ${check.identical ? 'source and target IDENTICAL' : 'source and target DIFFER'} (${check.text})`);
  } finally {
    await stopBenchServers(servers);
  }
  writeOutputs(results, { quick, seconds, warmupSeconds, drainCapSeconds, burstCapSeconds, minutes: (Date.now() - began) / 60000, check });
}

interface RunSettings {
  readonly quick: boolean;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly drainCapSeconds: number;
  readonly burstCapSeconds: number;
  readonly minutes: number;
  readonly check: { identical: boolean; text: string };
}

function steadyRecord(latency: LatencyResult, scenario: Scenario, run: SteadyRunResult): ResultRecord {
  const snapshot = run.snapshot;
  const bStar = optimal(latency.fit.m, latency.fit.o, run.producedRate);
  const scenarioFit = fitCosts([...scenario.runs.values()].filter((other) => other.sizer !== 'adaptive').flatMap((other) => costPoints(other, { withDrain: true })));
  return {
    'latency ms/dir': latency.latencyMs,
    'target R': scenario.rate,
    sizer: run.sizer,
    'produced R': Math.round(run.producedRate),
    'applied/s': Math.round(run.appliedRate),
    'lag p50 ms': ms(run.lag.p50),
    'lag p99 ms': ms(run.lag.p99),
    'lag max ms': ms(run.lag.max),
    'lag mean ms': ms(run.lag.mean),
    'e2e p50 ms': ms(run.endToEnd.p50),
    'e2e p99 ms': ms(run.endToEnd.p99),
    'e2e max ms': ms(run.endToEnd.max),
    'e2e mean ms': ms(run.endToEnd.mean),
    'applier lag mean ms': ms(run.applierLag.mean),
    'kept up': run.keptUp ? 'yes' : 'NO',
    'drain s': run.drainSeconds === undefined ? `>${DRAIN_CAP_SECONDS}` : Number(run.drainSeconds.toFixed(2)),
    'backlog at stop': Math.round(run.backlogAtStop),
    'lag p50 Q2→Q4 ms': `${ms(run.lagP50SecondQuarter)}→${ms(run.lagP50LastQuarter)}`,
    'mean txn': Number(run.meanBatch.toFixed(1)),
    'max txn': run.maxBatch,
    'B* (LSQ)': round(bStar),
    'est m µs': snapshot ? us(snapshot.perEventSeconds) : '',
    'est o ms': snapshot ? ms(snapshot.perBatchSeconds) : '',
    'est R': snapshot ? Math.round(snapshot.arrivalRate) : '',
    'est B*': snapshot ? round(snapshot.optimalBatchSize) : '',
    'est pred lag ms': snapshot ? ms(snapshot.predictedLagSeconds) : '',
    'est m·R': snapshot ? ratio(snapshot.utilisation) : '',
    saturated: snapshot ? (snapshot.saturated ? 'YES' : 'no') : '',
    identifiable: snapshot ? (snapshot.identifiable ? 'yes' : 'no') : '',
    'base size': snapshot ? snapshot.batchSize : '',
    'LSQ m µs': us(latency.fit.m),
    'LSQ o ms': ms(latency.fit.o),
    'LSQ m µs (this R)': us(scenarioFit.m),
    'LSQ o ms (this R)': ms(scenarioFit.o),
  };
}

interface CheckOutcome {
  readonly verdict: 'PASS' | 'FAIL' | 'n/a';
  readonly detail: string;
}

const verdictOf = (ok: boolean | undefined): CheckOutcome['verdict'] => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'FAIL');

function scenarioChecks(latency: LatencyResult, scenario: Scenario): { label: string; checks: [string, CheckOutcome][] } {
  const adaptive = scenario.runs.get('adaptive')!;
  const fixed = FIXED_SIZES.flatMap((size) => {
    const run = scenario.runs.get(`fixed ${size}`);
    return run ? [{ size, run }] : [];
  });
  const rate = adaptive.producedRate;
  const bStar = optimal(latency.fit.m, latency.fit.o, rate);
  const checks: [string, CheckOutcome][] = [];

  // 1. Keeping up.
  const underBStar = fixed.filter(({ size }) => size < bStar);
  const keptUpFixed = fixed.filter(({ run }) => run.keptUp);
  const behindUnder = underBStar.filter(({ run }) => !run.keptUp).map(({ size }) => size);
  const upUnder = underBStar.filter(({ run }) => run.keptUp).map(({ size }) => size);
  let keepUp: CheckOutcome;
  const fixedSummary = `fixed kept up: ${keptUpFixed.map(({ size }) => size).join(', ') || 'none'}; fixed under B* (${round(bStar)}) that fell behind: ${behindUnder.join(', ') || 'none'}${upUnder.length ? `, that kept up: ${upUnder.join(', ')}` : ''}`;
  if (keptUpFixed.length === 0) {
    keepUp = { verdict: 'n/a', detail: `past capacity: no fixed size kept up; adaptive ${adaptive.keptUp ? 'kept up' : 'fell behind'}, saturated flag ${adaptive.snapshot?.saturated ? 'SET' : 'not set'} (est m·R ${ratio(adaptive.snapshot?.utilisation ?? NaN)})` };
  } else {
    keepUp = { verdict: verdictOf(adaptive.keptUp), detail: `adaptive ${adaptive.keptUp ? 'kept up' : 'FELL BEHIND'}; ${fixedSummary}` };
  }
  checks.push(['keeps up where fixed sizes under B* fall behind', keepUp]);

  // 2. p99 lag against the best fixed size that kept up.
  const bestFixed = keptUpFixed.sort((a, b) => a.run.lag.p99 - b.run.lag.p99)[0];
  if (bestFixed) {
    const factor = adaptive.lag.p99 / bestFixed.run.lag.p99;
    const endToEnd = adaptive.endToEnd.p99 / Math.min(...keptUpFixed.map(({ run }) => run.endToEnd.p99));
    // One stalled write holds every event behind it: in a window of a few seconds that alone can be the p99.
    const longest = (run: SteadyRunResult) => ms(Math.max(0, ...run.batchLog.filter((batch) => batch.phase === 'window').map((batch) => batch.seconds)));
    checks.push(['p99 lag ≤ 1.25× best fixed', { verdict: verdictOf(factor <= 1.25), detail: `adaptive ${ms(adaptive.lag.p99)} ms vs fixed ${bestFixed.size} ${ms(bestFixed.run.lag.p99)} ms: ×${ratio(factor)} (end-to-end p99: adaptive ${ms(adaptive.endToEnd.p99)} ms, ×${ratio(endToEnd)} the best fixed that kept up); longest write in the window: adaptive ${longest(adaptive)} ms, fixed ${bestFixed.size} ${longest(bestFixed.run)} ms` }]);
  } else {
    checks.push(['p99 lag ≤ 1.25× best fixed', { verdict: 'n/a', detail: 'no fixed size kept up' }]);
  }

  // 3. Transaction size against B*.
  if (Number.isFinite(bStar) && bStar > 0) {
    const factor = adaptive.meanBatch / bStar;
    const own = adaptive.snapshot?.optimalBatchSize ?? NaN;
    checks.push(['mean txn within 1.5× of B*', { verdict: verdictOf(factor <= 1.5 && factor >= 1 / 1.5), detail: `mean ${adaptive.meanBatch.toFixed(1)} vs B* ${bStar.toFixed(1)} (LSQ m, o at produced R ${Math.round(rate)}): ×${ratio(factor)}; vs the controller's own B* ${round(own)}: ×${ratio(adaptive.meanBatch / own)}` }]);
  } else {
    checks.push(['mean txn within 1.5× of B*', { verdict: 'n/a', detail: `B* infinite (LSQ m·R = ${ratio(latency.fit.m * rate)}): mean txn ${adaptive.meanBatch.toFixed(0)}, max ${adaptive.maxBatch}` }]);
  }

  // 4. Predicted lag against the measured mean lag.
  const predicted = adaptive.snapshot?.predictedLagSeconds ?? NaN;
  if (Number.isFinite(predicted) && predicted > 0) {
    const factor = adaptive.lag.mean / predicted;
    checks.push(['predicted lag within 2× of measured mean', { verdict: verdictOf(factor <= 2 && factor >= 0.5), detail: `predicted o/(1−m·R) ${ms(predicted)} ms, measured mean ${ms(adaptive.lag.mean)} ms (p50 ${ms(adaptive.lag.p50)} ms): measured/predicted ×${ratio(factor)}; end-to-end mean ${ms(adaptive.endToEnd.mean)} ms: ×${ratio(adaptive.endToEnd.mean / predicted)}` }]);
  } else {
    checks.push(['predicted lag within 2× of measured mean', { verdict: 'n/a', detail: `no finite prediction (${adaptive.snapshot?.saturated ? 'saturated' : 'no estimate'}); measured mean ${ms(adaptive.lag.mean)} ms` }]);
  }
  // 4b. The same against the part of the lag the model describes: the applier's queue and write,
  // from the streamer reading an event to its target commit (without the source → stream delay).
  if (Number.isFinite(predicted) && predicted > 0) {
    const factor = adaptive.applierLag.mean / predicted;
    checks.push(["predicted lag within 2× of the applier's part", { verdict: verdictOf(factor <= 2 && factor >= 0.5), detail: `predicted ${ms(predicted)} ms, read → target commit mean ${ms(adaptive.applierLag.mean)} ms: ×${ratio(factor)} (the model expects about 1.5×: an event waits for the write in progress, then its own)` }]);
  } else {
    checks.push(["predicted lag within 2× of the applier's part", { verdict: 'n/a', detail: 'no finite prediction' }]);
  }

  // 5. m and o against the least-squares fit over the fixed-size runs.
  const snapshot = adaptive.snapshot;
  if (snapshot?.hasEstimate) {
    const mError = snapshot.perEventSeconds / latency.fit.m - 1;
    const oError = snapshot.perBatchSeconds / latency.fit.o - 1;
    checks.push(['m and o within 15% of LSQ', { verdict: verdictOf(Math.abs(mError) <= 0.15 && Math.abs(oError) <= 0.15), detail: `m ${us(snapshot.perEventSeconds)} vs ${us(latency.fit.m)} µs (${(mError * 100).toFixed(0)}%), o ${ms(snapshot.perBatchSeconds)} vs ${ms(latency.fit.o)} ms (${(oError * 100).toFixed(0)}%)${snapshot.identifiable ? '' : '; estimate NOT identifiable'}` }]);
  } else {
    checks.push(['m and o within 15% of LSQ', { verdict: 'FAIL', detail: 'the controller had no estimate' }]);
  }
  // 5c. Against the engine's own estimator over the same fixed-size batches: the online estimate
  // (a window of its own batches near its operating point) against what the estimator makes of
  // all the fixed runs. The gap to check 5 is then the slow writes the robust fit trims.
  if (snapshot?.hasEstimate && Number.isFinite(latency.robustFit.m)) {
    const mError = snapshot.perEventSeconds / latency.robustFit.m - 1;
    const oError = snapshot.perBatchSeconds / latency.robustFit.o - 1;
    checks.push(['m and o within 15% of the robust fit over the fixed runs', { verdict: verdictOf(Math.abs(mError) <= 0.15 && Math.abs(oError) <= 0.15), detail: `m ${us(snapshot.perEventSeconds)} vs ${us(latency.robustFit.m)} µs (${(mError * 100).toFixed(0)}%), o ${ms(snapshot.perBatchSeconds)} vs ${ms(latency.robustFit.o)} ms (${(oError * 100).toFixed(0)}%); the robust fit kept ${latency.robustFit.kept} of ${latency.robustFit.n} batches, and the mean write took ×${ratio(latency.robustFit.meanOverRobust)} what it predicts` }]);
  } else {
    checks.push(['m and o within 15% of the robust fit over the fixed runs', { verdict: 'n/a', detail: 'no estimate' }]);
  }
  // 5b. The same against the fixed-size runs at this operating point: those that kept up at this R
  // (warm-up and window, not the drain after the load stops). On a machine whose cores the servers,
  // the load and tideferry share, m depends on the load, so the pooled fit mixes operating points;
  // each run's own fit is shown to give the spread between runs.
  const atRate = keptUpFixed.map(({ size, run }) => ({ size, fit: fitCosts(costPoints(run, { withDrain: false })) }))
    .filter(({ fit }) => Number.isFinite(fit.m));
  if (snapshot?.hasEstimate && atRate.length > 0) {
    const pooled = fitCosts(keptUpFixed.flatMap(({ run }) => costPoints(run, { withDrain: false })));
    const mError = snapshot.perEventSeconds / pooled.m - 1;
    const oError = snapshot.perBatchSeconds / pooled.o - 1;
    const perRun = atRate.map(({ size, fit }) => `fixed ${size}: m ${us(fit.m)} µs, o ${ms(fit.o)} ms`).join('; ');
    checks.push(['m and o within 15% of LSQ at this R', { verdict: verdictOf(Math.abs(mError) <= 0.15 && Math.abs(oError) <= 0.15), detail: `m ${us(snapshot.perEventSeconds)} vs ${us(pooled.m)} µs (${(mError * 100).toFixed(0)}%), o ${ms(snapshot.perBatchSeconds)} vs ${ms(pooled.o)} ms (${(oError * 100).toFixed(0)}%), over the fixed runs that kept up; each alone: ${perRun}` }]);
  } else {
    checks.push(['m and o within 15% of LSQ at this R', { verdict: 'n/a', detail: 'no fixed size kept up at this R, or no estimate' }]);
  }
  return { label: `${latency.latencyMs} ms/dir, R ${scenario.rate}/s`, checks };
}

/** The engine's estimator (robust-line-fit.ts, with CostEstimator's settings) over many batches at once. */
function robustCosts(points: [number, number][]): LatencyResult['robustFit'] {
  // No fixed-size run (`--sizers adaptive`): nothing to fit.
  if (points.length < DEFAULT_COST_FIT.minimumPoints) return { m: NaN, o: NaN, kept: 0, n: points.length, meanOverRobust: NaN };
  const fit = fitLineRobustly(points, DEFAULT_COST_FIT);
  const predicted = points.reduce((sum, [size]) => sum + fit.slope * size + fit.intercept, 0);
  const measured = points.reduce((sum, [, seconds]) => sum + seconds, 0);
  return { m: fit.slope, o: fit.intercept, kept: fit.inliers.length, n: points.length, meanOverRobust: measured / predicted };
}

const SIZE_BANDS: readonly [number, number][] = [[1, 1], [2, 12], [13, 40], [41, 120], [121, 400], [401, 1000], [1001, Infinity]];

/** Median write time per batch-size band over the fixed-size runs of one latency (see the report's section). */
function sizeBands(latency: LatencyResult): ResultRecord[] {
  const batches = latency.scenarios.flatMap((scenario) => [...scenario.runs.values()].filter((run) => run.sizer !== 'adaptive').flatMap((run) => run.batchLog.filter((batch) => batch.phase !== 'drain')));
  const records: ResultRecord[] = [];
  let previous: { size: number; seconds: number } | undefined;
  for (const [low, high] of SIZE_BANDS) {
    const inBand = batches.filter((batch) => batch.size >= low && batch.size <= high);
    if (inBand.length < 20) continue;
    const size = inBand.reduce((sum, batch) => sum + batch.size, 0) / inBand.length;
    const seconds = median(inBand.map((batch) => batch.seconds));
    records.push({
      'latency ms/dir': latency.latencyMs,
      'sizes': high === Infinity ? `${low}+` : low === high ? String(low) : `${low}–${high}`,
      batches: inBand.length,
      'mean size': Number(size.toFixed(1)),
      'median T ms': ms(seconds),
      'slope from previous µs/event': previous ? us((seconds - previous.seconds) / (size - previous.size)) : '',
    });
    previous = { size, seconds };
  }
  return records;
}

/** Every batch of every steady run, one line each, for analysis outside the report. */
function writeBatchLog(results: readonly LatencyResult[], name: string): void {
  const lines = ['latency_ms,target_rate,sizer,phase,t_s,size,seconds'];
  for (const latency of results) {
    for (const scenario of latency.scenarios) {
      for (const run of scenario.runs.values()) {
        for (const batch of run.batchLog) lines.push(`${latency.latencyMs},${scenario.rate},${run.sizer},${batch.phase},${batch.t.toFixed(4)},${batch.size},${batch.seconds.toPrecision(5)}`);
      }
    }
  }
  writeFileSync(join(OUT_DIR, `${name}-batches.csv`), lines.join('\n') + '\n');
}

function writeOutputs(results: readonly LatencyResult[], settings: RunSettings): void {
  const records = results.flatMap((latency) => latency.scenarios.flatMap((scenario) => [...scenario.runs.values()].map((run) => steadyRecord(latency, scenario, run))));
  const burstRecords: ResultRecord[] = results.flatMap((latency) => latency.bursts.map((burst) => ({
    'latency ms/dir': latency.latencyMs,
    sizer: burst.sizer,
    rows: burst.rows,
    'drain s': burst.drainSeconds === undefined ? `>${settings.burstCapSeconds} (${burst.appliedWithinCap} applied)` : Number(burst.drainSeconds.toFixed(2)),
    'applied/s': Math.round(burst.appliedRate),
    'lag p50 ms': ms(burst.lag.p50),
    'lag p99 ms': ms(burst.lag.p99),
    'lag max ms': ms(burst.lag.max),
    'mean txn': Number(burst.meanBatch.toFixed(1)),
    'max txn': burst.maxBatch,
    'est m µs': burst.snapshot ? us(burst.snapshot.perEventSeconds) : '',
    'est o ms': burst.snapshot ? ms(burst.snapshot.perBatchSeconds) : '',
    'base size': burst.snapshot ? burst.snapshot.batchSize : '',
    saturated: burst.snapshot ? (burst.snapshot.saturated ? 'YES' : 'no') : '',
  })));
  // --quick writes its own files, so that a quick run does not overwrite the full sweep's.
  const name = settings.quick ? 'batch-sweep-quick' : 'batch-sweep';
  const { csv } = writeResults(name, records);
  writeBatchLog(results, name);
  if (burstRecords.length) writeResults(`${name}-burst`, burstRecords);

  const mainColumns = ['latency ms/dir', 'target R', 'sizer', 'produced R', 'applied/s', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'e2e p50 ms', 'e2e p99 ms', 'e2e max ms', 'kept up', 'drain s', 'lag p50 Q2→Q4 ms', 'mean txn', 'max txn', 'B* (LSQ)'];
  const pick = (record: ResultRecord, columns: readonly string[]) => Object.fromEntries(columns.map((column) => [column, record[column] ?? '']));
  const adaptiveColumns = ['latency ms/dir', 'target R', 'produced R', 'est m µs', 'LSQ m µs', 'est o ms', 'LSQ o ms', 'est R', 'est m·R', 'est B*', 'B* (LSQ)', 'mean txn', 'base size', 'est pred lag ms', 'lag mean ms', 'e2e mean ms', 'applier lag mean ms', 'saturated', 'identifiable', 'LSQ m µs (this R)', 'LSQ o ms (this R)'];

  const checks = results.flatMap((latency) => latency.scenarios.map((scenario) => scenarioChecks(latency, scenario)));
  const tally = new Map<string, { pass: number; fail: number; na: number }>();
  for (const { checks: list } of checks) {
    for (const [name, outcome] of list) {
      const entry = tally.get(name) ?? { pass: 0, fail: 0, na: 0 };
      if (outcome.verdict === 'PASS') entry.pass++;
      else if (outcome.verdict === 'FAIL') entry.fail++;
      else entry.na++;
      tally.set(name, entry);
    }
  }

  const lines: string[] = [];
  lines.push(`# batch-sweep${settings.quick ? ' (--quick)' : ''}`);
  lines.push('');
  lines.push(`Command: \`npm run bench -- batch-sweep${settings.quick ? ' --quick' : ''}${settings.seconds !== (settings.quick ? 5 : 12) ? ` --seconds ${settings.seconds}` : ''}\`. Took ${settings.minutes.toFixed(1)} min. ` +
    `Sandbox MariaDB source and target on this 2-core machine (shared by both servers, the load generator thread and the streamer/applier process). ` +
    `Tables: ${TABLES} sysbench tables × ${ROWS_PER_TABLE} rows, created by the same SQL on both servers. Load: UPDATEs of 10 consecutive rows (10 row events each), ` +
    `1–10 statements per source transaction (more at higher rates), 4 connections on disjoint key ranges, paced to the target rate; "produced R" counts the changed rows the source reported during the window. ` +
    `The target is reached through src/sandbox/proxy.ts LatencyProxy holding each chunk the given delay per direction (round trip ≈ 2×). ` +
    `Each run: streamer + applier from the source's current position, ${settings.warmupSeconds} s warm-up, ${settings.seconds} s measured window, then the load stops and the drain is timed (cap ${settings.drainCapSeconds} s; a run still behind at the cap is finished by a direct catch-up before the next run). Adaptive = BatchSizeController {min ${ADAPTIVE.min}, max ${ADAPTIVE.max}, initial ${ADAPTIVE.initial}} wired as Ferry does (queue bound follows it).`);
  lines.push('');
  lines.push(`**Data check:** CHECKSUM TABLE on source and target after the whole sweep: **${settings.check.identical ? 'identical' : 'DIFFERENT'}** (${settings.check.text}).`);
  lines.push('');
  lines.push('## Definitions');
  lines.push('');
  lines.push(`- lag: AppliedBatch.lagSeconds, per row event, from its source commit (the applier's commitTimeEstimate) to the commit of its target batch; p50/p99/max/mean over the events applied during the measured window.`);
  lines.push(`- e2e: the same events' lag measured independently of the applier: target commit − the moment the load generator received the OK of the source transaction's COMMIT (each UPDATE writes its statement number into column c, so a row image leads back to its transaction).`);
  lines.push(`- T, a batch's write time (the cost fits, "write" figures): the applier's busy time for the batch, from taking it to its target COMMIT returning: building its statements and the one round trip. Waiting for events is not in it.`);
  lines.push(`- applied/s: row events written to the target during the window ÷ window length. mean/max txn: row events per target transaction (non-empty batches of the window).`);
  lines.push(`- **kept up** ⇔ (a) after the load stops, the target is current (applied position ≥ the source's final position, as Ferry.drainTo decides) within ${KEPT_UP_DRAIN_SECONDS} s, and (b) the lag is not growing: the median lag of the window's last quarter exceeds the median lag of its second quarter by at most ${KEPT_UP_LAG_GROWTH_SECONDS * 1000} ms (column "lag p50 Q2→Q4"). A run that is behind at the drain cap shows ">${settings.drainCapSeconds}".`);
  lines.push(`- B* (LSQ) = o·R/(1 − m·R) with m, o from the least-squares fit (simple-statistics linearRegression, time = m·size + o) over **all** batches of **all fixed-size runs** of that latency (warm-up, window and drain), and R = the produced rate. "est" columns: the adaptive controller's snapshot at the end of its window.`);
  lines.push(`- predicted lag = the controller's o/(1 − m·R), compared with the **measured mean** lag of the adaptive run (the queueing model expects mean ≈ 1.5× prediction), and with the **applier's part** of it ("applier lag": from the streamer reading an event to its target commit, i.e. queue wait + write, which is what the model describes; the rest is the source → binlog → decode delay).`);
  lines.push(`- "at this R" check: m and o against a least-squares fit over the fixed-size runs that **kept up at the same rate** (warm-up and window batches, not the drain after the load stops), with each run's own fit listed: on this machine the servers, the load generator and tideferry share 2 cores, so the cost of a write depends on the load, and the pooled fit of the previous check mixes operating points.`);
  lines.push(`- every batch of every run (latency, rate, sizer, phase, time, size, seconds) is in bench/out/${settings.quick ? 'batch-sweep-quick' : 'batch-sweep'}-batches.csv.`);
  lines.push('');
  lines.push('## How the rates were chosen');
  lines.push('');
  for (const latency of results) {
    lines.push(`- ${latency.latencyMs} ms/dir: cost probe (unpaced load for 1 s, then the backlog applied with sizes cycling 1…1000, least squares): m ${us(latency.probe.m)} µs, o ${ms(latency.probe.o)} ms (${latency.probe.batches} batches); generator unpaced ${Math.round(latency.probe.generatorRate)} events/s. ` +
      `Capacity probe (fixed ${ADAPTIVE.max}, source offered 0.55/m for 3 s): ${Math.round(latency.capacity)} events/s applied. With C(B) = B/(m·B + o): ${latency.rateNotes.join('; ')}.`);
  }
  lines.push('');
  lines.push('## Steady runs');
  lines.push('');
  lines.push(markdownTable(records.map((record) => pick(record, mainColumns))));
  lines.push('');
  lines.push('## Adaptive estimates (snapshot at the end of each adaptive run) beside the least-squares fit over the fixed-size runs');
  lines.push('');
  lines.push(markdownTable(records.filter((record) => record['sizer'] === 'adaptive').map((record) => pick(record, adaptiveColumns))));
  lines.push('');
  lines.push('Least squares per latency over the fixed-size runs: ' + results.map((latency) => `${latency.latencyMs} ms/dir: m ${us(latency.fit.m)} µs, o ${ms(latency.fit.o)} ms (${latency.fit.n} batches)`).join('; ') + '.');
  lines.push('');
  lines.push(`The engine's robust fit (src/tuning/robust-line-fit.ts, CostEstimator's settings) over the same fixed-size runs, drain left out: ` + results.map((latency) => `${latency.latencyMs} ms/dir: m ${us(latency.robustFit.m)} µs, o ${ms(latency.robustFit.o)} ms (kept ${latency.robustFit.kept} of ${latency.robustFit.n} batches; mean write ×${ratio(latency.robustFit.meanOverRobust)} its prediction)`).join('; ') + '. The difference from least squares is the slow writes the robust fit trims: they are few, but long, and more often the large batches.');
  lines.push('');
  lines.push('## Write time by batch size (every batch of the fixed-size runs, warm-up and window)');
  lines.push('');
  lines.push('Is T = m·b + o one line from 1 to 1000 events? Medians (a stall moves a mean, not a median) per size band; "slope from previous" = (median T − previous band\'s) ÷ (mean size − previous band\'s), the marginal cost of one more event between the two bands. The engine fits the sizes it writes, so its m is the slope near its own operating point.');
  lines.push('');
  lines.push(markdownTable(results.flatMap((latency) => sizeBands(latency))));
  lines.push('');
  if (burstRecords.length) {
    lines.push(`## Burst: one source transaction updating ${BURST_ROWS} rows (no other load)`);
    lines.push('');
    lines.push(`drain s = from the burst's commit on the source until the target has all of it (cap ${settings.burstCapSeconds} s); applied/s = rows applied ÷ that time; est columns: adaptive snapshot when drained.`);
    lines.push('');
    lines.push(markdownTable(burstRecords));
    lines.push('');
  }
  lines.push('## Summary checks');
  lines.push('');
  lines.push(markdownTable([...tally].map(([name, count]) => ({ check: name, PASS: count.pass, FAIL: count.fail, 'n/a': count.na }))));
  lines.push('');
  for (const { label, checks: list } of checks) {
    lines.push(`- **${label}**`);
    for (const [name, outcome] of list) lines.push(`  - ${outcome.verdict} — ${name}: ${outcome.detail}`);
  }
  lines.push('');
  lines.push(`Plot: \`bench/out/${name}.svg\` (one panel per latency × rate).`);
  const markdownPath = join(OUT_DIR, `${name}.md`);
  writeFileSync(markdownPath, lines.join('\n') + '\n');

  const rows: Panel[][] = results.map((latency) => latency.scenarios.map((scenario) => {
    const adaptive = scenario.runs.get('adaptive')!;
    const bStar = optimal(latency.fit.m, latency.fit.o, adaptive.producedRate);
    return {
      title: `${latency.latencyMs} ms/dir · R ${scenario.rate}/s`,
      subtitle: `produced ${Math.round(adaptive.producedRate)}/s · LSQ m ${us(latency.fit.m)} µs o ${ms(latency.fit.o)} ms`,
      marker: { x: bStar, label: `B* ${round(bStar)}` },
      points: [...scenario.runs.values()].map((run) => ({
        x: run.sizer === 'adaptive' ? run.meanBatch : Number(run.sizer.replace('fixed ', '')),
        y: run.lag.p99,
        size: run.meanBatch,
        keptUp: run.keptUp,
        adaptive: run.sizer === 'adaptive',
        label: run.sizer,
      })),
    };
  }));
  const svg = renderPanelGrid({
    title: `tideferry batch-sweep${settings.quick ? ' (quick)' : ''}: lag p99 and transaction size vs batch size`,
    yLabel: 'lag p99',
    rows,
    footnote: `Steady load of UPDATEs on the source, target behind a latency proxy (ms per direction). ${settings.seconds} s windows after ${settings.warmupSeconds} s warm-up.\nKept up: drained within ${KEPT_UP_DRAIN_SECONDS} s after the load stopped and median lag not growing by more than ${KEPT_UP_LAG_GROWTH_SECONDS * 1000} ms (Q2→Q4). Data: ${settings.check.identical ? 'CHECKSUM identical' : 'CHECKSUM DIFFERENT'}.`,
  });
  const svgPath = join(OUT_DIR, `${name}.svg`);
  writeFileSync(svgPath, svg);
  const png = join(OUT_DIR, `${name}.png`);
  const tool = svgToPng(svgPath, png);
  log(`\nwritten: ${csv}, ${markdownPath}, ${svgPath}${tool ? `, ${png} (${tool})` : ' (no PNG: neither rsvg-convert nor convert rendered it)'}`);
  log('\nSummary checks:');
  log(markdownTable([...tally].map(([name, count]) => ({ check: name, PASS: count.pass, FAIL: count.fail, 'n/a': count.na }))));
}
