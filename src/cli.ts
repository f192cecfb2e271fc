#!/usr/bin/env node
// The command line: run, resume, verify, demo. One clear message and a non-zero exit code on
// failure; the stack trace only with --log-level debug.
import { Command, Option } from 'commander';
import { loadConfig, type Config } from './config/load.js';
import { ConfigError, TideferryError, errorMessage } from './errors.js';
import { Ferry } from './ferry.js';
import { createLogger, type Logger } from './log.js';
import { formatSummary } from './summary.js';
import { verifyConfig } from './verify/command.js';
import { runDemo } from './demo.js';

interface GlobalOptions {
  logFormat?: 'pretty' | 'json';
  logLevel?: string;
}

function loggerFor(config: Config | undefined, options: GlobalOptions): Logger {
  return createLogger({
    format: options.logFormat ?? config?.log.format ?? 'pretty',
    level: options.logLevel ?? config?.log.level ?? 'info',
  });
}

async function migrate(configPath: string, resume: boolean, options: GlobalOptions): Promise<void> {
  const config = loadConfig(configPath);
  const logger = loggerFor(config, options);
  const ferry = new Ferry({ config, logger, resume });
  const cancel = (signal: string) => () => {
    logger.warn({ signal }, 'stopping: saving state (resume with `tideferry resume`)');
    ferry.cancel(`received ${signal}`);
  };
  process.once('SIGINT', cancel('SIGINT'));
  process.once('SIGTERM', cancel('SIGTERM'));
  process.on('SIGUSR2', () => {
    if (ferry.confirmCutover()) logger.info('manual cutover confirmed (SIGUSR2)');
  });
  const summary = await ferry.run();
  process.stdout.write(`\n${formatSummary(summary)}\n`);
}

export function buildProgram(): Command {
  const program = new Command()
    .name('tideferry')
    .description('Live migration of MySQL/MariaDB databases: copies rows, replays the binlog, verifies, cuts over.')
    .addOption(new Option('--log-format <format>', 'log output: pretty lines or JSON').choices(['pretty', 'json']))
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(['trace', 'debug', 'info', 'warn', 'error']))
    .showHelpAfterError();

  program
    .command('run')
    .description('migrate the databases of CONFIG from source to target, then cut over')
    .argument('<config>', 'YAML or JSON config file (see README)')
    .option('--resume', 'continue from the state file named in the config')
    .action((configPath: string, options: { resume?: boolean }) => migrate(configPath, options.resume ?? false, program.opts()));

  program
    .command('resume')
    .description('continue an interrupted run from its state file (same as run --resume)')
    .argument('<config>', 'the config of the interrupted run')
    .action((configPath: string) => migrate(configPath, true, program.opts()));

  program
    .command('verify')
    .description('compare every row of the selected tables on source and target (meaningful when writes are stopped)')
    .argument('<config>', 'YAML or JSON config file')
    .action(async (configPath: string) => {
      const config = loadConfig(configPath);
      const ok = await verifyConfig(config, loggerFor(config, program.opts()));
      if (!ok) process.exitCode = 1;
    });

  program
    .command('demo')
    .description('start throwaway MariaDB servers, fill a sample shop, migrate it under a write load, show the figures')
    .option('--write-rate <n>', 'write operations per second on the source during the migration', '300')
    .option('--scale <n>', 'sample size multiplier (1 = about 100,000 rows)', '3')
    .action(async (options: { writeRate: string; scale: string }) => {
      const summary = await runDemo({ writeRate: Number(options.writeRate), scale: Number(options.scale), logger: loggerFor(undefined, program.opts()) });
      process.stdout.write(`\n${formatSummary(summary)}\n`);
    });
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    const known = error instanceof TideferryError;
    process.stderr.write(`tideferry: ${known ? '' : 'error: '}${errorMessage(error)}\n`);
    if (!known && process.argv.includes('debug')) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    process.exitCode = error instanceof ConfigError ? 2 : 1;
  }
}

await main();
