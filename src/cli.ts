#!/usr/bin/env node
// The command line: run, resume, verify, demo, ctl. One clear message and a non-zero exit code on
// failure; the stack trace only with --log-level debug. The only module with process-wide
// effects: signal handlers, exit codes and the OpenTelemetry SDK (docs/architecture.md, "Processes").
import { Command, Option } from 'commander';
import { loadConfig, type Config } from './config/load.js';
import { ConfigError, RunCancelledError, TideferryError, errorMessage } from './errors.js';
import { Ferry } from './ferry.js';
import { createLogger, type Logger } from './log.js';
import { TerminalProgress, type ProgressFigures } from './progress-line.js';
import { formatSummary } from './summary.js';
import { verifyConfig } from './verify/command.js';
import { runDemo } from './demo.js';
import type { Telemetry } from './telemetry/sdk.js';
import { otlpSignals } from './telemetry/signals.js';
import { CTL_VERBS, DEFAULT_CONTROL_URL, runCtl, type CtlVerb } from './ctl.js';

interface GlobalOptions {
  logFormat?: 'pretty' | 'json';
  logLevel?: string;
}

function loggerFor(config: Config | undefined, options: GlobalOptions, write?: (line: string) => void): Logger {
  return createLogger({
    format: logFormat(config, options),
    level: options.logLevel ?? config?.log.level ?? 'info',
    write,
  });
}

const logFormat = (config: Config | undefined, options: GlobalOptions) => options.logFormat ?? config?.log.format ?? 'pretty';

/** On a terminal, pretty logs scroll above a live progress line; elsewhere (a file, a pipe, JSON logs) only the log lines. */
const progressLineFor = (config: Config | undefined, options: GlobalOptions) =>
  process.stderr.isTTY && logFormat(config, options) === 'pretty' ? new TerminalProgress(process.stderr) : undefined;

const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

/** The signal that stopped the command, if one did: its exit code is 128 + the signal's number. */
let stoppedBy: StopSignal | undefined;

/** Exit code of a run stopped by POST /abort (`tideferry ctl abort`): state saved, resumable. */
const ABORTED_EXIT_CODE = 3;
let abortedByControlApi = false;

/**
 * The first SIGINT/SIGTERM asks the command to stop cleanly (`stop`): a run stops its parts, lets
 * the writers go if cutover had stopped them, saves its state and exits non-zero. A second one
 * exits at once. Returns a function that removes the handlers.
 */
function onStopSignals(logger: Logger, stop: (signal: StopSignal) => void): () => void {
  const handler = (signal: StopSignal) => {
    if (stoppedBy) {
      process.stderr.write(
        `tideferry: second ${signal}: exiting at once, without waiting for the stop to finish; the state file may be a few seconds old, ` +
          'and if cutover had stopped the writers they may still be stopped: `tideferry resume` lets them go or finishes the cutover\n',
      );
      process.exit(128 + STOP_SIGNALS[signal]);
    }
    stoppedBy = signal;
    logger.warn({ signal }, `stopping (${signal}): letting the writers go if cutover had stopped them, saving the state; ${signal} again exits at once`);
    stop(signal);
  };
  const signals = Object.keys(STOP_SIGNALS) as StopSignal[];
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}

