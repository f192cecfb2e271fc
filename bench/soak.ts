// `npm run soak -- --kills 50`: not a benchmark, a correctness soak (too long for CI). A
// migration under a concurrent write load, run by the real CLI as a child process, is SIGKILLed
// at random moments in every phase — copy, catch-up, cutover while it stops the writers, the
// drain, verification — and resumed each time, until it completes; then every row of every table
// is compared. Rounds repeat (a fresh migration each) until the kills are spent.
//
// Phases are read from the child's own JSON log: every line it wrote before the SIGKILL is in the
// pipe, so the phase a kill landed in is known exactly, not guessed from a status poll. A kill
// aimed at a short phase waits for the line that opens it and fires within milliseconds.
// Catch-up is short by design (the copy yields to the applier, so the copy ends with little
// lag), so a process to be killed there gets a stalled target: a lock on a target table, taken
// before it reaches catch-up and released at a random moment in it; the kill then finds the
// applier stalled or working off its backlog. The lag target is raised for the soak, so that
// the copy does not hold through the stall. After each kill the soak checks the invariant that
// matters for outages: a read-only source always has a state file that says the writers were
// stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import type { Connection } from 'mysql2/promise';
import { compareTables } from '../src/sandbox/compare.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { WriteLoad } from '../src/sandbox/load.js';
import { seededRandom } from '../src/sandbox/random.js';
import { createSampleDatabase, DEFAULT_SAMPLE_SIZES, SAMPLE_DATABASE, SAMPLE_TABLES, type SampleSizes } from '../src/sandbox/sample.js';
import type { MigrationState } from '../src/state/tracker.js';
import { parseConfig } from '../src/config/load.js';
import { Ferry } from '../src/ferry.js';
import { silentLogger } from '../src/log.js';

type Target = 'copy' | 'catch-up' | 'cutover' | 'drain' | 'verify';
type Landed = 'preflight' | Target | 'done';

const LANDED_LABELS: Record<Landed, string> = {
  preflight: 'preflight (before the copy)',
  copy: 'copy',
  'catch-up': 'catch-up',
  cutover: 'cutover: stopping the writers',
  drain: 'cutover: drain',
  verify: 'cutover: verify',
  done: 'after the cutover completed',
};

interface SoakOptions {
  readonly kills: number;
  readonly seed: number;
  readonly scale: number;
  readonly writeRate: number;
}

interface LogLine {
  readonly msg?: string;
  readonly phase?: string;
  readonly table?: string;
}

/** Second in name order of the sample's tables, and written by most of the load's operations. */
const STALLED_TABLE = 'customers';
/** Fourth in name order: its copy and the last table's take about 2 s. */
const STALL_FROM_TABLE = 'orders';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The phase that opens when this line is logged, if it opens one. */
function phaseOf(line: LogLine): Landed | undefined {
  if (line.msg === 'writers stopped; draining the binlog to the final position') return 'drain';
  if (line.msg !== `phase ${line.phase}`) return undefined;
  switch (line.phase) {
    case 'copy':
    case 'catch-up':
    case 'cutover':
    case 'verify':
    case 'done':
      return line.phase;
    default:
      return undefined;
  }
}

/** The real CLI as a child process; its log lines and the phase it is in. */
class CliProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  phase: Landed = 'preflight';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private onLine: ((line: LogLine) => void) | undefined;
  private readonly listeners: ((line: LogLine) => void)[] = [];

  constructor(command: 'run' | 'resume', config: string) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', command, config, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdoutClosed = new Promise<void>((resolve) => {
      createInterface({ input: this.child.stdout! })
        .on('line', (text) => {
          let line: LogLine;
          try {
            line = JSON.parse(text) as LogLine;
          } catch {
            return;
          }
          this.lines.push(line);
          this.phase = phaseOf(line) ?? this.phase;
          this.onLine?.(line);
          for (const listener of this.listeners) listener(line);
        })
        .once('close', resolve);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // Exited and every line read: the phase is then the one the process was in when it died.
    this.exited = Promise.all([new Promise<number | null>((resolve) => this.child.once('exit', resolve)), stdoutClosed]).then(([code]) => code);
  }

  /** Calls `then` once, when a line passes `test`. */
  whenLogged(test: (line: LogLine) => boolean, then: () => Promise<void>): void {
    let done = false;
    this.listeners.push((line) => {
      if (done || !test(line)) return;
      done = true;
      then().catch((error: unknown) => console.error(`soak: ${String(error)}`));
    });
  }

  /** Resolves when `opens` opens (or already has); false when the process exits first, or after `timeoutMs`. */
  async waitForPhase(opens: Target, timeoutMs = 600_000): Promise<boolean> {
    const reached = (line: LogLine) => phaseOf(line) === opens;
    if (this.lines.some(reached)) return true;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      new Promise<boolean>((resolve) => {
        this.onLine = (line) => reached(line) && resolve(true);
      }),
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
    ]);
    clearTimeout(timer);
    return outcome;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** The kill moment, from the line that opens the target phase: each phase's usual length on this machine. */
