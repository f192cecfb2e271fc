// Structured logs: readable lines in a terminal, JSON lines when asked (`log.format: json`).
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  readonly format: 'pretty' | 'json';
  readonly level: string;
  /**
   * Pretty lines go here instead of straight to stderr (the CLI's live progress line writes them
   * above itself). Each call is one whole line, newline included.
   */
  readonly write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    // Belt and braces: credentials never reach a log line even if an object carrying one is logged.
    redact: { paths: ['password', '*.password', '*.*.password', 'endpoint.password'], censor: '[redacted]' },
  };
  if (options.format === 'json') return pino(settings);
  // The summary is printed as a few lines after the run; a terminal's log line leaves it out.
  const prettyOptions = { colorize: process.stderr.isTTY, ignore: 'pid,hostname,summary', translateTime: 'HH:MM:ss.l' };
  const write = options.write;
  if (write) {
    // One line per entry: the objects of a log line do not push the progress line out of view.
    const format = pretty.prettyFactory({ ...prettyOptions, singleLine: true });
    return pino(settings, { write: (line: string) => write(format(line)) });
  }
  return pino(settings, pretty({ ...prettyOptions, destination: 2, sync: true }));
}

/** A logger that discards everything (tests that do not care). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
