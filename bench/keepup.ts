// `npm run bench -- keepup`: does replication keep up with a real OLTP write load, and what does
// it cost the engine? sysbench oltp_write_only (8 threads, its own process) writes to the
// sandbox source at its full speed and at fixed rates; tideferry's Replication — the unit the
// ferry runs — replays it to the target on loopback and behind the latency proxy (~6 ms round
// trip), adaptive beside a fixed batch of 100 (Ghostferry's default). Per run: source and
// applied events/s, lag p50/p99/max and its growth over the second half, the engine's CPU per
// applied event (process CPU ÷ events; sysbench runs in another process) and its split by
// stage (a CPU profile of the window), the applier's busy fraction, and the predicted lag beside
// the measured one. Ends with a CHECKSUM TABLE comparison of source and target.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mean, quantileSorted } from 'simple-statistics';
import { readSourcePosition } from '../src/binlog/position.js';
import { Replication } from '../src/binlog/replication.js';
import { readTableSchema } from '../src/db/introspect.js';
import { tableKey, type TableSchema } from '../src/db/schema.js';
import { silentLogger } from '../src/log.js';
import type { TuningSnapshot } from '../src/tuning/index.js';
import { ADAPTIVE, checksums, MAX_QUEUED_EVENTS, sleep, startBenchServers, stopBenchServers, targetVia, type BenchServers } from './apply-harness.js';
import { CpuProfiler } from './cpu-profile.js';
import { markdownTable, OUT_DIR, writeResults, type Record as ResultRecord } from './report.js';
import { SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';
import { SysbenchLoad } from '../src/sandbox/sysbench-load.js';
import { contextSwitches, threadCpuBetween, threadTimes } from './thread-cpu.js';

export interface KeepupOptions {
  /** Load seconds per run (the first `warmup` of them are not measured). */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Fixed source rates in transactions/s (4 row events each); 0 is full speed. */
  readonly rates: readonly number[];
  /** Latency per direction through the proxy, ms; 0 is direct loopback. */
  readonly latencies: readonly number[];
  readonly sizers: readonly ('adaptive' | number)[];
  /** binlog.minBatchIntervalMs values to run the adaptive sizer with (fixed sizes run without one, as Ghostferry writes). */
  readonly intervalsMs: readonly number[];
  readonly threads: number;
  /**
   * Profile each run's window and write the profile to bench/out (top functions in
   * keepup-top.md). Off by default: the sampler's own CPU (~5–15 µs per event at 500 µs
   * sampling) would count as the engine's.
   */
  readonly saveProfiles: boolean;
}

const TABLES = 4;
const ROWS_PER_TABLE = 20_000;
/** Kept up: lag p99 under this… */
const KEPT_UP_P99_SECONDS = 2;
/** …and not growing by more than this over the second half of the window. */
const KEPT_UP_GROWTH_SECONDS = 0.5;

export interface KeepupRun {
  readonly latencyMs: number;
  readonly rate: number;
  readonly sizer: string;
  readonly sourceEventsPerSecond: number;
  readonly sourceTransactionsPerSecond: number;
  readonly appliedPerSecond: number;
  readonly lag: { p50: number; p99: number; max: number; mean: number };
  /** End to end, independently of the engine: probe rows stamped when written, measured when applied. */
  readonly endToEnd: { p50: number; p99: number; max: number; count: number };
  readonly lagGrowthSeconds: number;
  readonly cpuMicrosecondsPerEvent: number;
  /** CPU µs per event by stage: measured by the engine itself (process CPU around each stage's synchronous work). */
  readonly stageMicroseconds: { readonly decode: number; readonly build: number; readonly tuning: number; readonly rest: number };
  readonly busyFraction: number;
  /** Binlog socket reads per second (each a wakeup). */
  readonly chunksPerSecond: number;
  /** Share of the engine's CPU spent in the kernel. */
  readonly systemShare: number;
  /** Context switches of the engine's threads per second (Linux). */
  readonly switchesPerSecond: number;
  /** CPU µs per event by thread (Linux): the event loop (main) beside V8's and libuv's helpers. */
  readonly threadMicroseconds: Record<string, number>;
  readonly meanBatch: number;
  readonly drainSeconds: number;
  readonly snapshot: TuningSnapshot | undefined;
  readonly keptUp: boolean;
  /** What the engine said at the window's end: saturated (cause and why), and why the lag differs from the model's. */
  readonly saturation: string | undefined;
  readonly lagNote: string | undefined;
  readonly top: readonly { name: string; share: number }[];
}

const ms = (seconds: number) => (Number.isFinite(seconds) ? Number((seconds * 1000).toPrecision(3)) : '—');
const round1 = (value: number) => (Number.isFinite(value) ? Number(value.toFixed(1)) : '—');

/**
 * The probe table: a row written every 50 ms during the window with the time it was written, in
 * µs since the epoch. Its lag when applied is the end-to-end lag (source commit → target commit,
 * plus the insert's round trip), measured without the engine's own clock: the engine's lag starts
 * at the moment it reads an event whenever that is within the event's stamped second, so a delay
 * before the read (a slow stream, a starved engine) would not show in it.
 */
const PROBE_TABLE = 'tf_probe';

async function createProbeTable(servers: BenchServers): Promise<TableSchema> {
  for (const connection of [servers.sourceAdmin, servers.targetAdmin]) {
    await connection.query(`CREATE TABLE IF NOT EXISTS ${SYSBENCH_DATABASE}.${PROBE_TABLE} (id BIGINT PRIMARY KEY, written_us BIGINT NOT NULL)`);
  }
  const schema = await readTableSchema(servers.sourceAdmin, { database: SYSBENCH_DATABASE, name: PROBE_TABLE });
  if (!schema) throw new Error('probe table not created');
  return schema;
}

const microsecondsNow = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);
let probeId = 0;

