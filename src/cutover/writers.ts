// Stopping the source's writers at cutover, and letting them go again if the run fails.
// Three ways, chosen by cutover.mode: the source made read-only, a user command, or a human.
import { spawn } from 'node:child_process';
import type { Connection } from 'mysql2/promise';
import { CutoverError } from '../errors.js';
import type { Logger } from '../log.js';
import { connect, type Endpoint } from '../db/connection.js';

export interface WriterStop {
  readonly mode: 'read-only' | 'hook' | 'manual';
  /**
   * Reads what stop() will change, before it changes anything, so that the state file records it
   * first (read-only: the source's read_only values; undefined for the others).
   */
  prepare(): Promise<PreviousReadOnly | undefined>;
  /** Resolves once no writer can change the source any more. */
  stop(signal: AbortSignal): Promise<void>;
  /**
   * Undoes stop() (called when the run fails or is stopped after stop began, even if stop was
   * interrupted). Resolves false when letting the writers go is left to a person (manual, or a
   * hook without an undo hook): the state file then goes on saying they are stopped.
   */
  restore(): Promise<boolean>;
  /** What restore() achieves, for the run's last message. */
  readonly restoredNote: string;
}

export interface PreviousReadOnly {
  readonly readOnly: string;
  readonly superReadOnly?: string | undefined;
}

/** SET GLOBAL read_only = ON on the source (and super_read_only where the server has it). */
export class ReadOnlyWriterStop implements WriterStop {
  readonly mode = 'read-only';
  readonly restoredNote = 'the source is writable again';
  private previous: PreviousReadOnly | undefined;

  constructor(private readonly source: () => Promise<Connection>) {}

