// `npm run bench -- coalesce`: what coalescing does to m, the target's cost per event. One
// backlog of source updates is recorded, then applied twice from the same binlog position —
// coalescing on and off, alternating — with batch sizes cycling 1…1000 so that T = m·b + o can
// be fitted by least squares. Two workloads: distinct rows (every update hits another row) and
// hot rows (updates concentrated on a few hundred rows, so a batch holds several changes of a
// row, which coalescing collapses).
import { linearRegression } from 'simple-statistics';
import { BinlogApplier, type BinlogBatchSizer } from '../src/binlog/applier.js';
import { isDrainedTo } from '../src/binlog/drain.js';
import { readSourcePosition, type BinlogPosition } from '../src/binlog/position.js';
import { BinlogStreamer } from '../src/binlog/streamer.js';
import { silentLogger } from '../src/log.js';
import { checksums, MAX_QUEUED_EVENTS, sleep, startBenchServers, stopBenchServers, type BenchServers } from './apply-harness.js';
import { UpdateLoad } from './load.js';
import { writeResults } from './report.js';
import { SYSBENCH_DATABASE } from './sysbench.js';

const SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

async function recordBacklog(servers: BenchServers, hotRows: number, seconds: number): Promise<{ start: BinlogPosition; final: BinlogPosition; events: number }> {
  const start = await readSourcePosition(servers.sourceAdmin);
  const load = new UpdateLoad({ socketPath: servers.sandbox.source.socket, database: SYSBENCH_DATABASE, tables: servers.tableCount, rowsPerTable: hotRows, eventsPerSecond: 0 });
  await sleep(seconds * 1000);
  await load.stop();
  return { start, final: await readSourcePosition(servers.sourceAdmin), events: load.events };
}

async function applyBacklog(servers: BenchServers, backlog: { start: BinlogPosition; final: BinlogPosition }, coalesce: boolean) {
  let step = 0;
  const points: [number, number][] = [];
  let statements = 0;
  const sizer: BinlogBatchSizer = { nextBatchSize: () => SIZES[step++ % SIZES.length]!, recordBatch: () => undefined, recordArrivals: () => undefined };
  const streamer = new BinlogStreamer({ endpoint: servers.sandbox.source.endpoint, tables: servers.tables, maxQueuedItems: MAX_QUEUED_EVENTS, logger: silentLogger() });
  const applier = new BinlogApplier({
    target: servers.sandbox.target.endpoint, source: streamer, tables: servers.tables, sizer, start: backlog.start, logger: silentLogger(), coalesce,
    onBatch: (batch) => {
      if (batch.size === 0) return;
      points.push([batch.size, batch.seconds]);
      statements += batch.statements;
    },
  });
  streamer.start(backlog.start);
  await sleep(1000); // the backlog queues up first, so that every batch gets the size it asks for
  const abort = new AbortController();
  const started = performance.now();
  const running = applier.run(abort.signal);
  while (!isDrainedTo(applier, streamer, backlog.final)) await sleep(5);
  const seconds = (performance.now() - started) / 1000;
  abort.abort();
  await running;
  await streamer.stop();
  const { m, b } = linearRegression(points);
  return { m, o: b, batches: points.length, events: applier.eventsApplied, seconds, statementsPerBatch: statements / points.length };
}

export async function benchCoalesce(options: { seconds: number; rounds: number }): Promise<void> {
  const servers = await startBenchServers({ tables: 4, rowsPerTable: 25_000 });
  try {
    const records = [];
    for (const [workload, hotRows] of [['distinct rows', 25_000], ['hot rows', 200]] as const) {
      const backlog = await recordBacklog(servers, hotRows, options.seconds);
      process.stdout.write(`${workload}: backlog of ${backlog.events} row events\n`);
      const results = new Map<boolean, { m: number[]; o: number[]; rate: number[]; statements: number[] }>([[true, { m: [], o: [], rate: [], statements: [] }], [false, { m: [], o: [], rate: [], statements: [] }]]);
      for (let round = 0; round < options.rounds; round++) {
        for (const coalesce of round % 2 === 0 ? [false, true] : [true, false]) {
          const result = await applyBacklog(servers, backlog, coalesce);
          const entry = results.get(coalesce)!;
          entry.m.push(result.m);
          entry.o.push(result.o);
          entry.rate.push(result.events / result.seconds);
          entry.statements.push(result.statementsPerBatch);
          process.stdout.write(`  coalesce ${coalesce ? 'on ' : 'off'}: m ${(result.m * 1e6).toFixed(1)} µs, o ${(result.o * 1e3).toFixed(2)} ms, ${Math.round(result.events / result.seconds)} events/s over ${result.batches} batches\n`);
        }
      }
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      const off = results.get(false)!;
      for (const coalesce of [false, true]) {
        const entry = results.get(coalesce)!;
        records.push({
          workload,
          coalesce: coalesce ? 'on' : 'off',
          'm µs/event': mean(entry.m) * 1e6,
          'o ms/batch': mean(entry.o) * 1e3,
          'm vs off': mean(entry.m) / mean(off.m),
          'events/s (backlog)': Math.round(mean(entry.rate)),
          'statements/batch': mean(entry.statements),
        });
      }
    }
    const check = await checksums(servers);
    writeResults('coalesce', records, `Coalescing on/off, same recorded backlog applied ${options.rounds}× each, alternating; sizes cycling 1…1000, m and o by least squares. Command: npm run bench -- coalesce. Source and target after the runs: ${check.identical ? 'identical' : 'DIFFERENT: ' + check.text}`);
    if (!check.identical) process.exitCode = 1;
  } finally {
    await stopBenchServers(servers);
  }
}