async function runOne(servers: BenchServers, probe: TableSchema, latencyMs: number, rate: number, sizer: 'adaptive' | number, intervalMs: number, options: KeepupOptions, runIndex: number): Promise<KeepupRun> {
  const target = await targetVia(servers, latencyMs > 0 ? latencyMs : undefined);
  const lags: number[] = [];
  const endToEnd: number[] = [];
  const probeKey = tableKey(probe);
  const lagSamples: [number, number][] = [];
  let measuring = false;
  let applied = 0;
  let batches = 0;
  const start = await readSourcePosition(servers.sourceAdmin);
  const replication = new Replication(
    {
      source: servers.sandbox.source.endpoint,
      target: target.endpoint,
      tables: new Map([...servers.tables, [probeKey, probe]]),
      batchSize: sizer === 'adaptive' ? ADAPTIVE : sizer,
      saturationBound: 0.9,
      maxQueuedEvents: MAX_QUEUED_EVENTS,
      minBatchIntervalSeconds: intervalMs / 1000,
      logger: silentLogger(),
      onBatch: (batch) => {
        if (!measuring) return;
        applied += batch.size;
        batches++;
        for (const lag of batch.lagSeconds) lags.push(lag);
        const appliedUs = microsecondsNow();
        for (const change of batch.changes) if (change.table === probeKey && change.type === 'insert') endToEnd.push((appliedUs - Number(change.after[1])) / 1e6);
      },
    },
    start,
  );
  const profiler = new CpuProfiler();
  try {
    await sleep(300);
    const load = new SysbenchLoad({
      socket: servers.sandbox.source.socket, database: SYSBENCH_DATABASE, tables: TABLES, tableSize: ROWS_PER_TABLE,
      threads: options.threads, seconds: options.seconds, rate,
    });
    await sleep(options.warmupSeconds * 1000);
    replication.check();
    if (options.saveProfiles) await profiler.start();
    const cpu0 = process.cpuUsage();
    const threads0 = threadTimes();
    const switches0 = contextSwitches();
    const busy0 = replication.applier.busySeconds;
    const chunks0 = replication.streamer.stats.chunks;
    const stages0 = { decode: replication.streamer.stats.cpuSeconds, build: replication.applier.buildCpuSeconds, tuning: replication.applier.tuningCpuSeconds };
    const window0 = performance.now();
    measuring = true;
    const sampler = setInterval(() => lagSamples.push([(performance.now() - window0) / 1000, replication.lagSeconds()]), 250);
    const prober = setInterval(() => {
      void servers.sourceAdmin.query(`INSERT INTO ${SYSBENCH_DATABASE}.${PROBE_TABLE} VALUES (${++probeId}, ${microsecondsNow()})`).catch(() => undefined);
    }, 50);
    const result = await load.finished;
    const windowSeconds = (performance.now() - window0) / 1000;
    measuring = false;
    clearInterval(sampler);
    clearInterval(prober);
    const cpu = process.cpuUsage(cpu0);
    const threadCpu = threadCpuBetween(threads0, threadTimes());
    const switches = contextSwitches() - switches0;
    const chunksPerSecond = (replication.streamer.stats.chunks - chunks0) / windowSeconds;
    const busy = replication.applier.busySeconds - busy0;
    const stages = {
      decode: replication.streamer.stats.cpuSeconds - stages0.decode,
      build: replication.applier.buildCpuSeconds - stages0.build,
      tuning: replication.applier.tuningCpuSeconds - stages0.tuning,
    };
    const snapshot = replication.tuning();
    const health = replication.health();
    let top: { name: string; share: number }[] = [];
    if (options.saveProfiles) {
      const profiled = await profiler.stop();
      top = profiled.top;
      writeFileSync(join(OUT_DIR, `keepup-${runIndex}.cpuprofile`), JSON.stringify(profiled.profile));
    }
    const final = await readSourcePosition(servers.sourceAdmin);
    const drainStarted = performance.now();
    await replication.drainTo(final);
    const drainSeconds = (performance.now() - drainStarted) / 1000;

    const cpuMicrosecondsPerEvent = applied > 0 ? (cpu.user + cpu.system) / applied : NaN;
    const sortedProbes = Float64Array.from(endToEnd).sort() as unknown as number[];
    const probes = sortedProbes.length
      ? { p50: quantileSorted(sortedProbes, 0.5), p99: quantileSorted(sortedProbes, 0.99), max: sortedProbes[sortedProbes.length - 1]!, count: sortedProbes.length }
      : { p50: NaN, p99: NaN, max: NaN, count: 0 };
    const sorted = Float64Array.from(lags).sort() as unknown as number[];
    const lag = sorted.length
      ? { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), max: sorted[sorted.length - 1]!, mean: mean(sorted) }
      : { p50: NaN, p99: NaN, max: NaN, mean: NaN };
    // Growth over the second half: the lag over the last 2 s against the 2 s around the middle.
    const around = (from: number, to: number) => {
      const values = lagSamples.filter(([t]) => t >= from && t <= to).map(([, value]) => value);
      return values.length ? mean(values) : NaN;
    };
    const lagGrowthSeconds = around(windowSeconds - 2, windowSeconds) - around(windowSeconds / 2 - 1, windowSeconds / 2 + 1);
    const perEvent = (seconds: number) => (applied > 0 ? (seconds * 1e6) / applied : NaN);
    const stageMicroseconds = {
      decode: perEvent(stages.decode),
      build: perEvent(stages.build),
      tuning: perEvent(stages.tuning),
      rest: cpuMicrosecondsPerEvent - perEvent(stages.decode + stages.build + stages.tuning),
    };
    // The source's events: all of the load's, applied by the end of the drain, over sysbench's run time.
    const sourceEventsPerSecond = replication.applier.eventsApplied / options.seconds;
    return {
      latencyMs,
      rate,
      sizer: sizer === 'adaptive' ? `adaptive${intervalMs > 0 ? ` ${intervalMs} ms` : ''}` : `fixed ${sizer}`,
      sourceEventsPerSecond,
      sourceTransactionsPerSecond: result.transactionsPerSecond,
      appliedPerSecond: applied / windowSeconds,
      lag,
      endToEnd: probes,
      lagGrowthSeconds,
      cpuMicrosecondsPerEvent,
      stageMicroseconds,
      busyFraction: busy / windowSeconds,
      chunksPerSecond,
      systemShare: (cpu.system) / (cpu.user + cpu.system),
      switchesPerSecond: switches / windowSeconds,
      threadMicroseconds: Object.fromEntries([...threadCpu].filter(([, seconds]) => seconds > 0).map(([name, seconds]) => [name, applied > 0 ? (seconds * 1e6) / applied : NaN])),
      meanBatch: batches ? applied / batches : NaN,
      drainSeconds,
      snapshot,
      saturation: health.saturated ? `${health.cause}: ${health.explanation}` : undefined,
      lagNote: health.lagNote,
      keptUp: lag.p99 < KEPT_UP_P99_SECONDS && !(probes.p99 >= KEPT_UP_P99_SECONDS) && !(lagGrowthSeconds > KEPT_UP_GROWTH_SECONDS),
      top,
    };
  } finally {
    await replication.stop();
    await target.stop();
    replication.check();
  }
}

