// `npm run bench -- <scenario> [options]`: the benchmarks. Each prints a table and writes
// CSV/markdown (and plots where there are any) under bench/out/.
import { Command, InvalidArgumentError } from 'commander';
import { benchApply } from './apply.js';
import { benchBatchSweep } from './batch-sweep.js';
import { benchCoalesce } from './coalesce.js';
import { benchCopy } from './copy.js';
import { benchCutover } from './cutover.js';
import { benchKeepup } from './keepup.js';
import { benchRowFilter } from './row-filter.js';
import { benchThrottle } from './throttle.js';
import { benchVerify } from './verify.js';
import type { SizerSpec } from './apply-harness.js';

const program = new Command().name('npm run bench --').description('tideferry benchmarks on sandbox MariaDB servers');

program
  .command('copy')
  .description('row copy: tideferry vs mariadb-dump | mariadb on a sysbench-shaped table set')
  .option('--rows <n>', 'rows in all', '1000000')
  .option('--tables <n>', 'tables', '4')
  .option('--rounds <n>', 'alternating rounds per method', '2')
  .option('--concurrency <n>', 'copy.concurrency of the tideferry runs', '4')
  .action((options: { rows: string; tables: string; rounds: string; concurrency: string }) =>
    benchCopy({ rows: Number(options.rows), tables: Number(options.tables), rounds: Number(options.rounds), concurrency: Number(options.concurrency) }),
  );

const list = (text: string) => text.split(',').map((item) => Number(item.trim())).filter((value) => Number.isFinite(value) && value > 0);

program
  .command('apply')
  .description('binlog replay alone: steady source write load at several rates × fixed batch sizes; applied rate, lag, batch size')
  .option('--seconds <n>', 'measured seconds per run (after 2 s warm-up)', '10')
  .option('--rates <list>', 'row events per second on the source', '500,2000,8000')
  .option('--sizes <list>', 'fixed batch sizes', '1,10,100,1000')
  .action((options: { seconds: string; rates: string; sizes: string }) =>
    benchApply({ seconds: Number(options.seconds), rates: list(options.rates), sizes: list(options.sizes) }),
  );

program
  .command('batch-sweep')
  .description('the tuning loop: target latency × source rate × (fixed 1/10/100/1000, adaptive), plus a 50,000-row burst; checks B*, lag and the m, o estimates')
  .option('--quick', 'two latencies, three rates, 5 s runs, one burst latency')
  .option('--seconds <n>', 'measured seconds per run (default 12, quick 5)')
  .option('--latencies <list>', 'added latency in ms per direction (default 0,1,3; quick 1,3)', millisecondsList('a latency'))
  .option('--sizers <list>', 'sizers to run, e.g. adaptive,100,1000 (default adaptive,1,10,100,1000)', parseSizers)
  .option('--no-burst', 'skip the 50,000-row burst')
  .action((options: { quick?: boolean; seconds?: string; latencies?: number[]; sizers?: SizerSpec[]; burst: boolean }) =>
    benchBatchSweep({
      quick: options.quick ?? false,
      ...(options.seconds ? { seconds: Number(options.seconds) } : {}),
      ...(options.latencies ? { latencies: options.latencies } : {}),
      ...(options.sizers ? { sizers: options.sizers } : {}),
      noBurst: !options.burst,
    }),
  );

// A typo in a list is an error that names the item (commander prints it, no stack), not a silent skip.
function parseSizers(text: string): SizerSpec[] {
  return text.split(',').map((item) => {
    const trimmed = item.trim();
    if (trimmed === 'adaptive') return 'adaptive';
    const size = Number(trimmed);
    if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError(`"${trimmed}" is neither "adaptive" nor a batch size.`);
    return size;
  });
}

/** A list of milliseconds, each 0 or more; `what` names one in the error ("a latency"). */
function millisecondsList(what: string): (text: string) => number[] {
  return (text) =>
    text.split(',').map((item) => {
      const value = Number(item.trim());
      if (item.trim() === '' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`"${item.trim()}" is not ${what} in milliseconds.`);
      return value;
    });
}

program
  .command('keepup')
  .description('a real OLTP load (sysbench oltp_write_only) at full speed and fixed rates, loopback and ~6 ms RTT, adaptive vs fixed 100: lag, engine CPU per event by stage, busy fraction')
  .option('--quick', 'full speed and 1000 tps, loopback only, 15 s runs')
  .option('--seconds <n>', 'load seconds per run (default 35, of which 5 warm-up)')
  .option('--rates <list>', 'source rates in transactions/s, 0 = full speed (default 0,1000,2000)', parseRates)
  .option('--latencies <list>', 'added latency in ms per direction (default 0,3)', millisecondsList('a latency'))
  .option('--sizers <list>', 'sizers, e.g. adaptive,100 (default adaptive,100)', parseSizers)
  .option('--threads <n>', 'sysbench threads', '8')
  .option('--intervals <list>', 'binlog.minBatchIntervalMs values for the adaptive runs (default 10)', millisecondsList('an interval'))
  .option('--save-profiles', 'profile each run (its sampler adds CPU) and write the profiles and top functions to bench/out')
  .action((options: { quick?: boolean; seconds?: string; rates?: number[]; latencies?: number[]; sizers?: SizerSpec[]; threads: string; intervals?: number[]; saveProfiles?: boolean }) => {
    const quick = options.quick ?? false;
    const seconds = Number(options.seconds ?? (quick ? 15 : 35));
    return benchKeepup({
      seconds,
      warmupSeconds: Math.min(5, Math.floor(seconds / 4)),
      rates: options.rates ?? (quick ? [0, 1000] : [0, 1000, 2000]),
      latencies: options.latencies ?? (quick ? [0] : [0, 3]),
      sizers: options.sizers ?? ['adaptive', 100],
      intervalsMs: options.intervals ?? [10],
      threads: Number(options.threads),
      saveProfiles: options.saveProfiles ?? false,
    });
  });

