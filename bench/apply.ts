// `npm run bench -- apply [--seconds n] [--rates a,b,c] [--sizes a,b,c]`: binlog replay alone
// (streamer + applier, no row copy) on sandbox servers, direct to the target, under a steady
// write load on the source at several rates, for several fixed batch sizes. Prints and writes
// bench/out/apply.{csv,md}.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checksums, KEPT_UP_DRAIN_SECONDS, KEPT_UP_LAG_GROWTH_SECONDS, runSteady, startBenchServers, stopBenchServers, targetVia,
  type BenchServers, type SteadyRunResult,
} from './apply-harness.js';
import { markdownTable, OUT_DIR, writeResults, type Record as ResultRecord } from './report.js';

export interface ApplyBenchOptions {
  readonly seconds: number;
  readonly rates: readonly number[];
  readonly sizes: readonly number[];
}

const ms = (seconds: number) => (Number.isFinite(seconds) ? Number((seconds * 1000).toPrecision(3)) : '—');
const DRAIN_CAP_SECONDS = 3;

export async function benchApply(options: ApplyBenchOptions): Promise<void> {
  const began = Date.now();
  let servers: BenchServers | undefined;
  const records: ResultRecord[] = [];
  let check = { identical: false, text: 'not checked' };
  try {
    servers = await startBenchServers({ tables: 4, rowsPerTable: 25_000 });
    const target = await targetVia(servers, undefined);
    for (const rate of options.rates) {
      for (const size of options.sizes) {
        const run: SteadyRunResult = await runSteady(servers, { target: target.endpoint, sizer: size, rate, warmupSeconds: 2, seconds: options.seconds, drainCapSeconds: DRAIN_CAP_SECONDS });
        const record: ResultRecord = {
          'target R': rate,
          'batch size': size,
          'produced R': Math.round(run.producedRate),
          'applied/s': Math.round(run.appliedRate),
          'lag p50 ms': ms(run.lag.p50),
          'lag p99 ms': ms(run.lag.p99),
          'lag max ms': ms(run.lag.max),
          'e2e p50 ms': ms(run.endToEnd.p50),
          'e2e p99 ms': ms(run.endToEnd.p99),
          'e2e max ms': ms(run.endToEnd.max),
          'mean batch': Number(run.meanBatch.toFixed(1)),
          'max batch': run.maxBatch,
          batches: run.batches,
          'kept up': run.keptUp ? 'yes' : 'NO',
          'drain s': run.drainSeconds === undefined ? `>${DRAIN_CAP_SECONDS}` : Number(run.drainSeconds.toFixed(2)),
          'src stmts/txn': run.statementsPerTransaction,
        };
        records.push(record);
        process.stdout.write(`R ${rate}/s, batch ${size}: ${JSON.stringify(record)}\n`);
      }
    }
    check = await checksums(servers);
    process.stdout.write(`CHECKSUM TABLE after the runs: ${check.identical ? 'IDENTICAL' : 'DIFFERENT'} (${check.text})\n`);
  } finally {
    await stopBenchServers(servers);
  }
  const notes = [
    '# apply',
    '',
    `Command: \`npm run bench -- apply\` (${options.seconds} s measured per run after 2 s warm-up; rates ${options.rates.join(', ')} row events/s; fixed batch sizes ${options.sizes.join(', ')}). Took ${((Date.now() - began) / 60000).toFixed(1)} min.`,
    '',
    'Binlog streamer + applier only, direct TCP to the sandbox target (no proxy). Source and target hold the same 4 sysbench tables × 25,000 rows (same SQL on both). ' +
      'Load: UPDATEs of 10 consecutive rows from 4 connections on disjoint key ranges, paced; "produced R" = changed rows the source reported per second during the window. ' +
      'Lag = AppliedBatch.lagSeconds (per event, source commit estimate → target commit), over the events applied during the window; e2e = the lag of the same events measured independently: target commit − when the load generator got the OK of the source COMMIT (each UPDATE writes its statement number into column c). ' +
      `Kept up: the target was current within ${KEPT_UP_DRAIN_SECONDS} s of the load stopping, and the median lag of the window's last quarter exceeded that of its second quarter by at most ${KEPT_UP_LAG_GROWTH_SECONDS * 1000} ms. ` +
      'The fixed size is the most items the applier takes; it takes what is queued without waiting, so the mean batch is below the size when the applier keeps up.',
    '',
    `**Data check:** CHECKSUM TABLE after all runs: **${check.identical ? 'identical' : 'DIFFERENT'}** (${check.text}).`,
  ].join('\n');
  writeResults('apply', records, notes);
  writeFileSync(join(OUT_DIR, 'apply.md'), `${notes}\n\n${markdownTable(records)}\n`);
}