export async function benchKeepup(options: KeepupOptions): Promise<void> {
  const began = Date.now();
  const servers = await startBenchServers({ tables: TABLES, rowsPerTable: ROWS_PER_TABLE });
  const probe = await createProbeTable(servers);
  const records: ResultRecord[] = [];
  const runs: KeepupRun[] = [];
  let check = { identical: false, text: 'not checked' };
  try {
    let index = 0;
    for (const latencyMs of options.latencies) {
      for (const rate of options.rates) {
        const variants = options.sizers.flatMap((sizer): { sizer: 'adaptive' | number; intervalMs: number }[] => (sizer === 'adaptive' ? options.intervalsMs.map((intervalMs) => ({ sizer, intervalMs })) : [{ sizer, intervalMs: 0 }]));
        for (const { sizer, intervalMs } of variants) {
          const run = await runOne(servers, probe, latencyMs, rate, sizer, intervalMs, options, index++);
          runs.push(run);
          const record: ResultRecord = {
            'RTT ms': latencyMs * 2,
            'load tps': rate === 0 ? 'full' : rate,
            sizer: run.sizer,
            'source tps': Math.round(run.sourceTransactionsPerSecond),
            'source ev/s': Math.round(run.sourceEventsPerSecond),
            'applied ev/s': Math.round(run.appliedPerSecond),
            'lag p50/p99/max ms': `${ms(run.lag.p50)} / ${ms(run.lag.p99)} / ${ms(run.lag.max)}`,
            'e2e p50/p99/max ms': `${ms(run.endToEnd.p50)} / ${ms(run.endToEnd.p99)} / ${ms(run.endToEnd.max)}`,
            'lag growth ms': ms(run.lagGrowthSeconds),
            'kept up': run.keptUp ? 'yes' : 'NO',
            'CPU µs/ev': round1(run.cpuMicrosecondsPerEvent),
            'read+decode': round1(run.stageMicroseconds.decode),
            'plan+build': round1(run.stageMicroseconds.build),
            tuning: round1(run.stageMicroseconds.tuning),
            'write+rest': round1(run.stageMicroseconds.rest),
            busy: Number(run.busyFraction.toFixed(2)),
            'reads/s': Math.round(run.chunksPerSecond),
            'kernel share': Number(run.systemShare.toFixed(2)),
            'switches/s': Math.round(run.switchesPerSecond),
            'main thread µs/ev': round1(run.threadMicroseconds['main'] ?? NaN),
            'other threads µs/ev': round1(Object.entries(run.threadMicroseconds).filter(([name]) => name !== 'main').reduce((sum, [, value]) => sum + value, 0)),
            'mean batch': round1(run.meanBatch),
            'predicted lag ms': run.snapshot ? ms(run.snapshot.predictedLagSeconds) : '—',
            'measured mean lag ms': ms(run.lag.mean),
            'm·R': run.snapshot ? Number(run.snapshot.utilisation.toFixed(2)) : '—',
            'engine says': run.saturation ? `SATURATED (${run.saturation.split(':')[0]})` : 'keeps up',
            'drain s': Number(run.drainSeconds.toFixed(2)),
          };
          records.push(record);
          process.stdout.write(`${JSON.stringify(record)}\n  threads µs/ev: ${JSON.stringify(Object.fromEntries(Object.entries(run.threadMicroseconds).map(([name, value]) => [name, Number(value.toFixed(1))])))}\n${run.top.length ? `  top: ${run.top.slice(0, 6).map((entry) => `${(entry.share * 100).toFixed(1)}% ${entry.name}`).join(' | ')}\n` : ''}`);
        }
      }
    }
    check = await checksums(servers);
    process.stdout.write(`CHECKSUM TABLE after the runs: ${check.identical ? 'IDENTICAL' : 'DIFFERENT'} (${check.text})\n`);
  } finally {
    await stopBenchServers(servers);
  }
  const notes = [
    '# keepup',
    '',
    `Command: \`npm run bench -- keepup\` (${options.seconds} s of load per run, the first ${options.warmupSeconds} s not measured; sysbench oltp_write_only, ${options.threads} threads, ${TABLES} tables × ${ROWS_PER_TABLE} rows; rates ${options.rates.map((rate) => (rate === 0 ? 'full speed' : `${rate} tps`)).join(', ')}; RTT ${options.latencies.map((latency) => `${latency * 2} ms`).join(', ')}). Took ${((Date.now() - began) / 60000).toFixed(1)} min.`,
    '',
    'Source, target, sysbench and the engine share the machine. "source ev/s": the row events the load produced per second (all of them are applied by the end of the drain). ' +
      'Lag: per applied event, source commit → target commit, over the window, as the engine measures it. e2e: the same measured independently, by probe rows written every 50 ms with the time they were written and timed when applied (it sees a delay before the engine reads an event, which the engine\'s own figure does not when the event is read within its stamped second). Lag growth: mean lag over the window\'s last 2 s minus that over the 2 s around its middle. ' +
      `Kept up: p99 lag (both measures) under ${KEPT_UP_P99_SECONDS} s and growth under ${KEPT_UP_GROWTH_SECONDS * 1000} ms. ` +
      'CPU µs/ev: the engine process\'s user+system CPU over the window ÷ events applied in it. The stage columns split it as the engine measures it (process CPU around the synchronous work of each stage: per binlog socket chunk for read+decode, per batch for plan+build and the tuning loop); write+rest is the remainder: sending batches and reading their results, timers, and GC not inside a stage. ' +
      'busy: the applier\'s time building and writing batches ÷ wall time. Predicted lag: the model\'s mean lag at the window\'s end, C/2 + T with C = max(o / (1 − m·R), the minimum interval); measured mean lag: the mean of the per-event lags.',
    '',
    `**Data check:** CHECKSUM TABLE after all runs: **${check.identical ? 'identical' : 'DIFFERENT'}** (${check.text}).`,
  ].join('\n');
  const said = runs.flatMap((run, index) => [
    ...(run.saturation ? [`- run ${index + 1} (RTT ${run.latencyMs * 2} ms, ${run.rate === 0 ? 'full speed' : `${run.rate} tps`}, ${run.sizer}): saturated, ${run.saturation}`] : []),
    ...(run.lagNote ? [`- run ${index + 1} (RTT ${run.latencyMs * 2} ms, ${run.rate === 0 ? 'full speed' : `${run.rate} tps`}, ${run.sizer}): ${run.lagNote}`] : []),
  ]);
  writeResults('keepup', records, said.length ? `${notes}\n\nWhat the engine's status said at the end of each window, where it had something to say:\n${said.join('\n')}` : notes);
  if (options.saveProfiles) writeFileSync(join(OUT_DIR, 'keepup-top.md'), runs.map((run, index) => `## run ${index}: RTT ${run.latencyMs * 2} ms, ${run.rate === 0 ? 'full' : `${run.rate} tps`}, ${run.sizer}\n\n${markdownTable(run.top.map((entry) => ({ share: `${(entry.share * 100).toFixed(1)}%`, function: entry.name })))}\n`).join('\n'));
  if (!check.identical) process.exitCode = 1;
}
