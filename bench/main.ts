// `npm run bench -- <scenario> [options]`: the benchmarks. Each prints a table and writes
// CSV/markdown (and plots where there are any) under bench/out/.
import { Command } from 'commander';
import { benchCopy } from './copy.js';

const program = new Command().name('npm run bench --').description('tideferry benchmarks on sandbox MariaDB servers');

program
  .command('copy')
  .description('row copy: tideferry vs mariadb-dump | mariadb on a sysbench-shaped table set')
  .option('--rows <n>', 'rows in all', '1000000')
  .option('--tables <n>', 'tables', '4')
  .option('--rounds <n>', 'alternating rounds per method', '2')
  .action((options: { rows: string; tables: string; rounds: string }) =>
    benchCopy({ rows: Number(options.rows), tables: Number(options.tables), rounds: Number(options.rounds) }),
  );

await program.parseAsync(process.argv);
