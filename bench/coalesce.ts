// `npm run bench -- coalesce`: what coalescing does to m, the target's cost per event. One
// backlog of source updates is recorded, then applied twice from the same binlog position —
// coalescing on and off, alternating — with batch sizes cycling 1…1000 so that T = m·b + o can
// be fitted by least squares. Two workloads: distinct rows (every update hits another row) and
// hot rows (updates concentrated on a few hundred rows, so a batch holds several changes of a
// row, which coalescing collapses).
import { readSourcePosition, type BinlogPosition } from '../src/binlog/position.js';
import { applyBacklogCycling, checksums, fitCosts, sleep, startBenchServers, stopBenchServers, type BenchServers } from './apply-harness.js';
import { UpdateLoad } from './load.js';
import { writeResults } from './report.js';
import { SYSBENCH_DATABASE } from '../src/sandbox/sysbench.js';

async function recordBacklog(servers: BenchServers, hotRows: number, seconds: number): Promise<{ start: BinlogPosition; final: BinlogPosition; events: number }> {
  const start = await readSourcePosition(servers.sourceAdmin);
  const load = new UpdateLoad({ socketPath: servers.sandbox.source.socket, database: SYSBENCH_DATABASE, tables: servers.tableCount, rowsPerTable: hotRows, eventsPerSecond: 0 });
  await sleep(seconds * 1000);
  await load.stop();
  return { start, final: await readSourcePosition(servers.sourceAdmin), events: load.events };
}

async function applyBacklog(servers: BenchServers, backlog: { start: BinlogPosition; final: BinlogPosition }, coalesce: boolean) {
  const result = await applyBacklogCycling(servers, servers.sandbox.target.endpoint, backlog.start, backlog.final, { capSeconds: 600, coalesce });
  if (!result.drained) throw new Error('the backlog did not drain within 600 s');
  const { m, o } = fitCosts(result.points);
  return { m, o, batches: result.points.length, events: result.events, seconds: result.seconds, statementsPerBatch: result.statements / result.points.length };
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
