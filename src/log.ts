// Structured logs: readable lines in a terminal, JSON lines when asked (`log.format: json`).
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(options: { format: 'pretty' | 'json'; level: string }): Logger {
  const settings = {
    level: options.level,
    // Belt and braces: credentials never reach a log line even if an object carrying one is logged.
    redact: { paths: ['password', '*.password', '*.*.password', 'endpoint.password'], censor: '[redacted]' },
  };
  if (options.format === 'json') return pino(settings);
  return pino(settings, pretty({ colorize: process.stderr.isTTY, destination: 2, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l', sync: true }));
}

/** A logger that discards everything (tests that do not care). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