function parseAtCutover(text: string): ('changed' | 'all')[] {
  return text.split(',').map((item) => {
    const value = item.trim();
    if (value !== 'changed' && value !== 'all') throw new InvalidArgumentError(`"${value}" is neither "changed" nor "all".`);
    return value;
  });
}

function parseRates(text: string): number[] {
  return text.split(',').map((item) => {
    const rate = Number(item.trim());
    if (item.trim() === '' || !Number.isInteger(rate) || rate < 0) throw new InvalidArgumentError(`"${item.trim()}" is not a rate in transactions per second (0 = full speed).`);
    return rate;
  });
}

program
  .command('coalesce')
  .description("coalescing each row's changes in a batch: m and o with it on and off, on distinct-row and hot-row backlogs")
  .option('--seconds <n>', 'seconds of source load recorded per backlog', '1.5')
  .option('--rounds <n>', 'applications of each backlog per mode, alternating', '2')
  .action((options: { seconds: string; rounds: string }) => benchCoalesce({ seconds: Number(options.seconds), rounds: Number(options.rounds) }));

program
  .command('row-filter')
  .description("judging a batch's images by a row filter on the target: ms per batch beside the batch's own write")
  .option('--sizes <list>', 'images per batch', '50,500,5000')
  .option('--rounds <n>', 'batches per size', '100')
  .action((options: { sizes: string; rounds: string }) => benchRowFilter({ sizes: list(options.sizes), rounds: Number(options.rounds) }));

program
  .command('cutover')
  .description('a whole migration under a steady sysbench load at several sizes, cutover confirmed as soon as ready: downtime, drain, rows re-verified, verify time at cutover')
  .option('--sizes <list>', 'rows in all, per run', '500000,4000000')
  .option('--tables <n>', 'sysbench tables', '4')
  .option('--rate <n>', 'sysbench transactions per second (4 row events each)', '250')
  .option('--threads <n>', 'sysbench threads', '4')
  .option('--at-cutover <list>', 'verify.atCutover values, side by side: changed (the default), all (every row again)', parseAtCutover, ['changed', 'all'])
  .action((options: { sizes: string; tables: string; rate: string; threads: string; atCutover: ('changed' | 'all')[] }) =>
    benchCutover({ sizes: list(options.sizes), tables: Number(options.tables), rate: Number(options.rate), threads: Number(options.threads), atCutover: options.atCutover }),
  );

program
  .command('verify')
  .description('tideferry verify (1, 2, 4 workers) beside CHECKSUM TABLE on identical sysbench tables')
  .option('--rows <n>', 'rows in all', '1000000')
  .option('--tables <n>', 'tables', '4')
  .option('--concurrency <list>', 'worker counts', '1,2,4')
  .option('--rounds <n>', 'rounds (best taken)', '3')
  .option('--schema-tables <n>', 'tables for the timing of one schema check', '200')
  .action((options: { rows: string; tables: string; concurrency: string; rounds: string; schemaTables: string }) =>
    benchVerify({ rows: Number(options.rows), tables: Number(options.tables), concurrency: list(options.concurrency), rounds: Number(options.rounds), schemaTables: Number(options.schemaTables) }),
  );

program
  .command('throttle')
  .description("the replica-lag throttle: a copy to a target with a slow replica, throttle off and on; rows/s and the replica's max and p99 lag")
  .option('--rows <n>', 'rows in all', '300000')
  .option('--tables <n>', 'tables', '4')
  .option('--max-lag <seconds>', 'throttle.maxLagSeconds of the throttled run', '1')
  .option('--link-mbps <n>', "the replica's link to the target, MB/s (what makes it slow)", '3')
  .option('--batch-rows <n>', 'rows per copy batch (fixed)', '1000')
  .action((options: { rows: string; tables: string; maxLag: string; linkMbps: string; batchRows: string }) =>
    benchThrottle({ rows: Number(options.rows), tables: Number(options.tables), maxLagSeconds: Number(options.maxLag), linkBytesPerSecond: Number(options.linkMbps) * 1e6, batchRows: Number(options.batchRows) }),
  );

await program.parseAsync(process.argv);
