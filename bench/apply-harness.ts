// The harness of the binlog-apply benchmarks (`apply`, `batch-sweep`): sandbox source and
// target holding the same sysbench tables, the streamer and the applier of src/binlog with a
// fixed or adaptive batch sizer, the paced update load of load.ts, and the measurements of one
// run (applied rate, per-event lag, batch sizes, whether the applier kept up, the controller's
// own estimates). Every run starts streaming at the source's current position and leaves the
// target identical to the source (a run that fell behind is finished by a fast catch-up), so
// runs follow each other on the same servers; `checksums` proves it at the end.
import type { Connection } from 'mysql2/promise';
import { linearRegression, mean, quantileSorted } from 'simple-statistics';
import type { AppliedBatch, BinlogBatchSizer } from '../src/binlog/apply/applier.js';
import { compareBinlogPositions, readSourcePosition, type BinlogPosition } from '../src/binlog/position.js';
import { Replication } from '../src/binlog/replication.js';
import type { Endpoint } from '../src/db/connection.js';
import { connect } from '../src/db/connection.js';
import { readTableSchema } from '../src/db/introspect.js';
import { tableKey, type TableSchema } from '../src/db/schema.js';
import { silentLogger } from '../src/log.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { LatencyProxy } from '../src/sandbox/proxy.js';
import { BatchSizeController, type TuningSnapshot } from '../src/tuning/index.js';
import { UpdateLoad } from './load.js';
import { createSysbenchTables, SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = (): number => Date.now() / 1000;

/** The adaptive sizer's settings in these benchmarks (the config defaults). */
export const ADAPTIVE = { min: 1, max: 5000, initial: 100 } as const;
/** The streamer's queue bound: the config default (binlog.maxQueuedEvents). */
export const MAX_QUEUED_EVENTS = 50_000;

/** Kept up: the backlog left when the load stops drains within this… */
export const KEPT_UP_DRAIN_SECONDS = 1;
/** …and the median lag of the window's last quarter exceeds that of its second quarter by at most this. */
export const KEPT_UP_LAG_GROWTH_SECONDS = 0.25;

export interface BenchServers {
  readonly sandbox: Sandbox;
  readonly sourceAdmin: Connection;
  readonly targetAdmin: Connection;
  readonly tables: ReadonlyMap<string, TableSchema>;
  readonly tableCount: number;
  readonly rowsPerTable: number;
}

export async function startBenchServers(options: { tables: number; rowsPerTable: number }): Promise<BenchServers> {
  const sandbox = await startSandbox();
  try {
    const sourceAdmin = await sandbox.source.connect();
    const targetAdmin = await sandbox.target.connect();
    // The same deterministic SQL on both sides (RAND with fixed seeds) gives identical tables.
    await Promise.all([
      createSysbenchTables(sourceAdmin, options.tables, options.rowsPerTable),
      createSysbenchTables(targetAdmin, options.tables, options.rowsPerTable),
    ]);
    const schemaConnection = await connect(sandbox.source.endpoint);
    const tables = new Map<string, TableSchema>();
    try {
      for (let index = 1; index <= options.tables; index++) {
        const schema = await readTableSchema(schemaConnection, { database: SYSBENCH_DATABASE, name: `sbtest${index}` });
        if (!schema) throw new Error(`sbtest${index} not found on the source`);
        tables.set(tableKey(schema), schema);
      }
    } finally {
      await schemaConnection.end();
    }
    const servers = { sandbox, sourceAdmin, targetAdmin, tables, tableCount: options.tables, rowsPerTable: options.rowsPerTable };
    const initial = await checksums(servers);
    if (!initial.identical) throw new Error(`source and target tables differ before the benchmark: ${initial.text}`);
    return servers;
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
}

export async function stopBenchServers(servers: BenchServers | undefined): Promise<void> {
  if (!servers) return;
  await servers.sourceAdmin.end().catch(() => undefined);
  await servers.targetAdmin.end().catch(() => undefined);
  await servers.sandbox.stop();
}

/** CHECKSUM TABLE of every benchmark table on both servers. */
export async function checksums(servers: Pick<BenchServers, 'sourceAdmin' | 'targetAdmin' | 'tables'>): Promise<{ identical: boolean; text: string }> {
  const names = [...servers.tables.keys()].join(', ');
  const read = async (connection: Connection) => {
    const [rows] = (await connection.query(`CHECKSUM TABLE ${names}`)) as unknown as [{ Table: string; Checksum: string | number }[]];
    return new Map(rows.map((row) => [row.Table, String(row.Checksum)]));
  };
  const [source, target] = await Promise.all([read(servers.sourceAdmin), read(servers.targetAdmin)]);
  const lines = [...source].map(([table, sum]) => `${table}: source ${sum}, target ${target.get(table)}${sum === target.get(table) ? '' : '  DIFFERENT'}`);
  const identical = [...source].every(([table, sum]) => target.get(table) === sum) && source.size === servers.tables.size;
  return { identical, text: lines.join('; ') };
}

export type SizerSpec = number | 'adaptive';

/** Position of the sysbench c column (id, k, c, pad) in a row image. */
const C_COLUMN = 2;
export const sizerName = (sizer: SizerSpec): string => (sizer === 'adaptive' ? 'adaptive' : `fixed ${sizer}`);

/** A batch as the harness saw it: when it landed, and what AppliedBatch said. */
interface TimedBatch {
  readonly at: number;
  readonly size: number;
  readonly seconds: number;
  readonly lagSeconds: readonly number[];
  /** End-to-end lag of the batch's rows written by the load: target commit − source commit as the load generator saw it. */
  readonly endToEndSeconds: readonly number[];
  /** Per row event: target commit − the moment the streamer read it. The part of the lag the queueing model describes. */
  readonly applierSeconds: readonly number[];
  readonly statements: number;
}

/** A running Replication (the binlog side of a Ferry, exactly as it runs there) and what its batches showed. */
class Replay {
  readonly replication: Replication;
  readonly controller: BatchSizeController | undefined;
  readonly batches: TimedBatch[] = [];
  /** Set once the load runs: rows are traced back to their source commit through it. */
  load: UpdateLoad | undefined;

  constructor(servers: BenchServers, target: Endpoint, sizer: SizerSpec | BinlogBatchSizer, start: BinlogPosition, coalesce = true) {
    this.replication = new Replication(
      {
        source: servers.sandbox.source.endpoint,
        target,
        tables: servers.tables,
        batchSize: sizer === 'adaptive' ? ADAPTIVE : sizer,
        // Fixed sizes write at once (no minimum interval), as the sizes they stand for do elsewhere
        // (Ghostferry's 100); adaptive runs with the engine's default unless the env says otherwise.
        minBatchIntervalSeconds: sizer === 'adaptive' ? Number(process.env.TIDEFERRY_BENCH_INTERVAL_MS ?? 10) / 1000 : 0,
        saturationBound: 0.9,
        maxQueuedEvents: MAX_QUEUED_EVENTS,
        coalesce,
        logger: silentLogger(),
        onBatch: (batch: AppliedBatch) => {
          if (batch.size === 0) return;
          const at = now();
          const endToEndSeconds: number[] = [];
          const applierSeconds = batch.changes.map((change) => Math.max(0, at - change.receivedAt));
          if (this.load) {
            for (const change of batch.changes) {
              if (change.type === 'delete') continue;
              const committed = this.load.commitTimeOfRow(change.after[C_COLUMN]);
              if (committed !== undefined) endToEndSeconds.push(Math.max(0, at - committed));
            }
          }
          this.batches.push({ at, size: batch.size, seconds: batch.seconds, lagSeconds: batch.lagSeconds, endToEndSeconds, applierSeconds, statements: batch.statements });
        },
      },
      start,
    );
    this.controller = this.replication.adaptive?.controller;
  }

  get applier() {
    return this.replication.applier;
  }

  get streamer() {
    return this.replication.streamer;
  }

  check(): void {
    this.replication.check();
  }

  /** True once every event before `final` is on the target. */
  drainedTo(final: BinlogPosition): boolean {
    return this.replication.isDrainedTo(final);
  }

  /** Waits until drained to `final` or `capSeconds` passed; the seconds it took, or undefined at the cap. */
  async drain(final: BinlogPosition, capSeconds: number): Promise<number | undefined> {
    const start = now();
    while (!this.drainedTo(final)) {
      this.check();
      if (now() - start > capSeconds) return undefined;
      await sleep(5);
    }
    return now() - start;
  }

  async stop(): Promise<void> {
    await this.replication.stop();
    this.check();
  }
}

/**
 * Brings the target up to `final` from `from` with a direct connection and large fixed batches:
 * after a run that fell behind, so that the next run starts from identical tables.
 */
async function catchUp(servers: BenchServers, from: BinlogPosition, final: BinlogPosition): Promise<number> {
  const started = now();
  const replay = new Replay(servers, servers.sandbox.target.endpoint, 2000, from);
  try {
    if ((await replay.drain(final, 600)) === undefined) throw new Error('catch-up after a run did not finish within 600 s');
  } finally {
    await replay.stop();
  }
  return now() - started;
}

/** A target endpoint, direct or through a LatencyProxy holding each chunk `delayMs` per direction. */
export async function targetVia(servers: BenchServers, delayMs: number | undefined): Promise<{ endpoint: Endpoint; stop(): Promise<void> }> {
  const direct = servers.sandbox.target.endpoint;
  if (delayMs === undefined) return { endpoint: direct, stop: async () => undefined };
  const proxy = await new LatencyProxy({ upstreamHost: direct.host, upstreamPort: direct.port, delayMs }).start();
  return { endpoint: { ...direct, port: proxy.port }, stop: () => proxy.stop() };
}

export interface LagStats {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

function lagStats(lags: number[]): LagStats {
  if (lags.length === 0) return { p50: NaN, p99: NaN, max: NaN, mean: NaN, count: 0 };
  const sorted = Float64Array.from(lags).sort() as unknown as number[];
  return { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), max: sorted[sorted.length - 1]!, mean: mean(sorted), count: sorted.length };
}

const lagsOf = (batches: readonly TimedBatch[]): number[] => batches.flatMap((batch) => batch.lagSeconds as number[]);
const endToEndOf = (batches: readonly TimedBatch[]): number[] => batches.flatMap((batch) => batch.endToEndSeconds as number[]);
const applierLagOf = (batches: readonly TimedBatch[]): number[] => batches.flatMap((batch) => batch.applierSeconds as number[]);

export interface SteadyRunSpec {
  readonly target: Endpoint;
  readonly sizer: SizerSpec;
  /** Row events per second asked of the load generator. */
  readonly rate: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** How long to wait for the backlog to drain after the load stops before giving up (then caught up separately). */
  readonly drainCapSeconds: number;
  /** Called every traceMs with counters (debugging). */
  readonly trace?: (sample: TraceSample) => void;
  readonly traceMs?: number;
}

export interface TraceSample {
  readonly at: number;
  readonly produced: number;
  readonly received: number;
  readonly queued: number;
  readonly applied: number;
  readonly socketPaused: boolean;
  /** Longest batch write since the previous sample, and how many batches. */
  readonly maxWriteSeconds: number;
  readonly batches: number;
}

export interface SteadyRunResult {
  readonly sizer: string;
  readonly targetRate: number;
  /** Row events per second the source produced during the measured window. */
  readonly producedRate: number;
  /** Row events per second written to the target during the window. */
  readonly appliedRate: number;
  /** Per-event lag (source commit → applied on the target) of the events applied during the window. */
  readonly lag: LagStats;
  /**
   * The same events' lag measured end to end, independently of the applier's commitTimeEstimate:
   * target commit − the moment the load generator got its source COMMIT's OK (rows traced by
   * the statement number written into them).
   */
  readonly endToEnd: LagStats;
  /** The same events from the streamer reading them to the target commit: queue wait + write, what o/(1 − m·R) models. */
  readonly applierLag: LagStats;
  readonly lagP50SecondQuarter: number;
  readonly lagP50LastQuarter: number;
  /** Row events produced but not applied when the load stopped. */
  readonly backlogAtStop: number;
  /** Seconds from the load stopping until the target was current; undefined: not within the cap. */
  readonly drainSeconds: number | undefined;
  readonly keptUp: boolean;
  readonly batches: number;
  readonly meanBatch: number;
  readonly maxBatch: number;
  /** Every batch of the run with its phase and its time from the window's start, for offline analysis (batch-sweep-batches.csv). */
  readonly batchLog: readonly { readonly t: number; readonly phase: 'warmup' | 'window' | 'drain'; readonly size: number; readonly seconds: number }[];
  readonly snapshot: TuningSnapshot | undefined;
  readonly catchUpSeconds: number;
  readonly loadErrors: number;
  readonly statementsPerTransaction: number;
}

/** (size, seconds) of a run's batches, the points of a cost fit; the drain after the load stops only if asked. */
export function costPoints(run: Pick<SteadyRunResult, 'batchLog'>, options: { withDrain: boolean }): [number, number][] {
  return run.batchLog.filter((batch) => options.withDrain || batch.phase !== 'drain').map((batch) => [batch.size, batch.seconds]);
}

/** One steady-load run: warm-up, a measured window, then stop the load and time the drain. */
export async function runSteady(servers: BenchServers, spec: SteadyRunSpec): Promise<SteadyRunResult> {
  const start = await readSourcePosition(servers.sourceAdmin);
  const replay = new Replay(servers, spec.target, spec.sizer, start);
  let load: UpdateLoad | undefined;
  let final: BinlogPosition | undefined;
  let tracer: NodeJS.Timeout | undefined;
  try {
    await sleep(200);
    load = new UpdateLoad({
      socketPath: servers.sandbox.source.socket,
      database: SYSBENCH_DATABASE,
      tables: servers.tableCount,
      rowsPerTable: servers.rowsPerTable,
      eventsPerSecond: spec.rate,
    });
    replay.load = load;
    if (spec.trace) {
      const activeLoad = load;
      let seen = replay.batches.length;
      tracer = setInterval(() => {
        const recent = replay.batches.slice(seen);
        seen = replay.batches.length;
        spec.trace!({
        at: now(),
        produced: activeLoad.events,
        received: replay.streamer.stats.rowsReceived,
        queued: replay.streamer.queuedItems,
        applied: replay.applier.eventsApplied,
        socketPaused: replay.streamer.socketPaused,
        maxWriteSeconds: Math.max(0, ...recent.map((batch) => batch.seconds)),
        batches: recent.length,
      });
      }, spec.traceMs ?? 250);
    }
    await sleep(spec.warmupSeconds * 1000);
    replay.check();
    const windowStart = now();
    const producedAtStart = load.events;
    await sleep((spec.seconds * 1000) / 2);
    replay.check();
    await sleep((spec.seconds * 1000) / 2);
    const windowEnd = now();
    const producedAtEnd = load.events;
    const snapshot = replay.controller?.snapshot(windowEnd);
    await load.stop();
    const stoppedAt = now();
    const appliedAtStop = replay.applier.eventsApplied;
    const backlogAtStop = Math.max(0, load.events - appliedAtStop);
    final = await readSourcePosition(servers.sourceAdmin);
    const drained = await replay.drain(final, spec.drainCapSeconds);
    const drainSeconds = drained === undefined ? undefined : now() - stoppedAt;
    clearInterval(tracer);
    await replay.stop();

    const duration = windowEnd - windowStart;
    const window = replay.batches.filter((batch) => batch.at >= windowStart && batch.at <= windowEnd);
    const quarter = (index: number) => window.filter((batch) => batch.at >= windowStart + (index * duration) / 4 && batch.at < windowStart + ((index + 1) * duration) / 4);
    const lagP50SecondQuarter = lagStats(lagsOf(quarter(1))).p50;
    const lagP50LastQuarter = lagStats(lagsOf(quarter(3))).p50;
    const sizes = window.map((batch) => batch.size);
    const appliedInWindow = sizes.reduce((sum, size) => sum + size, 0);
    const lagGrowth = lagP50LastQuarter - lagP50SecondQuarter;
    const keptUp = drainSeconds !== undefined && drainSeconds <= KEPT_UP_DRAIN_SECONDS && !(lagGrowth > KEPT_UP_LAG_GROWTH_SECONDS);

    let catchUpSeconds = 0;
    if (compareBinlogPositions(replay.applier.appliedPosition, final) < 0 && drained === undefined) {
      catchUpSeconds = await catchUp(servers, replay.applier.appliedPosition, final);
    }
    return {
      sizer: sizerName(spec.sizer),
      targetRate: spec.rate,
      producedRate: (producedAtEnd - producedAtStart) / duration,
      appliedRate: appliedInWindow / duration,
      lag: lagStats(lagsOf(window)),
      endToEnd: lagStats(endToEndOf(window)),
      applierLag: lagStats(applierLagOf(window)),
      lagP50SecondQuarter,
      lagP50LastQuarter,
      backlogAtStop,
      drainSeconds,
      keptUp,
      batches: window.length,
      meanBatch: sizes.length ? mean(sizes) : NaN,
      maxBatch: sizes.length ? Math.max(...sizes) : NaN,
      batchLog: replay.batches.map((batch) => ({
        t: batch.at - windowStart,
        phase: batch.at < windowStart ? 'warmup' : batch.at <= windowEnd ? 'window' : 'drain',
        size: batch.size,
        seconds: batch.seconds,
      })),
      snapshot,
      catchUpSeconds,
      loadErrors: load.errors,
      statementsPerTransaction: load.statementsPerTransaction,
    };
  } catch (error) {
    clearInterval(tracer);
    await load?.stop().catch(() => undefined);
    await replay.stop().catch(() => undefined);
    throw error;
  }
}

export interface BurstRunResult {
  readonly sizer: string;
  readonly rows: number;
  /** Seconds the burst transaction took on the source. */
  readonly sourceSeconds: number;
  /** From its commit until the target had all of it; undefined: not within the cap. */
  readonly drainSeconds: number | undefined;
  /** Row events applied per second from the commit until drained (or the cap). */
  readonly appliedRate: number;
  readonly appliedWithinCap: number;
  readonly lag: LagStats;
  readonly batches: number;
  readonly meanBatch: number;
  readonly maxBatch: number;
  readonly snapshot: TuningSnapshot | undefined;
  readonly catchUpSeconds: number;
}

/** One source transaction changing `rows` rows (whole tables, in order), applied with `sizer`. */
export async function runBurst(servers: BenchServers, spec: { target: Endpoint; sizer: SizerSpec; rows: number; capSeconds: number }): Promise<BurstRunResult> {
  const tablesNeeded = Math.ceil(spec.rows / servers.rowsPerTable);
  if (tablesNeeded > servers.tableCount) throw new Error(`a burst of ${spec.rows} rows needs ${tablesNeeded} tables of ${servers.rowsPerTable}`);
  const start = await readSourcePosition(servers.sourceAdmin);
  const replay = new Replay(servers, spec.target, spec.sizer, start);
  try {
    await sleep(500);
    const statements: string[] = [];
    for (let left = spec.rows, index = 1; left > 0; index++) {
      const take = Math.min(left, servers.rowsPerTable);
      statements.push(`UPDATE ${SYSBENCH_DATABASE}.sbtest${index} SET k = k + 1 WHERE id <= ${take}`);
      left -= take;
    }
    const began = now();
    await servers.sourceAdmin.query(`START TRANSACTION; ${statements.join('; ')}; COMMIT`);
    const committed = now();
    const final = await readSourcePosition(servers.sourceAdmin);
    const drained = await replay.drain(final, spec.capSeconds);
    const ended = now();
    const snapshot = replay.controller?.snapshot(ended);
    await replay.stop();
    const batches = replay.batches.filter((batch) => batch.at >= began);
    const sizes = batches.map((batch) => batch.size);
    const applied = sizes.reduce((sum, size) => sum + size, 0);
    let catchUpSeconds = 0;
    if (drained === undefined) catchUpSeconds = await catchUp(servers, replay.applier.appliedPosition, final);
    return {
      sizer: sizerName(spec.sizer),
      rows: spec.rows,
      sourceSeconds: committed - began,
      drainSeconds: drained,
      appliedRate: applied / (ended - committed),
      appliedWithinCap: applied,
      lag: lagStats(lagsOf(batches)),
      batches: batches.length,
      meanBatch: sizes.length ? mean(sizes) : NaN,
      maxBatch: sizes.length ? Math.max(...sizes) : NaN,
      snapshot,
      catchUpSeconds,
    };
  } catch (error) {
    await replay.stop().catch(() => undefined);
    throw error;
  }
}

export interface CostProbe {
  /** Least-squares m and o over the probe's batches. */
  readonly m: number;
  readonly o: number;
  readonly batches: number;
  /** Row events per second the load generator reached unpaced, with nothing else running. */
  readonly generatorRate: number;
  /** Row events per second the streamer + applier reached draining the backlog. */
  readonly drainRate: number;
}

/** Sizes a cost probe cycles through, so the fit sees every scale from 1 to 1000. */
const PROBE_SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/**
 * Estimates m and o for a target endpoint before the sweep chooses its rates: the load runs
 * unpaced for `seconds` (which also measures how fast it can go), then the backlog is applied
 * for at most `applySeconds` with batch sizes cycling through PROBE_SIZES, and T = m·b + o is
 * fitted by least squares. What is left of the backlog is caught up directly.
 */
export async function probeCosts(servers: BenchServers, target: Endpoint, seconds: number, applySeconds = 2.5): Promise<CostProbe> {
  const start = await readSourcePosition(servers.sourceAdmin);
  const load = new UpdateLoad({ socketPath: servers.sandbox.source.socket, database: SYSBENCH_DATABASE, tables: servers.tableCount, rowsPerTable: servers.rowsPerTable, eventsPerSecond: 0 });
  await sleep(300);
  const before = load.events;
  const measuredFrom = now();
  await sleep(seconds * 1000);
  const generatorRate = (load.events - before) / (now() - measuredFrom);
  await load.stop();
  const final = await readSourcePosition(servers.sourceAdmin);
  const applied = await applyBacklogCycling(servers, target, start, final, { capSeconds: applySeconds });
  if (!applied.drained) await catchUp(servers, applied.appliedPosition, final);
  const { m, o } = fitCosts(applied.points);
  return { m, o, batches: applied.points.length, generatorRate, drainRate: applied.events / applied.seconds };
}

export interface CyclingApplyResult {
  /** (size, seconds) of every non-empty batch. */
  readonly points: [number, number][];
  readonly events: number;
  readonly statements: number;
  readonly seconds: number;
  readonly drained: boolean;
  readonly appliedPosition: BinlogPosition;
}

/**
 * Applies the binlog from `start` to `final` to `target` with batch sizes cycling through
 * PROBE_SIZES (a backlog queued first, so every batch gets the size it asks for), for at most
 * `capSeconds`: the (size, seconds) pairs a least-squares fit of T = m·b + o needs.
 */
export async function applyBacklogCycling(
  servers: BenchServers,
  target: Endpoint,
  start: BinlogPosition,
  final: BinlogPosition,
  options: { capSeconds: number; coalesce?: boolean },
): Promise<CyclingApplyResult> {
  let step = 0;
  const points: [number, number][] = [];
  let statements = 0;
  const sizer: BinlogBatchSizer = { nextBatchSize: () => PROBE_SIZES[step++ % PROBE_SIZES.length]!, recordBatch: () => undefined };
  const replication = new Replication(
    {
      source: servers.sandbox.source.endpoint, target, tables: servers.tables, batchSize: sizer, maxQueuedEvents: MAX_QUEUED_EVENTS,
      coalesce: options.coalesce ?? true, logger: silentLogger(), deferApplying: true,
      onBatch: (batch) => {
        if (batch.size === 0) return;
        points.push([batch.size, batch.seconds]);
        statements += batch.statements;
      },
    },
    start,
  );
  // Let the backlog queue up first, so that the applier gets the sizes it asks for.
  await sleep(1000);
  const applyingFrom = now();
  replication.startApplying();
  while (!replication.isDrainedTo(final) && now() - applyingFrom < options.capSeconds) await sleep(5);
  const seconds = now() - applyingFrom;
  const drained = replication.isDrainedTo(final);
  await replication.stop();
  replication.check();
  return { points, events: replication.applier.eventsApplied, statements, seconds, drained, appliedPosition: replication.appliedPosition };
}

/** Least squares of seconds on size over (size, seconds) pairs: T = m·b + o. */
export function fitCosts(points: readonly [number, number][]): { m: number; o: number; n: number } {
  if (points.length < 2) return { m: NaN, o: NaN, n: points.length };
  const { m, b } = linearRegression(points as [number, number][]);
  return { m, o: b, n: points.length };
}