function killDelayMs(target: Target, random: () => number): number {
  const uniform = (low: number, high: number) => low + random() * (high - low);
  switch (target) {
    case 'copy':
      return uniform(200, 2000); // checkpoints every second: some kills find progress saved, some not
    case 'catch-up':
      return uniform(0, 400);
    case 'cutover':
      return uniform(0, 10);
    case 'drain':
      return uniform(0, 5);
    case 'verify':
      return uniform(0, 300);
  }
}

/**
 * Per migration: three kills in the copy and two in catch-up while the writers run, then one in
 * the cutover (while it stops the writers in odd rounds, in the drain in even ones), then one in
 * the verification of the resumed process that finishes that cutover. The first cutover kill
 * leaves the source read-only, so it ends the part of the round in which the writers run; copy
 * and catch-up kills that would come after it wait for the next round.
 */
function roundPlan(round: number, kills: number): Target[] {
  return (['copy', 'copy', 'copy', 'catch-up', 'catch-up', round % 2 === 1 ? 'cutover' : 'drain', 'verify'] as Target[]).slice(0, kills);
}

/** A write lock on the target's STALLED_TABLE: the applier waits on it, the copy of the other tables does not. */
class TargetStall {
  private connection: Connection | undefined;
  private ended = false;

  constructor(private readonly sandbox: Sandbox) {}

  async begin(): Promise<void> {
    if (this.ended || this.connection) return;
    this.connection = await this.sandbox.target.connect();
    await this.connection.query(`LOCK TABLES ${SAMPLE_DATABASE}.${STALLED_TABLE} WRITE`);
  }

  async end(): Promise<void> {
    this.ended = true;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.query('UNLOCK TABLES');
    await connection?.end();
  }
}

class Soak {
  private readonly random: () => number;
  private readonly landed = new Map<Landed, number>();
  private readonly aimed = new Map<Target, number>();
  private kills = 0;
  private rounds: { kills: number; equal: boolean; rows: number; seconds: number }[] = [];
  private readonly sizes: SampleSizes;
  private readonly dir = mkdtempSync(join(tmpdir(), 'tf-soak-'));

  constructor(
    private readonly options: SoakOptions,
    private readonly sandbox: Sandbox,
    private readonly source: Connection,
    private readonly target: Connection,
  ) {
    this.random = seededRandom(options.seed);
    const scaled = (value: number) => Math.max(1, Math.round(value * options.scale));
    this.sizes = Object.fromEntries(Object.entries(DEFAULT_SAMPLE_SIZES).map(([key, value]) => [key, scaled(value)])) as unknown as SampleSizes;
  }

  private get configPath(): string {
    return join(this.dir, 'config.json');
  }

  private get statePath(): string {
    return join(this.dir, 'state.json');
  }

  private readState(): MigrationState | undefined {
    try {
      return JSON.parse(readFileSync(this.statePath, 'utf8')) as MigrationState;
    } catch {
      return undefined;
    }
  }

  private async isReadOnly(): Promise<boolean> {
    const [rows] = await this.source.query('SELECT @@global.read_only AS value');
    return Number((rows as { value: unknown }[])[0]?.value) === 1;
  }

