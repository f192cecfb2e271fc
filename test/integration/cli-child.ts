// The real CLI as a child process, for tests that signal it: its JSON log lines as they come,
// its stderr, and its exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LogLine {
  readonly msg?: string;
  readonly phase?: string;
  readonly [key: string]: unknown;
}

export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class CliChild {
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<CliExit>;
  /** Set once the process has exited. */
  exitStatus: CliExit | undefined;
  private readonly child: ChildProcess;
  private waiters: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args, '--log-format', 'json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      }),
    );
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return; // the summary's text lines
      }
      this.lines.push(line);
      if (process.env.TIDEFERRY_TEST_LOG) process.stderr.write(`[cli ${this.child.pid}] ${text}\n`);
      for (const waiter of this.waiters.filter((candidate) => candidate.test(line))) waiter.resolve(line);
      this.waiters = this.waiters.filter((candidate) => !candidate.test(line));
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line (past or future) that passes `test`; rejects if the process exits first or time runs out. */
  waitFor(test: (line: LogLine) => boolean, what: string, timeoutMs = 60_000): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`)), timeoutMs);
      const done = (line: LogLine) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push({ test, resolve: done });
      void this.exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`the CLI exited (${exit.code ?? exit.signal}) before ${what}; stderr: ${this.stderr}`));
      });
    });
  }

  has(message: RegExp): boolean {
    return this.lines.some((line) => message.test(line.msg ?? ''));
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The exit, or a failure after `timeoutMs` (the child is then killed). */
  async exit(timeoutMs = 120_000): Promise<CliExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    const outcome = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`the CLI did not exit within ${timeoutMs} ms; stderr: ${this.stderr}`);
    }
    return outcome;
  }
}