async function migrate(configPath: string, resume: boolean, options: GlobalOptions): Promise<void> {
  const config = loadConfig(configPath);
  const progress = progressLineFor(config, options);
  const logger = loggerFor(config, options, progress && ((line) => progress.log(line)));
  const ferry = new Ferry({ config, logger, resume });
  progress?.start(() => ferry.status() as ProgressFigures);
  const removeStopHandlers = onStopSignals(logger, (signal) => ferry.cancel(`received ${signal}`));
  const confirmCutover = () => {
    const answer = ferry.confirmCutover();
    if (answer.confirmed) logger.info('manual cutover confirmed (SIGUSR2)');
    else logger.warn({ reason: answer.reason }, 'SIGUSR2 ignored');
  };
  process.on('SIGUSR2', confirmCutover);
  try {
    const summary = await ferry.run();
    progress?.stop();
    process.stdout.write(`\n${formatSummary(summary)}\n`);
  } catch (error) {
    abortedByControlApi = ferry.abortedByControlApi && !stoppedBy;
    throw error;
  } finally {
    progress?.stop();
    removeStopHandlers();
    process.off('SIGUSR2', confirmCutover);
  }
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
    .command('ctl')
    .description('call the control API of a running `tideferry run`: status, pause, resume, cutover, abort, config [key=value…]')
    .argument('<verb>', CTL_VERBS.join(' | '))
    .argument('[settings...]', 'for config: key=value pairs to change (copy.concurrency=8 throttle.maxLagSeconds=2); none shows the live values')
    .option('--config <file>', "the run's config: its http.listen and http.tokenEnv")
    .option('--url <url>', `the run's control API (default: http.listen of --config, else ${DEFAULT_CONTROL_URL})`)
    .option('--token-env <name>', 'environment variable holding the bearer token (default: http.tokenEnv of --config)')
    .action(async (verb: string, settings: string[], options: { config?: string; url?: string; tokenEnv?: string }) => {
      if (!(CTL_VERBS as readonly string[]).includes(verb)) throw new ConfigError(`ctl: unknown verb "${verb}" (one of ${CTL_VERBS.join(', ')})`);
      const outcome = await runCtl(verb as CtlVerb, settings, options);
      if (outcome.stdout !== undefined) process.stdout.write(`${outcome.stdout}\n`);
      if (outcome.stderr !== undefined) process.stderr.write(`${outcome.stderr}\n`);
      process.exitCode = outcome.exitCode;
    });

  program
    .command('demo')
    .description('start throwaway MariaDB servers, fill a sample shop, migrate it under a write load, show the figures')
    .option('--write-rate <n>', 'write operations per second on the source during the migration', '300')
    .option('--scale <n>', 'sample size multiplier (1 = about 100,000 rows)', '3')
    .action(async (options: { writeRate: string; scale: string }) => {
      const progress = progressLineFor(undefined, program.opts());
      const logger = loggerFor(undefined, program.opts(), progress && ((line) => progress.log(line)));
      const stop = new AbortController();
      const removeStopHandlers = onStopSignals(logger, (signal) => stop.abort(new Error(`received ${signal}`)));
      try {
        const summary = await runDemo({
          writeRate: Number(options.writeRate), scale: Number(options.scale), logger, signal: stop.signal,
          onMigration: (ferry) => progress?.start(() => ferry.status() as ProgressFigures),
        });
        progress?.stop();
        process.stdout.write(`\n${formatSummary(summary)}\n`);
      } finally {
        progress?.stop();
        removeStopHandlers();
      }
    });
  return program;
}

async function main(): Promise<void> {
  // OpenTelemetry (telemetry/sdk.ts): only when an OTLP endpoint is set; flushed before the exit.
  // Loaded only when asked for: its imports cost about 100 ms of every command's start.
  const signals = otlpSignals(process.env);
  const telemetry: Telemetry | undefined = signals.traces || signals.metrics ? (await import('./telemetry/sdk.js')).startTelemetry(process.env) : undefined;
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    const known = error instanceof TideferryError;
    process.stderr.write(`tideferry: ${known ? '' : 'error: '}${errorMessage(error)}\n`);
    if (!known && process.argv.includes('debug')) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    process.exitCode =
      error instanceof ConfigError ? 2
      : error instanceof RunCancelledError && stoppedBy ? 128 + STOP_SIGNALS[stoppedBy]
      : error instanceof RunCancelledError && abortedByControlApi ? ABORTED_EXIT_CODE
      : 1;
  } finally {
    await telemetry?.shutdown();
  }
}

await main();
