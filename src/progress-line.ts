// The live progress line of `tideferry run` on a terminal: phase, rows, rate, time left, binlog
// lag beside the model's, redrawn in place on stderr every second, with the log lines written
// above it. Used by cli.ts alone, which decides when it applies (stderr a TTY, pretty logs): the
// timer is the CLI's process-wide effect, unref'd and cleared when the run ends.

/** What the line shows, as Ferry.status() carries it (every field may be missing: before the copy, say). */
export interface ProgressFigures {
  readonly phase?: string;
  readonly copy?: {
    readonly rowsCopied?: number;
    readonly estimatedRows?: number;
    readonly fraction?: number;
    readonly rowsPerSecond?: number;
    readonly etaSeconds?: number;
  };
  readonly tables?: Readonly<Record<string, { readonly verification?: { readonly complete?: boolean } } | undefined>>;
  readonly binlogLagSeconds?: number;
  readonly tuning?: { readonly hasEstimate?: boolean; readonly predictedLagSeconds?: number | null };
  readonly copyPaused?: boolean;
  readonly copyThrottledBecause?: string | null;
  readonly keepUp?: { readonly saturated?: boolean };
  /** "waiting for the target since 12:03:04" while a server is unreachable (db/retry.ts). */
  readonly waiting?: string | null;
}

const count = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US'));

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

const lag = (seconds: number | null | undefined) =>
  seconds === undefined || seconds === null || !Number.isFinite(seconds) ? '–' : seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`;

/** One line, at most `columns` wide (a wrapped line could not be redrawn in place). */
export function formatProgressLine(status: ProgressFigures, columns = 120): string {
  const parts: string[] = [status.phase ?? 'starting'];
  if (status.waiting) parts.push(status.waiting.toUpperCase());
  const copy = status.copy;
  if (copy) {
    const percent = copy.fraction === undefined ? '' : `${Math.floor(copy.fraction * 100)}% `;
    parts.push(`${percent}${count(copy.rowsCopied)} of ~${count(copy.estimatedRows)} rows`);
    if (copy.fraction !== 1) parts.push(`${count(copy.rowsPerSecond)} rows/s`, `ETA ${formatDuration(copy.etaSeconds)}`);
  }
  if (status.binlogLagSeconds !== undefined) {
    const predicted = status.tuning?.hasEstimate ? ` (model ${status.tuning.predictedLagSeconds === null ? '∞' : lag(status.tuning.predictedLagSeconds)})` : '';
    parts.push(`lag ${lag(status.binlogLagSeconds)}${predicted}`);
  }
  const tables = Object.values(status.tables ?? {});
  if (copy?.fraction === 1 && tables.some((table) => table?.verification)) {
    parts.push(`verified ${tables.filter((table) => table?.verification?.complete).length}/${tables.length} tables`);
  }
  if (status.copyPaused) parts.push('PAUSED');
  else if (status.copyThrottledBecause && copy?.fraction !== 1) parts.push(`copy waits: ${status.copyThrottledBecause}`);
  if (status.keepUp?.saturated) parts.push('BINLOG SATURATED');
  const line = parts.join(' · ');
  return line.length > columns ? `${line.slice(0, Math.max(0, columns - 1))}…` : line;
}

interface Terminal {
  write(text: string): unknown;
  readonly columns?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

/** The line at the bottom of the terminal, and the log lines written above it. */
export class TerminalProgress {
  private read: (() => ProgressFigures) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly terminal: Terminal) {}

  /** Redraws the line from `read` every `intervalMs`; the timer never keeps the process alive. */
  start(read: () => ProgressFigures, intervalMs = 1000): void {
    this.read = read;
    this.terminal.write(`${CLEAR_LINE}${this.format()}`);
    this.timer = setInterval(() => this.terminal.write(`${CLEAR_LINE}${this.format()}`), intervalMs);
    this.timer.unref();
  }

  /** A log line (ending in a newline), written above the progress line, which is drawn afresh under it (a new phase shows at once). */
  log(text: string): void {
    this.terminal.write(this.read ? `${CLEAR_LINE}${text}${this.format()}` : text);
  }

  private format(): string {
    // A pseudo-terminal whose size is not set says 0 columns.
    return this.read ? formatProgressLine(this.read(), Math.max(20, (this.terminal.columns || 120) - 1)) : '';
  }

  /** Stops redrawing and removes the line, so that what follows starts on a clean line. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.read) this.terminal.write(CLEAR_LINE);
    this.read = undefined;
  }
}