  async run(): Promise<boolean> {
    try {
      while (this.kills < this.options.kills) await this.round(this.rounds.length + 1);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
    this.report();
    return this.rounds.every((round) => round.equal);
  }

  private async round(number: number): Promise<void> {
    const started = performance.now();
    await this.source.query(`SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS ${SAMPLE_DATABASE}`);
    await this.target.query(`DROP DATABASE IF EXISTS ${SAMPLE_DATABASE}`);
    rmSync(this.statePath, { force: true });
    await createSampleDatabase(this.source, this.sizes);
    writeFileSync(this.configPath, JSON.stringify({
      source: this.sandbox.source.endpoint,
      target: this.sandbox.target.endpoint,
      databases: [SAMPLE_DATABASE],
      // Small fixed batches: a copy long enough to be killed several times.
      copy: { batchRows: 50, adaptive: false, concurrency: 1 },
      cutover: { mode: 'read-only', maxLagSeconds: 0.5 },
      // The soak stalls the applier to give catch-up a backlog to be killed in; with the default
      // lag target the copy would hold through the stall (it yields to the binlog) and reach
      // catch-up only once the backlog is gone.
      throttle: { binlogLagTargetSeconds: 60 },
      stateFile: this.statePath,
      checkpointSeconds: 1,
      http: { listen: '127.0.0.1:0' },
      log: { format: 'json', level: 'info' },
    }));
    const load = new WriteLoad(this.sandbox.source, { ratePerSecond: this.options.writeRate, connections: 2, sizes: this.sizes, seed: Math.floor(this.random() * 1e6) });
    await load.start();
    let roundKills = 0;
    let command: 'run' | 'resume' = 'run';
    let completed = false;
    try {
      for (const target of roundPlan(number, this.options.kills - this.kills)) {
        const state = this.readState();
        const writersRunning = !(await this.isReadOnly());
        if (target === 'copy' && (!writersRunning || (state && Object.values(state.tables).every((table) => table.done)))) continue;
        if (target === 'catch-up' && !writersRunning) continue;
        const stallFrom = state?.tables[`${SAMPLE_DATABASE}.${STALL_FROM_TABLE}`];
        const stall = target === 'catch-up' ? new TargetStall(this.sandbox) : undefined;
        const child = new CliProcess(command, this.configPath);
        command = 'resume';
        // Tables are copied one at a time in name order, so the stalled table is copied by the
        // time the copy reaches STALL_FROM_TABLE; from there on, the lock holds up the applier
        // only, and the copy (~2 s left) ends with the binlog behind. Not before the copy phase:
        // preflight reads the table's definition, which the lock blocks. A process that starts
        // past that point has a backlog since its state was last saved.
        if (stall) {
          const started = stallFrom !== undefined && (stallFrom.done || stallFrom.lastKey !== null);
          child.whenLogged(
            (line) => (started ? phaseOf(line) === 'copy' : line.msg === 'copying table' && line.table === `${SAMPLE_DATABASE}.${STALL_FROM_TABLE}`),
            () => stall.begin(),
          );
        }
        const delay = killDelayMs(target, this.random);
        let reached: boolean;
        try {
          reached = await child.waitForPhase(target, stall ? 10_000 : undefined);
          // The copy yields to a stalled applier (the target looks saturated): let it go on.
          if (!reached && stall && child.running) {
            await stall.end();
            reached = await child.waitForPhase(target);
          }
          if (reached) {
            if (stall) setTimeout(() => void stall.end(), killDelayMs(target, this.random));
            await sleep(delay);
            child.kill();
          }
        } finally {
          await stall?.end();
        }
        const code = await child.exited;
        if (!reached || code !== null) {
          // It ended by itself before the kill: done, or failed (a soak failure).
          if (code !== 0) throw new Error(`round ${number}: the CLI exited ${code} before the kill aimed at ${target}: ${child.stderr.trim()}`);
          completed = true;
          break;
        }
        roundKills++;
        this.kills++;
        this.aimed.set(target, (this.aimed.get(target) ?? 0) + 1);
        this.landed.set(child.phase, (this.landed.get(child.phase) ?? 0) + 1);
        const copied = Object.values(this.readState()?.tables ?? {}).reduce((sum, table) => sum + table.rowsCopied, 0);
        console.log(`  kill ${this.kills}: aimed at ${target}, ${delay.toFixed(0)} ms in: landed in ${LANDED_LABELS[child.phase]} (state: ${copied} rows copied${this.readState()?.writersStopped ? ', writers stopped' : ''})`);
        await this.checkWritersRecorded(number, child.phase);
        if (child.phase === 'done') {
          completed = this.readState()?.cutoverDone === true;
          if (completed) break;
        }
      }
      if (!completed) {
        const last = new CliProcess('resume', this.configPath);
        const code = await last.exited;
        if (code !== 0) throw new Error(`round ${number}: the final resume exited ${code}: ${last.stderr.trim()}`);
      }
      if (!(await this.isReadOnly())) throw new Error(`round ${number}: the migration completed but the source is writable`);
    } finally {
      await load.stop().catch((error: unknown) => console.error(`round ${number}: the write load failed: ${String(error)}`));
    }
    const comparisons = await compareTables(this.source, this.target, SAMPLE_DATABASE, SAMPLE_TABLES);
    const equal = comparisons.every((comparison) => comparison.differing === 0 && comparison.sourceRows === comparison.targetRows);
    const rows = comparisons.reduce((sum, comparison) => sum + comparison.sourceRows, 0);
    const seconds = (performance.now() - started) / 1000;
    this.rounds.push({ kills: roundKills, equal, rows, seconds });
    console.log(`round ${number}: ${roundKills} kills, ${load.stats.operations} writes during the run, ${rows} rows, ${equal ? 'every row equal' : `DIFFERENT: ${JSON.stringify(comparisons.filter((comparison) => comparison.differing > 0))}`} (${seconds.toFixed(0)} s)`);
  }

  /** A read-only source must always come with a state file that says so: else a resume would not restore it. */
  private async checkWritersRecorded(round: number, phase: Landed): Promise<void> {
    const state = this.readState();
    if (!state) throw new Error(`round ${round}: the state file is unreadable after a kill in ${phase}`);
    if ((await this.isReadOnly()) && !state.writersStopped && !state.cutoverDone) {
      throw new Error(`round ${round}: the source is read-only after a kill in ${phase}, and the state file does not say the writers were stopped`);
    }
  }

  private report(): void {
    const allEqual = this.rounds.every((round) => round.equal);
    console.log(`\nsoak: ${this.kills} SIGKILLs over ${this.rounds.length} migrations (seed ${this.options.seed}, ${this.rounds[0]?.rows ?? 0}+ rows each, ${this.options.writeRate} writes/s)`);
    console.log('kills by the phase they landed in:');
    for (const [phase, label] of Object.entries(LANDED_LABELS) as [Landed, string][]) {
      const count = this.landed.get(phase) ?? 0;
      if (count > 0) console.log(`  ${label.padEnd(32)} ${count}`);
    }
    console.log(`aimed at: ${[...this.aimed].map(([target, count]) => `${target} ${count}`).join(', ')}`);
    console.log(allEqual ? `all ${this.rounds.length} migrations ended with every row of every table equal` : 'SOME MIGRATIONS ENDED WITH DIFFERENT ROWS (see above)');
  }
}

// `npm run soak -- --faults 20`: the fault mode. A migration under a concurrent write load, run in
// this process, meets random faults of its servers — the source or the target restarted (down
// 0.5–6 s), the target crashed (SIGKILL, InnoDB recovery at its next start), every tideferry
// connection of one server killed — many times in a row; it must go on by itself each time (no
// resume: retry.giveUpAfterSeconds is the default 300 s) and end with every row equal. Rounds (a
// fresh migration each) repeat until the faults are spent. The source is not restarted once
// cutover has begun: a restarted server comes back writable (SET GLOBAL read_only does not
// persist), which the cutover rightly reports as writes that continued.
type Fault = 'restart-source' | 'restart-target' | 'crash-target' | 'kill-source-connections' | 'kill-target-connections';
const FAULTS: readonly Fault[] = ['restart-source', 'restart-target', 'crash-target', 'kill-source-connections', 'kill-target-connections'];

class FaultSoak {
  private readonly random: () => number;
  private faults = 0;
  private readonly byKind = new Map<string, number>();
  private readonly byPhase = new Map<string, number>();
  private rounds: { faults: number; equal: boolean; rows: number; seconds: number; outageSeconds: number; retries: number }[] = [];
  private readonly sizes: SampleSizes;
  private readonly dir = mkdtempSync(join(tmpdir(), 'tf-faults-'));