  async prepare(): Promise<PreviousReadOnly> {
    const connection = await this.source();
    try {
      const [rows] = await connection.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only')");
      const values = new Map((rows as { Variable_name: string; Value: string }[]).map((row) => [row.Variable_name, row.Value]));
      this.previous = { readOnly: values.get('read_only') ?? 'OFF', superReadOnly: values.get('super_read_only') };
      return this.previous;
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    const previous = this.previous ?? (await this.prepare());
    const connection = await this.source();
    try {
      // MariaDB waits for running commits before read_only takes effect; MySQL's super_read_only
      // also stops users with SUPER.
      await connection.query('SET GLOBAL read_only = ON');
      if (previous.superReadOnly !== undefined) await connection.query('SET GLOBAL super_read_only = ON');
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  /** Takes over what an interrupted run recorded, so that restore() puts back the values from before its cutover. */
  adopt(previous: PreviousReadOnly | undefined): void {
    this.previous = previous ?? { readOnly: 'OFF' };
  }

  /** Whether the source is read-only now. */
  async isStopped(): Promise<boolean> {
    const connection = await this.source();
    try {
      const [rows] = await connection.query('SELECT @@global.read_only AS value');
      return Number((rows as { value: unknown }[])[0]?.value) === 1;
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  async restore(): Promise<boolean> {
    if (!this.previous) return true;
    const connection = await this.source();
    try {
      if (this.previous.superReadOnly !== undefined) await connection.query(`SET GLOBAL super_read_only = ${this.previous.superReadOnly === 'ON' ? 'ON' : 'OFF'}`);
      await connection.query(`SET GLOBAL read_only = ${this.previous.readOnly === 'ON' ? 'ON' : 'OFF'}`);
      this.previous = undefined;
      return true;
    } finally {
      await connection.end().catch(() => undefined);
    }
  }
}

/** Seconds a hook gets to exit after SIGTERM before its process group is killed. */
const HOOK_KILL_GRACE_SECONDS = 5;

/**
 * Runs a hook command in its own process group, so that a timeout or an abort ends the whole
 * hook (its shell and whatever it started), and a Ctrl-C in the terminal reaches only us: the
 * CLI then decides, and the undo hook still runs.
 */
function runCommand(command: string, timeoutSeconds: number, logger: Logger, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    logger.info({ command }, 'running cutover hook');
    const child = spawn(command, { shell: true, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    let stoppedBecause: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const end = (reason: string) => {
      if (stoppedBecause || child.pid === undefined) return;
      stoppedBecause = reason;
      const group = -child.pid;
      try {
        process.kill(group, 'SIGTERM');
      } catch {
        return; // already gone
      }
      killTimer = setTimeout(() => {
        try {
          process.kill(group, 'SIGKILL');
        } catch {
          // already gone
        }
      }, HOOK_KILL_GRACE_SECONDS * 1000);
    };
    const timer = setTimeout(() => end(`timed out after ${timeoutSeconds}s (cutover.hookTimeoutSeconds)`), timeoutSeconds * 1000);
    const onAbort = () => end('interrupted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (error) => {
      settle();
      reject(new CutoverError(`cutover hook \`${command}\` could not start: ${error.message}`));
    });
    child.once('exit', (code, signalName) => {
      settle();
      if (stoppedBecause === 'interrupted' && signal?.aborted) reject(signal.reason);
      else if (stoppedBecause) reject(new CutoverError(`cutover hook \`${command}\` ${stoppedBecause}`));
      else if (code === 0) resolve();
      else reject(new CutoverError(`cutover hook \`${command}\` failed (${signalName ? `killed by ${signalName}` : `exit code ${code}`})`));
    });
  });
}

/** Runs a configured command that stops the writers (and optionally one that undoes it). */
export class HookWriterStop implements WriterStop {
  readonly mode = 'hook';
  private stopped = false;
  constructor(
    private readonly hook: string,
    readonly undoHook: string | undefined,
    private readonly timeoutSeconds: number,
    private readonly logger: Logger,
  ) {}

  get restoredNote(): string {
    return this.undoHook ? 'cutover.undoHook let the writers go again' : 'there is no cutover.undoHook: let the writers go again by hand';
  }

  async prepare(): Promise<undefined> {
    return undefined;
  }

  async stop(signal: AbortSignal): Promise<void> {
    // Set first: a hook interrupted half-way may have stopped some writers, and is undone too.
    this.stopped = true;
    await runCommand(this.hook, this.timeoutSeconds, this.logger, signal);
  }

  /** Takes over writers that an interrupted run's hook stopped, so that restore() runs the undo hook. */
  adopt(): void {
    this.stopped = true;
  }

  async restore(): Promise<boolean> {
    if (!this.stopped) return true;
    if (!this.undoHook) {
      this.logger.warn('cutover.hook stopped the writers and there is no cutover.undoHook: let them go again by hand');
      return false;
    }
    // Not interruptible by the run's signal: it is what a stopped run must still do.
    await runCommand(this.undoHook, this.timeoutSeconds, this.logger);
    this.stopped = false;
    return true;
  }
}

export type ManualConfirmation = { readonly confirmed: true } | { readonly confirmed: false; readonly reason: string };

/** Waits for an operator: SIGUSR2 or POST /cutover, sent once the writers are stopped by hand. */
export class ManualWriterStop implements WriterStop {
  readonly mode = 'manual';
  readonly restoredNote = 'let the writers go again by hand';
  private release: (() => void) | undefined;
  private released = false;

  constructor(private readonly logger: Logger) {}

  /**
   * Called by the control API and the SIGUSR2 handler. Accepted only while stop() waits for it:
   * a confirmation sent earlier (during the copy, say) would let a later cutover start without
   * anyone having stopped the writers for it.
   */
  confirm(): ManualConfirmation {
    if (this.released) return { confirmed: false, reason: 'the manual cutover was already confirmed' };
    if (!this.release) return { confirmed: false, reason: 'not waiting for a manual cutover yet' };
    this.released = true;
    this.release();
    return { confirmed: true };
  }

  async prepare(): Promise<undefined> {
    return undefined;
  }

  stop(signal: AbortSignal): Promise<void> {
    if (this.released) return Promise.resolve();
    signal.throwIfAborted();
    this.logger.warn('ready for cutover: stop the writers, then send SIGUSR2 or POST /cutover');
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.release = undefined;
        reject(signal.reason);
      };
      this.release = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async restore(): Promise<boolean> {
    this.logger.warn('the run stopped after the writers were stopped by hand: let them go again by hand');
    return false;
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
