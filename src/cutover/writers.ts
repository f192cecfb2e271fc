// Stopping the source's writers at cutover, and letting them go again if the run fails.
// Three ways, chosen by cutover.mode: the source made read-only, a user command, or a human.
import { spawn } from 'node:child_process';
import type { Connection } from 'mysql2/promise';
import { CutoverError } from '../errors.js';
import type { Logger } from '../log.js';
import { connect, type Endpoint } from '../db/connection.js';

export interface WriterStop {
  readonly mode: 'read-only' | 'hook' | 'manual';
  /** Resolves once no writer can change the source any more. */
  stop(signal: AbortSignal): Promise<void>;
  /** Undoes stop() (called when the run fails after stop). */
  restore(): Promise<void>;
}

/** SET GLOBAL read_only = ON on the source (and super_read_only where the server has it). */
export class ReadOnlyWriterStop implements WriterStop {
  readonly mode = 'read-only';
  private previous: { readOnly: string; superReadOnly: string | undefined } | undefined;

  constructor(private readonly source: () => Promise<Connection>) {}

  async stop(): Promise<void> {
    const connection = await this.source();
    try {
      const [rows] = await connection.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only')");
      const values = new Map((rows as { Variable_name: string; Value: string }[]).map((row) => [row.Variable_name, row.Value]));
      this.previous = { readOnly: values.get('read_only') ?? 'OFF', superReadOnly: values.get('super_read_only') };
      // MariaDB waits for running commits before read_only takes effect; MySQL's super_read_only
      // also stops users with SUPER.
      await connection.query('SET GLOBAL read_only = ON');
      if (this.previous.superReadOnly !== undefined) await connection.query('SET GLOBAL super_read_only = ON');
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  async restore(): Promise<void> {
    if (!this.previous) return;
    const connection = await this.source();
    try {
      if (this.previous.superReadOnly !== undefined) await connection.query(`SET GLOBAL super_read_only = ${this.previous.superReadOnly === 'ON' ? 'ON' : 'OFF'}`);
      await connection.query(`SET GLOBAL read_only = ${this.previous.readOnly === 'ON' ? 'ON' : 'OFF'}`);
      this.previous = undefined;
    } finally {
      await connection.end().catch(() => undefined);
    }
  }
}

function runCommand(command: string, timeoutSeconds: number, logger: Logger, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'inherit', 'inherit'], ...(signal ? { signal } : {}) });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutSeconds * 1000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new CutoverError(`cutover hook could not start: ${error.message}`));
    });
    child.once('exit', (code, signalName) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new CutoverError(`cutover hook \`${command}\` failed (${signalName ? `killed by ${signalName}, timeout ${timeoutSeconds}s?` : `exit code ${code}`})`));
    });
    logger.info({ command }, 'running cutover hook');
  });
}

/** Runs a configured command that stops the writers (and optionally one that undoes it). */
export class HookWriterStop implements WriterStop {
  readonly mode = 'hook';
  private stopped = false;
  constructor(
    private readonly hook: string,
    private readonly undoHook: string | undefined,
    private readonly timeoutSeconds: number,
    private readonly logger: Logger,
  ) {}

  async stop(signal: AbortSignal): Promise<void> {
    this.stopped = true;
    await runCommand(this.hook, this.timeoutSeconds, this.logger, signal);
  }

  async restore(): Promise<void> {
    if (!this.stopped || !this.undoHook) return;
    await runCommand(this.undoHook, this.timeoutSeconds, this.logger);
    this.stopped = false;
  }
}

/** Waits for an operator: SIGUSR2 or POST /cutover, sent once the writers are stopped by hand. */
export class ManualWriterStop implements WriterStop {
  readonly mode = 'manual';
  private release: (() => void) | undefined;
  private released = false;

  constructor(private readonly logger: Logger) {}

  /** Called by the control API and the SIGUSR2 handler. */
  confirm(): boolean {
    if (this.released) return false;
    this.released = true;
    this.release?.();
    return true;
  }

  stop(signal: AbortSignal): Promise<void> {
    if (this.released) return Promise.resolve();
    this.logger.warn('ready for cutover: stop the writers, then send SIGUSR2 or POST /cutover');
    return new Promise((resolve, reject) => {
      this.release = resolve;
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  async restore(): Promise<void> {
    this.logger.warn('the run failed after a manual cutover: let the writers go again by hand');
  }
}

export interface CutoverSettings {
  readonly mode: 'read-only' | 'hook' | 'manual';
  readonly hook?: string | undefined;
  readonly undoHook?: string | undefined;
  readonly hookTimeoutSeconds: number;
}

export function createWriterStop(settings: CutoverSettings, source: Endpoint, logger: Logger): WriterStop {
  switch (settings.mode) {
    case 'read-only':
      return new ReadOnlyWriterStop(() => connect(source));
    case 'hook':
      return new HookWriterStop(settings.hook ?? '', settings.undoHook, settings.hookTimeoutSeconds, logger);
    case 'manual':
      return new ManualWriterStop(logger);
  }
}