  constructor(private readonly options: SoakOptions & { readonly faults: number }, private readonly sandbox: Sandbox) {
    this.random = seededRandom(options.seed);
    const scaled = (value: number) => Math.max(1, Math.round(value * options.scale));
    this.sizes = Object.fromEntries(Object.entries(DEFAULT_SAMPLE_SIZES).map(([key, value]) => [key, scaled(value)])) as unknown as SampleSizes;
  }

  async run(): Promise<boolean> {
    try {
      while (this.faults < this.options.faults) await this.round(this.rounds.length + 1);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
    this.report();
    return this.rounds.every((round) => round.equal);
  }

  private async admin<T>(server: 'source' | 'target', work: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await this.sandbox[server].connect();
    try {
      return await work(connection);
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  private async fault(kind: Fault): Promise<void> {
    const downMs = Math.round(500 + this.random() * 5500);
    switch (kind) {
      case 'restart-source':
        return this.sandbox.source.restart(downMs);
      case 'restart-target':
        return this.sandbox.target.restart(downMs);
      case 'crash-target':
        return this.sandbox.target.restart(downMs, { kill: true });
      case 'kill-source-connections':
      case 'kill-target-connections': {
        const server = kind === 'kill-source-connections' ? 'source' : 'target';
        await this.admin(server, async (connection) => {
          const [rows] = await connection.query(`SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '${this.sandbox[server].user}'`);
          for (const { ID } of rows as { ID: number }[]) await connection.query(`KILL ${ID}`).catch(() => undefined);
        });
        return;
      }
    }
  }

  private async round(number: number): Promise<void> {
    const started = performance.now();
    await this.admin('source', (connection) => connection.query(`SET GLOBAL read_only = OFF; DROP DATABASE IF EXISTS ${SAMPLE_DATABASE}`));
    await this.admin('target', (connection) => connection.query(`DROP DATABASE IF EXISTS ${SAMPLE_DATABASE}`));
    await this.admin('source', (connection) => createSampleDatabase(connection, this.sizes));
    const config = parseConfig({
      source: this.sandbox.source.endpoint,
      target: this.sandbox.target.endpoint,
      databases: [SAMPLE_DATABASE],
      // Small fixed batches: a copy long enough for several faults.
      copy: { batchRows: 100, adaptive: false, concurrency: 1 },
      cutover: { mode: 'read-only', maxLagSeconds: 0.5 },
      stateFile: join(this.dir, `state-${number}.json`),
      checkpointSeconds: 1,
      http: { enabled: false },
      log: { level: 'warn' },
    });
    const load = new WriteLoad(this.sandbox.source, { ratePerSecond: this.options.writeRate, connections: 2, sizes: this.sizes, seed: Math.floor(this.random() * 1e6), survivesRestarts: true });
    await load.start();
    const ferry = new Ferry({ config, logger: process.env.TIDEFERRY_SOAK_LOG ? (await import('../src/log.js')).createLogger({ format: 'pretty', level: process.env.TIDEFERRY_SOAK_LOG }) : silentLogger() });
    let finished = false;
    const running = ferry.run().finally(() => { finished = true; });
    running.catch(() => undefined);
    let roundFaults = 0;
    const perRound = Math.min(this.options.faults - this.faults, 3 + Math.floor(this.random() * 4));
    try {
      while (roundFaults < perRound && !finished) {
        // Some faults wait for the end of the copy: they land in catch-up, cutover or its
        // verification (the copy takes most of a run; the rest would rarely see one).
        if (roundFaults === perRound - 1 || this.random() < 0.3) {
          while (!finished && (ferry.phase === 'copy' || ferry.phase === 'preflight')) await sleep(5);
          await sleep(this.random() * 300);
        } else {
          await sleep(300 + this.random() * 1700);
        }
        if (finished || ferry.phase === 'done' || ferry.phase === 'failed') break;
        const phase = ferry.phase;
        const choices = FAULTS.filter((kind) => kind !== 'restart-source' || (phase !== 'cutover' && phase !== 'verify'));
        const kind = choices[Math.floor(this.random() * choices.length)]!;
        await this.fault(kind);
        roundFaults++;
        this.faults++;
        this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
        this.byPhase.set(phase, (this.byPhase.get(phase) ?? 0) + 1);
        console.log(`  fault ${this.faults}: ${kind} in ${phase}${ferry.status()['waiting'] ? ` (${String(ferry.status()['waiting'])})` : ''}`);
      }
      await running;
    } catch (error) {
      throw new Error(`round ${number}: the migration stopped after ${roundFaults} faults: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await load.stop().catch((error: unknown) => console.error(`round ${number}: the write load failed: ${String(error)}`));
    }
    const comparisons = await this.admin('source', (source) => this.admin('target', (target) => compareTables(source, target, SAMPLE_DATABASE, SAMPLE_TABLES)));
    const equal = comparisons.every((comparison) => comparison.differing === 0 && comparison.sourceRows === comparison.targetRows);
    const rows = comparisons.reduce((sum, comparison) => sum + comparison.sourceRows, 0);
    const seconds = (performance.now() - started) / 1000;
    const outageSeconds = ferry.outages.outageSeconds().reduce((sum, outage) => sum + outage.seconds, 0);
    const retries = ((await ferry.metrics.registry.getSingleMetric('tideferry_retries_total')?.get())?.values ?? []).reduce((sum, value) => sum + value.value, 0);
    this.rounds.push({ faults: roundFaults, equal, rows, seconds, outageSeconds, retries });
    console.log(`round ${number}: ${roundFaults} faults, ${retries} retries, ${outageSeconds.toFixed(0)} s of outages (all parts), ${load.stats.operations} writes, ${rows} rows, ${equal ? 'every row equal' : `DIFFERENT: ${JSON.stringify(comparisons.filter((comparison) => comparison.differing > 0 || comparison.sourceRows !== comparison.targetRows))}`} (${seconds.toFixed(0)} s)`);
  }

  private report(): void {
    const allEqual = this.rounds.every((round) => round.equal);
    console.log(`\nsoak (faults): ${this.faults} faults over ${this.rounds.length} migrations (seed ${this.options.seed}, ${this.rounds[0]?.rows ?? 0}+ rows each, ${this.options.writeRate} writes/s), none resumed by hand`);
    console.log(`by kind: ${[...this.byKind].map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
    console.log(`by phase: ${[...this.byPhase].map(([phase, count]) => `${phase} ${count}`).join(', ')}`);
    console.log(allEqual ? `all ${this.rounds.length} migrations ended with every row of every table equal` : 'SOME MIGRATIONS ENDED WITH DIFFERENT ROWS (see above)');
  }
}

const program = new Command()
  .name('npm run soak --')
  .description('SIGKILL a migration under write load at random moments in every phase, resume it each time, compare every row at the end')
  .option('--kills <n>', 'SIGKILLs in all', '50')
  .option('--faults <n>', 'instead of SIGKILLs: server restarts, crashes and killed connections in all (the fault mode)')
  .option('--seed <n>', 'seed of the kill moments and the write load', String(Date.now() % 1_000_000))
  .option('--scale <n>', 'sample size multiplier (1 = about 100,000 rows)', '1')
  .option('--write-rate <n>', 'application writes per second on the source', '300')
  .action(async (raw: { kills: string; seed: string; scale: string; writeRate: string; faults?: string }) => {
    const options: SoakOptions = { kills: Number(raw.kills), seed: Number(raw.seed), scale: Number(raw.scale), writeRate: Number(raw.writeRate) };
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isFinite(value) || value <= 0) program.error(`--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)} must be a positive number`);
    }
    if (raw.faults !== undefined) {
      const faults = Number(raw.faults);
      if (!Number.isInteger(faults) || faults <= 0) program.error('--faults must be a positive whole number');
      const sandbox = await startSandbox();
      try {
        const ok = await new FaultSoak({ ...options, writeRate: raw.writeRate === '300' ? 50 : options.writeRate, faults }, sandbox).run();
        if (!ok) process.exitCode = 1;
      } finally {
        await sandbox.stop();
      }
      return;
    }
    const sandbox = await startSandbox();
    const source = await sandbox.source.connect();
    const target = await sandbox.target.connect();
    try {
      const ok = await new Soak(options, sandbox, source, target).run();
      if (!ok) process.exitCode = 1;
    } finally {
      await source.end();
      await target.end();
      await sandbox.stop();
    }
  });

await program.parseAsync(process.argv);
